//! Integration tests of `azldev-config` (one test binary; submodules by topic).

mod azl4;
mod docs;
mod edit;
mod inheritance;
mod malformed;
mod schema;
mod signing;
mod support;
