//! The worker (SPEC §8): poll the job queue, claim a job with a create-if-absent write and
//! a lease, stream the pinned source through signing, publish the signed object once,
//! record the end. Many workers on many machines share one store.
//!
//! # Claims and leases
//!
//! Attempt N of a job is claimed by creating `jobs/<ID>/attempts/<N>.json`; of any number
//! of workers exactly one succeeds. The lease lasts `--lease` seconds from the claim and is
//! renewed every quarter lease by creating `attempts/<N>/renewed-<T>.json`; a worker that
//! finds a later claim (or the job's result) stops and writes nothing. When a lease lapses
//! (the worker died, froze or lost the network) the next worker claims attempt N+1.
//! Workers' clocks must agree to well within a lease.
//!
//! # Publishing exactly once
//!
//! Two workers may believe they hold a job (a frozen worker wakes after its lease was
//! taken over), and ECDSA signatures and signing times differ between attempts, so two
//! attempts never produce the same bytes. The signed object is therefore published by a
//! conditional write of the destination store itself, not by the lease:
//!
//! 1. attempt N signs into a staging object `<prefix><ID>.attempt-<N>.partial`, a multipart
//!    upload that appears only when complete (a worker killed mid-upload leaves nothing
//!    visible) — or, for a package under one upload part (8 MiB), into memory;
//! 2. it checks it still holds the lease, then copies the staging object to
//!    `<prefix><ID>.zip` with copy-if-not-exists (S3: `UploadPartCopy` completed with
//!    `If-None-Match: *`; the file store: a hard link), or creates it there from memory
//!    with one conditional PUT (`If-None-Match: *`) — of any number of attempts exactly
//!    one succeeds, so the object is never replaced by other bytes;
//! 3. an attempt whose copy loses, or that finds the object already there, adopts it:
//!    it reads the published object's signature and records that, if it is this job's;
//! 4. the staging object is deleted, and the job's settlement deletes every attempt's
//!    staging object again, so none outlives the job.
//!
//! `result.json` is created once, so a job ends Succeeded or Failed exactly once.

mod keyring;
mod pass;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use object_store::path::Path;
use object_store::{DynObjectStore, ObjectStoreExt, PutMode};
use serde::Serialize;
use sha2::Digest as _;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::home::Home;
use crate::jobs::{
    self, AttemptEnd, Claim, FailureKind, JobEnd, JobError, JobRecord, JobResult, Next, RecordCache, Records, Renewal,
    SourcePin, WorkerPresence,
};
use crate::judge;
use crate::location::Location;
use crate::model::{JobId, ProfileStatus, Timestamp, VersionRef};
use crate::profiles::VersionRecord;
use crate::sign::{SignParams, Signed, sign_package};
use crate::store::{ObjectReader, ObjectWriter, Staged, Store, StoreError, keys, parse_object_url};
use crate::verify::{Integrity, WholeHash};
use crate::zipcheck::ZipLimits;
use keyring::Reach;

/// The default lease, in seconds.
pub const DEFAULT_LEASE_SECS: u32 = 30;

/// The shortest lease accepted: times are whole seconds, so a shorter one would lapse
/// between renewals.
pub const MIN_LEASE_SECS: u32 = 2;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Jobs signed at once.
    pub concurrency: usize,
    /// Lease length in seconds.
    pub lease_secs: u32,
    /// Stop once no job is left that this worker could take.
    pub until_idle: bool,
    /// The pause between looks at the queue when there is nothing to take.
    pub poll: Duration,
    /// Only this job (`sign-job start --wait` processing in-process).
    pub only: Option<JobId>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            concurrency: 1,
            lease_secs: DEFAULT_LEASE_SECS,
            until_idle: false,
            poll: Duration::from_secs(1),
            only: None,
        }
    }
}

/// What the worker is asked to do about stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Keep going.
    Run,
    /// Take no new job; finish the ones in flight.
    Drain,
    /// Take no new job; release the ones in flight (those already publishing finish).
    Now,
}

/// What happened, for the worker's log.
#[derive(Debug, Clone)]
pub enum Report {
    /// The worker claimed an attempt.
    Claimed {
        /// The job.
        job: JobId,
        /// The attempt.
        attempt: u64,
        /// The source URL.
        source: String,
    },
    /// An attempt ended.
    Ended {
        /// The job.
        job: JobId,
        /// The source URL.
        source: String,
        /// How.
        outcome: Outcome,
        /// How long the attempt took.
        duration: Duration,
    },
    /// The worker lacks the job's key, or cannot reach it now, and leaves the job to a
    /// worker that can.
    LeftToOthers {
        /// The job.
        job: JobId,
        /// The profile version whose key is missing or unreachable.
        version: VersionRef,
        /// Why: not in this home, or what the token or KMS said.
        reason: String,
    },
    /// A problem that did not end a job (the store did not answer a poll, say).
    Trouble {
        /// What went wrong and what the worker does about it.
        message: String,
    },
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The job succeeded.
    Succeeded {
        /// The signed object.
        signed_object: String,
        /// The attempt.
        attempt: u64,
    },
    /// The job failed.
    Failed {
        /// Why.
        reason: String,
    },
    /// The attempt failed transiently; another follows after a backoff.
    Retrying {
        /// The attempt.
        attempt: u64,
        /// Why it failed.
        reason: String,
        /// When the next may start.
        retry_after: Timestamp,
    },
    /// The worker gave the job back.
    Released {
        /// The attempt.
        attempt: u64,
        /// Why.
        reason: String,
    },
    /// Another worker took the job over (this one's lease had lapsed); nothing recorded.
    Lost {
        /// The attempt.
        attempt: u64,
    },
    /// The attempt's end could not be recorded (the store failed); its lease will lapse
    /// and another attempt follow.
    Unrecorded {
        /// The attempt.
        attempt: u64,
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// A one-line description: `Succeeded → URL`, `Failed: reason`…
    pub fn describe(&self) -> String {
        match self {
            Self::Succeeded { signed_object, attempt } => format!("Succeeded (attempt {attempt}) → {signed_object}"),
            Self::Failed { reason } => format!("Failed: {reason}"),
            Self::Retrying { attempt, reason, retry_after } => {
                format!("attempt {attempt} failed, retrying after {retry_after}: {reason}")
            }
            Self::Released { attempt, reason } => format!("released attempt {attempt}: {reason}"),
            Self::Lost { attempt } => {
                format!("attempt {attempt} stopped: another worker took the job over after this one's lease lapsed")
            }
            Self::Unrecorded { attempt, reason } => {
                format!("attempt {attempt} could not be recorded ({reason}); another attempt follows its lease")
            }
        }
    }
}

/// What a worker did, when it stops.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// The worker's id.
    pub worker: String,
    /// Jobs it ended Succeeded.
    pub succeeded: u64,
    /// Jobs it ended Failed.
    pub failed: u64,
    /// Attempts that failed transiently and wait for a retry.
    pub retried: u64,
    /// Attempts it released.
    pub released: u64,
    /// Attempts another worker took over.
    pub lost: u64,
    /// Attempts whose end it could not record.
    pub unrecorded: u64,
    /// Jobs it left to workers with their key.
    pub left_to_others: u64,
    /// Why it left the last of them (the key is not in its home, or cannot be reached).
    pub left_because: Option<String>,
    /// Why it stopped: `idle` or `signal`.
    pub stopped: &'static str,
}

/// Where an attempt's lease stands, shared by the attempt, its renewer and the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lease {
    /// Held: sign on.
    Held,
    /// The worker is stopping now: give the job back unless it is all but done.
    Release,
    /// Another attempt took the job over, or it ended: write nothing more.
    Lost,
}

/// A [`Lease`] many tasks read and change.
#[derive(Debug)]
struct LeaseFlag(AtomicU8);

impl LeaseFlag {
    fn new() -> Arc<Self> {
        Arc::new(Self(AtomicU8::new(Lease::Held as u8)))
    }

    fn get(&self) -> Lease {
        match self.0.load(Ordering::SeqCst) {
            x if x == Lease::Held as u8 => Lease::Held,
            x if x == Lease::Release as u8 => Lease::Release,
            _ => Lease::Lost,
        }
    }

    /// Lost, from whatever it was.
    fn lose(&self) {
        self.0.store(Lease::Lost as u8, Ordering::SeqCst);
    }

    /// Release, if still held (a lost lease stays lost).
    fn release(&self) {
        let _ = self.0.compare_exchange(Lease::Held as u8, Lease::Release as u8, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// A worker over one store, signing with the keys of one home.
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    opts: WorkerOptions,
    id: String,
    host: String,
    pid: u32,
    report: Box<dyn Fn(Report) + Send + Sync>,
    cache: RecordCache,
    /// The keys it signs with, opened once.
    keyring: keyring::KeyRing,
    /// What it reads once per pass over the queue.
    pass: pass::PassCache,
    /// Every lease, renewal, retry and poll is on this clock.
    clock: Arc<dyn Clock>,
    /// The last look at the clocks found this machine's off the store's.
    clock_skewed: std::sync::atomic::AtomicBool,
}

/// An attempt that ended, from its task.
struct Finished {
    job: JobId,
    source: String,
    outcome: Outcome,
    duration: Duration,
}

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

impl Worker {
    /// A worker on the system clock; `report` receives its log (called from its tasks).
    pub fn new(store: Store, home: Home, opts: WorkerOptions, report: impl Fn(Report) + Send + Sync + 'static) -> Self {
        Self::with_clock(store, home, opts, Arc::new(SystemClock), report)
    }

    /// A worker on `clock` (tests run leases and retries on a [`ScaledClock`](crate::clock::ScaledClock)).
    pub fn with_clock(
        store: Store,
        home: Home,
        opts: WorkerOptions,
        clock: Arc<dyn Clock>,
        report: impl Fn(Report) + Send + Sync + 'static,
    ) -> Self {
        let host = host_name();
        let pid = std::process::id();
        let id = worker_id(&host, pid);
        let opts = WorkerOptions {
            concurrency: opts.concurrency.max(1),
            lease_secs: opts.lease_secs.max(MIN_LEASE_SECS),
            ..opts
        };
        Self {
            inner: Arc::new(Inner {
                store,
                opts,
                id,
                host,
                pid,
                report: Box::new(report),
                cache: RecordCache::default(),
                keyring: keyring::KeyRing::new(home),
                pass: pass::PassCache::default(),
                clock,
                clock_skewed: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// The worker's id (`host-pid-random`), as its claims record it.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Runs until `stop` says so or, with `until_idle`, until no job is left that this
    /// worker could take (jobs other workers hold count as left: their leases may lapse).
    pub async fn run(&self, mut stop: watch::Receiver<Stop>) -> Result<Summary, Error> {
        let inner = &self.inner;
        let started_at = inner.clock.now();
        inner.announce(started_at).await?;
        let announce_every = i64::from(inner.opts.lease_secs / 3).max(1);
        let mut last_announce = started_at;
        let mut tasks: JoinSet<Finished> = JoinSet::new();
        let mut flags: HashMap<JobId, Arc<LeaseFlag>> = HashMap::new();
        let mut noted: HashSet<JobId> = HashSet::new();
        let mut backlog = Backlog::default();
        let mut summary = Summary { worker: inner.id.clone(), ..Summary::default() };
        let mut stop_open = true;
        loop {
            while let Some(done) = tasks.try_join_next() {
                inner.finished(done, &mut flags, &mut summary);
            }
            let asked = *stop.borrow();
            if asked == Stop::Now {
                for flag in flags.values() {
                    flag.release();
                }
            }
            if asked != Stop::Run {
                if tasks.is_empty() {
                    summary.stopped = "signal";
                    break;
                }
            } else if tasks.len() < inner.opts.concurrency {
                let free = inner.opts.concurrency - tasks.len();
                match inner.scan(free, &mut backlog, &flags, &mut noted, &mut summary).await {
                    Ok(scan) => {
                        for (records, claim) in scan.claimed {
                            let flag = LeaseFlag::new();
                            flags.insert(records.job.job_id.clone(), Arc::clone(&flag));
                            (inner.report)(Report::Claimed {
                                job: records.job.job_id.clone(),
                                attempt: claim.attempt,
                                source: records.job.source.url.clone(),
                            });
                            tasks.spawn(Arc::clone(inner).attempt(records, claim, flag));
                        }
                        if inner.opts.until_idle && tasks.is_empty() && scan.idle {
                            summary.stopped = "idle";
                            break;
                        }
                    }
                    Err(e) => (inner.report)(Report::Trouble {
                        message: format!("could not read the job queue ({e}); trying again"),
                    }),
                }
            }
            if inner.clock.now() >= last_announce.plus_secs(announce_every) {
                if let Err(e) = inner.announce(started_at).await {
                    (inner.report)(Report::Trouble {
                        message: format!("could not record this worker's presence: {e}"),
                    });
                }
                last_announce = inner.clock.now();
            }
            tokio::select! {
                Some(done) = tasks.join_next(), if !tasks.is_empty() => inner.finished(done, &mut flags, &mut summary),
                changed = stop.changed(), if stop_open => stop_open = changed.is_ok(),
                () = inner.clock.sleep(inner.opts.poll) => {}
            }
        }
        if let Err(e) = jobs::retire(&inner.store, &inner.id).await {
            (inner.report)(Report::Trouble {
                message: format!("could not remove this worker's presence record ({e}); it expires by itself"),
            });
        }
        Ok(summary)
    }
}

/// What one look at the queue found.
struct Scan {
    claimed: Vec<(Records, Claim)>,
    /// No job is left that this worker could take now or later.
    idle: bool,
}

/// What looking at one queue entry came to.
enum Look {
    /// This worker claimed the job.
    Claimed(Box<Records>, Claim),
    /// The job may be taken later (held by a lease, waiting for a retry, or unreadable now).
    Later,
    /// Nothing is left for this worker to do with it.
    Nothing,
}

/// A listing of the queue is looked at again after this long even if not used up, so a
/// job whose lease lapsed or whose retry came due ahead of the rest is not left waiting.
const RELIST_AFTER_SECS: i64 = 10;

/// The queue as last listed, oldest first, less the entries already looked at. A scan
/// takes from the front and lists again only when the listing is used up or stale: a
/// queue of N jobs costs one listing per N jobs, not one per job (on S3, N/1,000 LIST
/// requests; on the file store, N file stats).
#[derive(Default)]
struct Backlog {
    entries: std::collections::VecDeque<jobs::Queued>,
    listed_at: Option<Timestamp>,
    /// The pass over the current listing met a job that may be taken later.
    pending: bool,
}

impl Backlog {
    fn stale(&self, now: Timestamp) -> bool {
        self.entries.is_empty() || self.listed_at.is_none_or(|t| now >= t.plus_secs(RELIST_AFTER_SECS))
    }
}

impl Inner {
    async fn announce(&self, started_at: Timestamp) -> Result<(), Error> {
        let presence = WorkerPresence {
            worker: self.id.clone(),
            host: self.host.clone(),
            pid: self.pid,
            started_at,
            seen_at: self.clock.now(),
            lease_secs: self.opts.lease_secs,
        };
        let written = jobs::announce(&self.store, &presence).await?;
        let skew = written.and_then(|at| jobs::clock_skew_problem(presence.seen_at, at, self.opts.lease_secs));
        // Said once, when first seen, and again only after the clocks agreed in between.
        if self.clock_skewed.swap(skew.is_some(), Ordering::SeqCst) != skew.is_some()
            && let Some(message) = skew
        {
            (self.report)(Report::Trouble { message });
        }
        Ok(())
    }

    fn finished(
        &self,
        done: Result<Finished, tokio::task::JoinError>,
        flags: &mut HashMap<JobId, Arc<LeaseFlag>>,
        summary: &mut Summary,
    ) {
        let done = match done {
            Ok(d) => d,
            Err(e) => {
                (self.report)(Report::Trouble {
                    message: format!("an attempt's task failed ({e}); its lease will lapse and another attempt follow"),
                });
                flags.retain(|_, f| Arc::strong_count(f) > 1);
                return;
            }
        };
        flags.remove(&done.job);
        match &done.outcome {
            Outcome::Succeeded { .. } => summary.succeeded += 1,
            Outcome::Failed { .. } => summary.failed += 1,
            Outcome::Retrying { .. } => summary.retried += 1,
            Outcome::Released { .. } => summary.released += 1,
            Outcome::Lost { .. } => summary.lost += 1,
            Outcome::Unrecorded { .. } => summary.unrecorded += 1,
        }
        (self.report)(Report::Ended {
            job: done.job,
            source: done.source,
            outcome: done.outcome,
            duration: done.duration,
        });
    }

    /// Looks at the queue, oldest first, and claims up to `free` jobs. Idle only when a
    /// fresh listing, looked at whole, held nothing this worker could take now or later.
    async fn scan(
        &self,
        mut free: usize,
        backlog: &mut Backlog,
        busy: &HashMap<JobId, Arc<LeaseFlag>>,
        noted: &mut HashSet<JobId>,
        summary: &mut Summary,
    ) -> Result<Scan, Error> {
        let mut claimed = Vec::new();
        let mut fresh = false;
        while free > 0 && !fresh {
            if backlog.stale(self.clock.now()) {
                let mut entries = jobs::queued(&self.store).await?;
                if let Some(only) = &self.opts.only {
                    entries.retain(|e| e.job_id == *only);
                }
                *backlog = Backlog { entries: entries.into(), listed_at: Some(self.clock.now()), pending: false };
                self.pass.clear();
                fresh = true;
            }
            while free > 0 {
                let Some(entry) = backlog.entries.pop_front() else { break };
                match self.look_at(entry, busy, noted, summary).await? {
                    Look::Claimed(records, claim) => {
                        claimed.push((*records, claim));
                        free -= 1;
                    }
                    Look::Later => backlog.pending = true,
                    Look::Nothing => {}
                }
            }
        }
        let idle = fresh && backlog.entries.is_empty() && !backlog.pending && claimed.is_empty();
        Ok(Scan { idle, claimed })
    }

    /// One queue entry: claims it, settles or fails it, or leaves it for later.
    async fn look_at(
        &self,
        entry: jobs::Queued,
        busy: &HashMap<JobId, Arc<LeaseFlag>>,
        noted: &mut HashSet<JobId>,
        summary: &mut Summary,
    ) -> Result<Look, Error> {
        let id = entry.job_id.clone();
        if busy.contains_key(&id) {
            return Ok(Look::Later);
        }
        let records = match jobs::load(&self.store, &id, &self.cache, false).await {
            Ok(r) => r,
            Err(Error::Job(JobError::NotFound { .. })) => {
                let repaired = jobs::repair_submission(&self.store, &entry).await?;
                return Ok(if repaired { Look::Later } else { Look::Nothing });
            }
            Err(e) => {
                (self.report)(Report::Trouble { message: format!("could not read job {id} ({e}); trying again") });
                return Ok(Look::Later);
            }
        };
        let now = self.clock.now();
        match jobs::next(&records, now) {
            Next::Ended => {
                if let Some(result) = &records.result {
                    // Its worker died before settling it: finish that.
                    if let Err(e) = jobs::settle(&self.store, &records.job, result).await {
                        (self.report)(Report::Trouble {
                            message: format!("could not settle ended job {id} ({e}); trying again later"),
                        });
                    }
                }
                self.cache.forget(&id);
                Ok(Look::Nothing)
            }
            Next::GiveUp(reason) => {
                let result = failed_result(&records.job, records.last_attempt(), reason, None, now);
                let t0 = Instant::now();
                match jobs::conclude(&self.store, &records.job, result).await {
                    Ok(standing) => {
                        summary.failed += 1;
                        (self.report)(Report::Ended {
                            job: id.clone(),
                            source: records.job.source.url.clone(),
                            outcome: standing_outcome(&standing),
                            duration: t0.elapsed(),
                        });
                    }
                    Err(e) => (self.report)(Report::Trouble {
                        message: format!("could not mark job {id} Failed ({e}); trying again"),
                    }),
                }
                self.cache.forget(&id);
                Ok(Look::Nothing)
            }
            Next::Held { .. } | Next::RetryAt(_) => Ok(Look::Later),
            Next::Claim(n) => {
                let version = records.job.version_ref();
                let reason = match self.keyring.reach(&self.store, &records.job).await {
                    Ok(Reach::Ready(..)) => None,
                    Ok(Reach::NotHere(why) | Reach::Unreachable(why)) => Some(why),
                    // A problem no retry mends (the version's record is gone, say) is the
                    // attempt's to record: it fails the job, with the reason.
                    Err(e) if jobs::classify(&e) == FailureKind::Permanent => None,
                    Err(e) => {
                        (self.report)(Report::Trouble {
                            message: format!("could not read the profile version of job {id} ({e}); trying again"),
                        });
                        return Ok(Look::Later);
                    }
                };
                if let Some(reason) = reason {
                    if noted.insert(id.clone()) {
                        summary.left_to_others += 1;
                        summary.left_because = Some(reason.clone());
                        (self.report)(Report::LeftToOthers { job: id, version, reason });
                    }
                    return Ok(Look::Nothing);
                }
                let claim = Claim {
                    attempt: n,
                    worker: self.id.clone(),
                    host: self.host.clone(),
                    pid: self.pid,
                    claimed_at: now,
                    lease_secs: self.opts.lease_secs,
                };
                match self.store.create_json(&keys::job_claim(&id, n)?, &claim).await {
                    Ok(()) => Ok(Look::Claimed(Box::new(records), claim)),
                    Err(StoreError::AlreadyExists { .. }) => Ok(Look::Later),
                    Err(e) => {
                        (self.report)(Report::Trouble {
                            message: format!("could not claim job {id} ({e}); trying again"),
                        });
                        Ok(Look::Later)
                    }
                }
            }
        }
    }

    /// One attempt, from claim to recorded end.
    async fn attempt(self: Arc<Self>, records: Records, claim: Claim, flag: Arc<LeaseFlag>) -> Finished {
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
    async fn record(
        &self,
        records: &Records,
        n: u64,
        work: Result<JobResult, AttemptError>,
        flag: &LeaseFlag,
    ) -> Outcome {
        let job = &records.job;
        let now = self.clock.now();
        let lost = flag.get() == Lease::Lost;
        let unrecorded = |e: Error| Outcome::Unrecorded { attempt: n, reason: e.to_string() };
        let end = |end: AttemptEnd| async move {
            match keys::job_attempt_end(&job.job_id, n) {
                Ok(key) => self.store.create_json(&key, &end).await.map_err(Error::from),
                Err(e) => Err(e.into()),
            }
        };
        match work {
            Ok(result) => match jobs::conclude(&self.store, job, result).await {
                Ok(standing) => standing_outcome(&standing),
                Err(e) => unrecorded(e),
            },
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
                let reason = source_changed_reason(&e, &job.source).unwrap_or_else(|| e.to_string());
                let failed = jobs::failed_attempts(records, now).0 + 1;
                let permanent = jobs::classify(&e) == FailureKind::Permanent;
                if permanent || failed >= jobs::MAX_ATTEMPTS {
                    let reason = if permanent {
                        reason
                    } else {
                        format!("gave up after {failed} failed attempts; the last: {reason}")
                    };
                    match jobs::conclude(&self.store, job, failed_result(job, n, reason, Some(&self.id), now)).await {
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
    async fn sign_job(&self, job: &JobRecord, n: u64, flag: &Arc<LeaseFlag>) -> Result<JobResult, AttemptError> {
        let identity = self.check_profile(job).await?;
        let (dest, dest_path) = parse_object_url(&job.signed_object)?;
        if exists(&dest, &dest_path, &job.signed_object).await? {
            // An earlier attempt published it and died before recording that.
            return self.adopt(job, dest, dest_path, n).await;
        }
        let staging = jobs::staging_path(&dest_path, n)?;
        let (signed, sha256, staged) = self.sign_to_staging(job, flag, identity, &dest, &staging).await?;
        if !self.publish_once(job, n, flag, &dest, (&staging, staged), &dest_path).await? {
            return self.adopt(job, dest, dest_path, n).await;
        }
        let st = &signed.statement;
        Ok(JobResult {
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
        })
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
            profile.versions.iter().find(|v| v.version == job.profile_version).and_then(|v| v.revoked_effective)
        {
            return Err(Error::from(JobError::RevokedSince { version: version_ref, effective: at }).into());
        }
        match self.keyring.reach(&self.store, job).await? {
            Reach::Ready(key, version) => {
                Ok(JobIdentity { version: *version, key, sign_without_tsa: profile.sign_without_tsa })
            }
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
        let JobIdentity { version, key, sign_without_tsa } = identity;
        let stamper = self.pass.stamper(&self.store, sign_without_tsa).await?;
        let now = self.clock.now();
        let params = SignParams {
            key,
            chain: version.chain_der()?,
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
        if !still_holds(&self.store, &job.job_id, n).await? {
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

/// Renews attempt `n`'s lease every quarter lease until aborted; marks the attempt lost
/// when a later attempt was claimed or the job ended meanwhile.
async fn renew(
    store: Store,
    clock: Arc<dyn Clock>,
    job: JobId,
    n: u64,
    worker: String,
    lease_secs: u32,
    flag: Arc<LeaseFlag>,
) {
    let every = Duration::from_millis(u64::from(lease_secs) * 1000 / 4).max(Duration::from_millis(500));
    loop {
        clock.sleep(every).await;
        if let Ok(false) = still_holds(&store, &job, n).await {
            flag.lose();
            return;
        }
        if let Ok(key) = keys::job_renewal(&job, n, clock.now()) {
            // A failed renewal is retried a quarter lease later; a lapse is safe (see the
            // module docs), only wasteful.
            let renewal = Renewal { worker: worker.clone() };
            let _ = store.create_json(&key, &renewal).await;
        }
    }
}

/// Whether attempt `n` is still the job's latest and the job has not ended.
async fn still_holds(store: &Store, job: &JobId, n: u64) -> Result<bool, Error> {
    let latest = store.list_numbered(&keys::job_attempts(job)?).await?.last().copied().unwrap_or(0);
    Ok(latest <= n && !store.exists(&keys::job_result(job)?).await?)
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
    if let Some(version) = &pin.version {
        // A versioned bucket: read the very version submitted; later writes to the key
        // do not concern this job.
        return ObjectReader::open_version(src, path, version, &pin.e_tag).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                JobError::SourceGone { url: pin.url.clone(), version: Some(version.clone()) }.into()
            }
            StoreError::Conflict { .. } => changed(pin, "another").into(),
            e => e.into(),
        });
    }
    let meta = src.head(&path).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => {
            Error::from(JobError::SourceGone { url: pin.url.clone(), version: None })
        }
        e => jobs::backend_error("head", &pin.url, &src, e).into(),
    })?;
    if meta.e_tag.as_deref() != Some(pin.e_tag.as_str()) || meta.size != pin.size {
        return Err(changed(pin, meta.e_tag.as_deref().unwrap_or("none")).into());
    }
    // The head just made is the pin check: no second one to open the reader.
    Ok(ObjectReader::from_head(src, path, meta))
}

fn changed(pin: &SourcePin, now: &str) -> JobError {
    JobError::SourceChanged { url: pin.url.clone(), pinned: pin.e_tag.clone(), now: now.to_owned() }
}

/// The reason to record when a read of the source failed because it changed mid-read.
fn source_changed_reason(e: &Error, pin: &SourcePin) -> Option<String> {
    let conflict = match e {
        Error::Io { source, .. } => source
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<StoreError>())
            .is_some_and(|s| matches!(s, StoreError::Conflict { .. })),
        _ => false,
    };
    conflict.then(|| changed(pin, "another, while it was being read").to_string())
}

fn failed_result(job: &JobRecord, attempts: u64, reason: String, worker: Option<&str>, now: Timestamp) -> JobResult {
    JobResult {
        job_id: job.job_id.clone(),
        end: JobEnd::Failed { status_reason: reason },
        attempts,
        worker: worker.map(str::to_owned),
        ended_at: now,
    }
}

fn standing_outcome(r: &JobResult) -> Outcome {
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

/// This machine's name, for people reading claims (never trusted).
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "host".to_owned())
}

/// `host-pid-random`, usable as a key segment.
fn worker_id(host: &str, pid: u32) -> String {
    let host: String = host.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.').take(40).collect();
    let random: String = uuid::Uuid::new_v4().simple().to_string().chars().take(6).collect();
    let host = if host.is_empty() { "host".to_owned() } else { host };
    format!("{host}-{pid}-{random}")
}

/// What a job signs with: its version's record and key, and the profile's TSA setting.
struct JobIdentity {
    version: VersionRecord,
    key: crate::custody::Key,
    sign_without_tsa: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_ids_are_key_segments() {
        for host in ["build-7.example.com", "", "ä/../x y", "a%b#c"] {
            let id = worker_id(host, 42);
            keys::worker(&id).unwrap();
            assert!(id.contains("-42-"), "{id}");
        }
    }

    #[test]
    fn outcomes_read_well() {
        let o = Outcome::Retrying { attempt: 1, reason: "store down".into(), retry_after: Timestamp::from_unix(0) };
        assert!(o.describe().contains("retrying") && o.describe().contains("store down"));
        assert!(Outcome::Lost { attempt: 2 }.describe().contains("took the job over"));
    }

    #[test]
    fn a_change_mid_read_is_named() {
        let pin = SourcePin {
            url: "s3://b/in.zip".into(),
            e_tag: "\"e1\"".into(),
            size: 1,
            last_modified: Timestamp::from_unix(0),
            version: None,
        };
        let conflict = StoreError::Conflict { key: "in.zip".into(), reason: "changed".into() };
        let e = Error::io("reading the zip", std::io::Error::other(conflict));
        let why = source_changed_reason(&e, &pin).unwrap();
        assert!(why.contains("changed since submission") && why.contains("\"e1\""), "{why}");
        assert_eq!(source_changed_reason(&Error::Internal("x".into()), &pin), None);
        assert_eq!(jobs::classify(&e), FailureKind::Permanent);
    }
}
