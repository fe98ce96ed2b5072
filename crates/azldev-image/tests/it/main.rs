//! Integration tests of azldev-image.

mod format;
