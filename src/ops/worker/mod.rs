//! The worker (SPEC §8): poll the job queue, claim a job with a create-if-absent write and
//! a lease, stream the pinned source through signing, publish the signed object once,
//! record the end. Many workers on many machines share one store.
//!
//! # Claims and leases
//!
//! Attempt N of a job is claimed by creating `jobs/<ID>/attempts/<N>.json`; of any number
//! of workers exactly one succeeds. A job the worker has not looked at yet is claimed
//! first (attempt 1) and read after, so a lost race costs one refused write; a worker
//! that cannot sign it then deletes its claim, untouched (see `scan`). The lease lasts `--lease` seconds from the claim and is
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
//! 2. it checks it still holds the lease (asking the store only once half the lease has
//!    run since it was last confirmed), then copies the staging object to
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
//!
//! # Parts
//!
//! - this file: the options, the log ([`Report`], [`Outcome`]), the [`Summary`] and the
//!   loop that takes jobs while slots are free;
//! - `scan`: one look at the queue, and what each entry comes to (claim, settle, fail,
//!   later);
//! - `attempt`: one attempt, from claim to recorded end (profile check, signing to
//!   staging, publishing once, adopting);
//! - `lease`: the lease an attempt, its renewer and the loop share, and its renewal;
//! - `keyring`: the keys, opened once for the worker's life;
//! - `pass`: what is read once per pass over a queue listing.

mod attempt;
mod keyring;
mod lease;
mod pass;
mod scan;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::home::Home;
use crate::jobs::{self, RecordCache, WorkerPresence};
use crate::model::{JobId, Timestamp, VersionRef};
use crate::store::Store;
use lease::LeaseFlag;
use scan::Backlog;

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
                            let flag = LeaseFlag::new(claim.claimed_at, claim.lease_secs);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys;

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
}
