//! The signed statement: every fact that steers verification, in one canonical JSON line.
//!
//! > The statement is a JSON object with exactly these members, in this order, no
//! > whitespace, ASCII only: `type`, `platform`, `content` (`digest_algorithm`, `digest`
//! > as lowercase hex, `length`, `entries`, `unzipped_size`), `profile`,
//! > `profile_version`, `job_id` (a UUID or `null`), `signed_at`, `expires_at` (RFC 3339
//! > UTC, whole seconds) and `certificate_chain` (standard padded base64 of each
//! > certificate's DER, the signer's first, then each issuer up to the root).
//! > A verifier re-encodes what it parsed and refuses the statement unless the bytes are
//! > identical, so there is one encoding of each statement.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::{FormatError, STATEMENT_TYPE};
use crate::model::{DigestAlgorithm, JobId, Platform, ProfileName, Timestamp, VersionId, VersionRef};

/// Most certificates a statement carries.
pub const MAX_CHAIN: usize = 8;

/// What was signed and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The signing platform.
    pub platform: Platform,
    /// The package content before the block.
    pub content: ContentDigest,
    /// The signing profile.
    pub profile: ProfileName,
    /// The profile version.
    pub profile_version: VersionId,
    /// The signing job, when signed by one.
    pub job_id: Option<JobId>,
    /// When it was signed.
    pub signed_at: Timestamp,
    /// When the signature expires.
    pub expires_at: Timestamp,
    /// Base64 DER certificates: the signer's, then its issuers up to the root.
    pub certificate_chain: Vec<String>,
}

/// The digest of the content bytes and what the signer's zip gate measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentDigest {
    /// The digest algorithm.
    pub digest_algorithm: DigestAlgorithm,
    /// Lowercase hex digest of the first `length` bytes of the package.
    pub digest: String,
    /// How many bytes precede the block (and are covered by `digest`).
    pub length: u64,
    /// Entries in the zip.
    pub entries: u64,
    /// Bytes the entries inflate to, as measured by the signer's zip gate.
    pub unzipped_size: u64,
}

impl Statement {
    /// The profile version that signed.
    pub fn version_ref(&self) -> VersionRef {
        VersionRef { profile: self.profile.clone(), version: self.profile_version.clone() }
    }

    /// The canonical encoding (no trailing newline).
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        serde_json::to_vec(self).map_err(|e| FormatError::Statement(e.to_string()))
    }

    /// Parses a statement and checks it is in canonical form and well-typed.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        if !bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
            return Err(FormatError::Statement("not printable ASCII on one line".into()));
        }
        let st: Statement = serde_json::from_slice(bytes).map_err(|e| FormatError::Statement(e.to_string()))?;
        if st.encode()? != bytes {
            return Err(FormatError::Statement("not in canonical form".into()));
        }
        if st.kind != STATEMENT_TYPE {
            return Err(FormatError::Statement(format!(
                "unknown type {:?}; this signer reads {STATEMENT_TYPE}",
                st.kind
            )));
        }
        if st.content.digest_algorithm != st.platform.content_digest() {
            return Err(FormatError::Statement("digest algorithm does not match the platform".into()));
        }
        let digest_ok = st.content.digest.len() == 2 * st.content.digest_algorithm.output_len()
            && st.content.digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !digest_ok {
            return Err(FormatError::Statement("digest is not lowercase hex of the right length".into()));
        }
        if st.certificate_chain.is_empty() || st.certificate_chain.len() > MAX_CHAIN {
            return Err(FormatError::Statement(format!("certificate chain must hold 1 to {MAX_CHAIN} certificates")));
        }
        st.chain_der()?;
        Ok(st)
    }

    /// The certificate chain as DER, the signer's first.
    pub fn chain_der(&self) -> Result<Vec<Vec<u8>>, FormatError> {
        self.certificate_chain
            .iter()
            .map(|c| {
                let der =
                    B64.decode(c).map_err(|_| FormatError::Statement("certificate is not standard base64".into()))?;
                if B64.encode(&der) != *c {
                    return Err(FormatError::Statement("certificate base64 is not canonical".into()));
                }
                Ok(der)
            })
            .collect()
    }

    /// Encodes DER certificates for [`Statement::certificate_chain`].
    pub fn encode_chain(chain: &[Vec<u8>]) -> Vec<String> {
        chain.iter().map(|c| B64.encode(c)).collect()
    }
}
