//! End-to-end tests of the `azldev` binary.

mod cli;
mod config;
mod spec;
