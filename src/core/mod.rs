//! The pure core: bytes in, answers out. Nothing here names the store, the home, the
//! clock, tokio or the file system (`tests/it/layering.rs` fails the build of the suite
//! when something does); times come in as [`Timestamp`](model::Timestamp)s, packages as
//! `Read + Seek`, outputs as `Write`.

pub mod crypto;
pub mod deploy;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod hashpipe;
pub mod limits;
pub mod model;
pub mod policy;
pub mod reader;
pub mod revlist;
pub mod sign;
pub mod sigv4;
pub mod snapshot;
pub mod timestamp;
pub mod trust;
pub mod verdict;
pub mod verify;
pub mod zipcheck;
