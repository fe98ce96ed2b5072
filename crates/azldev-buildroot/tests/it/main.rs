//! Integration tests of azldev-buildroot against real tools.

mod mock;
