//! One attempt, from claim to recorded end: check the profile, sign to staging, publish
//! once, record the end.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use object_store::path::Path;
use object_store::{DynObjectStore, ObjectStoreExt, PutMode};
use sha2::Digest as _;

use super::keyring::{Reach, Ready};
use super::lease::{Lease, LeaseFlag, renew, still_holds};
use super::{Finished, Inner, Outcome};
use crate::error::Error;
use crate::jobs::{
    self, AttemptEnd, Claim, FailureKind, JobEnd, JobError, JobRecord, JobResult, Records, SourcePin, Staging,
};
use crate::judge;
use crate::location::Location;
use crate::model::{ProfileStatus, Timestamp};
use crate::sign::{SignParams, Signed, sign_package};
use crate::store::{ObjectReader, ObjectWriter, Staged, StoreError, parse_object_url};
use crate::verify::{Integrity, WholeHash};
use crate::zipcheck::ZipLimits;
/// Why an attempt produced no result.
enum AttemptError {
    /// The lease was lost or the worker is stopping.
    Stopped,
    /// This home lacks the version's key.
    NoKey(String),
    /// The attempt failed.
    Failed(Error),
}

impl From<Error> for AttemptError {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl From<StoreError> for AttemptError {
    fn from(e: StoreError) -> Self {
        Self::Failed(e.into())
    }
}

impl Inner {
    /// One attempt, from claim to recorded end.
    pub(super) async fn attempt(self: Arc<Self>, records: Records, claim: Claim, flag: Arc<LeaseFlag>) -> Finished {
        let t0 = Instant::now();
        let n = claim.attempt;
        let renewer = tokio::spawn(renew(
            self.store.clone(),
            Arc::clone(&self.clock),
            records.job.job_id.clone(),
            n,
            self.id.clone(),
            self.opts.lease_secs,
            Arc::clone(&flag),
        ));
        let work = self.sign_job(&records.job, n, &flag).await;
        renewer.abort();
        let outcome = self.record(&records, n, work, &flag).await;
        Finished {
            job: records.job.job_id.clone(),
            source: records.job.source.url.clone(),
            outcome,
            duration: t0.elapsed(),
        }
    }

    /// Records how an attempt ended and says what that was.
    async fn record(&self, records: &Records, n: u64, work: Result<Done, AttemptError>, flag: &LeaseFlag) -> Outcome {
        let job = &records.job;
        let now = self.clock.now();
        let lost = flag.get() == Lease::Lost;
        let unrecorded = |e: Error| Outcome::Unrecorded { attempt: n, reason: e.to_string() };
        let end = |end: AttemptEnd| async move { jobs::end_attempt(&self.store, &job.job_id, n, &end).await };
        match work {
            Ok(Done { result, held }) => {
                // Nothing to clean up at the destination if attempt 1, the only one while
                // its lease holds, kept the bytes in memory.
                let staging = if held && n == 1 && flag.fresh(now) { Staging::None } else { Staging::Any };
                match jobs::conclude(&self.store, job, result, staging).await {
                    Ok(standing) => standing_outcome(&standing),
                    Err(e) => unrecorded(e),
                }
            }
            Err(_) if lost => Outcome::Lost { attempt: n },
            Err(AttemptError::Stopped) => {
                let reason = "the worker is shutting down".to_owned();
                match end(AttemptEnd::Released { reason: reason.clone(), ended_at: now }).await {
                    Ok(()) => Outcome::Released { attempt: n, reason },
                    Err(e) => unrecorded(e),
                }
            }
            Err(AttemptError::NoKey(reason)) => {
                match end(AttemptEnd::Released { reason: reason.clone(), ended_at: now }).await {
                    Ok(()) => Outcome::Released { attempt: n, reason },
                    Err(e) => unrecorded(e),
                }
            }
            Err(AttemptError::Failed(e)) => {
                let reason = source_reason(&e, &job.source).unwrap_or_else(|| e.to_string());
                let failed = jobs::failed_attempts(records, now).0 + 1;
                let permanent = jobs::classify(&e) == FailureKind::Permanent;
                if permanent || failed >= jobs::MAX_ATTEMPTS {
                    let reason = if permanent {
                        reason
                    } else {
                        format!("gave up after {failed} failed attempts; the last: {reason}")
                    };
                    let failed = failed_result(job, n, reason, Some(&self.id), now);
                    match jobs::conclude(&self.store, job, failed, Staging::Any).await {
                        Ok(standing) => standing_outcome(&standing),
                        Err(e) => unrecorded(e),
                    }
                } else {
                    let retry_after = now.plus_secs(jobs::retry_backoff_secs(failed));
                    match end(AttemptEnd::Retry { reason: reason.clone(), ended_at: now, retry_after }).await {
                        Ok(()) => Outcome::Retrying { attempt: n, reason, retry_after },
                        Err(e) => unrecorded(e),
                    }
                }
            }
        }
    }

    /// Signs a job's source into staging and publishes it once (see the module docs):
    /// the profile check, the signing to a staging object, the one publication.
    async fn sign_job(&self, job: &JobRecord, n: u64, flag: &Arc<LeaseFlag>) -> Result<Done, AttemptError> {
        let identity = self.check_profile(job).await?;
        let (dest, dest_path) = parse_object_url(&job.signed_object)?;
        let adopted = |result| Done { result, held: false };
        // An earlier attempt may have published it and died before recording that (attempt
        // 1 has none before it; an object there by someone else fails the publication).
        if n > 1 && exists(&dest, &dest_path, &job.signed_object).await? {
            return self.adopt(job, dest, dest_path, n).await.map(adopted);
        }
        let staging = jobs::staging_path(&dest_path, n)?;
        let (signed, sha256, staged) = self.sign_to_staging(job, flag, identity, &dest, &staging).await?;
        let held = matches!(staged, Staged::Held(_));
        if !self.publish_once(job, n, flag, &dest, (&staging, staged), &dest_path).await? {
            return self.adopt(job, dest, dest_path, n).await.map(adopted);
        }
        let st = &signed.statement;
        let result = JobResult {
            job_id: job.job_id.clone(),
            end: JobEnd::Succeeded {
                signed_object: job.signed_object.clone(),
                signed_at: st.signed_at,
                signature_expires_at: st.expires_at,
                sha256,
                size: signed.package_len,
            },
            attempts: n,
            worker: Some(self.id.clone()),
            ended_at: self.clock.now(),
        };
        Ok(Done { result, held })
    }

    /// The profile must still sign: canceled or revoked since submission fails the job;
    /// a version whose key is not in this home is left to a worker that has it.
    async fn check_profile(&self, job: &JobRecord) -> Result<JobIdentity, AttemptError> {
        let version_ref = job.version_ref();
        let profile = self.pass.profile(&self.store, &job.profile).await?;
        if profile.status == ProfileStatus::Canceled {
            return Err(Error::from(JobError::CanceledSince { profile: job.profile.clone() }).into());
        }
        if let Some(at) =
            profile.versions.iter().find(|v| v.version == job.profile_version).and_then(|v| v.revoked_effective_at)
        {
            return Err(Error::from(JobError::RevokedSince { version: version_ref, effective: at }).into());
        }
        match self.keyring.reach(&self.store, job).await? {
            Reach::Ready(ready) => Ok(JobIdentity { ready, sign_without_tsa: profile.sign_without_tsa }),
            Reach::NotHere(why) | Reach::Unreachable(why) => Err(AttemptError::NoKey(why)),
        }
    }

    /// Streams the pinned source through the gate and the signer into the staging object
    /// (complete, or not there at all), or, for a package under one upload part, into
    /// memory ([`Staged::Held`]: no staging object). Returns what was signed, the SHA-256
    /// of the signed bytes and where they are; a lease lost meanwhile stops it and leaves
    /// no staging object.
    async fn sign_to_staging(
        &self,
        job: &JobRecord,
        flag: &Arc<LeaseFlag>,
        identity: JobIdentity,
        dest: &Arc<DynObjectStore>,
        staging: &Path,
    ) -> Result<(Signed, String, Staged), AttemptError> {
        let (src, src_path) = parse_object_url(&job.source.url)?;
        let reader = open_pinned(src, src_path, &job.source).await?;
        let writer = ObjectWriter::create(Arc::clone(dest), staging.clone()).await?;
        let JobIdentity { ready, sign_without_tsa } = identity;
        let stamper = self.pass.stamper(&self.store, sign_without_tsa).await?;
        let now = self.clock.now();
        let params = SignParams {
            key: ready.key,
            chain: ready.chain.to_vec(),
            version: job.version_ref(),
            job_id: Some(job.job_id.clone()),
            signed_at: now,
            expires_at: now.plus_secs(job.signature_validity.secs()),
            stamper,
        };
        let guard_flag = Arc::clone(flag);
        let signed = tokio::task::spawn_blocking(move || {
            let mut reader = reader;
            let mut out = Guarded { writer, flag: guard_flag, sha256: sha2::Sha256::new() };
            let signed = sign_package(&mut reader, &mut out, &params, &ZipLimits::default(), &mut |_| {});
            let Guarded { writer, sha256, .. } = out;
            match signed {
                Ok(s) => writer
                    .finish_or_hold()
                    .map(|staged| (s, hex::encode(sha256.finalize()), staged))
                    .map_err(Error::from),
                Err(e) => {
                    let _ = writer.abort();
                    Err(e)
                }
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("the signing task failed: {e}")))?;
        let state = flag.get();
        if state == Lease::Lost || (state == Lease::Release && signed.is_err()) {
            delete_quietly(dest, staging).await;
            return Err(AttemptError::Stopped);
        }
        Ok(signed?)
    }

    /// Publishes the signed package at the destination if nothing is there yet (one of
    /// any number of attempts wins): the staging object is copied there and removed, or
    /// the bytes held in memory are created there (`If-None-Match: *`). `false`: another
    /// attempt's object is there (adopt it).
    async fn publish_once(
        &self,
        job: &JobRecord,
        n: u64,
        flag: &LeaseFlag,
        dest: &Arc<DynObjectStore>,
        (staging, staged): (&Path, Staged),
        dest_path: &Path,
    ) -> Result<bool, AttemptError> {
        let written = matches!(staged, Staged::Written);
        // Past half its lease, the store is asked whether the attempt still holds the job.
        if !flag.fresh(self.clock.now()) && !still_holds(&self.store, &job.job_id, n).await? {
            flag.lose();
            if written {
                delete_quietly(dest, staging).await;
            }
            return Err(AttemptError::Stopped);
        }
        let published = match staged {
            Staged::Held(bytes) => dest.put_opts(dest_path, bytes.into(), PutMode::Create.into()).await.map(|_| ()),
            Staged::Written => dest.copy_if_not_exists(staging, dest_path).await,
        };
        if written {
            delete_quietly(dest, staging).await;
        }
        match published {
            Ok(()) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(jobs::backend_error("publish", &job.signed_object, dest, e).into()),
        }
    }

    /// Records the object already at the destination, if this job signed it.
    async fn adopt(
        &self,
        job: &JobRecord,
        dest: Arc<DynObjectStore>,
        path: Path,
        n: u64,
    ) -> Result<JobResult, AttemptError> {
        let loc = Location::Object { store: dest, path, url: job.signed_object.clone() };
        // Not a zip at all is, like any other object, one this job did not sign.
        let read = match judge::read(&loc, WholeHash::Sha256, |_| {}).await {
            Ok(read) => Some(read),
            Err(Error::Zip(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let signed = read.as_ref().and_then(|r| match &r.integrity {
            Integrity::Intact(block) if block.statement.job_id.as_ref() == Some(&job.job_id) => {
                Some((r, &block.statement))
            }
            _ => None,
        });
        let (read, statement) = match signed {
            Some(found) => found,
            None => {
                return Err(Error::from(JobError::DestinationTaken {
                    object: job.signed_object.clone(),
                    job: job.job_id.clone(),
                })
                .into());
            }
        };
        let sha256 = read
            .sha256
            .clone()
            .ok_or_else(|| Error::Internal("an adopted object was read without its SHA-256".into()))?;
        Ok(JobResult {
            job_id: job.job_id.clone(),
            end: JobEnd::Succeeded {
                signed_object: job.signed_object.clone(),
                signed_at: statement.signed_at,
                signature_expires_at: statement.expires_at,
                sha256,
                size: read.size,
            },
            attempts: n,
            worker: Some(self.id.clone()),
            ended_at: self.clock.now(),
        })
    }
}

async fn exists(store: &Arc<DynObjectStore>, path: &Path, url: &str) -> Result<bool, Error> {
    match store.head(path).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(jobs::backend_error("head", url, store, e).into()),
    }
}

async fn delete_quietly(store: &Arc<DynObjectStore>, path: &Path) {
    // The job's settlement deletes every attempt's staging object again.
    let _ = store.delete(path).await;
}

/// Opens the source only if it is still the pinned version; reads then require that
/// version (`If-Match`), so a change mid-read fails instead of mixing bytes.
async fn open_pinned(src: Arc<DynObjectStore>, path: Path, pin: &SourcePin) -> Result<ObjectReader, Error> {
    let Some(version) = &pin.version else {
        // Every read requires the pinned ETag: a source changed or deleted since
        // submission fails the first read (see [`source_reason`]), so nothing is asked now.
        return Ok(ObjectReader::pinned(src, path, pin.size, pin.e_tag.clone()));
    };
    // A versioned bucket: read the very version submitted; later writes to the key do not
    // concern this job.
    ObjectReader::open_version(src, path, version, &pin.e_tag).await.map_err(|e| match e {
        StoreError::NotFound { .. } => {
            JobError::SourceGone { url: pin.url.clone(), version: Some(version.clone()) }.into()
        }
        StoreError::Conflict { .. } => changed(pin, "another").into(),
        e => e.into(),
    })
}

fn changed(pin: &SourcePin, now: &str) -> JobError {
    JobError::SourceChanged { url: pin.url.clone(), pinned: pin.e_tag.clone(), now: now.to_owned() }
}

/// The reason to record when a read of the source failed because it changed or went
/// away since submission.
fn source_reason(e: &Error, pin: &SourcePin) -> Option<String> {
    let Error::Io { source, .. } = e else { return None };
    match source.get_ref().and_then(|inner| inner.downcast_ref::<StoreError>())? {
        StoreError::Conflict { .. } => Some(changed(pin, "another").to_string()),
        StoreError::NotFound { .. } => Some(JobError::SourceGone { url: pin.url.clone(), version: None }.to_string()),
        _ => None,
    }
}

pub(super) fn failed_result(
    job: &JobRecord,
    attempts: u64,
    reason: String,
    worker: Option<&str>,
    now: Timestamp,
) -> JobResult {
    JobResult {
        job_id: job.job_id.clone(),
        end: JobEnd::Failed { status_reason: reason },
        attempts,
        worker: worker.map(str::to_owned),
        ended_at: now,
    }
}

pub(super) fn standing_outcome(r: &JobResult) -> Outcome {
    match &r.end {
        JobEnd::Succeeded { signed_object, .. } => {
            Outcome::Succeeded { signed_object: signed_object.clone(), attempt: r.attempts }
        }
        JobEnd::Failed { status_reason } => Outcome::Failed { reason: status_reason.clone() },
    }
}

/// The staging writer, stopped as soon as the attempt is (lease lost, or released), and
/// hashing what it writes.
struct Guarded {
    writer: ObjectWriter,
    flag: Arc<LeaseFlag>,
    sha256: sha2::Sha256,
}

impl Write for Guarded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.flag.get() != Lease::Held {
            return Err(std::io::Error::other("the attempt was stopped (lease lost, or the worker is shutting down)"));
        }
        let n = self.writer.write(buf)?;
        self.sha256.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// An attempt that ended the job Succeeded: the result, and whether the signed bytes were
/// held in memory (no staging object).
struct Done {
    result: JobResult,
    held: bool,
}

/// What a job signs with: its version's key and chain, and the profile's TSA setting.
struct JobIdentity {
    ready: Ready,
    sign_without_tsa: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_or_gone_source_is_named() {
        let pin = SourcePin {
            url: "s3://b/in.zip".into(),
            e_tag: "\"e1\"".into(),
            size: 1,
            last_modified: Timestamp::from_unix(0),
            version: None,
        };
        let conflict = StoreError::Conflict { key: "in.zip".into(), reason: "changed".into() };
        let e = Error::io("reading the zip", std::io::Error::other(conflict));
        let why = source_reason(&e, &pin).unwrap();
        assert!(why.contains("changed since submission") && why.contains("\"e1\""), "{why}");
        assert_eq!(source_reason(&Error::Internal("x".into()), &pin), None);
        assert_eq!(jobs::classify(&e), FailureKind::Permanent);
        // Gone since submission: the first read finds nothing.
        let gone = Error::io("reading the zip", std::io::Error::other(StoreError::NotFound { key: "in.zip".into() }));
        let why = source_reason(&gone, &pin).unwrap();
        assert!(why.contains("no longer exists") && why.contains("s3://b/in.zip"), "{why}");
        assert_eq!(jobs::classify(&gone), FailureKind::Permanent);
    }
}
