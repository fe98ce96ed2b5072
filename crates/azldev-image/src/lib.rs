//! The image stage: image descriptions (native TOML and the kiwi XML subset
//! Azure Linux uses), root trees installed from RPM repositories, filesystem,
//! disk, ISO and OCI formats written without loop devices or mounts, release
//! artefacts (manifest, SBOM, size report, signatures) and boot checks.
//!
//! This crate never builds packages and never prints.

pub mod artifacts;
pub mod boot;
pub mod desc;
pub mod format;
pub mod pipeline;
pub mod root;
pub mod run;
pub mod sign;
