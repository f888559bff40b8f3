//! Looking at the queue: which jobs to claim, settle, fail, or leave for later.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use super::attempt::{failed_result, standing_outcome};
use super::keyring::Reach;
use super::lease::LeaseFlag;
use super::{Inner, Report, Summary};
use crate::error::Error;
use crate::jobs::{self, Claim, FailureKind, JobError, Next, Records};
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

/// The queue as last listed, oldest first, less the entries already looked at. A scan
/// takes from the front and lists again only when the listing is used up or stale: a
/// queue of N jobs costs one listing per N jobs, not one per job (on S3, N/1,000 LIST
/// requests; on the file store, N file stats).
#[derive(Default)]
pub(super) struct Backlog {
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
    /// Looks at the queue, oldest first, and claims up to `free` jobs. Idle only when a
    /// fresh listing, looked at whole, held nothing this worker could take now or later.
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
}
