//! Integration tests of `azldev-build`: graph semantics on purpose-built
//! facts, real specs through rpmspec, version comparison against rpm.

mod payload;
mod repo;
mod rpm;
mod semantics;
mod simulate;
