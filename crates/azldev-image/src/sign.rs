//! Signing: RPMs with rpmsign and repository metadata with a detached armored signature.
