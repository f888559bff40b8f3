//! Signing jobs (SPEC §2 "signing job", §8): a zip in an object store goes in, a signed zip
//! comes out at `<destination prefix><job id>.zip`, done by [`crate::worker`]s that may
//! run on many machines against one store.
//!
//! A job is a set of immutable records in the store (layout in [`crate::store::keys`]),
//! each written once with create-if-absent, so its state is derived from a listing and a
//! few reads (`state`) and no record is ever updated in place — the file store offers
//! no compare-and-swap, and none is needed:
//!
//! - `start` pins the source (ETag, size, modification time, object version) and writes
//!   a queue entry, then `jobs/<ID>/job.json`. A client token is a create-if-absent record
//!   holding the whole job, so concurrent starts with one token agree on one job.
//! - a worker claims attempt N by creating `attempts/<N>.json`; of any number of workers
//!   exactly one succeeds. Its lease lasts `lease_secs` from the claim or its latest
//!   renewal (`attempts/<N>/renewed-<T>.json`); once it lapses, attempt N+1 may be
//!   claimed. A transient failure ends the attempt with `end.json` (retry after a
//!   backoff); a release (shutdown) too, without counting as a failure.
//! - the job ends with `result.json`, created once; then its event, its dead-letter
//!   record when it failed, the removal of temporaries and of its queue entry follow,
//!   each idempotent, so a worker that dies in between leaves them to the next one.
//!
//! How the signed object is published exactly once is described at [`crate::worker`].

mod records;
mod state;

pub use records::{
    AttemptEnd, Claim, FinalStatus, JobEnd, JobEvent, JobRecord, JobResult, JobStatus, PinView, Revocation, SourcePin,
    WorkerPresence,
};
pub use state::{
    AttemptRecords, FailureKind, JobView, MAX_ATTEMPTS, Next, Records, classify, clock_skew_problem, failed_attempts,
    next, retry_backoff_secs, view,
};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{DynObjectStore, ObjectStoreExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::{JobId, ProfileName, ProfileStatus, TextRule, Timestamp};
use crate::profiles::{self, JobRevocation, ProfileError, VersionRecord};
use crate::store::keys::JobKey;
use crate::store::{Key, Store, StoreError, keys, parse_object_url};

/// What can go wrong with signing jobs.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The profile is canceled or revoked.
    #[error("signing profile {profile} is {status:?}; it starts no new jobs (see `signer profile show {profile}`)")]
    ProfileNotActive {
        /// The profile.
        profile: ProfileName,
        /// Its status.
        status: ProfileStatus,
    },
    /// The destination prefix is not usable.
    #[error("invalid destination prefix {destination:?}: {why}")]
    BadDestination {
        /// As given.
        destination: String,
        /// Why, and what to do.
        why: String,
    },
    /// A local source path that has no `file://` URL.
    #[error("{path} is not a usable local path; give a file:// or s3:// URL")]
    BadSource {
        /// As given.
        path: String,
    },
    /// An empty path.
    #[error("an empty path; give a path or an object URL")]
    EmptyPath,
    /// The source object does not exist.
    #[error("source {url} not found; upload it first, or check the URL")]
    SourceNotFound {
        /// The source.
        url: String,
    },
    /// The source's current object version is not the one asked for.
    #[error(
        "source {url} is at version {current}, not {want}: signer signs an object's current version only; start the job with that version, or with none"
    )]
    SourceVersion {
        /// The source.
        url: String,
        /// The version asked for.
        want: String,
        /// The object's current version.
        current: String,
    },
    /// The source's store gives no ETag to pin it by.
    #[error("the store of {url} gives the object no ETag, so its bytes cannot be pinned")]
    NoETag {
        /// The source.
        url: String,
    },
    /// The client token names another request.
    #[error(
        "the client token was already used for job {job} (profile {profile}, source {source_url}, destination {destination}); use a new token for a different request"
    )]
    TokenReused {
        /// The job it names.
        job: JobId,
        /// That job's profile.
        profile: ProfileName,
        /// Its source.
        source_url: String,
        /// Its destination.
        destination: String,
    },
    /// A record that was just there is gone (someone removed it from the store).
    #[error("{what} vanished; {fix}")]
    Vanished {
        /// Which record.
        what: String,
        /// What to do.
        fix: &'static str,
    },
    /// No such job.
    #[error("no signing job {id} in the store; see `signer sign-job list`")]
    NotFound {
        /// The job.
        id: JobId,
    },
    /// Revoking a job that has no signature.
    #[error("job {id} is {status}; only a Succeeded job has a signature to revoke")]
    NotSucceeded {
        /// The job.
        id: JobId,
        /// Its status.
        status: records::JobStatus,
    },
    /// Purging a job that has not ended.
    #[error("job {id} is {status}; only an ended job is taken off the queue (wait for it, or `sign-job describe` it)")]
    NotEnded {
        /// The job.
        id: JobId,
        /// Its status.
        status: records::JobStatus,
    },
    /// No key for the job here and no worker elsewhere.
    #[error(
        "job {id} needs the key of {version}, which this home cannot use ({why}), and no worker runs against \
         {store}; run `signer worker` where that key is (the job waits for it)"
    )]
    NoKeyNoWorker {
        /// The job.
        id: JobId,
        /// The version whose key it needs.
        version: crate::model::VersionRef,
        /// Why this home cannot sign with it.
        why: String,
        /// The store.
        store: String,
    },
    /// `sign-job wait` gave up.
    #[error(
        "job {id} is still {status} after {secs} s ({reason}); wait again with `signer sign-job wait {id}`, and check that a worker runs"
    )]
    WaitTimedOut {
        /// The job.
        id: JobId,
        /// Its status.
        status: records::JobStatus,
        /// How long it waited.
        secs: u64,
        /// The job's status reason.
        reason: String,
    },
    /// The profile was canceled after the job was submitted.
    #[error("signing profile {profile} was canceled after the job was submitted; a canceled profile signs nothing new")]
    CanceledSince {
        /// The profile.
        profile: ProfileName,
    },
    /// The job's profile version was revoked after the job was submitted.
    #[error("profile version {version} was revoked (effective {effective}); it signs nothing new")]
    RevokedSince {
        /// The version.
        version: crate::model::VersionRef,
        /// Effective since.
        effective: Timestamp,
    },
    /// The destination holds an object this job did not sign.
    #[error(
        "the destination {object} already holds an object that job {job} did not sign; remove it, or submit the job again with another destination prefix"
    )]
    DestinationTaken {
        /// The destination object.
        object: String,
        /// The job.
        job: JobId,
    },
    /// The source (or the pinned version of it) was deleted after submission.
    #[error(
        "{}source {url} no longer exists (it was deleted after the job was submitted); nothing was signed",
        version.as_ref().map(|v| format!("version {v} of ")).unwrap_or_default()
    )]
    SourceGone {
        /// The source.
        url: String,
        /// The pinned version, in a versioned bucket.
        version: Option<String>,
    },
    /// The source's bytes changed after submission.
    #[error(
        "source {url} changed since submission (ETag {pinned}, now {now}); nothing was signed: submit a new job to sign the new bytes"
    )]
    SourceChanged {
        /// The source.
        url: String,
        /// The ETag pinned at submission.
        pinned: String,
        /// What it is now.
        now: String,
    },
    /// `sign-job wait` was interrupted.
    #[error("interrupted while waiting; job {id} goes on: `signer sign-job wait {id}`")]
    WaitInterrupted {
        /// The job.
        id: JobId,
    },
}

/// The longest client token accepted, in characters.
pub const MAX_CLIENT_TOKEN_LEN: usize = 256;

/// The longest revocation reason accepted, in characters.
pub const MAX_REASON_LEN: usize = 1024;

/// A client token: 1 to [`MAX_CLIENT_TOKEN_LEN`] characters on one line.
pub const CLIENT_TOKEN: TextRule = TextRule::new("client token", MAX_CLIENT_TOKEN_LEN);

/// A revocation reason (of a job's signature or of a profile version): 1 to
/// [`MAX_REASON_LEN`] characters on one line.
pub const REVOCATION_REASON: TextRule = TextRule::new("revocation reason", MAX_REASON_LEN);

/// How many store reads `list` keeps in flight.
const LIST_READS_IN_FLIGHT: usize = 32;

/// What `sign-job start` asks for.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The signing profile; its current version signs.
    pub profile: ProfileName,
    /// The source: an object URL, or a local path (stored as its `file://` URL).
    pub source: String,
    /// The destination prefix: an object URL prefix, or a local folder.
    pub destination: String,
    /// Makes `start` idempotent: the same token returns the same job.
    pub client_token: Option<String>,
    /// Who asks (the access key's name, through `signer serve`), recorded in the job.
    pub requested_by: Option<String>,
    /// The source's object version the caller expects (AWS's `source.s3.version`): the
    /// start is refused when the object's current version is another.
    pub source_version: Option<String>,
}

/// What `start` did.
#[derive(Debug, Clone)]
pub struct Started {
    /// The job.
    pub job: JobRecord,
    /// Whether this call created it (false: the client token's existing job).
    pub created: bool,
}

/// Submits a signing job (SPEC §7 `sign-job start`). Checks that the profile is Active
/// and the source exists, and pins the source; returns at once.
///
/// With a client token, the first start creates the job and every later or concurrent
/// start with the same token returns it; a token reused for another profile, source or
/// destination is a conflict (exit 5).
pub async fn start(store: &Store, req: &StartRequest, now: Timestamp) -> Result<Started, Error> {
    if let Some(token) = &req.client_token {
        CLIENT_TOKEN.check(token)?;
    }
    let source = source_url(&req.source)?;
    let destination = destination_prefix(&req.destination)?;
    if let Some(token) = &req.client_token
        && let Some(existing) = store.get_json::<JobRecord>(&keys::job_token(token)?).await?
    {
        same_request(&existing, req, &source, &destination)?;
        ensure_submitted(store, &existing, false).await?;
        return Ok(Started { job: existing, created: false });
    }

    let profile = profiles::standing(store, &req.profile).await?;
    if profile.status != ProfileStatus::Active {
        return Err(JobError::ProfileNotActive { profile: req.profile.clone(), status: profile.status }.into());
    }
    let version = profile.current_version.ok_or_else(|| ProfileError::NoVersion { name: req.profile.clone() })?;
    let pin = pin_source(&source).await?;
    if let Some(want) = &req.source_version
        && pin.version.as_ref() != Some(want)
    {
        return Err(JobError::SourceVersion {
            url: source.clone(),
            want: want.clone(),
            current: pin.version.unwrap_or_else(|| "none (the bucket is not versioned)".to_owned()),
        }
        .into());
    }
    let job_id = JobId::random();
    let signed_object = format!("{destination}{job_id}.zip");
    parse_object_url(&signed_object).map_err(|e| JobError::BadDestination {
        destination: destination.clone(),
        why: format!("it gives no valid object URL: {e}"),
    })?;
    let mut job = JobRecord {
        job_id,
        profile: req.profile.clone(),
        profile_version: version,
        platform: profile.platform,
        signature_validity: profile.signature_validity,
        source: pin,
        destination,
        signed_object,
        submitted_at: now,
        requested_by: req.requested_by.clone(),
    };
    let mut created = true;
    if let Some(token) = &req.client_token {
        let key = keys::job_token(token)?;
        match store.create_json(&key, &job).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists { .. }) => {
                // A concurrent start with this token won: its job is the job.
                let existing = store.get_json::<JobRecord>(&key).await?.ok_or_else(|| JobError::Vanished {
                    what: format!("client token record {key}"),
                    fix: "run the command again",
                })?;
                same_request(&existing, req, &job.source.url, &job.destination)?;
                job = existing;
                created = false;
            }
            Err(e) => return Err(e.into()),
        }
    }
    ensure_submitted(store, &job, created).await?;
    Ok(Started { job, created })
}

/// Writes a job's queue entry, then its record, unless the record exists (not looked for
/// when the job is `new`: its id was just drawn): both create-if-absent, so a start that
/// died half-way is completed by the next start with its token, and a queue entry without
/// a record is completed by a worker.
async fn ensure_submitted(store: &Store, job: &JobRecord, new: bool) -> Result<(), Error> {
    if !new && store.exists(&keys::job(&job.job_id)?).await? {
        return Ok(());
    }
    create_or_keep(store, &keys::job_queue_entry(job.submitted_at, &job.job_id)?, job).await?;
    create_or_keep(store, &keys::job(&job.job_id)?, job).await
}

fn same_request(existing: &JobRecord, req: &StartRequest, source: &str, destination: &str) -> Result<(), Error> {
    if existing.profile == req.profile && existing.source.url == source && existing.destination == destination {
        return Ok(());
    }
    Err(JobError::TokenReused {
        job: existing.job_id.clone(),
        profile: existing.profile.clone(),
        source_url: existing.source.url.clone(),
        destination: existing.destination.clone(),
    }
    .into())
}

/// A source as stored in a job: object URLs as given, local paths as `file://` URLs.
pub fn source_url(source: &str) -> Result<String, Error> {
    let not_a_file = || Error::NotAFile { path: source.to_owned(), kind: "a directory" };
    if source.contains("://") {
        parse_object_url(source)?;
        if source.starts_with("file:") && crate::store::file_object_path(source).is_ok_and(|p| p.is_dir()) {
            return Err(not_a_file());
        }
        return Ok(source.to_owned());
    }
    let path = absolute(source)?;
    if path.is_dir() {
        return Err(not_a_file());
    }
    url::Url::from_file_path(&path)
        .map(String::from)
        .map_err(|()| JobError::BadSource { path: source.to_owned() }.into())
}

/// A destination prefix as stored in a job. The signed object is `<prefix><job id>.zip`,
/// the prefix taken literally as S3 does, except that a bare bucket (`s3://bucket`) and an
/// existing local folder get their `/`, and a local path is a folder.
pub fn destination_prefix(destination: &str) -> Result<String, Error> {
    let bad =
        |why: &str| Error::from(JobError::BadDestination { destination: destination.to_owned(), why: why.to_owned() });
    if let Some(rest) = destination.strip_prefix("s3://") {
        if rest.is_empty() {
            return Err(bad("name a bucket: s3://bucket/prefix/"));
        }
        return Ok(if rest.contains('/') { destination.to_owned() } else { format!("{destination}/") });
    }
    if destination.starts_with("file://") {
        let url = url::Url::parse(destination).map_err(|e| bad(&e.to_string()))?;
        let is_dir = url.to_file_path().is_ok_and(|p| p.is_dir());
        return Ok(if is_dir && !destination.ends_with('/') {
            format!("{destination}/")
        } else {
            destination.to_owned()
        });
    }
    if destination.contains("://") {
        return Err(bad("use s3://bucket/prefix/, file:///abs/dir/ or a local folder"));
    }
    let path = absolute(destination)?;
    if path.exists() && !path.is_dir() {
        return Err(Error::NotAFolder { path: destination.to_owned() });
    }
    url::Url::from_directory_path(&path).map(String::from).map_err(|()| bad("not a usable local folder"))
}

fn absolute(p: &str) -> Result<std::path::PathBuf, Error> {
    if p.is_empty() {
        return Err(JobError::EmptyPath.into());
    }
    let abs = std::path::absolute(p).map_err(|e| Error::io(format!("resolving {p}"), e))?;
    Ok(abs.canonicalize().unwrap_or(abs))
}

/// Reads the source's metadata at submission: the pin. A missing source is exit 4; a
/// store that gives no ETag cannot pin, and is refused.
pub async fn pin_source(url: &str) -> Result<SourcePin, Error> {
    let (store, path) = parse_object_url(url)?;
    let meta = store.head(&path).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => Error::from(JobError::SourceNotFound { url: url.to_owned() }),
        e => backend_error("head", url, &store, e).into(),
    })?;
    let e_tag = meta.e_tag.ok_or_else(|| JobError::NoETag { url: url.to_owned() })?;
    Ok(SourcePin {
        url: url.to_owned(),
        e_tag,
        size: meta.size,
        last_modified: Timestamp::from_unix(meta.last_modified.timestamp()),
        version: meta.version,
    })
}

/// A store error for an `object_store` call made outside [`Store`].
pub(crate) fn backend_error(
    op: &'static str,
    what: &str,
    store: &DynObjectStore,
    e: object_store::Error,
) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound { key: what.to_owned() },
        object_store::Error::AlreadyExists { .. } => StoreError::AlreadyExists { key: what.to_owned() },
        object_store::Error::Precondition { .. } => StoreError::Conflict {
            key: what.to_owned(),
            reason: "the object changed since it was first read".to_owned(),
        },
        source => StoreError::Backend { op, key: what.to_owned(), store: store.to_string(), source: Box::new(source) },
    }
}

/// Where attempt N writes before publishing: `<prefix><job id>.attempt-<N>.partial`, in
/// the destination's store (a copy can only be made within one store), not ending in
/// `.zip`, and removed once the job is settled.
pub fn staging_path(signed_object: &Path, attempt: u64) -> Result<Path, Error> {
    let s = signed_object.as_ref();
    let stem = s.strip_suffix(".zip").unwrap_or(s);
    Path::parse(format!("{stem}.attempt-{attempt}.partial"))
        .map_err(|e| Error::Internal(format!("no staging name for {s}: {e}")))
}

/// Immutable records already read, by key (a worker reads each record once).
#[derive(Debug, Default)]
pub struct RecordCache {
    values: Mutex<HashMap<Key, serde_json::Value>>,
}

impl RecordCache {
    async fn get<T: DeserializeOwned>(&self, store: &Store, key: &Key) -> Result<Option<T>, Error> {
        let cached = self.values.lock().ok().and_then(|m| m.get(key).cloned());
        let value = match cached {
            Some(v) => v,
            None => {
                let Some(v) = store.get_json::<serde_json::Value>(key).await? else {
                    return Ok(None);
                };
                if let Ok(mut m) = self.values.lock() {
                    m.insert(key.clone(), v.clone());
                }
                v
            }
        };
        serde_json::from_value(value).map(Some).map_err(|e| {
            StoreError::Corrupt {
                key: key.to_string(),
                reason: format!("not the job record signer expects ({e}); remove the job's records"),
            }
            .into()
        })
    }

    /// Forgets a job's records (when it has been settled).
    pub fn forget(&self, job: &JobId) {
        let Ok(dir) = keys::job_dir(job) else { return };
        let prefix = format!("{}/", dir.as_str());
        if let Ok(mut m) = self.values.lock() {
            m.retain(|k, _| !k.as_str().starts_with(&prefix));
        }
    }
}

/// Reads every record of a job: one listing, then the records not read before. Exit 4
/// if there is no such job.
pub async fn load(store: &Store, id: &JobId, cache: &RecordCache, with_revocation: bool) -> Result<Records, Error> {
    let dir = keys::job_dir(id)?;
    let listed = store.list_keys(&dir).await?;
    let job: JobRecord =
        cache.get(store, &keys::job(id)?).await?.ok_or_else(|| JobError::NotFound { id: id.clone() })?;
    let layout = JobKeys::from_listing(id, &listed);
    let mut attempts = Vec::new();
    for (n, info) in &layout.attempts {
        if !info.claimed {
            continue;
        }
        let Some(claim) = cache.get::<Claim>(store, &keys::job_claim(id, *n)?).await? else {
            continue;
        };
        let end =
            if info.ended { cache.get::<AttemptEnd>(store, &keys::job_attempt_end(id, *n)?).await? } else { None };
        attempts.push(AttemptRecords { claim, last_renewal: info.last_renewal, end });
    }
    let result = if layout.result { cache.get::<JobResult>(store, &keys::job_result(id)?).await? } else { None };
    let revocation = if with_revocation {
        store
            .get_record::<JobRevocation>(&keys::job_revocation(id)?)
            .await?
            .map(|r| Revocation { reason: r.reason, revoked_at: r.revoked_at })
    } else {
        None
    };
    Ok(Records { job, attempts, result, revocation })
}

/// What a listing of `jobs/<ID>/` shows, without reading anything.
#[derive(Debug, Default)]
struct JobKeys {
    job: bool,
    result: bool,
    attempts: BTreeMap<u64, AttemptKeys>,
}

#[derive(Debug, Default)]
struct AttemptKeys {
    claimed: bool,
    ended: bool,
    last_renewal: Option<Timestamp>,
}

impl JobKeys {
    fn from_listing(id: &JobId, listed: &[Key]) -> Self {
        let mut out = Self::default();
        for (_, record) in listed.iter().filter_map(keys::parse_job_key).filter(|(of, _)| of == id) {
            out.add(record);
        }
        out
    }

    /// Adds one of the job's records.
    fn add(&mut self, record: JobKey) {
        match record {
            JobKey::Job => self.job = true,
            JobKey::Result => self.result = true,
            JobKey::Claim(n) => self.attempts.entry(n).or_default().claimed = true,
            JobKey::AttemptEnd(n) => self.attempts.entry(n).or_default().ended = true,
            JobKey::Renewal(n, t) => {
                let a = self.attempts.entry(n).or_default();
                a.last_renewal = Some(a.last_renewal.map_or(t, |r| r.max(t)));
            }
        }
    }

    fn claims(&self) -> u64 {
        self.attempts.values().filter(|a| a.claimed).count() as u64
    }
}

/// A job as described now (SPEC §7 `sign-job describe`).
pub async fn describe(store: &Store, id: &JobId, now: Timestamp) -> Result<JobView, Error> {
    let records = load(store, id, &RecordCache::default(), true).await?;
    Ok(view(&records, now))
}

impl Started {
    /// How the job stands now: for a job this call created, from its record alone (it
    /// has no attempt, result or revocation yet: nothing to read back); for the client
    /// token's existing job, as [`describe`] reads it.
    pub async fn view(&self, store: &Store, now: Timestamp) -> Result<JobView, Error> {
        if !self.created {
            return describe(store, &self.job.job_id, now).await;
        }
        Ok(view(&Records { job: self.job.clone(), attempts: Vec::new(), result: None, revocation: None }, now))
    }
}

/// Which jobs `sign-job list` shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Only this profile.
    pub profile: Option<ProfileName>,
    /// Only jobs whose signature is revoked.
    pub revoked: bool,
    /// Only signatures that expire before this time.
    pub expires_before: Option<Timestamp>,
    /// Only signatures that expire after this time.
    pub expires_after: Option<Timestamp>,
}

impl ListFilter {
    fn expiry_filtered(&self) -> bool {
        self.expires_before.is_some() || self.expires_after.is_some()
    }

    fn keeps(&self, s: &JobSummary) -> bool {
        let expires = |f: fn(Timestamp, Timestamp) -> bool, bound: Option<Timestamp>| {
            bound.is_none_or(|b| s.signature_expires_at.is_some_and(|e| f(e, b)))
        };
        self.status.is_none_or(|st| st == s.status)
            && self.profile.as_ref().is_none_or(|p| *p == s.profile)
            && (!self.revoked || s.revoked)
            && expires(|e, b| e < b, self.expires_before)
            && expires(|e, b| e > b, self.expires_after)
    }
}

/// One line of `sign-job list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSummary {
    /// The job.
    pub job_id: JobId,
    /// Its status.
    pub status: JobStatus,
    /// Why it failed.
    pub status_reason: Option<String>,
    /// The profile.
    pub profile: ProfileName,
    /// The profile version.
    pub profile_version: crate::model::VersionId,
    /// The platform.
    pub platform: crate::model::Platform,
    /// The access key that started it through `signer serve` (null from the command line).
    pub requested_by: Option<String>,
    /// The source URL.
    pub source: String,
    /// The signed object (Succeeded).
    pub signed_object: Option<String>,
    /// Attempts claimed.
    pub attempts: u64,
    /// Submission time.
    pub submitted_at: Timestamp,
    /// End time.
    pub ended_at: Option<Timestamp>,
    /// Signature expiry (Succeeded).
    pub signature_expires_at: Option<Timestamp>,
    /// Whether its signature is revoked.
    pub revoked: bool,
}

/// The jobs that pass `filter`, newest first (SPEC §7 `sign-job list`).
///
/// One listing of `jobs/` (the store pages through it) tells every job's status class
/// from key names alone; only the jobs that can still pass the filter are read (their
/// submission and, when ended, their result), `LIST_READS_IN_FLIGHT` (32) at a time.
pub async fn list(store: &Store, filter: &ListFilter) -> Result<Vec<JobSummary>, Error> {
    let root = keys::jobs()?;
    let mut by_job: BTreeMap<JobId, JobKeys> = BTreeMap::new();
    for (id, record) in store.list_keys(&root).await?.iter().filter_map(keys::parse_job_key) {
        by_job.entry(id).or_default().add(record);
    }
    let revoked: BTreeSet<JobId> =
        store.list_keys(&keys::job_revocations()?).await?.iter().filter_map(keys::parse_job_revocation).collect();
    let candidates: Vec<(JobId, bool, u64)> = by_job
        .into_iter()
        .filter(|(_, k)| k.job)
        .filter(|(id, k)| {
            let class = if k.result {
                None
            } else if k.claims() > 0 {
                Some(JobStatus::InProgress)
            } else {
                Some(JobStatus::Submitted)
            };
            let status_ok = match (filter.status, class) {
                (None, _) => true,
                (Some(want), Some(is)) => want == is,
                (Some(want), None) => want.is_final(),
            };
            status_ok && (!filter.revoked || revoked.contains(id)) && (!filter.expiry_filtered() || k.result)
        })
        .map(|(id, k)| {
            let claims = k.claims();
            (id, k.result, claims)
        })
        .collect();
    let revoked = &revoked;
    let mut out: Vec<JobSummary> = futures::stream::iter(candidates)
        .map(|(id, ended, claims)| async move { summary(store, id, ended, claims, revoked).await })
        .buffer_unordered(LIST_READS_IN_FLIGHT)
        .try_filter_map(|s| async move { Ok(s.filter(|s| filter.keeps(s))) })
        .try_collect()
        .await?;
    out.sort_by(|a, b| b.submitted_at.cmp(&a.submitted_at).then_with(|| b.job_id.cmp(&a.job_id)));
    Ok(out)
}

async fn summary(
    store: &Store,
    id: JobId,
    ended: bool,
    claims: u64,
    revoked: &BTreeSet<JobId>,
) -> Result<Option<JobSummary>, Error> {
    let Some(job) = store.get_json::<JobRecord>(&keys::job(&id)?).await? else {
        return Ok(None);
    };
    let result = if ended { store.get_json::<JobResult>(&keys::job_result(&id)?).await? } else { None };
    let status = match &result {
        Some(r) => r.status().into(),
        None if claims > 0 => JobStatus::InProgress,
        None => JobStatus::Submitted,
    };
    Ok(Some(JobSummary {
        revoked: revoked.contains(&id),
        job_id: id,
        status,
        status_reason: result.as_ref().and_then(|r| r.status_reason().map(str::to_owned)),
        profile: job.profile,
        profile_version: job.profile_version,
        platform: job.platform,
        requested_by: job.requested_by,
        source: job.source.url,
        signed_object: result.as_ref().and_then(|r| r.signed_object().map(str::to_owned)),
        attempts: result.as_ref().map_or(claims, |r| r.attempts.max(claims)),
        submitted_at: job.submitted_at,
        ended_at: result.as_ref().map(|r| r.ended_at),
        signature_expires_at: result.as_ref().and_then(JobResult::signature_expires_at),
    }))
}

/// Which log of job ends to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventLog {
    /// `events/jobs/`: every end.
    Events,
    /// `dead-letter/jobs/`: failures, with their reasons.
    DeadLetter,
}

/// The records of a job-end log, newest first, that pass `filter` (status and profile).
pub async fn events(store: &Store, log: EventLog, filter: &ListFilter) -> Result<Vec<JobEvent>, Error> {
    let prefix = match log {
        EventLog::Events => keys::job_events()?,
        EventLog::DeadLetter => keys::job_dead_letters()?,
    };
    let mut listed = store.list_keys(&prefix).await?;
    listed.reverse();
    let events: Vec<Option<JobEvent>> = futures::stream::iter(listed)
        .map(|k| async move { store.get_json::<JobEvent>(&k).await })
        .buffered(LIST_READS_IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(events
        .into_iter()
        .flatten()
        .filter(|e| filter.status.is_none_or(|s| s == e.status))
        .filter(|e| filter.profile.as_ref().is_none_or(|p| *p == e.profile))
        .filter(|e| filter.expires_before.is_none_or(|b| e.signature_expires_at.is_some_and(|x| x < b)))
        .filter(|e| filter.expires_after.is_none_or(|b| e.signature_expires_at.is_some_and(|x| x > b)))
        .collect())
}

/// Revokes a Succeeded job's signature (SPEC §7 `sign-job revoke`): irreversible; the
/// revocation check of `verify` and `deploy check` fails for its package from now on.
pub async fn revoke(store: &Store, id: &JobId, reason: &str, now: Timestamp) -> Result<JobView, Error> {
    REVOCATION_REASON.check(reason)?;
    let records = load(store, id, &RecordCache::default(), true).await?;
    let v = view(&records, now);
    if v.status != JobStatus::Succeeded {
        return Err(JobError::NotSucceeded { id: id.clone(), status: v.status }.into());
    }
    profiles::revoke_job(store, id, reason, now).await?;
    describe(store, id, now).await
}

/// What settling an ended job must clean up at its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staging {
    /// Any attempt may have left a staging object: list the attempts, delete each one's.
    Any,
    /// None can exist: the job's only attempt published from memory, and no other attempt
    /// can have been claimed (its lease held throughout).
    None,
}

/// Takes an ended job off the queue when settling it keeps failing (its destination
/// cannot be cleaned): its event and dead-letter record are written if missing and its
/// queue entry removed; staging objects at the destination, if any, are left. A job that
/// has not ended is [`JobError::NotEnded`].
pub async fn purge(store: &Store, id: &JobId, now: Timestamp) -> Result<JobView, Error> {
    let records = load(store, id, &RecordCache::default(), true).await?;
    let Some(result) = &records.result else {
        return Err(JobError::NotEnded { id: id.clone(), status: view(&records, now).status }.into());
    };
    settle(store, &records.job, result, Staging::None).await?;
    Ok(view(&records, now))
}

/// Ends a job with `result` unless it has ended already, then settles it. Returns the
/// result that stands (ours, or the one another worker recorded first). `staging` is
/// what the attempt knows of staging objects; a result recorded first by another
/// attempt means there was one, so then every attempt's is looked for.
pub async fn conclude(store: &Store, job: &JobRecord, result: JobResult, staging: Staging) -> Result<JobResult, Error> {
    let key = keys::job_result(&job.job_id)?;
    let (standing, staging) = match store.create_json(&key, &result).await {
        Ok(()) => (result, staging),
        Err(StoreError::AlreadyExists { .. }) => {
            let theirs = store.get_json::<JobResult>(&key).await?.ok_or_else(|| JobError::Vanished {
                what: format!("the result of job {}", job.job_id),
                fix: "look at the store",
            })?;
            (theirs, Staging::Any)
        }
        Err(e) => return Err(e.into()),
    };
    settle(store, job, &standing, staging).await?;
    Ok(standing)
}

/// Finishes an ended job, idempotently: its event, its dead-letter record if it failed,
/// the removal of every attempt's staging object (unless `staging` says there is none),
/// and last the removal of its queue entry — so whoever finds the entry still there
/// finishes what a dead worker left.
pub async fn settle(store: &Store, job: &JobRecord, result: &JobResult, staging: Staging) -> Result<(), Error> {
    let event = JobEvent::new(job, result);
    create_or_keep(store, &keys::job_event(result.ended_at, &job.job_id)?, &event).await?;
    if result.status() == FinalStatus::Failed {
        create_or_keep(store, &keys::job_dead_letter(result.ended_at, &job.job_id)?, &event).await?;
    }
    let claims = match staging {
        Staging::Any => store.list_numbered(&keys::job_attempts(&job.job_id)?).await?,
        Staging::None => Vec::new(),
    };
    if !claims.is_empty()
        && let Ok((dest, path)) = parse_object_url(&job.signed_object)
    {
        for n in claims {
            let staging = staging_path(&path, n)?;
            match dest.delete(&staging).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(backend_error("delete", staging.as_ref(), &dest, e).into()),
            }
        }
    }
    store.delete(&keys::job_queue_entry(job.submitted_at, &job.job_id)?).await?;
    Ok(())
}

/// One entry of the queue: a job not settled yet.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The job.
    pub job_id: JobId,
    /// When it was submitted, in whole seconds (from the entry's name).
    pub submitted_at: Timestamp,
    /// The entry's key.
    pub key: Key,
}

/// The jobs not settled yet, oldest first.
pub async fn queued(store: &Store) -> Result<Vec<Queued>, Error> {
    Ok(store
        .list_keys(&keys::job_queue()?)
        .await?
        .into_iter()
        .filter_map(|key| {
            keys::parse_job_queue_entry(key.last_segment()).map(|(submitted_at, job_id)| Queued {
                job_id,
                submitted_at,
                key,
            })
        })
        .collect())
}

/// A queued job's record: `jobs/<ID>/job.json`, or, if its `start` died before writing
/// that, the copy its queue entry holds (written to `job.json` on the way). `None` if
/// neither is there.
pub async fn submission(store: &Store, entry: &Queued, cache: &RecordCache) -> Result<Option<JobRecord>, Error> {
    if let Some(job) = cache.get::<JobRecord>(store, &keys::job(&entry.job_id)?).await? {
        return Ok(Some(job));
    }
    let Some(job) = store.get_json::<JobRecord>(&entry.key).await? else {
        return Ok(None);
    };
    if job.job_id != entry.job_id {
        return Ok(None);
    }
    create_or_keep(store, &keys::job(&job.job_id)?, &job).await?;
    Ok(Some(job))
}

/// Records how attempt `n` of a job ended without ending the job (released, or failed
/// with a retry to follow).
pub async fn end_attempt(store: &Store, job: &JobId, n: u64, end: &AttemptEnd) -> Result<(), Error> {
    Ok(store.create_json(&keys::job_attempt_end(job, n)?, end).await?)
}

/// Says that a worker runs (rewritten by that worker only, so a plain put). Returns when
/// the store says the record was written, by the store's clock, if it tells.
pub async fn announce(store: &Store, presence: &WorkerPresence) -> Result<Option<Timestamp>, Error> {
    let key = keys::worker(&presence.worker)?;
    store.put_json(&key, presence).await?;
    Ok(store.modified_at(&key).await?)
}

/// Says that a worker stopped.
pub async fn retire(store: &Store, worker: &str) -> Result<(), Error> {
    Ok(store.delete(&keys::worker(worker)?).await?)
}

/// The workers that said they run within their lease before `now`. The records of
/// workers silent for [`STALE_WORKER_LEASES`] leases (killed, so they could not retire)
/// are removed on the way.
pub async fn live_workers(store: &Store, now: Timestamp) -> Result<Vec<WorkerPresence>, Error> {
    let mut out = Vec::new();
    for (key, p) in worker_records(store).await? {
        if p.is_live(now) {
            out.push(p);
        } else if now > p.seen_at.plus_secs(STALE_WORKER_LEASES * i64::from(p.lease_secs)) {
            // Best effort: only that worker ever wrote it, and it is gone.
            let _ = store.delete(&key).await;
        }
    }
    Ok(out)
}

/// Every worker presence record, live or not, with its key; reads only.
pub async fn worker_records(store: &Store) -> Result<Vec<(Key, WorkerPresence)>, Error> {
    let mut out = Vec::new();
    for key in store.list_keys(&keys::workers()?).await? {
        if let Some(p) = store.get_json::<WorkerPresence>(&key).await? {
            out.push((key, p));
        }
    }
    Ok(out)
}

/// The queue by what its jobs are doing, as `signer status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    /// Jobs waiting for their first worker.
    pub submitted: u64,
    /// Jobs an attempt holds, or that wait to be retried.
    pub in_progress: u64,
    /// Jobs that ended and are still queued because settling them failed (their
    /// destination could not be cleaned up): `sign-job purge ID` takes one off.
    pub ended_unsettled: Vec<JobId>,
}

/// Reads every queued job's records (no writes) and counts them by status.
pub async fn queue_depth(store: &Store, now: Timestamp) -> Result<QueueDepth, Error> {
    let cache = RecordCache::default();
    let cache = &cache;
    let statuses: Vec<Option<(JobId, JobStatus)>> = futures::stream::iter(queued(store).await?)
        .map(|entry| async move {
            match load(store, &entry.job_id, cache, false).await {
                Ok(records) => Ok(Some((entry.job_id, view(&records, now).status))),
                // A start that died before writing job.json: the next worker repairs it.
                Err(Error::Job(JobError::NotFound { .. })) => Ok(Some((entry.job_id, JobStatus::Submitted))),
                Err(e) => Err(e),
            }
        })
        .buffered(LIST_READS_IN_FLIGHT)
        .try_collect()
        .await?;
    let mut depth = QueueDepth::default();
    for (id, status) in statuses.into_iter().flatten() {
        match status {
            JobStatus::Submitted => depth.submitted += 1,
            JobStatus::InProgress => depth.in_progress += 1,
            JobStatus::Succeeded | JobStatus::Failed => depth.ended_unsettled.push(id),
        }
    }
    Ok(depth)
}

/// After how many leases without a sign of life a worker's presence record is removed.
pub const STALE_WORKER_LEASES: i64 = 100;

/// The profile version record a job signs with.
pub async fn version_record(store: &Store, job: &JobRecord) -> Result<VersionRecord, Error> {
    store
        .get_record::<VersionRecord>(&keys::profile_version(&job.profile, &job.profile_version)?)
        .await?
        .ok_or_else(|| ProfileError::VersionMissing { version: job.version_ref() }.into())
}

/// A renewal record's content (its time is in its key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Renewal {
    /// The worker renewing.
    pub worker: String,
}

async fn create_or_keep<T: Serialize>(store: &Store, key: &Key, value: &T) -> Result<(), Error> {
    match store.create_json(key, value).await {
        Ok(()) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_keys_layout() {
        let id: JobId = "3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d".parse().unwrap();
        let t = Timestamp::from_unix(1_800_000_000);
        assert_eq!(keys::job(&id).unwrap().as_str(), format!("jobs/{id}/job.json"));
        assert_eq!(keys::job_claim(&id, 2).unwrap().as_str(), format!("jobs/{id}/attempts/00000000000000000002.json"));
        let renewal = keys::job_renewal(&id, 2, t).unwrap();
        assert_eq!(
            renewal.as_str(),
            format!("jobs/{id}/attempts/00000000000000000002/renewed-00000000001800000000.json")
        );
        assert_eq!(keys::parse_renewal(renewal.last_segment()), Some(t));
        assert_eq!(keys::parse_renewal("renewed-1.json"), None);
        let q = keys::job_queue_entry(t, &id).unwrap();
        assert_eq!(q.as_str(), format!("queue/jobs/00000000001800000000-{id}.json"));
        assert_eq!(keys::parse_job_queue_entry(q.last_segment()), Some((t, id.clone())));
        assert_eq!(keys::parse_job_queue_entry(&format!("1800000000-{id}.json")), None);
        assert_eq!(keys::job_event(t, &id).unwrap().as_str(), format!("events/jobs/20270115T080000Z-{id}.json"));
        assert!(keys::job_dead_letter(t, &id).unwrap().as_str().starts_with("dead-letter/jobs/20270115T080000Z-"));
        let token = keys::job_token("any string / with ../ and %").unwrap();
        assert!(token.as_str().starts_with("tokens/jobs/") && token.as_str().len() == "tokens/jobs/".len() + 69);
    }

    #[test]
    fn a_listing_tells_the_status_class() {
        let id: JobId = "3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d".parse().unwrap();
        let t = Timestamp::from_unix(1_800_000_000);
        let listed = vec![
            keys::job(&id).unwrap(),
            keys::job_claim(&id, 1).unwrap(),
            keys::job_renewal(&id, 1, t).unwrap(),
            keys::job_renewal(&id, 1, t.plus_secs(5)).unwrap(),
            keys::job_attempt_end(&id, 1).unwrap(),
            keys::job_claim(&id, 2).unwrap(),
        ];
        let k = JobKeys::from_listing(&id, &listed);
        assert!(k.job && !k.result);
        assert_eq!(k.claims(), 2);
        let a1 = &k.attempts[&1];
        assert!(a1.claimed && a1.ended);
        assert_eq!(a1.last_renewal, Some(t.plus_secs(5)));
        assert!(!k.attempts[&2].ended);
    }

    #[test]
    fn destinations_and_sources() {
        assert_eq!(destination_prefix("s3://bkt").unwrap(), "s3://bkt/");
        assert_eq!(destination_prefix("s3://bkt/signed/").unwrap(), "s3://bkt/signed/");
        assert_eq!(destination_prefix("s3://bkt/signed-").unwrap(), "s3://bkt/signed-");
        assert!(destination_prefix("s3://").is_err());
        assert!(destination_prefix("ftp://x/").is_err());
        let dir = tempfile::tempdir().unwrap();
        let url = url::Url::from_directory_path(dir.path().canonicalize().unwrap()).unwrap().to_string();
        let bare = url.trim_end_matches('/').to_owned();
        assert_eq!(destination_prefix(&bare).unwrap(), url, "an existing folder gets its slash");
        assert_eq!(destination_prefix(dir.path().to_str().unwrap()).unwrap(), url);
        let file = dir.path().join("in.zip");
        std::fs::write(&file, b"x").unwrap();
        assert!(source_url(file.to_str().unwrap()).unwrap().starts_with("file:///"));
        assert!(source_url("s3://bkt/").is_err(), "a prefix is not an object");
        let p = staging_path(&Path::from("out/abc.zip"), 3).unwrap();
        assert_eq!(p.as_ref(), "out/abc.attempt-3.partial");
    }

    #[test]
    fn texts_are_bounded() {
        assert!(CLIENT_TOKEN.check("t-1").is_ok());
        assert!(CLIENT_TOKEN.check("").is_err());
        assert!(CLIENT_TOKEN.check("a\nb").is_err());
        assert!(CLIENT_TOKEN.check(&"x".repeat(MAX_CLIENT_TOKEN_LEN + 1)).is_err());
    }

    #[test]
    fn list_filters() {
        let s = JobSummary {
            job_id: "3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d".parse().unwrap(),
            status: JobStatus::Succeeded,
            status_reason: None,
            profile: "MyApp".parse().unwrap(),
            profile_version: "AbCdEf1234".parse().unwrap(),
            platform: crate::model::Platform::default(),
            requested_by: None,
            source: "s3://b/in.zip".into(),
            signed_object: Some("s3://b/out/x.zip".into()),
            attempts: 1,
            submitted_at: Timestamp::from_unix(100),
            ended_at: Some(Timestamp::from_unix(110)),
            signature_expires_at: Some(Timestamp::from_unix(1000)),
            revoked: false,
        };
        let f = |f: ListFilter| f.keeps(&s);
        assert!(f(ListFilter::default()));
        assert!(f(ListFilter { status: Some(JobStatus::Succeeded), ..Default::default() }));
        assert!(!f(ListFilter { status: Some(JobStatus::Failed), ..Default::default() }));
        assert!(!f(ListFilter { profile: Some("Other".parse().unwrap()), ..Default::default() }));
        assert!(!f(ListFilter { revoked: true, ..Default::default() }));
        assert!(f(ListFilter { expires_before: Some(Timestamp::from_unix(1001)), ..Default::default() }));
        assert!(!f(ListFilter { expires_before: Some(Timestamp::from_unix(1000)), ..Default::default() }));
        assert!(f(ListFilter { expires_after: Some(Timestamp::from_unix(999)), ..Default::default() }));
        assert!(!f(ListFilter { expires_after: Some(Timestamp::from_unix(1000)), ..Default::default() }));
    }
}
