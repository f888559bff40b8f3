//! The pure core of jobs: a job's state derived from its records, lease expiry, what a
//! worker should do next, and which failures are worth another attempt.
//!
//! Nothing here reads the store or the clock; `now` is passed in.

use serde::Serialize;

use super::records::{AttemptEnd, Claim, FinalStatus, JobEnd, JobRecord, JobResult, JobStatus, PinView, Revocation};
use crate::error::Error;
use crate::model::{JobId, Platform, ProfileName, Timestamp, VersionId};
use crate::store::StoreError;

/// How many attempts may fail (transiently, or by a lapsed lease) before a job fails.
pub const MAX_ATTEMPTS: u64 = 3;

/// The backoff before attempt `failed + 1`, after `failed` failed attempts: 2 s, 4 s, 8 s…
/// up to a minute.
pub fn retry_backoff_secs(failed: u64) -> i64 {
    1i64 << failed.clamp(1, 6)
}

/// Whether this machine's clock and the store's disagree by more than leases allow:
/// `local` is when this machine wrote a record, `store` when the store says it was
/// written. Leases are read by every worker against its own clock, so the clocks must
/// agree to well within a lease: here, a quarter lease (never less than 2 s, as times
/// are whole seconds and the write takes a moment).
pub fn clock_skew_problem(local: Timestamp, store: Timestamp, lease_secs: u32) -> Option<String> {
    let skew = store.unix().saturating_sub(local.unix());
    let allowed = i64::from(lease_secs / 4).max(2);
    (skew.abs() > allowed).then(|| {
        let (by, side) = (skew.unsigned_abs(), if skew > 0 { "behind" } else { "ahead of" });
        format!(
            "this machine's clock is {by} s {side} the store's; leases of {lease_secs} s need clocks that agree to within {allowed} s, or jobs are taken over too early or too late: set the clock right (NTP)"
        )
    })
}

/// One attempt's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecords {
    /// The claim.
    pub claim: Claim,
    /// The latest renewal of its lease, if any.
    pub last_renewal: Option<Timestamp>,
    /// How it ended, if it ended without ending the job.
    pub end: Option<AttemptEnd>,
}

impl AttemptRecords {
    /// When its lease runs out: `lease_secs` after the claim or the latest renewal.
    pub fn lease_expires_at(&self) -> Timestamp {
        let from = self.last_renewal.map_or(self.claim.claimed_at, |r| r.max(self.claim.claimed_at));
        from.plus_secs(i64::from(self.claim.lease_secs))
    }

    /// Whether the lease still holds at `now` (and the attempt has not ended).
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.end.is_none() && now < self.lease_expires_at()
    }
}

/// Everything the store holds about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Records {
    /// The submission.
    pub job: JobRecord,
    /// Its attempts, by number from 1 (a missing claim record leaves no gap here).
    pub attempts: Vec<AttemptRecords>,
    /// Its end, if it ended.
    pub result: Option<JobResult>,
    /// The revocation of its signature, if revoked.
    pub revocation: Option<Revocation>,
}

impl Records {
    /// The highest attempt number claimed (0 when none).
    pub fn last_attempt(&self) -> u64 {
        self.attempts.iter().map(|a| a.claim.attempt).max().unwrap_or(0)
    }
}

/// The failed attempts of a job at `now` and the latest failure's reason. An attempt
/// failed when it ended with [`AttemptEnd::Retry`], when its lease ran out without an
/// end (its worker died or lost touch), or when it ended the job as Failed. Releases are
/// not failures.
pub fn failed_attempts(records: &Records, now: Timestamp) -> (u64, Option<String>) {
    let mut failed = 0;
    let mut reason = None;
    let last = records.last_attempt();
    for a in &records.attempts {
        match &a.end {
            Some(AttemptEnd::Retry { reason: r, .. }) => {
                failed += 1;
                reason = Some(r.clone());
            }
            Some(AttemptEnd::Released { .. }) => {}
            // The attempt that ended the job failed only if the job did.
            None if a.claim.attempt == last && records.result.is_some() => {
                failed += u64::from(records.result.as_ref().is_some_and(|r| r.status() == FinalStatus::Failed));
            }
            None if a.claim.attempt < last || !a.is_live(now) => {
                failed += 1;
                reason = Some(format!(
                    "the lease of attempt {} (worker {} on {}) ran out at {} without a renewal",
                    a.claim.attempt,
                    a.claim.worker,
                    a.claim.host,
                    a.lease_expires_at()
                ));
            }
            None => {}
        }
    }
    (failed, reason)
}

/// What a worker should do with a job at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// It has ended; only settling (events, clean-up) may be left.
    Ended,
    /// Claim attempt N (create its claim record; losing that race means another worker
    /// has it).
    Claim(u64),
    /// Another worker holds the lease until this time.
    Held {
        /// The holder.
        worker: String,
        /// Its lease's end.
        until: Timestamp,
    },
    /// A retry waits for its backoff until this time.
    RetryAt(Timestamp),
    /// Too many attempts failed: end the job as Failed with this reason.
    GiveUp(String),
}

/// The next step for a job (the claim/lease state machine).
pub fn next(records: &Records, now: Timestamp) -> Next {
    if records.result.is_some() {
        return Next::Ended;
    }
    let Some(last) = records.attempts.iter().max_by_key(|a| a.claim.attempt) else {
        return Next::Claim(1);
    };
    let n = last.claim.attempt;
    if last.is_live(now) {
        return Next::Held { worker: last.claim.worker.clone(), until: last.lease_expires_at() };
    }
    let (failed, reason) = failed_attempts(records, now);
    if failed >= MAX_ATTEMPTS {
        return Next::GiveUp(format!(
            "gave up after {failed} failed attempts; the last: {}",
            reason.as_deref().unwrap_or("unknown")
        ));
    }
    match &last.end {
        Some(AttemptEnd::Retry { retry_after, .. }) if now < *retry_after => Next::RetryAt(*retry_after),
        _ => Next::Claim(n + 1),
    }
}

/// A job as `sign-job describe` shows it (SPEC §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobView {
    /// The job's id.
    pub job_id: JobId,
    /// Its status.
    pub status: JobStatus,
    /// Why it failed, or what it waits for.
    pub status_reason: Option<String>,
    /// The profile.
    pub profile: ProfileName,
    /// The profile version that signs.
    pub profile_version: VersionId,
    /// The platform.
    pub platform: Platform,
    /// The source's URL.
    pub source: String,
    /// The source as pinned at submission.
    pub source_pin: PinView,
    /// The destination prefix.
    pub destination: String,
    /// The signed object's URL (once Succeeded).
    pub signed_object: Option<String>,
    /// The signing time (once Succeeded).
    pub signed_at: Option<Timestamp>,
    /// The signature's expiry (once Succeeded).
    pub signature_expires_at: Option<Timestamp>,
    /// SHA-256 of the signed object (once Succeeded).
    pub sha256: Option<String>,
    /// Attempts claimed so far.
    pub attempts: u64,
    /// Of those, the failed ones.
    pub failed_attempts: u64,
    /// Submission time.
    pub submitted_at: Timestamp,
    /// The access key that started it through `signer serve` (null from the command line).
    pub requested_by: Option<String>,
    /// The first claim's time.
    pub started_at: Option<Timestamp>,
    /// End time.
    pub ended_at: Option<Timestamp>,
    /// The worker holding the lease (InProgress), or the one that ended the job.
    pub worker: Option<String>,
    /// When the current lease runs out (InProgress).
    pub lease_expires_at: Option<Timestamp>,
    /// Whether its signature is revoked.
    pub revoked: bool,
    /// The revocation record.
    pub revocation: Option<Revocation>,
}

/// The view of a job at `now`.
pub fn view(records: &Records, now: Timestamp) -> JobView {
    let job = &records.job;
    let (failed, last_failure) = failed_attempts(records, now);
    let current = records.attempts.iter().max_by_key(|a| a.claim.attempt);
    let mut v = JobView {
        job_id: job.job_id.clone(),
        status: JobStatus::Submitted,
        status_reason: None,
        profile: job.profile.clone(),
        profile_version: job.profile_version.clone(),
        platform: job.platform,
        source: job.source.url.clone(),
        source_pin: job.source.view(),
        destination: job.destination.clone(),
        signed_object: None,
        signed_at: None,
        signature_expires_at: None,
        sha256: None,
        attempts: records.last_attempt(),
        failed_attempts: failed,
        submitted_at: job.submitted_at,
        requested_by: job.requested_by.clone(),
        started_at: records.attempts.iter().map(|a| a.claim.claimed_at).min(),
        ended_at: None,
        worker: None,
        lease_expires_at: None,
        revoked: records.revocation.is_some(),
        revocation: records.revocation.clone(),
    };
    if let Some(r) = &records.result {
        v.status = r.status().into();
        v.status_reason = r.status_reason().map(str::to_owned);
        v.ended_at = Some(r.ended_at);
        v.worker = r.worker.clone();
        v.attempts = v.attempts.max(r.attempts);
        if let JobEnd::Succeeded { signed_object, signed_at, signature_expires_at, sha256, .. } = &r.end {
            v.signed_object = Some(signed_object.clone());
            v.signed_at = Some(*signed_at);
            v.signature_expires_at = Some(*signature_expires_at);
            v.sha256 = Some(sha256.clone());
        }
        return v;
    }
    let Some(current) = current else {
        v.status_reason = Some("waiting for a worker (`signer worker`)".to_owned());
        return v;
    };
    v.status = JobStatus::InProgress;
    v.status_reason = match next(records, now) {
        Next::Held { worker, until } => {
            v.worker = Some(worker.clone());
            v.lease_expires_at = Some(until);
            Some(format!("attempt {} is running on worker {worker}", current.claim.attempt))
        }
        Next::RetryAt(at) => Some(format!(
            "attempt {} failed ({}); the next starts after {at}",
            current.claim.attempt,
            last_failure.as_deref().unwrap_or("unknown")
        )),
        Next::Claim(n) => Some(match &current.end {
            Some(AttemptEnd::Released { reason, .. }) => {
                format!("attempt {} was released ({reason}); waiting for a worker to start attempt {n}", n - 1)
            }
            _ => format!(
                "waiting for a worker to start attempt {n} after: {}",
                last_failure.as_deref().unwrap_or("a failure")
            ),
        }),
        Next::GiveUp(reason) => Some(format!("{reason}; the next worker to look marks it Failed")),
        Next::Ended => None,
    };
    v
}

/// How a failed attempt counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Worth another attempt: the store or I/O failed, or timed out.
    Transient,
    /// Another attempt would fail the same way: a refused zip, a changed or missing
    /// source, a canceled profile.
    Permanent,
}

/// Classifies an error from an attempt (SPEC §8, issue 3: transient failures are retried
/// up to [`MAX_ATTEMPTS`] times, permanent ones fail the job at once).
pub fn classify(e: &Error) -> FailureKind {
    match e {
        Error::Store(s) => classify_store(s),
        Error::Io { source, .. } => source
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<StoreError>())
            .map_or(FailureKind::Transient, classify_store),
        Error::Home(_)
        | Error::Timestamp(crate::timestamp::TimestampError::Unavailable { .. })
        | Error::Crypto(crate::crypto::CryptoError::KeyUnavailable { .. }) => FailureKind::Transient,
        Error::Custody(e) if e.is_unavailable() => FailureKind::Transient,
        Error::Zip(_)
        | Error::Format(_)
        | Error::Crypto(_)
        | Error::Custody(_)
        | Error::Name(_)
        | Error::Text(_)
        | Error::Profile(_)
        | Error::Permission(_)
        | Error::Trust(_)
        | Error::Admin(_)
        | Error::Timestamp(_)
        | Error::Csc(_)
        | Error::Job(_)
        | Error::Internal(_)
        | Error::Layer(_)
        | Error::Sign(_)
        | Error::Deploy(_)
        | Error::RevocationList { .. }
        | Error::BothGiven { .. }
        | Error::Usage { .. }
        | Error::Unsigned { .. }
        | Error::BrokenBlock { .. }
        | Error::NoFile { .. }
        | Error::FileTooLarge { .. }
        | Error::NotAFilePath { .. }
        | Error::NotAFile { .. }
        | Error::NotAFolder { .. } => FailureKind::Permanent,
    }
}

fn classify_store(e: &StoreError) -> FailureKind {
    match e {
        StoreError::Backend { .. } | StoreError::Open { .. } | StoreError::Home(_) => FailureKind::Transient,
        StoreError::Custody(e) if e.is_unavailable() => FailureKind::Transient,
        // The source changed under a pinned read, or is gone, or is not what signer reads.
        StoreError::Conflict { .. }
        | StoreError::NotFound { .. }
        | StoreError::Missing { .. }
        | StoreError::AlreadyExists { .. }
        | StoreError::BadKey { .. }
        | StoreError::BadUrl { .. }
        | StoreError::Corrupt { .. }
        | StoreError::Custody(_)
        // A trust record the pinned root did not seal stays untrusted on every retry.
        | StoreError::Trust(_) => FailureKind::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::SourcePin;
    use crate::model::Validity;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix(1_800_000_000 + s)
    }

    fn job() -> JobRecord {
        JobRecord {
            job_id: "3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d".parse().unwrap(),
            profile: "MyApp".parse().unwrap(),
            profile_version: "AbCdEf1234".parse().unwrap(),
            platform: Platform::default(),
            signature_validity: Validity::MAX,
            source: SourcePin {
                url: "s3://b/in.zip".into(),
                e_tag: "\"e1\"".into(),
                size: 10,
                last_modified: t(-100),
                version: None,
            },
            destination: "s3://b/out/".into(),
            signed_object: "s3://b/out/3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d.zip".into(),
            submitted_at: t(0),
            requested_by: None,
        }
    }

    fn attempt(n: u64, at: i64, lease: u32, end: Option<AttemptEnd>) -> AttemptRecords {
        AttemptRecords {
            claim: Claim {
                attempt: n,
                worker: format!("w{n}"),
                host: "h".into(),
                pid: 1,
                claimed_at: t(at),
                lease_secs: lease,
            },
            last_renewal: None,
            end,
        }
    }

    fn records(attempts: Vec<AttemptRecords>) -> Records {
        Records { job: job(), attempts, result: None, revocation: None }
    }

    fn retry(at: i64, after: i64) -> Option<AttemptEnd> {
        Some(AttemptEnd::Retry { reason: "store down".into(), ended_at: t(at), retry_after: t(after) })
    }

    #[test]
    fn clock_skew_is_a_quarter_lease_at_most() {
        assert_eq!(clock_skew_problem(t(100), t(101), 30), None, "a second of rounding is no skew");
        assert_eq!(clock_skew_problem(t(100), t(107), 30), None);
        let behind = clock_skew_problem(t(100), t(108), 30).unwrap();
        assert!(behind.contains("8 s behind") && behind.contains("within 7 s"), "{behind}");
        let ahead = clock_skew_problem(t(100), t(97), 2).unwrap();
        assert!(ahead.contains("3 s ahead of"), "{ahead}");
        assert_eq!(clock_skew_problem(t(100), t(98), 2), None, "never less than 2 s");
    }

    #[test]
    fn leases_run_from_the_latest_renewal() {
        let mut a = attempt(1, 10, 30, None);
        assert_eq!(a.lease_expires_at(), t(40));
        assert!(a.is_live(t(39)));
        assert!(!a.is_live(t(40)), "a lease ends at its expiry");
        a.last_renewal = Some(t(35));
        assert_eq!(a.lease_expires_at(), t(65));
        a.last_renewal = Some(t(5)); // a renewal cannot move the lease before its claim
        assert_eq!(a.lease_expires_at(), t(40));
        a.end = Some(AttemptEnd::Released { reason: "stop".into(), ended_at: t(12) });
        assert!(!a.is_live(t(13)), "an ended attempt holds nothing");
    }

    #[test]
    fn a_new_job_is_submitted_and_claimable() {
        let r = records(vec![]);
        assert_eq!(next(&r, t(1)), Next::Claim(1));
        let v = view(&r, t(1));
        assert_eq!(v.status, JobStatus::Submitted);
        assert_eq!(v.attempts, 0);
    }

    #[test]
    fn a_live_lease_holds_and_a_lapsed_one_is_taken_over() {
        let r = records(vec![attempt(1, 0, 10, None)]);
        assert_eq!(next(&r, t(5)), Next::Held { worker: "w1".into(), until: t(10) });
        let v = view(&r, t(5));
        assert_eq!(v.status, JobStatus::InProgress);
        assert_eq!(v.worker.as_deref(), Some("w1"));
        assert_eq!(next(&r, t(10)), Next::Claim(2));
        assert_eq!(failed_attempts(&r, t(10)).0, 1, "a lapsed lease is a failed attempt");
    }

    #[test]
    fn retries_wait_for_their_backoff_and_stop_at_the_maximum() {
        let r = records(vec![attempt(1, 0, 10, retry(3, 5))]);
        assert_eq!(next(&r, t(4)), Next::RetryAt(t(5)));
        assert_eq!(next(&r, t(5)), Next::Claim(2));
        let r = records(vec![attempt(1, 0, 10, retry(1, 2)), attempt(2, 3, 10, retry(4, 8)), attempt(3, 9, 10, None)]);
        assert!(matches!(next(&r, t(12)), Next::Held { .. }));
        match next(&r, t(19)) {
            Next::GiveUp(why) => assert!(why.contains("3 failed attempts") && why.contains("lease"), "{why}"),
            other => panic!("{other:?}"),
        }
        let v = view(&r, t(19));
        assert_eq!(v.status, JobStatus::InProgress);
        assert_eq!(v.failed_attempts, 3);
    }

    #[test]
    fn releases_are_not_failures() {
        let released = Some(AttemptEnd::Released { reason: "shutting down".into(), ended_at: t(2) });
        let r = records(vec![
            attempt(1, 0, 10, released.clone()),
            attempt(2, 3, 10, released.clone()),
            attempt(3, 4, 10, released),
        ]);
        assert_eq!(next(&r, t(5)), Next::Claim(4));
        assert_eq!(failed_attempts(&r, t(5)).0, 0);
        assert!(view(&r, t(5)).status_reason.unwrap().contains("released"));
    }

    #[test]
    fn a_result_ends_the_job() {
        let mut r = records(vec![attempt(1, 0, 10, None)]);
        r.result = Some(JobResult {
            job_id: r.job.job_id.clone(),
            end: JobEnd::Succeeded {
                signed_object: r.job.signed_object.clone(),
                signed_at: t(3),
                signature_expires_at: t(1000),
                sha256: "ab".into(),
                size: 12,
            },
            attempts: 1,
            worker: Some("w1".into()),
            ended_at: t(4),
        });
        assert_eq!(next(&r, t(5)), Next::Ended);
        assert_eq!(failed_attempts(&r, t(50)).0, 0, "the attempt that succeeded did not fail");
        let v = view(&r, t(5));
        assert_eq!(v.status, JobStatus::Succeeded);
        assert_eq!(v.signature_expires_at, Some(t(1000)));
        assert_eq!(v.started_at, Some(t(0)));
        assert_eq!(v.ended_at, Some(t(4)));
        assert!(!v.revoked);
    }

    #[test]
    fn failures_are_classified() {
        use crate::zipcheck::{Rule, ZipError};
        let backend = StoreError::Backend {
            op: "get",
            key: "k".into(),
            store: "s3://b".into(),
            source: Box::new(object_store::Error::Generic { store: "S3", source: "timeout".into() }),
        };
        assert_eq!(classify(&Error::Store(backend)), FailureKind::Transient);
        let io = Error::io("reading", std::io::Error::other("reset"));
        assert_eq!(classify(&io), FailureKind::Transient);
        let changed = StoreError::Conflict { key: "in.zip".into(), reason: "changed".into() };
        let wrapped = Error::io("reading the source", std::io::Error::other(changed));
        assert_eq!(classify(&wrapped), FailureKind::Permanent, "a source changed mid-read");
        assert_eq!(classify(&Error::Sign(crate::sign::SignError::AlreadySigned)), FailureKind::Permanent);
        assert_eq!(
            classify(&Error::Profile(crate::profiles::ProfileError::Canceled { name: "App".parse().unwrap() })),
            FailureKind::Permanent
        );
        assert_eq!(classify(&Error::Store(StoreError::NotFound { key: "in.zip".into() })), FailureKind::Permanent);
        let zip = ZipError::at("/etc/passwd", Rule::AbsolutePath);
        assert_eq!(classify(&Error::Zip(zip)), FailureKind::Permanent);
    }

    #[test]
    fn backoff_doubles_to_a_minute() {
        assert_eq!(retry_backoff_secs(0), 2);
        assert_eq!(retry_backoff_secs(1), 2);
        assert_eq!(retry_backoff_secs(2), 4);
        assert_eq!(retry_backoff_secs(20), 64);
    }
}
