//! Looking at the queue: which jobs to claim, settle, fail, or leave for later.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use super::attempt::{failed_result, standing_outcome};
use super::keyring::Reach;
use super::lease::LeaseFlag;
use super::{Inner, Report, Summary};
use crate::error::Error;
use crate::jobs::{self, Claim, FailureKind, JobError, JobRecord, Next, Records};
use crate::model::{JobId, Timestamp};
use crate::store::{StoreError, keys};
/// What one look at the queue found.
pub(super) struct Scan {
    pub(super) claimed: Vec<(Records, Claim)>,
    /// No job is left that this worker could take now or later.
    pub(super) idle: bool,
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

/// Jobs submitted within this many seconds of each other are taken in an order of each
/// worker's own, so workers sharing a queue do not all reach for the same job first.
const SAME_TIME_SECS: i64 = 60;

/// The queue as last listed, less the entries already looked at, and what the worker
/// learnt of them. A scan takes from the front and lists again only when the listing is
/// used up or stale: a queue of N jobs costs one listing per N jobs, not one per job (on
/// S3, N/1,000 LIST requests; on the file store, N file stats).
///
/// The listing is taken oldest minute first and, within a minute, in an order given by
/// the worker's id (see [`taking_order`]).
#[derive(Default)]
pub(super) struct Backlog {
    entries: VecDeque<jobs::Queued>,
    listed_at: Option<Timestamp>,
    /// The pass over the current listing met a job that may be taken later.
    pending: bool,
    /// What is known of jobs still queued, across listings.
    known: Known,
}

/// What a worker learnt of queued jobs from looking at them.
#[derive(Default)]
struct Known {
    /// Jobs looked at before. A job never looked at has no attempt unless another worker
    /// claimed one since it was listed, so its first look claims attempt 1 at once.
    seen: HashSet<JobId>,
    /// Jobs not worth a look before a time: another worker's lease runs until then (or was
    /// just claimed), or a retry waits for its backoff.
    later: HashMap<JobId, Timestamp>,
    /// Ended jobs whose settling failed: how often, and when to try again.
    unsettled: HashMap<JobId, (u32, Timestamp)>,
}

/// How long an ended job whose settling failed `n` times waits before the next try:
/// 10 s, doubling, at most 10 minutes.
fn settle_backoff_secs(n: u32) -> i64 {
    10_i64.saturating_mul(1 << n.saturating_sub(1).min(6)).min(600)
}

impl Backlog {
    fn stale(&self, now: Timestamp) -> bool {
        self.entries.is_empty() || self.listed_at.is_none_or(|t| now >= t.plus_secs(RELIST_AFTER_SECS))
    }

    /// Takes a fresh listing, in `worker`'s taking order; forgets what it knew of jobs no
    /// longer queued.
    fn relist(&mut self, mut entries: Vec<jobs::Queued>, worker: &str, now: Timestamp) {
        let queued: HashSet<&JobId> = entries.iter().map(|e| &e.job_id).collect();
        self.known.seen.retain(|id| queued.contains(id));
        self.known.later.retain(|id, _| queued.contains(id));
        self.known.unsettled.retain(|id, _| queued.contains(id));
        entries.sort_by_cached_key(|e| taking_order(e, worker));
        self.entries = entries.into();
        self.listed_at = Some(now);
        self.pending = false;
    }
}

/// Where a queued job comes in `worker`'s order: by the minute it was submitted, then by a
/// hash of the worker's and the job's ids. Every job is still reached in every listing
/// (none waits behind newer ones for more than a minute's worth), while workers that list
/// the same queue mostly reach for different jobs first, so few claims are lost to races.
fn taking_order(entry: &jobs::Queued, worker: &str) -> (i64, u64) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (worker, entry.job_id.as_str()).hash(&mut h);
    (entry.submitted_at.unix().div_euclid(SAME_TIME_SECS), h.finish())
}

/// Whether the worker can sign a job it found claimable.
enum Can {
    /// It can.
    Sign,
    /// It lacks the key or cannot reach it (reported once): the job is another worker's.
    Leave,
    /// The version's record could not be read now.
    Later,
}

impl Inner {
    /// Looks at the queue and claims up to `free` jobs. Idle only when a fresh listing,
    /// looked at whole, held nothing this worker could take now or later.
    pub(super) async fn scan(
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
                backlog.relist(entries, &self.id, self.clock.now());
                self.pass.clear();
                fresh = true;
            }
            while free > 0 {
                let Some(entry) = backlog.entries.pop_front() else { break };
                if busy.contains_key(&entry.job_id) {
                    backlog.pending = true;
                    continue;
                }
                match self.look_at(entry, &mut backlog.known, noted, summary).await? {
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
        known: &mut Known,
        noted: &mut HashSet<JobId>,
        summary: &mut Summary,
    ) -> Result<Look, Error> {
        let id = entry.job_id.clone();
        let now = self.clock.now();
        if known.later.get(&id).is_some_and(|t| now < *t) {
            return Ok(Look::Later);
        }
        // Ended, and settling it failed: nothing this worker waits for (an idle worker may
        // stop), tried again after its backoff.
        if known.unsettled.get(&id).is_some_and(|(_, at)| now < *at) {
            return Ok(Look::Nothing);
        }
        if known.seen.insert(id.clone()) && !self.keyring.missed() {
            return self.claim_first(entry, known, noted, summary, now).await;
        }
        let records = match jobs::load(&self.store, &id, &self.cache, false).await {
            Ok(r) => r,
            Err(Error::Job(JobError::NotFound { .. })) => {
                let repaired = jobs::submission(&self.store, &entry, &self.cache).await?.is_some();
                return Ok(if repaired { Look::Later } else { Look::Nothing });
            }
            Err(e) => {
                (self.report)(Report::Trouble { message: format!("could not read job {id} ({e}); trying again") });
                return Ok(Look::Later);
            }
        };
        match jobs::next(&records, now) {
            Next::Ended => {
                if let Some(result) = &records.result {
                    // Its worker died before settling it, or settling failed: finish that.
                    match jobs::settle(&self.store, &records.job, result, jobs::Staging::Any).await {
                        Ok(()) => {
                            known.unsettled.remove(&id);
                        }
                        Err(e) => {
                            let tries = known.unsettled.get(&id).map_or(1, |(n, _)| n + 1);
                            known.unsettled.insert(id.clone(), (tries, now.plus_secs(settle_backoff_secs(tries))));
                            // Said once per worker: a job that cannot be settled must not fill
                            // the log.
                            if tries == 1 {
                                (self.report)(Report::Trouble {
                                    message: format!(
                                        "could not settle ended job {id} ({e}); retrying with backoff, without saying \
                                         so again; `signer sign-job purge {id}` takes it off the queue"
                                    ),
                                });
                            }
                        }
                    }
                }
                self.cache.forget(&id);
                Ok(Look::Nothing)
            }
            Next::GiveUp(reason) => {
                let result = failed_result(&records.job, records.last_attempt(), reason, None, now);
                let t0 = Instant::now();
                match jobs::conclude(&self.store, &records.job, result, jobs::Staging::Any).await {
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
            Next::Held { until, .. } | Next::RetryAt(until) => {
                known.later.insert(id, until);
                Ok(Look::Later)
            }
            Next::Claim(n) => match self.can_sign(&records.job, noted, summary).await {
                Can::Sign => {
                    let claim = self.claim(n, now);
                    match self.store.create_json(&keys::job_claim(&id, n)?, &claim).await {
                        Ok(()) => Ok(Look::Claimed(Box::new(records), claim)),
                        Err(e) => Ok(self.claim_lost(&id, e, known, now)),
                    }
                }
                Can::Leave => Ok(Look::Nothing),
                Can::Later => Ok(Look::Later),
            },
        }
    }

    /// A job never looked at: attempt 1 is claimed before anything is read (a race lost
    /// to another worker costs one refused write), then its record; if this worker cannot
    /// sign it after all, the claim is taken back, as if never made.
    async fn claim_first(
        &self,
        entry: jobs::Queued,
        known: &mut Known,
        noted: &mut HashSet<JobId>,
        summary: &mut Summary,
        now: Timestamp,
    ) -> Result<Look, Error> {
        let id = entry.job_id.clone();
        let claim = self.claim(1, now);
        if let Err(e) = self.store.create_json(&keys::job_claim(&id, 1)?, &claim).await {
            return Ok(self.claim_lost(&id, e, known, now));
        }
        let job = match jobs::submission(&self.store, &entry, &self.cache).await {
            Ok(Some(job)) => job,
            // Settled and removed since it was listed.
            Ok(None) => {
                self.take_back(&id).await;
                return Ok(Look::Nothing);
            }
            Err(e) => {
                (self.report)(Report::Trouble { message: format!("could not read job {id} ({e}); trying again") });
                self.take_back(&id).await;
                return Ok(Look::Later);
            }
        };
        let look = match self.can_sign(&job, noted, summary).await {
            Can::Sign => {
                // Attempt 1 is this worker's: the job has no other attempt and no result.
                let attempt = jobs::AttemptRecords { claim: claim.clone(), last_renewal: None, end: None };
                let records = Records { job, attempts: vec![attempt], result: None, revocation: None };
                return Ok(Look::Claimed(Box::new(records), claim));
            }
            Can::Leave => Look::Nothing,
            Can::Later => Look::Later,
        };
        self.take_back(&id).await;
        Ok(look)
    }

    /// Whether this worker can sign `job` now (a missing or unreachable key is reported
    /// once per job).
    async fn can_sign(&self, job: &JobRecord, noted: &mut HashSet<JobId>, summary: &mut Summary) -> Can {
        let id = &job.job_id;
        let reason = match self.keyring.reach(&self.store, job).await {
            Ok(Reach::Ready(..)) => return Can::Sign,
            Ok(Reach::NotHere(why) | Reach::Unreachable(why)) => why,
            // A problem no retry mends (the version's record is gone, say) is the
            // attempt's to record: it fails the job, with the reason.
            Err(e) if jobs::classify(&e) == FailureKind::Permanent => return Can::Sign,
            Err(e) => {
                (self.report)(Report::Trouble {
                    message: format!("could not read the profile version of job {id} ({e}); trying again"),
                });
                return Can::Later;
            }
        };
        if noted.insert(id.clone()) {
            summary.left_to_others += 1;
            summary.left_because = Some(reason.clone());
            (self.report)(Report::LeftToOthers { job: id.clone(), version: job.version_ref(), reason });
        }
        Can::Leave
    }

    /// This worker's claim of attempt `n`, made at `now`.
    fn claim(&self, n: u64, now: Timestamp) -> Claim {
        Claim {
            attempt: n,
            worker: self.id.clone(),
            host: self.host.clone(),
            pid: self.pid,
            claimed_at: now,
            lease_secs: self.opts.lease_secs,
        }
    }

    /// A claim that was not made: another worker's is there (not worth a look for half a
    /// lease), or the store failed (said, and tried again).
    fn claim_lost(&self, id: &JobId, e: StoreError, known: &mut Known, now: Timestamp) -> Look {
        match e {
            StoreError::AlreadyExists { .. } => {
                known.later.insert(id.clone(), now.plus_secs(i64::from(self.opts.lease_secs / 2)));
            }
            e => (self.report)(Report::Trouble { message: format!("could not claim job {id} ({e}); trying again") }),
        }
        Look::Later
    }

    /// Takes back the claim of attempt 1 made by [`Self::claim_first`] before anything
    /// else was done with it: nothing was signed, renewed or recorded, and no other worker
    /// can have claimed a later attempt while its lease runs, so the job is as it was.
    async fn take_back(&self, id: &JobId) {
        let deleted = match keys::job_claim(id, 1) {
            Ok(key) => self.store.delete(&key).await,
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            (self.report)(Report::Trouble {
                message: format!("could not take back the claim of job {id} ({e}); its lease will lapse"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(submitted: i64) -> jobs::Queued {
        let job_id = JobId::random();
        let submitted_at = Timestamp::from_unix(submitted);
        let key = keys::job_queue_entry(submitted_at, &job_id).unwrap();
        jobs::Queued { job_id, submitted_at, key }
    }

    fn order_of(entries: &[jobs::Queued], worker: &str) -> Vec<JobId> {
        let mut b = Backlog::default();
        b.relist(entries.to_vec(), worker, Timestamp::from_unix(0));
        b.entries.into_iter().map(|e| e.job_id).collect()
    }

    #[test]
    fn workers_take_the_oldest_minute_first_each_in_its_own_order() {
        let newer: Vec<_> = (0..40).map(|i| queued(1_200_000 + 60 + i)).collect();
        let older: Vec<_> = (0..40).map(|i| queued(1_200_000 + i)).collect();
        let all: Vec<_> = newer.iter().chain(&older).cloned().collect();
        let a = order_of(&all, "host-1-aaaaaa");
        let b = order_of(&all, "host-2-bbbbbb");
        let older_ids: HashSet<_> = older.iter().map(|e| e.job_id.clone()).collect();
        for order in [&a, &b] {
            assert!(order[..40].iter().all(|id| older_ids.contains(id)), "the older minute comes first");
        }
        assert_ne!(a[..10], b[..10], "two workers reach for different jobs first");
        assert_eq!(a, order_of(&all, "host-1-aaaaaa"), "a worker's order is the same in every listing");
    }

    #[test]
    fn settling_backs_off_from_ten_seconds_to_ten_minutes() {
        let waits: Vec<i64> = (1..=9).map(settle_backoff_secs).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(settle_backoff_secs(u32::MAX), 600);
    }

    #[test]
    fn a_relisting_forgets_jobs_no_longer_queued() {
        let (gone, kept) = (queued(1), queued(2));
        let mut b = Backlog::default();
        for e in [&gone, &kept] {
            b.known.seen.insert(e.job_id.clone());
            b.known.later.insert(e.job_id.clone(), Timestamp::from_unix(99));
        }
        b.relist(vec![kept.clone()], "w", Timestamp::from_unix(5));
        assert!(b.known.seen.contains(&kept.job_id) && !b.known.seen.contains(&gone.job_id));
        assert!(b.known.later.contains_key(&kept.job_id) && !b.known.later.contains_key(&gone.job_id));
        assert_eq!(b.entries.len(), 1);
    }
}
