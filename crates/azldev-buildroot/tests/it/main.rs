//! Integration tests of azldev-buildroot against real tools (rpmbuild, dnf,
//! createrepo_c, debootstrap, bubblewrap, qemu-user). The root tests need root.

mod common;
mod mock;
mod roots;
