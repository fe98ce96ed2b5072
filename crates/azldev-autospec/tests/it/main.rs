//! Integration tests: fixture dist-git repositories built with `git`,
//! hand-checked expectations, and the comparison with the real rpmautospec.

mod cases;
mod compare;
mod fixture;
mod reference;
mod scenarios;
