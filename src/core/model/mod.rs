//! Parsed domain types: a value of one of these types has passed its rules, so code that
//! holds one never checks again. Every name that becomes part of an object key is one
//! of these types, and none of them can contain `/`, `.`, `%` or be empty, so no key
//! built from them escapes its prefix.

mod names;
mod text;
mod time;

pub use names::{
    AccessKeyName, AdminName, CscId, JobId, LayerName, LayerVersionRef, NameError, ProfileName, VersionId, VersionRef,
};
pub use text::{DESCRIPTION, MAX_DESCRIPTION, TextError, TextRule};
pub use time::{DURATION_SYNTAX, Timestamp, Validity, parse_secs};

use serde::{Deserialize, Serialize};

/// A signing platform: the key type and the digest of the signed statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Platform {
    /// ECDSA on P-256 with SHA-256.
    #[serde(rename = "ECDSA-P256-SHA256")]
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384 (the default).
    #[default]
    #[serde(rename = "ECDSA-P384-SHA384")]
    EcdsaP384Sha384,
    /// Ed25519 (pure; the content digest is SHA-384).
    #[serde(rename = "Ed25519")]
    Ed25519,
}

impl Platform {
    /// All platforms, in the order `--help` lists them.
    pub const ALL: [Platform; 3] = [Self::EcdsaP384Sha384, Self::EcdsaP256Sha256, Self::Ed25519];

    /// The name users type and the statement records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EcdsaP256Sha256 => "ECDSA-P256-SHA256",
            Self::EcdsaP384Sha384 => "ECDSA-P384-SHA384",
            Self::Ed25519 => "Ed25519",
        }
    }

    /// The digest over the package's content bytes.
    pub fn content_digest(self) -> DigestAlgorithm {
        match self {
            Self::EcdsaP256Sha256 => DigestAlgorithm::Sha256,
            Self::EcdsaP384Sha384 | Self::Ed25519 => DigestAlgorithm::Sha384,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Platform {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| NameError {
            kind: "platform",
            value: s.to_owned(),
            rule: "one of ECDSA-P384-SHA384, ECDSA-P256-SHA256, Ed25519",
        })
    }
}

/// The digest algorithm over a package's content: the hash of the hashes of its 1 MiB
/// chunks (`format::digest`), named in the statement for the hash it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DigestAlgorithm {
    /// SHA-256 over 1 MiB chunks.
    #[serde(rename = "sha256-chunked-1mib")]
    Sha256,
    /// SHA-384 over 1 MiB chunks.
    #[serde(rename = "sha384-chunked-1mib")]
    Sha384,
}

impl DigestAlgorithm {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }

    /// The name the statement records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256-chunked-1mib",
            Self::Sha384 => "sha384-chunked-1mib",
        }
    }

    /// The name `openssl dgst` takes for the hash (`-sha384`).
    pub fn openssl_name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
        }
    }
}

/// What a code-signing config does with an artifact that fails a soft check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Deny (the default: safer than Lambda's default of warn).
    #[default]
    Enforce,
    /// Allow with a warning.
    Warn,
}

/// A signing profile's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProfileStatus {
    /// Signs.
    Active,
    /// Signs nothing new; old signatures stay valid; the name is never reused.
    Canceled,
    /// Every version revoked.
    Revoked,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_algorithm_names_are_the_statement_names() {
        for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384] {
            assert_eq!(serde_json::to_value(alg).unwrap(), alg.as_str());
            assert!(alg.as_str().starts_with(alg.openssl_name()));
        }
    }
}
