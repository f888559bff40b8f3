//! `signer sign-job start|describe|wait|list|revoke`

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use clap::Subcommand;

use super::Ctx;
use signer::clock;
use signer::error::{Error, exit};
use signer::jobs::JobError;
use signer::jobs::{self, EventLog, JobEvent, JobStatus, JobSummary, JobView, ListFilter, StartRequest};
use signer::model::{JobId, ProfileName, Timestamp};
use signer::store::Store;
use signer::worker::{DEFAULT_LEASE_SECS, WorkerOptions};

#[derive(Debug, Subcommand)]
pub(super) enum SignJobCmd {
    /// Submit a signing job and return at once with its id. The profile must be Active
    /// and the source must exist; the source is pinned now (its ETag), so if its bytes
    /// change before a worker signs them, the job fails and signs nothing. A worker
    /// (`signer worker`) writes the signed package to <destination><job id>.zip.
    ///
    /// Examples:
    ///   signer sign-job start --profile MyApp --source s3://artifacts/fn.zip --destination s3://signed/fn/
    ///   signer sign-job start --profile MyApp --source fn.zip --destination out/ --wait
    Start(StartArgs),
    /// Show a job: status, reason, profile version, pinned source, signed object,
    /// signature expiry, attempts, times, revocation.
    ///
    /// Example: signer sign-job describe 3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d
    Describe {
        /// The job id.
        id: JobId,
    },
    /// Wait until a job ends: exit 0 when it Succeeded, 1 when it Failed, 5 on timeout.
    ///
    /// Example: signer sign-job wait 3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d --timeout 300
    Wait {
        /// The job id.
        id: JobId,
        /// Give up after this long: 300, 90s, 10m, 2h (default: as long as it takes).
        #[arg(long, value_name = "DURATION", value_parser = super::seconds_in(0..=u64::from(u32::MAX)))]
        timeout: Option<u64>,
    },
    /// List jobs, newest first; or, with --events / --dead-letter, the records of job
    /// ends that pipelines poll in the store (events/jobs/, dead-letter/jobs/).
    ///
    /// Examples:
    ///   signer sign-job list --status Failed
    ///   signer sign-job list --profile MyApp --expires-before 2027-01-01T00:00:00Z
    ///   signer sign-job list --dead-letter
    List(ListArgs),
    /// Revoke a Succeeded job's signature (irreversible): its package fails the
    /// revocation check of `verify` and `deploy check` from now on.
    ///
    /// Example: signer sign-job revoke 3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d --reason "built from a compromised commit"
    Revoke {
        /// The job id.
        id: JobId,
        /// Why, recorded with the revocation.
        #[arg(long)]
        reason: String,
    },
    /// Take an ended job off the queue when settling it keeps failing (workers log that
    /// once, then retry with backoff): writes its event and dead-letter record if missing
    /// and removes its queue entry. Staging objects at its destination, if any, are left
    /// for you to delete. A job that has not ended is refused (exit 5).
    ///
    /// Example: signer sign-job purge 3f2b8c4e-0d1a-4c2e-9b7a-5e6f7a8b9c0d
    Purge {
        /// The job id.
        id: JobId,
    },
}

#[derive(Debug, clap::Args)]
pub(super) struct StartArgs {
    /// The signing profile; its current version signs.
    #[arg(long)]
    #[arg(add = super::complete::profiles())]
    profile: ProfileName,
    /// The zip to sign: an object URL (s3://bucket/key, file:///abs/path) or a local path.
    /// Any store, independent of --store.
    #[arg(long, value_name = "URL")]
    source: String,
    /// Where the signed package goes: <destination><job id>.zip. An object URL prefix
    /// (s3://bucket/signed/, file:///abs/dir/) or a local folder.
    #[arg(long, value_name = "PREFIX_URL")]
    destination: String,
    /// Makes the start idempotent: the same token returns the same job, also when two
    /// starts race.
    #[arg(long, value_name = "TOKEN")]
    client_token: Option<String>,
    /// Wait until the job ends (exit 0 Succeeded, 1 Failed). With an embedded store
    /// (file:// or memory://) and no worker running, sign it in this process.
    #[arg(long)]
    wait: bool,
    /// With --wait: give up waiting after this long, e.g. 300, 90s, 10m (exit 5; the job
    /// goes on).
    #[arg(long, value_name = "DURATION", requires = "wait", value_parser = super::seconds_in(0..=u64::from(u32::MAX)))]
    timeout: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub(super) struct ListArgs {
    /// Only jobs with this status.
    #[arg(long, ignore_case = true, value_parser = super::one_of::<JobStatus>(JobStatus::ALL.map(JobStatus::as_str)))]
    status: Option<JobStatus>,
    /// Only jobs of this profile.
    #[arg(long, value_name = "NAME")]
    #[arg(add = super::complete::profiles())]
    profile: Option<ProfileName>,
    /// Only jobs whose signature is revoked.
    #[arg(long, conflicts_with_all = ["events", "dead_letter"])]
    revoked: bool,
    /// Only signatures that expire before this RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    expires_before: Option<Timestamp>,
    /// Only signatures that expire after this RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    expires_after: Option<Timestamp>,
    /// Show the job-end events (events/jobs/ in the store) instead of the jobs.
    #[arg(long, conflicts_with = "dead_letter")]
    events: bool,
    /// Show the failed jobs' dead-letter records (dead-letter/jobs/) instead of the jobs.
    #[arg(long)]
    dead_letter: bool,
}

pub(super) async fn run(ctx: &Ctx, cmd: SignJobCmd) -> anyhow::Result<u8> {
    match cmd {
        SignJobCmd::Start(args) => start(ctx, args).await,
        SignJobCmd::Describe { id } => {
            let store = ctx.read_store()?;
            let v = jobs::describe(&store, &id, clock::now()).await?;
            ctx.out.emit(&v, view_text(&v))?;
            Ok(exit::OK)
        }
        SignJobCmd::Wait { id, timeout } => {
            let store = ctx.read_store()?;
            jobs::describe(&store, &id, clock::now()).await?;
            let v = wait_for(ctx, &store, &id, timeout.map(Duration::from_secs)).await?;
            ctx.out.emit(&v, view_text(&v))?;
            Ok(final_code(&v))
        }
        SignJobCmd::List(args) => list(ctx, args).await,
        SignJobCmd::Purge { id } => {
            let store = ctx.store()?;
            let v = jobs::purge(&store, &id, clock::now()).await?;
            ctx.out.emit(&v, format!("job {id} ({}) is off the queue", v.status))?;
            Ok(exit::OK)
        }
        SignJobCmd::Revoke { id, reason } => {
            let store = ctx.store()?;
            let v = jobs::revoke(&store, &id, &reason, clock::now()).await?;
            let text = format!(
                "revoked the signature of job {id}: its package {} now fails the revocation check",
                v.signed_object.as_deref().unwrap_or("")
            );
            ctx.out.emit(&v, text)?;
            Ok(exit::OK)
        }
    }
}

async fn start(ctx: &Ctx, args: StartArgs) -> anyhow::Result<u8> {
    let store = ctx.store()?;
    let req = StartRequest {
        profile: args.profile,
        source: args.source,
        destination: args.destination,
        client_token: args.client_token,
        requested_by: None,
        source_version: None,
    };
    let started = jobs::start(&store, &req, clock::now()).await?;
    let id = started.job.job_id.clone();
    if !args.wait {
        let v = started.view(&store, clock::now()).await?;
        let text = format!(
            "{} signing job {id} ({}); it signs {} into {}\n  follow it: signer sign-job wait {id}",
            if started.created { "started" } else { "the client token's" },
            v.status,
            v.source,
            v.signed_object.as_deref().unwrap_or(&started.job.signed_object),
        );
        ctx.out.emit(&with_created(&v, started.created)?, text)?;
        return Ok(exit::OK);
    }
    let embedded = store.url().starts_with("file://") || store.url().starts_with("memory://");
    if embedded && jobs::live_workers(&store, clock::now()).await?.is_empty() {
        ctx.out.log(format!("no worker runs against {}: signing job {id} in this process", store.url()));
        let opts = WorkerOptions {
            concurrency: 1,
            lease_secs: DEFAULT_LEASE_SECS,
            until_idle: true,
            poll: Duration::from_millis(500),
            only: Some(id.clone()),
        };
        let summary = super::worker::run_worker(ctx, store.clone(), ctx.home()?, opts).await?;
        let v = jobs::describe(&store, &id, clock::now()).await?;
        if !v.status.is_final()
            && summary.left_to_others > 0
            && jobs::live_workers(&store, clock::now()).await?.is_empty()
        {
            let version = signer::model::VersionRef { profile: v.profile.clone(), version: v.profile_version.clone() };
            let why = summary.left_because.unwrap_or_else(|| "no key".to_owned());
            return Err(Error::from(JobError::NoKeyNoWorker { id, version, why, store: store.url().to_owned() }).into());
        }
    }
    let v = wait_for(ctx, &store, &id, args.timeout.map(Duration::from_secs)).await?;
    ctx.out.emit(&with_created(&v, started.created)?, view_text(&v))?;
    Ok(final_code(&v))
}

fn with_created(v: &JobView, created: bool) -> anyhow::Result<serde_json::Value> {
    let mut doc = serde_json::to_value(v)?;
    if let Some(map) = doc.as_object_mut() {
        map.insert("created".to_owned(), created.into());
    }
    Ok(doc)
}

fn final_code(v: &JobView) -> u8 {
    match v.status {
        JobStatus::Succeeded => exit::OK,
        _ => exit::DENIED,
    }
}

/// Polls a job until it ends, with a spinner on a terminal; Ctrl-C stops waiting (the
/// job goes on).
async fn wait_for(ctx: &Ctx, store: &Store, id: &JobId, timeout: Option<Duration>) -> anyhow::Result<JobView> {
    let spinner = ctx.out.spinner(&format!("waiting for job {id}"));
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    let outcome: Result<JobView, Error> = loop {
        let v = jobs::describe(store, id, clock::now()).await?;
        if v.status.is_final() {
            break Ok(v);
        }
        spinner.set_message(format!("job {id}: {} — {}", v.status, v.status_reason.as_deref().unwrap_or("")));
        if timeout.is_some_and(|t| started.elapsed() >= t) {
            break Err(JobError::WaitTimedOut {
                id: id.clone(),
                status: v.status,
                secs: started.elapsed().as_secs(),
                reason: v.status_reason.clone().unwrap_or_else(|| "no reason given".to_owned()),
            }
            .into());
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = tokio::signal::ctrl_c() => break Err(JobError::WaitInterrupted { id: id.clone() }.into()),
        }
        pause = (pause * 2).min(Duration::from_secs(2));
    };
    spinner.finish_and_clear();
    Ok(outcome?)
}

async fn list(ctx: &Ctx, args: ListArgs) -> anyhow::Result<u8> {
    let store = ctx.read_store()?;
    let filter = ListFilter {
        status: args.status,
        profile: args.profile,
        revoked: args.revoked,
        expires_before: args.expires_before,
        expires_after: args.expires_after,
    };
    let log = match (args.events, args.dead_letter) {
        (true, _) => Some(EventLog::Events),
        (_, true) => Some(EventLog::DeadLetter),
        _ => None,
    };
    if let Some(log) = log {
        let events = jobs::events(&store, log, &filter).await?;
        let name = match log {
            EventLog::Events => "events",
            EventLog::DeadLetter => "dead_letters",
        };
        let mut doc = serde_json::Map::new();
        doc.insert(name.to_owned(), serde_json::to_value(&events)?);
        ctx.out.emit(&doc, events_text(&events))?;
        return Ok(exit::OK);
    }
    let found = jobs::list(&store, &filter).await?;
    let doc = serde_json::json!({ "jobs": found });
    ctx.out.emit(&doc, list_text(&found))?;
    Ok(exit::OK)
}

fn view_text(v: &JobView) -> String {
    let mut s = format!("job {}  {}\n", v.job_id, v.status);
    let mut line = |k: &str, val: String| {
        let _ = writeln!(s, "  {k:<12} {val}");
    };
    if let Some(r) = &v.status_reason {
        line("reason", r.clone());
    }
    line("profile", format!("{}/{} ({})", v.profile, v.profile_version, v.platform));
    line(
        "source",
        format!(
            "{} (ETag {}, {} bytes, modified {})",
            v.source, v.source_pin.etag, v.source_pin.size, v.source_pin.last_modified
        ),
    );
    line("destination", v.destination.clone());
    if let Some(o) = &v.signed_object {
        line("signed", o.clone());
    }
    if let Some(e) = v.signature_expires_at {
        line("expires", e.to_string());
    }
    line("attempts", format!("{} ({} failed)", v.attempts, v.failed_attempts));
    line("submitted", v.submitted_at.to_string());
    if let Some(t) = v.started_at {
        line("started", t.to_string());
    }
    if let Some(t) = v.ended_at {
        line("ended", t.to_string());
    }
    if let Some(w) = &v.worker {
        line("worker", w.clone());
    }
    if let Some(r) = &v.revocation {
        line("revoked", format!("{} ({})", r.revoked_at, r.reason));
    }
    s.trim_end().to_owned()
}

fn list_text(jobs: &[JobSummary]) -> String {
    if jobs.is_empty() {
        return "no jobs match".to_owned();
    }
    let mut s =
        format!("{:<36}  {:<10}  {:<20}  {:<20}  {:<20}  SOURCE\n", "JOB", "STATUS", "PROFILE", "SUBMITTED", "EXPIRES");
    for j in jobs {
        let expires = j.signature_expires_at.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
        let revoked = if j.revoked { " (revoked)" } else { "" };
        let _ = writeln!(
            s,
            "{:<36}  {:<10}  {:<20}  {:<20}  {:<20}  {}{revoked}",
            j.job_id,
            j.status.as_str(),
            j.profile.as_str(),
            j.submitted_at.to_string(),
            expires,
            j.source
        );
    }
    s.trim_end().to_owned()
}

fn events_text(events: &[JobEvent]) -> String {
    if events.is_empty() {
        return "no events match".to_owned();
    }
    let mut s = String::new();
    for e in events {
        let what = match (&e.signed_object, &e.status_reason) {
            (Some(o), _) => o.clone(),
            (None, Some(r)) => r.clone(),
            (None, None) => String::new(),
        };
        let _ = writeln!(s, "{}  {}  {:<10}  {}", e.ended_at, e.job_id, e.status.as_str(), what);
    }
    s.trim_end().to_owned()
}
