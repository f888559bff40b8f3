//! A lease and its renewal: the flag an attempt, its renewer and the loop share.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::Error;
use crate::jobs::Renewal;
use crate::model::JobId;
use crate::store::{Store, keys};
/// Where an attempt's lease stands, shared by the attempt, its renewer and the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lease {
    /// Held: sign on.
    Held,
    /// The worker is stopping now: give the job back unless it is all but done.
    Release,
    /// Another attempt took the job over, or it ended: write nothing more.
    Lost,
}

/// A [`Lease`] many tasks read and change.
#[derive(Debug)]
pub(super) struct LeaseFlag(AtomicU8);

impl LeaseFlag {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self(AtomicU8::new(Lease::Held as u8)))
    }

    pub(super) fn get(&self) -> Lease {
        match self.0.load(Ordering::SeqCst) {
            x if x == Lease::Held as u8 => Lease::Held,
            x if x == Lease::Release as u8 => Lease::Release,
            _ => Lease::Lost,
        }
    }

    /// Lost, from whatever it was.
    pub(super) fn lose(&self) {
        self.0.store(Lease::Lost as u8, Ordering::SeqCst);
    }

    /// Release, if still held (a lost lease stays lost).
    pub(super) fn release(&self) {
        let _ = self.0.compare_exchange(Lease::Held as u8, Lease::Release as u8, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Renews attempt `n`'s lease every quarter lease until aborted; marks the attempt lost
/// when a later attempt was claimed or the job ended meanwhile.
pub(super) async fn renew(
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
pub(super) async fn still_holds(store: &Store, job: &JobId, n: u64) -> Result<bool, Error> {
    let latest = store.list_numbered(&keys::job_attempts(job)?).await?.last().copied().unwrap_or(0);
    Ok(latest <= n && !store.exists(&keys::job_result(job)?).await?)
}
