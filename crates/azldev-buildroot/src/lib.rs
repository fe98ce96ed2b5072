//! The toolchain stage: buildroot definitions read from mock configuration
//! files, toolchain seeds made from a host distribution's packages, cached
//! base roots per (definition, arch), and isolated per-build layers over them.
//!
//! This crate knows nothing of components or the build graph; it makes roots
//! and runs commands in them. It never prints.

pub mod arch;
pub mod base;
pub mod layer;
pub mod mock;
pub mod run;
pub mod seed;
