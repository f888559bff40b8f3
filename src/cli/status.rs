//! `signer status`: the store's state, read-only.

use super::Ctx;
use signer::error::exit;
use signer::status::Status;

/// Prints the store's state; creates and changes nothing.
pub(super) async fn run(ctx: &Ctx) -> anyhow::Result<u8> {
    let store = ctx.read_store()?;
    let status = signer::status::status(&store, signer::clock::now()).await?;
    ctx.out.emit(&status, text(&status))?;
    Ok(exit::OK)
}

fn text(s: &Status) -> String {
    let root = &s.root_ca;
    let mut t = format!(
        "store:       {}\nroot CA:     sha256:{} ({}, expires {})\nTSA:         {}",
        s.store,
        root.fingerprint,
        root.subject.as_deref().unwrap_or("no common name"),
        root.not_after,
        s.tsa_url.as_deref().unwrap_or("none: signatures carry no trusted time (`signer tsa set`)")
    );
    t.push_str(&format!("\nprofiles:    {}", s.profiles.len()));
    for p in &s.profiles {
        t.push_str(&format!(
            "\n  {:<24} {:<9} {:<18} current {} of {} version(s)",
            p.name.as_str(),
            format!("{:?}", p.status),
            p.platform.as_str(),
            p.current_version.as_ref().map_or("-", |v| v.as_str()),
            p.version_count
        ));
    }
    let q = &s.queue;
    t.push_str(&format!(
        "\nconfigs:     {}\nlayers:      {}\nqueue:       {} submitted, {} in progress, {} ended but not settled",
        s.csc_count,
        s.layer_count,
        q.submitted,
        q.in_progress,
        q.ended_unsettled.len()
    ));
    for id in &q.ended_unsettled {
        t.push_str(&format!("\n  {id}: its destination could not be cleaned up; `signer sign-job purge {id}`"));
    }
    t.push_str(&format!("\nfailed jobs: {}", s.failed_job_count));
    if s.failed_job_count > 0 {
        t.push_str(" (`signer sign-job list --dead-letter` says why)");
    }
    let live = s.workers.iter().filter(|w| w.live).count();
    t.push_str(&format!("\nworkers:     {live} live"));
    for w in &s.workers {
        let clock = w.clock_offset_secs.map_or_else(
            || "clock not compared".to_owned(),
            |o| match o {
                0 => "clock agrees with the store's".to_owned(),
                o if o > 0 => format!("clock {o} s ahead of the store's"),
                o => format!("clock {} s behind the store's", o.unsigned_abs()),
            },
        );
        let state = if w.live { "live" } else { "silent" };
        t.push_str(&format!("\n  {} on {} (pid {}): {state}, seen {}, {clock}", w.worker, w.host, w.pid, w.seen_at));
    }
    t
}
