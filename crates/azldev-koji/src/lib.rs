//! `azldev-koji`: the build plan on Koji.
//!
//! - [`xmlrpc`]: XML-RPC values, calls, responses and faults (with Koji's
//!   `nil` and `i8` extensions).
//! - [`profile`]: koji CLI profiles (`~/.koji/config`, `/etc/koji.conf.d/`).
//! - [`client`]: a hub session: calls, login (password, SSL client
//!   certificate; Kerberos/GSSAPI refused with a clear error), uploads and
//!   downloads.
//! - [`executor`]: [`KojiExecutor`], an [`azldev_build::exec::Executor`]
//!   that submits each build of the plan as a Koji `build` task.
//!
//! Never prints.

pub mod client;
pub mod executor;
pub mod profile;
pub mod xmlrpc;

pub use client::{KojiError, Session};
pub use executor::{KojiExecutor, KojiOptions, SourceMode, Target, TaskRecord};
pub use profile::{Auth, Profile, ProfileError};
