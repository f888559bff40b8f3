//! Keys, signatures and certificates: the only module that touches ring, rcgen,
//! x509-parser and rustls-webpki.
//!
//! - [`keys`]: [`SecretKey`] (PKCS#8, zeroized, no `Debug`), fixed-size raw signatures
//!   (ECDSA `r || s` normalised to low-S, Ed25519), [`verify_signature`], and the DER form
//!   `openssl dgst -verify` reads ([`signature_to_der`]).
//! - [`cert`]: the store's root CA (SPEC §2), code-signing certificates for profile
//!   versions (EKU codeSigning only), certificate facts ([`cert_info`]) and the
//!   key ⇔ certificate match ([`key_matches_cert`]).
//! - [`chain`]: path validation through rustls-webpki at a given time
//!   ([`validate_chain`]).
//! - [`pem`]: strict PEM reading ([`parse_pem_certs`]) and writing ([`to_pem`]).
//!
//! Signing goes through the [`SigningKey`] trait, shaped like rustls' `SigningKey`, so a key
//! held elsewhere (a KMS, an HSM) can later sign profile versions and certificates
//! without this module's callers changing.
//!
//! Errors are coarse on purpose, as rustls' are: a signature that does not verify says so,
//! and never says why in terms an attacker could probe. No message ever contains key
//! material.
//!
//! ```
//! use signer::crypto::{SecretKey, verify_signature};
//! use signer::model::Platform;
//!
//! let key = SecretKey::generate(Platform::EcdsaP384Sha384)?;
//! let sig = key.sign(b"payload")?;
//! assert_eq!(sig.len(), 96);
//! verify_signature(Platform::EcdsaP384Sha384, &key.public_key_spki_der(), b"payload", &sig)?;
//! assert!(verify_signature(Platform::EcdsaP384Sha384, &key.public_key_spki_der(), b"other", &sig).is_err());
//! # Ok::<(), signer::crypto::CryptoError>(())
//! ```

pub mod cert;
pub mod chain;
pub mod keys;
pub mod pem;

pub use cert::{
    CertInfo, ROOT_CA_PLATFORM, cert_info, create_root_ca, issue_code_signing_cert, key_matches_cert,
    root_ca_certificate,
};
pub use chain::{validate_chain, validate_timestamping_chain};
pub use keys::{
    SecretKey, ecdsa_digest, signature_from_der, signature_len, signature_to_der, spki_from_public, spki_platform,
    to_low_s, verify_signature,
};
pub use pem::{parse_pem_certs, parse_pem_public_key, to_pem};

use crate::model::Platform;

/// The most certificates a chain may hold (leaf and issuers), in a PEM file or a
/// signature block.
pub const MAX_CHAIN_CERTS: usize = 8;

/// The largest DER certificate accepted, in bytes.
pub const MAX_CERT_BYTES: usize = 16 * 1024;

/// A key that signs: the seam for keys held outside this process (KMS, HSM), shaped like
/// rustls' `SigningKey`. [`SecretKey`] is the local implementation.
///
/// Implementations must return signatures in this module's fixed-size raw form (see
/// [`SecretKey::sign`]): ECDSA `r || s` with a low `s`, or the 64 Ed25519 bytes.
pub trait SigningKey: Send + Sync {
    /// The platform (key type and digest) this key signs for.
    fn platform(&self) -> Platform;

    /// The public key as a DER SubjectPublicKeyInfo.
    fn public_key_spki_der(&self) -> Vec<u8>;

    /// Signs `msg` (the whole message; the digest is part of the platform).
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

/// A key, signature or certificate problem.
///
/// Bad input (a key or certificate that cannot be used) exits with
/// [`exit::INVALID`]; a signature or chain that does not verify exits with
/// [`exit::DENIED`].
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A certificate could not be parsed, is over a limit, or could not be issued.
    #[error("bad certificate: {reason}")]
    BadCertificate {
        /// What was wrong, and what to do.
        reason: String,
    },
    /// A private or public key could not be read.
    #[error("bad key: {reason}")]
    BadKey {
        /// What was wrong, and what to do (never the key itself).
        reason: String,
    },
    /// A PEM file is malformed or holds something other than what was expected.
    #[error("bad PEM: {reason}")]
    BadPem {
        /// What was wrong, and what to do.
        reason: String,
    },
    /// A signature did not verify, is malformed, or is a malleable (high-S) ECDSA form.
    #[error(
        "signature does not verify with the signer's public key: the signed bytes or the signature were altered, or another key signed them"
    )]
    BadSignature,
    /// A certificate chain did not validate.
    #[error("certificate chain rejected: {reason}")]
    ChainInvalid {
        /// Why, in words (expired, unknown issuer, missing codeSigning…).
        reason: String,
    },
    /// A private key and a certificate do not belong together.
    #[error("the private key does not match the certificate's public key: pass the key the certificate was issued for")]
    KeyCertMismatch,
    /// A public key is of another type than the platform that claims it.
    #[error(
        "the public key is {found}, but the platform is {expected}: the key, certificate or signed metadata do not belong together"
    )]
    PlatformMismatch {
        /// The platform that was claimed.
        expected: Platform,
        /// The key type found.
        found: &'static str,
    },
    /// The system's secure random source (or the signing operation it feeds) failed.
    #[error("the system random number generator failed; retry, and check the machine's entropy source")]
    Rng,
    /// A key held outside this process (a PKCS#11 token, a KMS) could not be used now: a
    /// locked token, a wrong PIN, denied access, a KMS that did not answer.
    #[error("the signing key could not be used: {reason}")]
    KeyUnavailable {
        /// What went wrong, and what to do.
        reason: String,
    },
    /// A key or certificate uses an algorithm signer does not support.
    #[error("unsupported algorithm: {what}")]
    UnsupportedAlgorithm {
        /// What was found, and what is supported.
        what: String,
    },
}

impl CryptoError {
    pub(crate) fn cert(reason: impl Into<String>) -> Self {
        Self::BadCertificate { reason: reason.into() }
    }

    pub(crate) fn key(reason: impl Into<String>) -> Self {
        Self::BadKey { reason: reason.into() }
    }

    pub(crate) fn pem(reason: impl Into<String>) -> Self {
        Self::BadPem { reason: reason.into() }
    }

    pub(crate) fn chain(reason: impl Into<String>) -> Self {
        Self::ChainInvalid { reason: reason.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ExitCode as _, exit};

    #[test]
    fn crypto_errors_are_invalid_input() {
        assert_eq!(CryptoError::key("x").exit_code(), exit::INVALID);
        assert_eq!(CryptoError::cert("x").exit_code(), exit::INVALID);
        assert_eq!(CryptoError::pem("x").exit_code(), exit::INVALID);
        assert_eq!(CryptoError::KeyCertMismatch.exit_code(), exit::INVALID);
        // Issue 16: a signature or chain that fails as an error is bad input (a profile's
        // own chain, a sealed record); a package that fails them is denied by its verdict.
        assert_eq!(CryptoError::BadSignature.exit_code(), exit::INVALID);
        assert_eq!(CryptoError::chain("x").exit_code(), exit::INVALID);
    }
}
