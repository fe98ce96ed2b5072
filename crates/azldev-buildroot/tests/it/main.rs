//! Integration tests of azldev-buildroot against real tools (rpmbuild, dnf,
//! createrepo_c, debootstrap, bubblewrap, qemu-user). They need root.

mod common;
mod roots;
