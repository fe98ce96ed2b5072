//! External programs (dnf, mkfs.*, qemu-img, xorriso, qemu-system…) run through
//! the toolchain crate's runner: output captured into a log, a timeout, and a
//! typed error carrying the log's tail.

pub use azldev_buildroot::run::{Output, RunError, Runner, describe, have, tail};
