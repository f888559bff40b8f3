//! The records a signing job is made of. Each is written once (create-if-absent) and
//! never changed; a job's state is derived from which of them exist ([`super::state`]).

use serde::{Deserialize, Serialize};

use crate::model::{JobId, Platform, ProfileName, Timestamp, Validity, VersionId, VersionRef};

/// A job's status (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobStatus {
    /// Waiting for a worker.
    Submitted,
    /// Claimed by a worker, or waiting to be retried.
    InProgress,
    /// The signed object is at its URL.
    Succeeded,
    /// Ended without a signed object; `status_reason` says why.
    Failed,
}

impl JobStatus {
    /// Every status, in the order a job goes through them.
    pub const ALL: [Self; 4] = [Self::Submitted, Self::InProgress, Self::Succeeded, Self::Failed];

    /// Whether the job has ended.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }

    /// The status as shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "Submitted",
            Self::InProgress => "InProgress",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }
}

impl std::str::FromStr for JobStatus {
    type Err = String;

    /// The status by its name, in any case (`succeeded`, `InProgress`).
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
            format!("no job status {s:?}; one of {}", names.join(", "))
        })
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The source object as it was when the job was submitted. The worker signs these bytes
/// or none: it reads the object only while its ETag is still this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePin {
    /// The object URL (`s3://bucket/key`, `file:///abs/path`).
    pub url: String,
    /// Its ETag at submission (for the file store: derived from inode, size and
    /// modification time).
    pub e_tag: String,
    /// Its size in bytes at submission.
    pub size: u64,
    /// Its modification time at submission.
    pub last_modified: Timestamp,
    /// Its object version at submission, where the bucket is versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl SourcePin {
    /// What job views show of the pin beside the source's URL.
    pub fn view(&self) -> PinView {
        PinView {
            etag: self.e_tag.clone(),
            size: self.size,
            last_modified: self.last_modified,
            version: self.version.clone(),
        }
    }
}

/// A source's pin as `sign-job describe` shows it, beside `source` (the URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinView {
    /// The object's ETag at submission.
    pub etag: String,
    /// Its size in bytes at submission.
    pub size: u64,
    /// Its modification time at submission.
    pub last_modified: Timestamp,
    /// Its object version at submission, in a versioned bucket.
    pub version: Option<String>,
}

/// `jobs/<ID>/job.json`: a job as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job's id.
    pub job_id: JobId,
    /// The profile version that signs (the profile's current version at submission).
    pub profile: ProfileName,
    /// The version id.
    pub profile_version: VersionId,
    /// The version's platform.
    pub platform: Platform,
    /// The profile's signature validity.
    pub signature_validity: Validity,
    /// The pinned source.
    pub source: SourcePin,
    /// The destination prefix URL, as given.
    pub destination: String,
    /// Where the signed object goes: `<destination><job id>.zip`.
    pub signed_object: String,
    /// When the job was submitted.
    pub submitted_at: Timestamp,
    /// The access key that started it through `signer serve` (none from the command line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
}

impl JobRecord {
    /// `PROFILE/VERSION`.
    pub fn version_ref(&self) -> VersionRef {
        VersionRef { profile: self.profile.clone(), version: self.profile_version.clone() }
    }
}

/// `jobs/<ID>/attempts/<N>.json`: a worker's claim of attempt N. Its lease runs until
/// `lease_secs` after the claim or its latest renewal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The attempt's number, from 1.
    pub attempt: u64,
    /// The worker's id.
    pub worker: String,
    /// The worker's host, for people.
    pub host: String,
    /// The worker's process id, for people.
    pub pid: u32,
    /// When the attempt was claimed.
    pub claimed_at: Timestamp,
    /// How long the lease lasts after the claim or a renewal.
    pub lease_secs: u32,
}

/// `jobs/<ID>/attempts/<N>/end.json`: how an attempt ended without ending the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AttemptEnd {
    /// A transient failure: another attempt may start from `retry_after`.
    Retry {
        /// What failed.
        reason: String,
        /// When.
        ended_at: Timestamp,
        /// The earliest start of the next attempt (backoff).
        retry_after: Timestamp,
    },
    /// The worker gave the job back (shutting down, or no key): another may take it at
    /// once. A release is not a failed attempt.
    Released {
        /// Why.
        reason: String,
        /// When.
        ended_at: Timestamp,
    },
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinalStatus {
    /// Signed.
    Succeeded,
    /// Not signed.
    Failed,
}

impl From<FinalStatus> for JobStatus {
    fn from(s: FinalStatus) -> Self {
        match s {
            FinalStatus::Succeeded => Self::Succeeded,
            FinalStatus::Failed => Self::Failed,
        }
    }
}

/// `jobs/<ID>/result.json`: the job's end, created once by whichever worker ends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    /// The job.
    pub job_id: JobId,
    /// How it ended (`status`, and what only that end has).
    #[serde(flatten)]
    pub end: JobEnd,
    /// The attempts claimed when the job ended.
    pub attempts: u64,
    /// The worker that ended it (none when it failed before any claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// When it ended.
    pub ended_at: Timestamp,
}

/// How a job ended, with what only that end has: the JSON is `"status":"Succeeded"` with
/// the signed object's fields, or `"status":"Failed"` with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status")]
pub enum JobEnd {
    /// The signed object is at its URL.
    Succeeded {
        /// The signed object's URL.
        signed_object: String,
        /// The signature's signing time.
        signed_at: Timestamp,
        /// The signature's expiry.
        signature_expires_at: Timestamp,
        /// SHA-256 of the signed object.
        sha256: String,
        /// The signed object's size in bytes.
        size: u64,
    },
    /// Ended without a signed object.
    Failed {
        /// Why.
        status_reason: String,
    },
}

impl JobResult {
    /// Succeeded or Failed.
    pub fn status(&self) -> FinalStatus {
        match self.end {
            JobEnd::Succeeded { .. } => FinalStatus::Succeeded,
            JobEnd::Failed { .. } => FinalStatus::Failed,
        }
    }

    /// Why it failed.
    pub fn status_reason(&self) -> Option<&str> {
        match &self.end {
            JobEnd::Failed { status_reason } => Some(status_reason),
            JobEnd::Succeeded { .. } => None,
        }
    }

    /// The signed object's URL, when it succeeded.
    pub fn signed_object(&self) -> Option<&str> {
        match &self.end {
            JobEnd::Succeeded { signed_object, .. } => Some(signed_object),
            JobEnd::Failed { .. } => None,
        }
    }

    /// The signature's expiry, when it succeeded.
    pub fn signature_expires_at(&self) -> Option<Timestamp> {
        match &self.end {
            JobEnd::Succeeded { signature_expires_at, .. } => Some(*signature_expires_at),
            JobEnd::Failed { .. } => None,
        }
    }
}

/// A record under `events/jobs/` (every end) and `dead-letter/jobs/` (failures): what a
/// pipeline polling the store needs without reading the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEvent {
    /// The job.
    pub job_id: JobId,
    /// Succeeded or Failed.
    pub status: JobStatus,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The profile.
    pub profile: ProfileName,
    /// The profile version.
    pub profile_version: VersionId,
    /// The source URL.
    pub source: String,
    /// The signed object's URL (Succeeded only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_object: Option<String>,
    /// The signature's expiry (Succeeded only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_expires_at: Option<Timestamp>,
    /// Attempts claimed.
    pub attempts: u64,
    /// Submission time.
    pub submitted_at: Timestamp,
    /// End time.
    pub ended_at: Timestamp,
}

impl JobEvent {
    /// The event of `job` ending with `result`.
    pub fn new(job: &JobRecord, result: &JobResult) -> Self {
        Self {
            job_id: job.job_id.clone(),
            status: result.status().into(),
            status_reason: result.status_reason().map(str::to_owned),
            profile: job.profile.clone(),
            profile_version: job.profile_version.clone(),
            source: job.source.url.clone(),
            signed_object: result.signed_object().map(str::to_owned),
            signature_expires_at: result.signature_expires_at(),
            attempts: result.attempts,
            submitted_at: job.submitted_at,
            ended_at: result.ended_at,
        }
    }
}

/// A revoked job signature, as a job shows it (from `revocations/jobs/<ID>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Why.
    pub reason: String,
    /// When.
    pub revoked_at: Timestamp,
}

/// `workers/<WORKER>.json`: a running worker's presence, so that `sign-job start --wait`
/// knows whether a worker will take its job. Rewritten by its worker only; removed when
/// it stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerPresence {
    /// The worker's id.
    pub worker: String,
    /// Its host.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When it started.
    pub started_at: Timestamp,
    /// When it last said it runs.
    pub seen_at: Timestamp,
    /// It says so again at least this often (seconds).
    pub lease_secs: u32,
}

impl WorkerPresence {
    /// Whether it said it runs within two of its leases before `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.seen_at.plus_secs(2 * i64::from(self.lease_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `result.json` as workers wrote it before the end was a tagged enum: still read,
    /// and written again in the same shape.
    #[test]
    fn a_result_keeps_its_json_shape() {
        let succeeded = r#"{"job_id":"3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d","status":"Succeeded","signed_object":"file:///out/x.zip","signed_at":"2026-06-01T00:00:00Z","signature_expires_at":"2026-07-01T00:00:00Z","sha256":"ab","size":12,"attempts":1,"worker":"w1","ended_at":"2026-06-01T00:00:01Z"}"#;
        let failed = r#"{"job_id":"3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d","status":"Failed","status_reason":"not a zip","attempts":2,"ended_at":"2026-06-01T00:00:01Z"}"#;
        for doc in [succeeded, failed] {
            let r: JobResult = serde_json::from_str(doc).unwrap();
            let again: serde_json::Value = serde_json::to_value(&r).unwrap();
            assert_eq!(again, serde_json::from_str::<serde_json::Value>(doc).unwrap());
        }
        let r: JobResult = serde_json::from_str(failed).unwrap();
        assert_eq!((r.status(), r.status_reason(), r.signed_object()), (FinalStatus::Failed, Some("not a zip"), None));
        // A success without its object, or a failure without its reason, is no result.
        assert!(serde_json::from_str::<JobResult>(&succeeded.replace(r#""sha256":"ab","#, "")).is_err());
        assert!(serde_json::from_str::<JobResult>(&failed.replace(r#""status_reason":"not a zip","#, "")).is_err());
    }
}
