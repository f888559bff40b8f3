//! The one place that reads the system clock; everything else takes a [`Timestamp`], or a
//! [`Clock`] when it runs over time (a worker: leases, renewals, retries, polling).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use crate::model::Timestamp;

/// Now, in whole seconds.
pub fn now() -> Timestamp {
    #[allow(clippy::disallowed_methods)] // the one place
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Timestamp::from_unix(secs)
}

/// A wait, as a clock measures it.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Time for something that runs over it: what time it is, and waiting. Every lease,
/// renewal, retry and poll of a worker goes through one, so a test can run them faster
/// than the wall clock and still see them in the same order.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Timestamp;
    /// Waits `d` of this clock's time.
    fn sleep(&self, d: Duration) -> Sleep;
}

/// The system clock: [`now`] and tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        now()
    }

    fn sleep(&self, d: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock that runs `factor` times as fast as the system's, from the system's time when
/// it was made: a test of leases and backoffs waits `1 / factor` of them. Everything that
/// shares one sees the same time, so waits and deadlines keep their order.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    start: Timestamp,
    started: Instant,
    factor: u32,
}

impl ScaledClock {
    /// A clock `factor` (at least 1) times as fast as the system's.
    pub fn new(factor: u32) -> Self {
        Self { start: now(), started: Instant::now(), factor: factor.max(1) }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let secs = self.started.elapsed().as_secs_f64() * f64::from(self.factor);
        // Whole seconds, as `now` gives; far below i64's range for any test's run.
        #[allow(clippy::cast_possible_truncation)]
        self.start.plus_secs(secs as i64)
    }

    fn sleep(&self, d: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(d / self.factor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scaled_clock_sees_its_own_waits_in_full() {
        // 3 s of the clock's time have passed after a 3 s wait, however fast it runs.
        for factor in [1, 50] {
            let clock = ScaledClock::new(factor);
            let t0 = clock.now();
            clock.sleep(Duration::from_secs(3)).await;
            assert!(clock.now() >= t0.plus_secs(3), "x{factor}: {} is not 3 s after {t0}", clock.now());
        }
        // It starts at the system's time.
        let clock = ScaledClock::new(1_000);
        assert!(clock.now() >= now() && clock.now() <= now().plus_secs(1));
    }
}
