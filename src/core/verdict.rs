//! The verdict document (SPEC §5): one per `verify` or `deploy check`, the same shape in
//! text and JSON.

use serde::{Deserialize, Serialize};

use crate::format::Statement;
use crate::model::{JobId, Policy, ProfileName, Timestamp, VersionId};
use crate::policy::Check;

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Deploy.
    Allow,
    /// Do not deploy.
    Deny,
}

/// A package's role in a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The function's own code.
    Function,
    /// A layer.
    Layer,
}

/// Who signed, as a statement says: the verdict's `signature` once integrity and
/// authenticity passed, its `claimed` (never trusted) when they did not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureSummary {
    /// Profile.
    pub profile: ProfileName,
    /// Profile version.
    pub profile_version: VersionId,
    /// The signer's certificate's subject common name, if it has one.
    pub certificate_subject: Option<String>,
    /// SHA-256 of the signer's certificate (DER), lowercase hex, if it parses.
    pub certificate_sha256: Option<String>,
    /// Job, if signed by one.
    pub job_id: Option<JobId>,
    /// Signing time.
    pub signed_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
}

impl From<&Statement> for SignatureSummary {
    fn from(st: &Statement) -> Self {
        let leaf =
            st.chain_der().ok().and_then(|c| c.into_iter().next()).and_then(|d| crate::crypto::cert_info(&d).ok());
        Self {
            profile: st.profile.clone(),
            profile_version: st.profile_version.clone(),
            certificate_subject: leaf.as_ref().and_then(|c| c.subject_cn.clone()),
            certificate_sha256: leaf.map(|c| c.sha256_fingerprint),
            job_id: st.job_id.clone(),
            signed_at: st.signed_at,
            expires_at: st.expires_at,
        }
    }
}

impl SignatureSummary {
    /// `App/VERSION (CN, sha256:0123456789ab…), job J, signed T, valid until E`.
    pub fn describe(&self) -> String {
        let mut cert = Vec::new();
        if let Some(cn) = &self.certificate_subject {
            cert.push(format!("CN={cn}"));
        }
        if let Some(fp) = &self.certificate_sha256 {
            cert.push(format!("sha256:{}…", fp.get(..16).unwrap_or(fp)));
        }
        let mut out = format!("{}/{}", self.profile, self.profile_version);
        if !cert.is_empty() {
            out.push_str(&format!(" ({})", cert.join(", ")));
        }
        if let Some(job) = &self.job_id {
            out.push_str(&format!(", job {job}"));
        }
        out.push_str(&format!(", signed {}, valid until {}", self.signed_at, self.expires_at));
        out
    }
}

/// One package's judgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageVerdict {
    /// Function or layer.
    pub role: Role,
    /// Path, URL or `NAME:N`.
    pub name: String,
    /// SHA-256 of the whole package: always in the JSON, left out of the text (which
    /// does not show it) so that no second whole-package hash is computed for it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sha256: Option<String>,
    /// Bytes.
    pub size: u64,
    /// Unzipped bytes (from the verified statement, or measured), if known.
    pub unzipped_size: Option<u64>,
    /// The verified signature, if any.
    pub signature: Option<SignatureSummary>,
    /// What a signature that failed integrity or authenticity claims (untrusted), if its
    /// statement could be read.
    pub claimed: Option<SignatureSummary>,
    /// Every check, in order.
    pub checks: Vec<Check>,
}

/// A limit check of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitFinding {
    /// Which limit (`total_unzipped_size`, `layers`, `memory_mb`, …).
    pub check: String,
    /// Pass or fail.
    pub status: crate::policy::Status,
    /// The value found.
    pub value: u64,
    /// The limit (the maximum, or for a range the bound that was crossed).
    pub limit: u64,
    /// Why, for a person.
    pub reason: String,
}

/// The whole verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Allow or deny.
    pub decision: Decision,
    /// The policy in force.
    pub policy: Policy,
    /// Each package.
    pub packages: Vec<PackageVerdict>,
    /// Limit checks (deploy check only).
    pub limits: Vec<LimitFinding>,
    /// Allowed failures, for a person.
    pub warnings: Vec<String>,
}

impl Verdict {
    /// Builds a verdict: deny if any package check denies or any limit fails.
    pub fn new(policy: Policy, packages: Vec<PackageVerdict>, limits: Vec<LimitFinding>) -> Self {
        let denied = packages.iter().flat_map(|p| &p.checks).any(Check::denies)
            || limits.iter().any(|l| l.status == crate::policy::Status::Fail);
        let warnings = packages
            .iter()
            .flat_map(|p| {
                p.checks
                    .iter()
                    .filter(|c| c.warns())
                    .map(move |c| format!("{}: {} check failed: {}", p.name, check_name(c.check), c.reason))
            })
            .collect();
        Self { decision: if denied { Decision::Deny } else { Decision::Allow }, policy, packages, limits, warnings }
    }

    /// Text for people: one line per failed or warned check, one per package saying who
    /// signed it, then the decision.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for p in &self.packages {
            for c in p.checks.iter().filter(|c| c.status == crate::policy::Status::Fail) {
                let tag = if c.denies() { "DENY" } else { "WARN" };
                out.push_str(&format!("{tag} {} {}: {}\n", p.name, check_name(c.check), c.reason));
            }
        }
        for p in &self.packages {
            let who = match (&p.signature, &p.claimed) {
                (Some(s), _) => format!("signed by {}", s.describe()),
                (None, Some(c)) => format!("claims to be signed by {} (not verified)", c.describe()),
                (None, None) if p.checks.iter().any(|c| c.rule.as_deref() == Some("unsigned")) => {
                    "not signed".to_owned()
                }
                (None, None) => "signer unknown (the signature block does not parse)".to_owned(),
            };
            out.push_str(&format!("{}: {who}\n", p.name));
        }
        for l in self.limits.iter().filter(|l| l.status == crate::policy::Status::Fail) {
            out.push_str(&format!("DENY limit {}: {}\n", l.check, l.reason));
        }
        // The size headroom, which the JSON has too.
        if let Some(l) =
            self.limits.iter().find(|l| l.check == "total_unzipped_size" && l.status == crate::policy::Status::Pass)
        {
            out.push_str(&format!(
                "size: {} of {} bytes unzipped, {} to spare\n",
                l.value,
                l.limit,
                l.limit.saturating_sub(l.value)
            ));
        }
        let policy = match self.policy {
            Policy::Enforce => "enforce",
            Policy::Warn => "warn",
        };
        match self.decision {
            Decision::Allow => out.push_str(&format!("allow (policy {policy}, {} package(s))", self.packages.len())),
            Decision::Deny => out.push_str(&format!("deny (policy {policy})")),
        }
        out
    }
}

/// The check's name as the JSON spells it.
pub fn check_name(c: crate::policy::CheckName) -> &'static str {
    use crate::policy::CheckName::*;
    match c {
        Integrity => "integrity",
        Authenticity => "authenticity",
        Mismatch => "mismatch",
        Expiry => "expiry",
        Revocation => "revocation",
    }
}
