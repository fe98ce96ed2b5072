//! Integration tests of azldev-image.

mod format;
mod initrd;
