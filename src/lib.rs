//! `signer`: a self-hosted, offline-verifiable code-signing and layer manager for
//! zip-packaged functions.
//!
//! The folders are the layers, and `tests/it/layering.rs` keeps them apart:
//!
//! - `core/` — pure: bytes in, answers out. The strict zip gate ([`zipcheck`]), the
//!   signed-package format ([`format`](mod@format)), [`crypto`], signing a package
//!   ([`sign`]) and reading one back ([`verify`]), the policy and its [`verdict`], Lambda's
//!   [`limits`] and the deployment input ([`deploy`]), revocation lists ([`revlist`]), the
//!   [`model`]'s names and times. No store, home, clock, tokio or file system.
//! - `ops/` — the use cases over the store and the home: [`profiles`], code-signing
//!   configs ([`csc`]), signing [`jobs`] and their [`worker`], [`layers`], judging a
//!   package ([`judge`]), signing between locations ([`signing`]).
//! - `edge/` — where signer touches the world: the object [`store`], the [`home`] with
//!   the private keys, the [`clock`] (the one place that reads the time) and local or
//!   object [`location`]s.
//! - `serve/` — [`serve`]: AWS Signer's and Lambda's wire APIs over the use cases, for
//!   `signer serve`: authentication (SigV4), authorisation, and the translations of
//!   [`serve::wire`].
//! - [`error`] — one error enum per area, wrapped by [`Error`], and the one map from
//!   errors to exit codes.
//!
//! The command line (clap, output, progress) is the binary's, in `src/cli/`.
//! SECURITY.md is the specification of the signed package; the modules that implement it
//! quote it.
//!
//! The core alone signs a package and checks it, in memory:
//!
//! ```
//! use std::io::{Cursor, Write};
//! use signer::crypto::{self, SecretKey};
//! use signer::model::{Platform, Timestamp, VersionRef};
//! use signer::sign::{SignParams, sign_package};
//! use signer::verify::{self, Integrity, TrustedVersion, WholeHash};
//! use signer::zipcheck::ZipLimits;
//!
//! // A zip, as any writer makes one (the zip crate here, Info-ZIP or Python elsewhere).
//! let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
//! zip.start_file("handler.py", zip::write::SimpleFileOptions::default())?;
//! zip.write_all(b"def handler(event, context):\n    return 'ok'\n")?;
//! let source = zip.finish()?.into_inner();
//!
//! // A root CA, and a profile version's key and certificate under it.
//! let now: Timestamp = "2026-12-01T00:00:00Z".parse()?;
//! let (root, root_key) = crypto::create_root_ca(now)?;
//! let version: VersionRef = "MyApp/AbCdE12345".parse()?;
//! let key = SecretKey::generate(Platform::EcdsaP384Sha384)?;
//! let cert = crypto::issue_code_signing_cert(&root, &root_key, &key, &version, now, now.plus_secs(86_400))?;
//!
//! let params = SignParams {
//!     key: std::sync::Arc::new(key),
//!     chain: vec![cert.clone(), root.clone()],
//!     version: version.clone(),
//!     job_id: None,
//!     signed_at: now,
//!     expires_at: now.plus_secs(3_600),
//!     stamper: None,
//! };
//! let mut signed = Vec::new();
//! sign_package(&mut Cursor::new(&source), &mut signed, &params, &ZipLimits::default(), &mut |_| {})?;
//!
//! // Read back: the bytes are intact, and the signer is the version the store recorded.
//! let read = verify::read_package(&mut Cursor::new(&signed), WholeHash::Skip, &mut |_| {})?;
//! let Integrity::Intact(block) = &read.integrity else { panic!("{:?}", read.integrity) };
//! let trusted = TrustedVersion { version, certificate: cert, anchor: root, tsa_root: None };
//! let verified = verify::authenticate(block, Some(&trusted))?;
//! assert_eq!(verified.statement().signed_at, now);
//!
//! // One byte changed, and integrity fails.
//! let mut tampered = signed.clone();
//! tampered[40] ^= 1;
//! let read = verify::read_package(&mut Cursor::new(&tampered), WholeHash::Skip, &mut |_| {})?;
//! assert!(matches!(read.integrity, Integrity::Broken { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod core;
mod edge;
pub mod error;
mod ops;
pub mod serve;

// One path per module, whatever layer it lives in: `signer::zipcheck`, `signer::store`…
#[doc(hidden)]
pub use core::fuzzing;
pub use core::{
    crypto, deploy, format, hashpipe, limits, model, policy, reader, revlist, sign, sigv4, snapshot, timestamp, trust,
    verdict, verify, zipcheck,
};
pub use edge::{clock, custody, home, location, store, tsa_http};
pub use ops::{
    access_keys, admins, bundle, csc, jobs, judge, layers, permissions, profiles, signing, snapshots, status, tsa,
    worker,
};

pub use error::Error;
