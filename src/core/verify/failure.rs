//! Why a package fails a check, as a value: each failure has a stable id
//! ([`VerifyFailure::id`], kebab-case, like the zip gate's [`Rule::id`](crate::zipcheck::Rule::id))
//! that the verdict's JSON carries as `rule`, and a message for a person.

use crate::model::{JobId, ProfileName, Timestamp, Validity, VersionRef};

/// Why a package fails integrity, authenticity, the publisher match, expiry or revocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyFailure {
    // -- integrity ------------------------------------------------------------------
    /// The zip's end records do not parse.
    #[error("not a well-formed zip: {0}")]
    MalformedZip(String),
    /// Bytes after the end record of a signed package.
    #[error("{0} bytes follow the end record of a signed package, which signing never writes")]
    TrailingBytes(u64),
    /// The signature block in the archive comment does not parse.
    #[error("{0}")]
    BadBlock(String),
    /// The statement covers another length than the bytes before the block.
    #[error("the statement covers {signed} bytes but {found} precede the signature block")]
    LengthMismatch {
        /// Bytes the statement covers.
        signed: u64,
        /// Bytes before the block.
        found: u64,
    },
    /// The content digest differs.
    #[error("the package's bytes differ from what was signed (content digest mismatch)")]
    DigestMismatch,
    /// The block's first certificate does not parse.
    #[error("the signer's certificate does not parse")]
    CertificateUnparsable,
    /// The signature is not the certificate key's over the statement.
    #[error("the signature does not match the signed statement")]
    BadSignature,

    // -- authenticity ---------------------------------------------------------------
    /// The store has no such profile version.
    #[error("this store has no signing profile version {0}")]
    UnknownVersion(VersionRef),
    /// The version record the store holds is another version's.
    #[error("certificate belongs to {recorded}, not to {claimed}")]
    VersionMismatch {
        /// The version the record is for.
        recorded: VersionRef,
        /// The version the signature claims.
        claimed: VersionRef,
    },
    /// The version's record is not sealed by the pinned root.
    #[error("{0}")]
    UntrustedRecord(String),
    /// A timestamp, but no time-stamping authority is trusted.
    #[error("the signature carries a timestamp, but this store trusts no time-stamping authority")]
    TimestampNotTrusted,
    /// The timestamp does not verify.
    #[error("{0}")]
    BadTimestamp(String),
    /// The statement's certificates do not parse, or there are none.
    #[error("{0}")]
    BadCertificates(String),
    /// The chain does not lead to the trusted anchor for code signing.
    #[error("certificate chain does not lead to this store's trusted root: {0}")]
    UntrustedChain(String),
    /// The signer's certificate is not the one recorded for the version.
    #[error("the signer's certificate is not the one this store recorded for {0}")]
    CertificateNotRecorded(VersionRef),

    // -- publisher ------------------------------------------------------------------
    /// No signature at all.
    #[error("the package is not signed")]
    Unsigned,
    /// An allowed publisher, but the config requires a timestamp.
    #[error("{0} is an allowed publisher, but the config requires a timestamp and this signature has none")]
    TimestampRequired(VersionRef),
    /// Not an allowed publisher.
    #[error("{0} is not among the allowed publishers")]
    NotAllowed(VersionRef),

    // -- expiry ---------------------------------------------------------------------
    /// The statement's expiry is past its certificate's end.
    #[error("the signature claims to last until {expires_at}, past the end of its certificate ({cert_not_after})")]
    BeyondCertificate {
        /// The statement's expiry.
        expires_at: Timestamp,
        /// The certificate's end.
        cert_not_after: Timestamp,
    },
    /// The statement's expiry is further from its signing time than any profile gives.
    #[error(
        "the signature claims to last until {expires_at}, longer after its signing time {signed_at} than any profile's validity ({})",
        Validity::MAX
    )]
    BeyondValidity {
        /// The statement's expiry.
        expires_at: Timestamp,
        /// Its signing time.
        signed_at: Timestamp,
    },
    /// Expired.
    #[error("the signature expired at {0}")]
    Expired(Timestamp),
    /// Signed in the future.
    #[error("the signing time {0} lies in the future")]
    FromTheFuture(Timestamp),
    /// The claimed signing time is not the timestamp's.
    #[error(
        "the signature claims it was made at {claimed}, but its timestamp says {stamped}: a signing time is not the signer's to choose"
    )]
    TimeDisagrees {
        /// The statement's signing time.
        claimed: Timestamp,
        /// The timestamp's time.
        stamped: Timestamp,
    },

    // -- revocation -----------------------------------------------------------------
    /// The profile version was revoked at or before the signing time.
    #[error("profile version {version} was revoked effective {effective}{}", at_or_before(*.stamped))]
    VersionRevoked {
        /// The version.
        version: VersionRef,
        /// The revocation's effective time.
        effective: Timestamp,
        /// The signature's trusted time, if it has one.
        stamped: Option<Timestamp>,
    },
    /// The job's signature was revoked.
    #[error("the signature of job {job} was revoked: {reason}")]
    JobRevoked {
        /// The job.
        job: JobId,
        /// Why.
        reason: String,
    },
    /// The profile was canceled before the signing time.
    #[error("signing profile {profile} was canceled at {at}{}", canceled_before(*.stamped))]
    ProfileCanceled {
        /// The profile.
        profile: ProfileName,
        /// When.
        at: Timestamp,
        /// The signature's trusted time, if it has one.
        stamped: Option<Timestamp>,
    },
}

const UNTIMESTAMPED: &str = "; it has no trusted timestamp, so its signing time is only its own claim";

fn at_or_before(stamped: Option<Timestamp>) -> String {
    stamped.map_or_else(|| UNTIMESTAMPED.to_owned(), |t| format!(", at or before the signature's timestamp {t}"))
}

fn canceled_before(stamped: Option<Timestamp>) -> String {
    stamped.map_or_else(
        || UNTIMESTAMPED.to_owned(),
        |t| format!(", before the signature's timestamp {t}; a canceled profile signs nothing new"),
    )
}

impl VerifyFailure {
    /// A stable kebab-case name, for tables, logs and the verdict's `rule`.
    pub fn id(&self) -> &'static str {
        match self {
            Self::MalformedZip(_) => "malformed-zip",
            Self::TrailingBytes(_) => "trailing-bytes",
            Self::BadBlock(_) => "bad-signature-block",
            Self::LengthMismatch { .. } => "length-mismatch",
            Self::DigestMismatch => "digest-mismatch",
            Self::CertificateUnparsable => "certificate-unparsable",
            Self::BadSignature => "bad-signature",
            Self::UnknownVersion(_) => "unknown-version",
            Self::VersionMismatch { .. } => "version-mismatch",
            Self::UntrustedRecord(_) => "untrusted-record",
            Self::TimestampNotTrusted => "timestamp-not-trusted",
            Self::BadTimestamp(_) => "bad-timestamp",
            Self::BadCertificates(_) => "bad-certificates",
            Self::UntrustedChain(_) => "untrusted-chain",
            Self::CertificateNotRecorded(_) => "certificate-not-recorded",
            Self::Unsigned => "unsigned",
            Self::TimestampRequired(_) => "timestamp-required",
            Self::NotAllowed(_) => "not-allowed-publisher",
            Self::BeyondCertificate { .. } => "beyond-certificate",
            Self::BeyondValidity { .. } => "beyond-max-validity",
            Self::Expired(_) => "expired",
            Self::FromTheFuture(_) => "signed-in-future",
            Self::TimeDisagrees { .. } => "signing-time-disagrees",
            Self::VersionRevoked { .. } => "version-revoked",
            Self::JobRevoked { .. } => "job-revoked",
            Self::ProfileCanceled { .. } => "profile-canceled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each failure (a new variant must be added here: the match in `id` and this
    /// list are checked against each other by the count of distinct ids).
    fn every_failure() -> Vec<VerifyFailure> {
        let v: VersionRef = "App/ABCDEFGHJK".parse().unwrap();
        let t = Timestamp::from_unix(1_800_000_000);
        vec![
            VerifyFailure::MalformedZip("x".into()),
            VerifyFailure::TrailingBytes(3),
            VerifyFailure::BadBlock("x".into()),
            VerifyFailure::LengthMismatch { signed: 1, found: 2 },
            VerifyFailure::DigestMismatch,
            VerifyFailure::CertificateUnparsable,
            VerifyFailure::BadSignature,
            VerifyFailure::UnknownVersion(v.clone()),
            VerifyFailure::VersionMismatch { recorded: v.clone(), claimed: v.clone() },
            VerifyFailure::UntrustedRecord("x".into()),
            VerifyFailure::TimestampNotTrusted,
            VerifyFailure::BadTimestamp("x".into()),
            VerifyFailure::BadCertificates("x".into()),
            VerifyFailure::UntrustedChain("x".into()),
            VerifyFailure::CertificateNotRecorded(v.clone()),
            VerifyFailure::Unsigned,
            VerifyFailure::TimestampRequired(v.clone()),
            VerifyFailure::NotAllowed(v.clone()),
            VerifyFailure::BeyondCertificate { expires_at: t, cert_not_after: t },
            VerifyFailure::BeyondValidity { expires_at: t, signed_at: t },
            VerifyFailure::Expired(t),
            VerifyFailure::FromTheFuture(t),
            VerifyFailure::TimeDisagrees { claimed: t, stamped: t },
            VerifyFailure::VersionRevoked { version: v.clone(), effective: t, stamped: None },
            VerifyFailure::JobRevoked {
                job: "00000000-0000-4000-8000-000000000000".parse().unwrap(),
                reason: "x".into(),
            },
            VerifyFailure::ProfileCanceled { profile: v.profile.clone(), at: t, stamped: Some(t) },
        ]
    }

    #[test]
    fn ids_are_distinct_kebab_case_and_the_schemas_list() {
        let ids: Vec<&str> = every_failure().iter().map(VerifyFailure::id).collect();
        let distinct: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len(), "two failures share an id: {ids:?}");
        for id in &ids {
            assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{id}");
        }
        let schema: serde_json::Value =
            serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/verdict.schema.json")))
                .unwrap();
        let listed: std::collections::BTreeSet<&str> = schema["$defs"]["check"]["properties"]["rule"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(listed, distinct, "schema/verdict.schema.json lists other rules than VerifyFailure::id");
    }

    #[test]
    fn messages_say_what_was_found() {
        let t = Timestamp::from_unix(1_800_000_000);
        let v: VersionRef = "App/ABCDEFGHJK".parse().unwrap();
        let untimed = VerifyFailure::VersionRevoked { version: v.clone(), effective: t, stamped: None }.to_string();
        assert!(untimed.contains("revoked effective") && untimed.contains("only its own claim"), "{untimed}");
        let timed = VerifyFailure::ProfileCanceled { profile: v.profile, at: t, stamped: Some(t) }.to_string();
        assert!(timed.contains("before the signature's timestamp") && timed.contains("signs nothing new"), "{timed}");
    }
}
