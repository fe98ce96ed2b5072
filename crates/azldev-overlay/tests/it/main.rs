//! Integration tests of the overlay engine: every overlay type on real specs,
//! the real azl4 overlay changes, and build configuration.

mod archive;
mod build_config;
mod pairs;
mod types;
mod util;
