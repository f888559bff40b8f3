//! `signer serve`: the AWS Signer and Lambda (layers, code-signing configs) wire APIs for
//! the clients users already have.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::Ctx;
use signer::error::{Error, exit};
use signer::serve::{self, App, Limits, wire::Arns};
use signer::worker::{DEFAULT_LEASE_SECS, WorkerOptions};

/// How long connections in flight may finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// `signer serve`'s flags.
#[derive(Debug, clap::Args)]
pub(super) struct ServeArgs {
    /// The address to listen on; port 0 picks a free one (printed when ready).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// TLS: the server's certificate chain (PEM, leaf first). With --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS: the server's private key (PEM). With --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback. Requests are signed, but
    /// their bodies and answers (job details, layer downloads) travel in the clear:
    /// prefer --tls-cert/--tls-key.
    #[arg(long, conflicts_with = "tls_cert")]
    allow_plain_http: bool,
    /// The account id ARNs carry (12 digits).
    #[arg(long, value_name = "ID", default_value = "000000000000", value_parser = account_id)]
    account_id: String,
    /// The region ARNs carry and requests must be signed for.
    #[arg(long, value_name = "REGION", env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// Also run a worker in this process, which signs the jobs the server records (one
    /// machine; otherwise run `signer worker` where the keys are).
    #[arg(long)]
    with_worker: bool,
    /// With --with-worker: jobs signed at once. Default: the number of CPUs.
    #[arg(long, value_name = "N", requires = "with_worker", value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: Option<u16>,
    /// How long a client may take to send a request's headers (and a TLS handshake);
    /// its body may take six times as long. Slower clients are cut off.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::seconds_in(1..=600))]
    client_timeout: u64,
    #[command(flatten)]
    key_store: super::KeyStoreArg,
}

fn account_id(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s} is not 12 digits"))
    }
}

pub(super) async fn run(ctx: &Ctx, args: ServeArgs) -> anyhow::Result<u8> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |p: &PathBuf, what| super::paths::read_input(p, 1 << 20, what);
            Some(serve::tls_config(&read(cert, "TLS certificate")?, &read(key, "TLS key")?)?)
        }
        _ => None,
    };
    if tls.is_none() && !args.listen.ip().is_loopback() && !args.allow_plain_http {
        return Err(Error::Usage {
            why: format!(
                "{} is not a loopback address: give --tls-cert and --tls-key, or --allow-plain-http to serve it in the clear",
                args.listen
            ),
        }
        .into());
    }
    let store = ctx.store()?;
    let home = ctx.home()?;
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let bound = listener.local_addr().context("reading the address listened on")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let arns = Arns { account_id: args.account_id.clone(), region: args.region.clone() };
    let limits = Limits {
        header_timeout: Duration::from_secs(args.client_timeout),
        body_timeout: Duration::from_secs(args.client_timeout * 6),
        ..Limits::default()
    };
    let app = Arc::new(App::new(store.clone(), home.clone(), arns, args.key_store.get(), limits, tls.is_some())?);
    let url = format!("{scheme}://{bound}");
    let doc = serde_json::json!({
        "url": url,
        "account_id": args.account_id,
        "region": args.region,
        "store": store.url(),
        "with_worker": args.with_worker,
    });
    ctx.out.emit(
        &doc,
        format!(
            "serving AWS Signer and Lambda APIs on {url} (account {}, region {}) over {}\n  aws signer list-signing-profiles --endpoint-url {url}",
            args.account_id,
            args.region,
            store.url()
        ),
    )?;
    let server = async {
        serve::serve(
            listener,
            tls,
            app,
            async {
                super::worker::signal().await;
            },
            SHUTDOWN_GRACE,
        )
        .await?;
        ctx.out.log("stopped serving");
        anyhow::Ok(())
    };
    if args.with_worker {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let opts = WorkerOptions {
            concurrency: args.concurrency.map_or(cpus, usize::from),
            lease_secs: DEFAULT_LEASE_SECS,
            until_idle: false,
            poll: Duration::from_secs(1),
            only: None,
        };
        let worker = super::worker::run_worker(ctx, store, home, opts);
        tokio::try_join!(server, worker)?;
    } else {
        server.await?;
    }
    Ok(exit::OK)
}
