//! A lease and its renewal: the flag an attempt, its renewer and the loop share.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::Error;
use crate::jobs::Renewal;
use crate::model::{JobId, Timestamp};
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

/// A [`Lease`] many tasks read and change, and when the store last confirmed it.
#[derive(Debug)]
pub(super) struct LeaseFlag {
    state: AtomicU8,
    /// The claim's time, or the latest renewal made after finding the attempt still the
    /// job's latest (unix seconds): the lease runs `lease_secs` from here.
    confirmed_at: AtomicI64,
    lease_secs: u32,
}

impl LeaseFlag {
    /// A lease held from its claim at `claimed_at`.
    pub(super) fn new(claimed_at: Timestamp, lease_secs: u32) -> Arc<Self> {
        Arc::new(Self {
            state: AtomicU8::new(Lease::Held as u8),
            confirmed_at: AtomicI64::new(claimed_at.unix()),
            lease_secs,
        })
    }

    /// A renewal at `at`, made after a look found the attempt still the job's latest:
    /// the lease runs on from `at` if it had not run out by then (had it, another worker
    /// may have claimed the next attempt in between, and it stays unconfirmed).
    fn renewed(&self, at: Timestamp) {
        let secs = i64::from(self.lease_secs);
        let _ = self.confirmed_at.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |from| {
            (at.unix() > from && at.unix() < from.saturating_add(secs)).then_some(at.unix())
        });
    }

    /// Whether the lease is held and less than half of it has run since it was last
    /// confirmed: then no other worker can have claimed the next attempt (it may only once
    /// the lease ran out, by clocks that agree to well within a lease), and the store need
    /// not be asked. Past half, [`still_holds`] asks it.
    pub(super) fn fresh(&self, now: Timestamp) -> bool {
        let half = i64::from(self.lease_secs / 2);
        self.get() == Lease::Held
            && now < Timestamp::from_unix(self.confirmed_at.load(Ordering::SeqCst)).plus_secs(half)
    }

    pub(super) fn get(&self) -> Lease {
        match self.state.load(Ordering::SeqCst) {
            x if x == Lease::Held as u8 => Lease::Held,
            x if x == Lease::Release as u8 => Lease::Release,
            _ => Lease::Lost,
        }
    }

    /// Lost, from whatever it was.
    pub(super) fn lose(&self) {
        self.state.store(Lease::Lost as u8, Ordering::SeqCst);
    }

    /// Release, if still held (a lost lease stays lost).
    pub(super) fn release(&self) {
        let _ =
            self.state.compare_exchange(Lease::Held as u8, Lease::Release as u8, Ordering::SeqCst, Ordering::SeqCst);
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
        let at = clock.now();
        if let Ok(key) = keys::job_renewal(&job, n, at) {
            // A failed renewal is retried a quarter lease later; a lapse is safe (see the
            // module docs), only wasteful.
            let renewal = Renewal { worker: worker.clone() };
            if store.create_json(&key, &renewal).await.is_ok() {
                flag.renewed(at);
            }
        }
    }
}

/// Whether attempt `n` is still the job's latest and the job has not ended.
pub(super) async fn still_holds(store: &Store, job: &JobId, n: u64) -> Result<bool, Error> {
    let latest = store.list_numbered(&keys::job_attempts(job)?).await?.last().copied().unwrap_or(0);
    Ok(latest <= n && !store.exists(&keys::job_result(job)?).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_fresh_for_half_its_length_from_its_last_confirmation() {
        let t = Timestamp::from_unix(1_000);
        let flag = LeaseFlag::new(t, 30);
        assert!(flag.fresh(t) && flag.fresh(t.plus_secs(14)));
        assert!(!flag.fresh(t.plus_secs(15)), "past half the lease the store is asked");
        // A renewal while the lease held moves it on.
        flag.renewed(t.plus_secs(20));
        assert!(flag.fresh(t.plus_secs(34)) && !flag.fresh(t.plus_secs(35)));
        // A renewal after the lease ran out confirms nothing: another worker may have
        // claimed the next attempt in between.
        flag.renewed(t.plus_secs(60));
        assert!(!flag.fresh(t.plus_secs(60)));
        // Nor does an older one.
        flag.renewed(t.plus_secs(10));
        assert!(!flag.fresh(t.plus_secs(36)));
    }

    #[test]
    fn a_lost_or_released_lease_is_never_fresh() {
        let t = Timestamp::from_unix(1_000);
        let released = LeaseFlag::new(t, 30);
        released.release();
        assert!(!released.fresh(t));
        let lost = LeaseFlag::new(t, 30);
        lost.lose();
        lost.release();
        assert_eq!(lost.get(), Lease::Lost, "a lost lease stays lost");
        assert!(!lost.fresh(t));
    }
}
