//! Policy: the pure judgement of one package's evidence under a code-signing config, at a
//! given time (SPEC §5). Enums, not booleans; every check is reported, none skipped
//! silently.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{JobId, Policy, ProfileName, Timestamp, VersionRef};
use crate::verify::{Verified, VerifyFailure, expiry_problem};

/// Clock difference tolerated for a signing time in the future.
pub const CLOCK_SKEW_SECS: i64 = 300;

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckName {
    /// Bytes are what was signed.
    Integrity,
    /// The signer is who the store trusts.
    Authenticity,
    /// The signer is an allowed publisher.
    Mismatch,
    /// The signature is within its validity.
    Expiry,
    /// Neither the version nor the job was revoked.
    Revocation,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// Not run (its reason says why).
    Skipped,
}

/// What a failure of this check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A failure denies.
    Enforced,
    /// A failure allows with a warning.
    Warned,
}

/// One check in a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Which check.
    pub check: CheckName,
    /// Outcome.
    pub status: Status,
    /// What a failure does.
    pub action: Action,
    /// Why, for a person.
    pub reason: String,
    /// For a failure, which one: [`VerifyFailure::id`] (`digest-mismatch`, `expired`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Check {
    /// Whether this check denies.
    pub fn denies(&self) -> bool {
        self.status == Status::Fail && self.action == Action::Enforced
    }

    /// Whether this check warns.
    pub fn warns(&self) -> bool {
        self.status == Status::Fail && self.action == Action::Warned
    }
}

/// Revoked profile versions (effective time) and job signatures (reason).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocations {
    /// Profile version → the earliest effective time recorded.
    pub versions: BTreeMap<VersionRef, Timestamp>,
    /// Job → reason.
    pub jobs: BTreeMap<JobId, String>,
    /// Canceled profile → when: a signature made at or after it is revoked.
    #[serde(default)]
    pub canceled: BTreeMap<ProfileName, Timestamp>,
}

/// Which publishers are allowed, and what the soft checks do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust<'a> {
    /// No code-signing config: any profile version of the store is accepted, and
    /// expiry and revocation deny.
    AnyPublisher,
    /// A code-signing config.
    Config {
        /// Allowed profile versions (never empty: a config cannot be built without one).
        allowed: &'a [VersionRef],
        /// Enforce or warn.
        policy: Policy,
        /// Whether a signature must carry a valid RFC 3161 timestamp.
        require_timestamp: bool,
    },
}

impl Trust<'_> {
    fn soft_action(&self) -> Action {
        match self {
            Self::Config { policy: Policy::Warn, .. } => Action::Warned,
            _ => Action::Enforced,
        }
    }
}

/// What verification established about one package.
#[derive(Debug)]
pub enum Evidence<'a> {
    /// No signature block.
    Unsigned,
    /// Integrity failed.
    Broken(&'a VerifyFailure),
    /// Integrity passed; authenticity failed.
    Unauthentic(&'a VerifyFailure),
    /// Both passed.
    Verified(Verified<'a>),
}

/// Judges one package. Returns every check in order.
pub fn evaluate(evidence: &Evidence<'_>, trust: &Trust<'_>, revocations: &Revocations, at: Timestamp) -> Vec<Check> {
    let soft = trust.soft_action();
    let check =
        |check, status, action, reason: &str| Check { check, status, action, reason: reason.to_owned(), rule: None };
    let fail = |check, action, why: VerifyFailure| Check {
        check,
        status: Status::Fail,
        action,
        reason: why.to_string(),
        rule: Some(why.id().to_owned()),
    };
    let hard = Action::Enforced;
    let skipped_after = |what: &str| format!("not checked: {what}");
    match evidence {
        Evidence::Unsigned => {
            let reason = "the package carries no signature";
            vec![
                check(CheckName::Integrity, Status::Skipped, hard, reason),
                check(CheckName::Authenticity, Status::Skipped, hard, reason),
                fail(CheckName::Mismatch, soft, VerifyFailure::Unsigned),
                check(CheckName::Expiry, Status::Skipped, soft, reason),
                check(CheckName::Revocation, Status::Skipped, soft, reason),
            ]
        }
        Evidence::Broken(why) => {
            let s = skipped_after("integrity failed");
            vec![
                fail(CheckName::Integrity, hard, (*why).clone()),
                check(CheckName::Authenticity, Status::Skipped, hard, &s),
                check(CheckName::Mismatch, Status::Skipped, soft, &s),
                check(CheckName::Expiry, Status::Skipped, soft, &s),
                check(CheckName::Revocation, Status::Skipped, soft, &s),
            ]
        }
        Evidence::Unauthentic(why) => {
            let s = skipped_after("authenticity failed, so the signature's metadata is not trusted");
            vec![
                check(CheckName::Integrity, Status::Pass, hard, "the bytes are what was signed"),
                fail(CheckName::Authenticity, hard, (*why).clone()),
                check(CheckName::Mismatch, Status::Skipped, soft, &s),
                check(CheckName::Expiry, Status::Skipped, soft, &s),
                check(CheckName::Revocation, Status::Skipped, soft, &s),
            ]
        }
        Evidence::Verified(v) => {
            let st = v.statement();
            let version = st.version_ref();
            let mismatch = match trust {
                Trust::AnyPublisher => check(
                    CheckName::Mismatch,
                    Status::Skipped,
                    soft,
                    "no code-signing config: any profile version of this store is accepted",
                ),
                Trust::Config { require_timestamp: true, allowed, .. }
                    if allowed.contains(&version) && v.stamp().is_none() =>
                {
                    fail(CheckName::Mismatch, soft, VerifyFailure::TimestampRequired(version.clone()))
                }
                Trust::Config { allowed, .. } if allowed.contains(&version) => {
                    check(CheckName::Mismatch, Status::Pass, soft, &format!("{version} is an allowed publisher"))
                }
                Trust::Config { .. } => fail(CheckName::Mismatch, soft, VerifyFailure::NotAllowed(version.clone())),
            };
            let expiry = match expiry_problem(v, at, CLOCK_SKEW_SECS) {
                Some(why) => fail(CheckName::Expiry, soft, why),
                None => check(CheckName::Expiry, Status::Pass, soft, &format!("valid until {}", st.expires_at)),
            };
            // The signing time a revocation is weighed against: the timestamp's. Without
            // one, the time is only the signer's claim, which a holder of a leaked key can
            // backdate: then any revocation or cancellation of its signer denies.
            let trusted = v.stamp().map(|s| s.time);
            let version_revoked = revocations.versions.get(&version).filter(|&&eff| trusted.is_none_or(|t| eff <= t));
            let job_revoked = st.job_id.as_ref().and_then(|j| revocations.jobs.get(j).map(|r| (j, r)));
            // Times are whole seconds: a signature timestamped in the second of the
            // cancellation may have come first, and stands; one from a later second does not.
            let canceled = revocations.canceled.get(&version.profile).filter(|&&at| trusted.is_none_or(|t| at < t));
            let revoked = match (version_revoked, job_revoked, canceled) {
                (Some(&effective), _, _) => {
                    Some(VerifyFailure::VersionRevoked { version: version.clone(), effective, stamped: trusted })
                }
                (None, Some((job, reason)), _) => {
                    Some(VerifyFailure::JobRevoked { job: job.clone(), reason: reason.clone() })
                }
                (None, None, Some(&at)) => {
                    Some(VerifyFailure::ProfileCanceled { profile: version.profile.clone(), at, stamped: trusted })
                }
                (None, None, None) => None,
            };
            let revocation = match revoked {
                Some(why) => fail(CheckName::Revocation, soft, why),
                None => check(CheckName::Revocation, Status::Pass, soft, "not revoked"),
            };
            vec![
                check(CheckName::Integrity, Status::Pass, hard, "the bytes are what was signed"),
                check(
                    CheckName::Authenticity,
                    Status::Pass,
                    hard,
                    &format!("signed by {version}, whose certificate chains to the trusted root"),
                ),
                mismatch,
                expiry,
                revocation,
            ]
        }
    }
}
