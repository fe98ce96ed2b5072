//! `azldev-koji`: the build plan on Koji.
//!
//! - [`xmlrpc`]: XML-RPC values, calls, responses and faults (with Koji's
//!   `nil` and `i8` extensions).
//! - [`profile`]: koji CLI profiles (`~/.koji/config`, `/etc/koji.conf.d/`).
//! - [`client`]: a hub session: calls, login (password, SSL client
//!   certificate, Kerberos/GSSAPI), uploads and downloads.
//! - [`gssapi`]: the Kerberos/GSSAPI login, a SPNEGO exchange made by
//!   `curl --negotiate` (no C library linked), with a keytab's ticket in a
//!   private credential cache or the user's own.
//! - [`executor`]: [`KojiExecutor`], an [`azldev_build::exec::Executor`]
//!   that submits each build of the plan as a Koji `build` task.
//!
//! Never prints.

pub mod client;
pub mod executor;
pub mod gssapi;
pub mod profile;
pub mod xmlrpc;

pub use client::{KojiError, Session};
pub use executor::{KojiExecutor, KojiOptions, SourceMode, Target, TaskRecord};
pub use profile::{Auth, Profile, ProfileError};
