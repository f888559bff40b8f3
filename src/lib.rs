//! `signer`: a self-hosted, offline-verifiable code-signing and layer manager for
//! zip-packaged functions.
//!
//! The crate is a pure core — zip inspection ([`zipcheck`]), the signed-package format
//! ([`format`](mod@format)), cryptography ([`crypto`]), verification ([`verify`]) and Lambda's limits
//! ([`limits`]) — wrapped by effects at the edge: the object store ([`store`]), the home
//! with its private keys ([`home`]), the clock ([`clock`]) and the command line (`cli`).
//!
//! SECURITY.md is the specification of the signed package; the modules that implement it
//! quote it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cli;
pub mod clock;
pub mod crypto;
pub mod csc;
pub mod deploy;
pub mod error;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod hashpipe;
pub mod home;
pub mod jobs;
pub mod judge;
pub mod layers;
pub mod limits;
pub mod location;
pub mod model;
pub mod policy;
pub mod profiles;
pub mod reader;
pub mod revlist;
pub mod sign;
pub mod store;
pub mod verdict;
pub mod verify;
pub mod worker;
pub mod zipcheck;

pub use error::Error;
