//! Integration tests of azldev-image.
