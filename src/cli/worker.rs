//! `signer worker`, and the worker loop that `sign-job start --wait` runs in-process.

use std::time::Duration;

use tokio::sync::watch;

use super::Ctx;
use signer::error::exit;
use signer::home::Home;
use signer::store::Store;
use signer::worker::{DEFAULT_LEASE_SECS, Outcome, Report, Stop, Summary, Worker, WorkerOptions};

/// How long a first Ctrl-C or SIGTERM lets in-flight jobs finish before releasing them.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Args)]
pub(super) struct WorkerArgs {
    /// Jobs signed at once. Default: the number of CPUs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: Option<u16>,
    /// Exit once no job is left that this worker could take (jobs that other workers
    /// hold count as left: their leases may lapse). For batch runs and CI.
    #[arg(long)]
    until_idle: bool,
    /// How long a claim holds without renewal, 2s to 1h (30s, 2m; bare seconds too). The
    /// worker renews every quarter lease; another worker takes a job over once its lease
    /// lapsed. Workers' clocks must agree to well within a lease.
    #[arg(long, value_name = "DURATION", default_value_t = u64::from(DEFAULT_LEASE_SECS),
          value_parser = super::seconds_in(2..=3600))]
    lease: u64,
    /// The pause between looks at the queue while there is nothing to take, 1s to 1m.
    #[arg(long, value_name = "DURATION", default_value_t = 1, value_parser = super::seconds_in(1..=60))]
    poll: u64,
}

pub(super) async fn run(ctx: &Ctx, args: WorkerArgs) -> anyhow::Result<u8> {
    let store = ctx.store()?;
    let home = ctx.home()?;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let opts = WorkerOptions {
        concurrency: args.concurrency.map_or(cpus, usize::from),
        lease_secs: u32::try_from(args.lease).unwrap_or(DEFAULT_LEASE_SECS),
        until_idle: args.until_idle,
        poll: Duration::from_secs(args.poll),
        only: None,
    };
    let summary = run_worker(ctx, store, home, opts).await?;
    let text = format!(
        "worker {} stopped ({}): {} succeeded, {} failed, {} retrying, {} released, {} taken over, {} left to workers with the key",
        summary.worker,
        summary.stopped,
        summary.succeeded,
        summary.failed,
        summary.retried,
        summary.released,
        summary.lost,
        summary.left_to_others
    );
    ctx.out.emit(&summary, text)?;
    Ok(exit::OK)
}

/// Runs a worker until it stops, logging one line per job on stderr, a spinner on a
/// terminal, and handling Ctrl-C / SIGTERM: the first lets in-flight jobs finish for
/// [`DRAIN_GRACE`], then releases them; a second releases them at once.
pub(super) async fn run_worker(ctx: &Ctx, store: Store, home: Home, opts: WorkerOptions) -> anyhow::Result<Summary> {
    let (tx, mut reports) = tokio::sync::mpsc::unbounded_channel::<Report>();
    let concurrency = opts.concurrency;
    let lease = opts.lease_secs;
    let worker = Worker::new(store.clone(), home, opts, move |r| {
        let _ = tx.send(r);
    });
    let (stop, signals) = stop_on_signals();
    let mut stop_seen = stop.clone();
    let spinner = ctx.out.spinner(&format!("worker {}: looking for jobs", worker.id()));
    ctx.out.log(format!("worker {} on {} (concurrency {concurrency}, lease {lease} s)", worker.id(), store.url()));
    let mut tally = Tally::default();
    let run = worker.run(stop);
    tokio::pin!(run);
    let result = loop {
        tokio::select! {
            r = &mut run => break r,
            Some(report) = reports.recv() => tally.log(ctx, &spinner, worker.id(), report),
            Ok(()) = stop_seen.changed() => {
                let line = match *stop_seen.borrow() {
                    Stop::Drain => format!(
                        "stopping: finishing in-flight jobs for up to {} s, then releasing them (again to release now)",
                        DRAIN_GRACE.as_secs()
                    ),
                    Stop::Now => "stopping: releasing in-flight jobs".to_owned(),
                    Stop::Run => String::new(),
                };
                spinner.suspend(|| ctx.out.log(line));
            }
        }
    };
    while let Ok(report) = reports.try_recv() {
        tally.log(ctx, &spinner, worker.id(), report);
    }
    spinner.finish_and_clear();
    signals.abort();
    Ok(result?)
}

/// Counts for the spinner.
#[derive(Debug, Default)]
struct Tally {
    in_flight: u64,
    succeeded: u64,
    failed: u64,
}

impl Tally {
    fn log(&mut self, ctx: &Ctx, spinner: &indicatif::ProgressBar, worker: &str, report: Report) {
        self.count(&report);
        let line = match report {
            Report::Claimed { job, attempt, source } => {
                spinner.suspend(|| ctx.out.debug(format!("job {job} {source}: claimed attempt {attempt}")));
                None
            }
            Report::Ended { job, source, outcome, duration } => {
                Some(format!("job {job} {source}: {} in {:.1} s", outcome.describe(), duration.as_secs_f64()))
            }
            Report::LeftToOthers { job, version, reason } => {
                Some(format!("job {job}: left to a worker that can sign for {version} ({reason})"))
            }
            Report::Trouble { message } => Some(format!("warning: {message}")),
        };
        if let Some(line) = line {
            spinner.suspend(|| ctx.out.log(line));
        }
        spinner.set_message(self.message(worker));
    }

    /// Counts a report: a claim is in flight until its attempt ends.
    fn count(&mut self, report: &Report) {
        match report {
            Report::Claimed { .. } => self.in_flight += 1,
            Report::Ended { outcome, .. } => {
                self.in_flight = self.in_flight.saturating_sub(1);
                match outcome {
                    Outcome::Succeeded { .. } => self.succeeded += 1,
                    Outcome::Failed { .. } => self.failed += 1,
                    Outcome::Retrying { .. }
                    | Outcome::Released { .. }
                    | Outcome::Lost { .. }
                    | Outcome::Unrecorded { .. } => {}
                }
            }
            Report::LeftToOthers { .. } | Report::Trouble { .. } => {}
        }
    }

    /// The spinner's line.
    fn message(&self, worker: &str) -> String {
        format!("worker {worker}: {} signed, {} in flight, {} failed", self.succeeded, self.in_flight, self.failed)
    }
}

/// A stop signal fed by Ctrl-C and SIGTERM: the first asks to drain, and to stop now after
/// [`DRAIN_GRACE`]; the second asks to stop now.
fn stop_on_signals() -> (watch::Receiver<Stop>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(Stop::Run);
    let task = tokio::spawn(async move {
        let mut seen = 0u32;
        loop {
            if !signal().await {
                return; // signals cannot be watched here: the worker runs until killed
            }
            seen += 1;
            if seen == 1 {
                let _ = tx.send(Stop::Drain);
                let later = tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(DRAIN_GRACE).await;
                    let _ = later.send(Stop::Now);
                });
            } else {
                let _ = tx.send(Stop::Now);
            }
        }
    });
    (rx, task)
}

/// Waits for Ctrl-C or SIGTERM; false if they cannot be watched.
pub(super) async fn signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                r = tokio::signal::ctrl_c() => r.is_ok(),
                r = term.recv() => r.is_some(),
            },
            Err(_) => tokio::signal::ctrl_c().await.is_ok(),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spinner_counts_signed_in_flight_and_failed_jobs() {
        let job: signer::model::JobId = "3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d".parse().unwrap();
        let claimed = || Report::Claimed { job: job.clone(), attempt: 1, source: "s".into() };
        let ended = |outcome| Report::Ended { job: job.clone(), source: "s".into(), outcome, duration: Duration::ZERO };
        let mut tally = Tally::default();
        for _ in 0..4 {
            tally.count(&claimed());
        }
        tally.count(&ended(Outcome::Succeeded { signed_object: "o".into(), attempt: 1 }));
        tally.count(&ended(Outcome::Failed { reason: "not a zip".into() }));
        tally.count(&ended(Outcome::Retrying {
            attempt: 1,
            reason: "slow".into(),
            retry_after: "2026-01-01T00:00:00Z".parse().unwrap(),
        }));
        assert_eq!(tally.message("w1"), "worker w1: 1 signed, 1 in flight, 1 failed");
    }
}
