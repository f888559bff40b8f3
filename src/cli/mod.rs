//! The command line: clap definitions (doc comments are the `--help`), parsed arguments →
//! a context (store opened, home resolved) → one command module per subcommand. `anyhow`
//! lives here only.

mod access_key;
mod admin;
mod complete;
mod csc;
mod deploy;
mod layer;
mod man;
mod output;
mod paths;
mod permission;
mod profile;
mod quickstart;
mod revocations;
mod serve;
mod sign;
mod sign_job;
mod status;
mod trust;
mod tsa;
mod verify;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

pub use output::{Format, Out};

use signer::error::exit;
use signer::home::Home;
use signer::store::{PinSource, Store};
use signer::trust::{Pin, TrustError};

const AFTER_HELP: &str = "\
Exit codes: 0 success/allowed, 1 denied, 2 usage, 3 invalid input, 4 not found, 5 conflict, 6 store or I/O
(`signer man` has the whole table).

Start with `signer quickstart`: it walks the whole job on a throwaway store and prints each command.";

/// `signer --version`: the release, the commit it was built from and the build's date
/// (see `build.rs`).
const VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("SIGNER_COMMIT"), ", built ", env!("SIGNER_BUILD_DATE"), ")");

/// Self-hosted code signing and layer manager for zip-packaged functions.
///
/// Signs zips so that a deploy-time check can prove they come from a trusted publisher,
/// unchanged; publishes layers; enforces Lambda's size limits on the real bytes.
#[derive(Debug, Parser)]
#[command(name = "signer", version = VERSION, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command takes (listed apart in every `--help`, under "Global options").
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// The object store holding shared state: file:///abs/dir, memory://, s3://bucket[/prefix].
    /// S3 settings come from AWS_* variables (AWS_ENDPOINT_URL, AWS_ALLOW_HTTP=true for
    /// plain-HTTP servers such as MinIO). Default: a file store under the home.
    #[arg(long, global = true, env = "SIGNER_STORE", value_name = "URL")]
    store: Option<String>,
    /// Folder holding private keys (0700; key files 0600) and the default store.
    /// Default: ~/.local/share/signer.
    #[arg(long, global = true, env = "SIGNER_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// The root CA to trust: a PEM file of its certificate, or sha256:HEX of it. Trust
    /// records are believed only when this root sealed them, and a store whose root is
    /// another is refused. Default: the root `signer init` pinned in the home
    /// (`signer trust show`).
    #[arg(long, global = true, env = "SIGNER_TRUST_ROOT", value_name = "FILE|sha256:HEX")]
    trust_root: Option<String>,
    /// Output format: text for people, json for exactly one JSON document on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// More log detail on stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,
    /// No progress or log lines on stderr (errors still print).
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the store's root certificate authority (once per store; idempotent) and pin
    /// it in the home: from then on, this home trusts only records that root sealed.
    ///
    /// On a store that exists, the home pins the store's root: pass --trust-root to require
    /// the one you expect (`signer trust show` where the store was created prints it).
    ///
    /// Examples:
    ///   signer init
    ///   signer --trust-root sha256:4f1c… --store s3://signing init
    ///   signer init --seal-existing    # once, on a store made before records were sealed
    #[command(verbatim_doc_comment)]
    Init(InitArgs),
    /// The store's state, read-only: its root CA and TSA, profiles, configs and layers,
    /// the signing-job queue (submitted, in progress, ended but not settled), failed jobs,
    /// and the workers with how far their clocks are from the store's. Creates nothing.
    ///
    /// Examples:
    ///   signer status
    ///   signer --store s3://signing --output json status | jq .queue
    #[command(verbatim_doc_comment)]
    Status,
    /// The pinned trust root: show it, export its certificate, refresh the trust
    /// snapshot, bundle the store's trust for hooks without the store.
    #[command(subcommand)]
    Trust(trust::TrustCmd),
    /// Administrators: keys the root appoints to seal trust records in its place, so the
    /// root key can stay offline.
    #[command(subcommand)]
    Admin(admin::AdminCmd),
    /// Access keys for clients of `signer serve` (AWS Signature Version 4), kept in this
    /// home.
    #[command(subcommand)]
    AccessKey(access_key::AccessKeyCmd),
    /// The store's RFC 3161 time-stamping authority: the trusted signing time.
    #[command(subcommand)]
    Tsa(tsa::TsaCmd),
    /// Manage signing profiles: keys and certificates, versions, cancel, revoke.
    #[command(subcommand)]
    Profile(profile::ProfileCmd),
    /// Sign a zip synchronously: SOURCE and DEST are paths or object URLs.
    ///
    /// Example: signer sign --profile MyApp function.zip -o function.signed.zip
    Sign(sign::SignArgs),
    /// Verify a signed package: integrity and authenticity, expiry and revocation, and
    /// with --csc the config's allowed publishers and policy (enforce or warn).
    ///
    /// Exit 0 when allowed, 1 when denied.
    /// Examples:
    ///   signer verify function.signed.zip
    ///   signer verify function.signed.zip --csc csc-0123456789abcdef0 --at 2027-01-01T00:00:00Z
    ///   signer verify function.signed.zip --csc-file csc.json --revocations revocations.json --max-age 1d
    #[command(verbatim_doc_comment)]
    Verify(verify::VerifyArgs),
    /// Show or export a package's signature.
    #[command(subcommand)]
    Signature(verify::SignatureCmd),
    /// Publish and manage layers: immutable numbered versions, Lambda's size limits.
    #[command(subcommand)]
    Layer(layer::LayerCmd),
    /// Manage code-signing configs: the trusted profile versions and the policy.
    #[command(subcommand)]
    Csc(csc::CscCmd),
    /// The deploy-time hook: judge a function, its layers and settings before deploying.
    #[command(subcommand)]
    Deploy(deploy::DeployCmd),
    /// Export the store's revocations as a list signed by the root CA.
    #[command(subcommand)]
    Revocations(revocations::RevocationsCmd),
    /// Signing jobs: submit a zip in an object store for signing by workers, follow,
    /// list and revoke jobs.
    #[command(subcommand)]
    SignJob(sign_job::SignJobCmd),
    /// Sign submitted jobs: claims jobs from the store with a lease, writes each signed
    /// package once. Run many, on many machines, against one store.
    ///
    /// Example: signer worker --concurrency 4
    Worker(worker::WorkerArgs),
    /// Serve the AWS Signer API and Lambda's layer and code-signing-config APIs over
    /// this store, for the aws cli, boto3, the AWS SDKs and Terraform. Requests are
    /// signed with access keys (`signer access-key create`); the server records jobs
    /// and workers sign them (--with-worker runs one here). Its signatures are signer's:
    /// AWS Lambda does not verify them.
    ///
    /// Examples:
    ///   signer serve --with-worker
    ///   aws signer list-signing-profiles --endpoint-url http://127.0.0.1:8443
    ///   signer serve --listen 0.0.0.0:8443 --tls-cert server.pem --tls-key server.key
    #[command(verbatim_doc_comment)]
    Serve(serve::ServeArgs),
    /// Walk the whole main job on a throwaway store, printing each command.
    Quickstart(quickstart::QuickstartArgs),
    /// Print a shell completion script.
    ///
    /// Example: signer completions bash > /etc/bash_completion.d/signer
    Completions {
        /// The shell.
        shell: Shell,
    },
    /// Print a command's man page (roff), or write every command's page into a folder.
    /// Each has the ENVIRONMENT signer reads and the EXIT STATUS table.
    ///
    /// Examples:
    ///   signer man > signer.1 && man ./signer.1
    ///   signer man profile create | man -l -
    ///   signer man --dir ~/.local/share/man/man1     # signer.1, signer-profile-create.1, …
    #[command(verbatim_doc_comment)]
    Man {
        /// The command whose page to print, e.g. `profile create` (default: signer's own).
        command: Vec<String>,
        /// Write every page (signer.1, signer-profile.1, signer-profile-create.1, …) into
        /// this folder instead.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<PathBuf>,
    },
}

/// `signer init`'s flags.
#[derive(Debug, clap::Args)]
struct InitArgs {
    /// Seal the trust records (profiles, versions, revocations, configs, layers) that a
    /// signer older than sealed records wrote, so that verifiers keep trusting them. The
    /// one migration step of such a store: run it once, where the root key is, on a store
    /// whose records you know to be good (a record a store writer slipped in would be
    /// sealed too).
    #[arg(long)]
    seal_existing: bool,
    #[command(flatten)]
    key_store: KeyStoreArg,
}

/// `--key-store`, where new keys are generated.
#[derive(Debug, clap::Args)]
pub(super) struct KeyStoreArg {
    /// Where the new key is generated and kept: `file` (a PKCS#8 file in the home; the
    /// default), `aws-kms` (a new KMS key, SIGN_VERIFY, ECDSA only; the usual AWS
    /// credential chain), or a PKCS#11 token by RFC 7512 URI, e.g. 'pkcs11:token=signer'
    /// (the module from SIGNER_PKCS11_MODULE; the PIN from the file SIGNER_PKCS11_PIN_FILE
    /// names, or SIGNER_PKCS11_PIN; never on the command line). A token or KMS key never
    /// leaves it: the home keeps only a reference.
    #[arg(long, value_name = "STORE")]
    key_store: Option<signer::custody::KeyStore>,
}

impl KeyStoreArg {
    /// The key store asked for, `file` when none was.
    fn get(self) -> signer::custody::KeyStore {
        self.key_store.unwrap_or_default()
    }
}

/// Shells `completions` supports.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// A parser for one of a library enum's names: clap shows them as the possible values
/// (in `--help` and in errors), the enum's `FromStr` makes the value. The library's types
/// know nothing of clap.
fn one_of<T>(names: impl IntoIterator<Item = &'static str>) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr + Clone + Send + Sync + 'static,
    T::Err: std::fmt::Display,
{
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(names).try_map(|s| s.parse::<T>().map_err(|e| e.to_string()))
}

/// What every command gets: where state lives and how to talk to the user.
pub struct Ctx {
    /// The home.
    pub home_dir: PathBuf,
    /// The store URL given with `--store`/`SIGNER_STORE`; `None` is the home's default
    /// store ([`Home::default_store_url`], the one place that URL is built).
    pub store_url: Option<String>,
    /// `--trust-root`/`SIGNER_TRUST_ROOT`; `None` is the home's pin.
    pub trust_root: Option<String>,
    /// Output.
    pub out: Out,
}

impl Ctx {
    /// Opens (and creates if needed) the home.
    pub fn home(&self) -> anyhow::Result<Home> {
        Ok(Home::open(&self.home_dir)?)
    }

    /// Opens the store to write to: the one given, or the home's default store (creating
    /// a file store, and the home with its modes for the default one).
    pub fn store(&self) -> anyhow::Result<Store> {
        let url = match &self.store_url {
            Some(url) => url.clone(),
            None => self.home()?.default_store_url(),
        };
        let home = self.home()?;
        Ok(Store::open(&url)?.trusting(self.pin_source()?, Some(home)))
    }

    /// Where the trusted root comes from: `--trust-root` (a PEM file or sha256:HEX), or
    /// the home's pin.
    pub fn pin_source(&self) -> anyhow::Result<PinSource> {
        let Some(arg) = &self.trust_root else {
            return Ok(PinSource::Home(self.home_dir.clone()));
        };
        if let Some(pin) = Pin::parse_fingerprint(arg) {
            return Ok(PinSource::Given(pin?));
        }
        let pem = paths::read_input(std::path::Path::new(arg), revocations::MAX_PEM_FILE, "trust root")
            .with_context(|| format!("reading the trust root {arg}"))?;
        let pem = String::from_utf8(pem).map_err(|_| TrustError::BadPin { why: format!("{arg} is not a PEM text") })?;
        Ok(PinSource::Given(Pin::from_pem(&pem)?))
    }

    /// Opens the store a read-only command reads: nothing is created, and a missing store
    /// is exit 4, "no store at … (run `signer init`)", so a mistyped `--store` is said
    /// instead of answered from an empty store.
    pub fn read_store(&self) -> anyhow::Result<Store> {
        let url = match &self.store_url {
            Some(url) => url.clone(),
            None => signer::home::default_store_url(&self.home_dir)?,
        };
        Ok(Store::open_existing(&url)?.trusting(self.pin_source()?, None))
    }
}

/// The PKCS#11 module and PIN, from the environment only (never from arguments, which
/// shell history and process listings keep).
#[allow(clippy::disallowed_methods)] // the CLI edge is where the environment is read
fn pkcs11_settings() -> signer::custody::Pkcs11Settings {
    use signer::custody::{PKCS11_MODULE_ENV, PKCS11_PIN_ENV, PKCS11_PIN_FILE_ENV};
    signer::custody::Pkcs11Settings {
        module: std::env::var_os(PKCS11_MODULE_ENV).map(PathBuf::from),
        pin_file: std::env::var_os(PKCS11_PIN_FILE_ENV).map(PathBuf::from),
        pin: std::env::var(PKCS11_PIN_ENV).ok().map(zeroize::Zeroizing::new),
    }
}

fn default_home() -> PathBuf {
    #[allow(clippy::disallowed_methods)] // the CLI edge is where the environment is read
    let base = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    base.join(".local/share/signer")
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    complete::answer_if_asked();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            if e.use_stderr() && wants_json(&args) {
                let _ = output::write_stdout(format!("{}\n", usage_error_json(&e, code)).as_bytes());
            }
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let format = cli.global.output;
    signer::custody::configure_pkcs11(pkcs11_settings());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            output::stderr_line(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(exit::IO);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => ExitCode::from(report_error(&e, format)),
    }
}

/// A clap parser for a duration flag: [`signer::model::parse_secs`]'s syntax (`90s`,
/// `10m`, `2h`, `7d`, bare seconds), in seconds within `range`.
pub(crate) fn seconds_in(
    range: std::ops::RangeInclusive<u64>,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |s| {
        let secs = signer::model::parse_secs(s, "duration").map_err(|e| e.to_string())?;
        if range.contains(&secs) {
            Ok(secs)
        } else {
            Err(format!("{s} is {secs} seconds; give {} to {} seconds", range.start(), range.end()))
        }
    }
}

/// Whether the raw arguments ask for JSON output (`--output json` or `--output=json`,
/// before any `--`): how a usage error, found before the arguments parse, is printed.
fn wants_json(args: &[std::ffi::OsString]) -> bool {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).take_while(|a| *a != "--").collect();
    args.iter().any(|a| *a == "--output=json")
        || args.windows(2).any(|w| matches!(w, [flag, value] if *flag == "--output" && *value == "json"))
}

/// A usage error as the one JSON document of `--output json`: the message, the exit
/// code, and the usage line clap gives.
fn usage_error_json(e: &clap::Error, code: u8) -> serde_json::Value {
    let text = e.render().to_string();
    let message = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map_or("usage error", |l| l.strip_prefix("error: ").unwrap_or(l))
        .to_owned();
    let usage = text.lines().find_map(|l| l.trim().strip_prefix("Usage: ")).map(str::to_owned);
    serde_json::json!({ "error": { "message": message, "exit_code": code, "usage": usage } })
}

/// Prints an error (as JSON on stdout in JSON mode) and returns its exit code.
fn report_error(e: &anyhow::Error, format: Format) -> u8 {
    if is_broken_pipe(e) {
        return exit::OK;
    }
    let code = exit_code(e);
    if format == Format::Json {
        let mut error = serde_json::json!({"message": message(e), "exit_code": code});
        if let (Some(rule), Some(fields)) = (zip_rule(e), error.as_object_mut()) {
            fields.insert("rule".into(), rule.into());
        }
        let doc = serde_json::json!({ "error": error });
        let _ = output::write_stdout(format!("{doc}\n").as_bytes());
    }
    output::stderr_line(&format!("error: {}", message(e)));
    code
}

/// An error and its causes on one line, each cause once: an error whose message already
/// quotes its cause (`reading X: No such file…`) does not get it twice.
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The id of the zip gate's rule behind a refusal, if one is.
fn zip_rule(e: &anyhow::Error) -> Option<&'static str> {
    e.chain().find_map(|c| match c.downcast_ref::<signer::Error>() {
        Some(signer::Error::Zip(z)) => Some(z.rule().id()),
        _ => c.downcast_ref::<signer::zipcheck::ZipError>().map(|z| z.rule().id()),
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// The exit code of an error: the first library error in the chain decides.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(err) = cause.downcast_ref::<signer::Error>() {
            return err.exit_code();
        }
        if let Some(err) = cause.downcast_ref::<signer::store::StoreError>() {
            return exit::of_store(err);
        }
        if let Some(err) = cause.downcast_ref::<signer::home::HomeError>() {
            return exit::of_home(err);
        }
        if let Some(err) = cause.downcast_ref::<TrustError>() {
            return exit::of_trust(err);
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return exit::of_io(io);
        }
    }
    exit::IO
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let g = cli.global;
    let home_dir = g.home.clone().unwrap_or_else(default_home);
    let ctx = Ctx {
        out: Out::new(g.output, g.quiet, g.verbose),
        home_dir,
        store_url: g.store.clone(),
        trust_root: g.trust_root.clone(),
    };
    match cli.command {
        Command::Init(args) => init(&ctx, args).await,
        Command::Status => status::run(&ctx).await,
        Command::Trust(cmd) => trust::run(&ctx, cmd).await,
        Command::Admin(cmd) => admin::run(&ctx, cmd).await,
        Command::AccessKey(cmd) => access_key::run(&ctx, cmd).await,
        Command::Tsa(cmd) => tsa::run(&ctx, cmd).await,
        Command::Profile(cmd) => profile::run(&ctx, cmd).await,
        Command::Sign(args) => sign::run(&ctx, args).await,
        Command::Verify(args) => verify::run(&ctx, args).await,
        Command::Signature(cmd) => verify::signature(&ctx, cmd).await,
        Command::Layer(cmd) => layer::run(&ctx, cmd).await,
        Command::Csc(cmd) => csc::run(&ctx, cmd).await,
        Command::Deploy(cmd) => deploy::run(&ctx, cmd).await,
        Command::Revocations(cmd) => revocations::run(&ctx, cmd).await,
        Command::SignJob(cmd) => sign_job::run(&ctx, cmd).await,
        Command::Worker(args) => worker::run(&ctx, args).await,
        Command::Serve(args) => serve::run(&ctx, args).await,
        Command::Quickstart(args) => quickstart::run(&ctx, args).await,
        Command::Completions { shell } => {
            let shell = match shell {
                Shell::Bash => "bash",
                Shell::Zsh => "zsh",
                Shell::Fish => "fish",
            };
            let script = complete::registration(shell).context("writing the completion script")?;
            output::write_stdout(&script).context("writing the completion script")?;
            Ok(exit::OK)
        }
        Command::Man { dir: Some(dir), .. } => {
            let names = man::write_all(Cli::command(), &dir)?;
            let doc = serde_json::json!({"destination": dir.display().to_string(), "pages": names});
            ctx.out.emit(&doc, format!("wrote {} man pages into {}", names.len(), dir.display()))?;
            Ok(exit::OK)
        }
        Command::Man { command, dir: None } => {
            let page = man::page(Cli::command(), &command).map_err(|why| signer::Error::Usage { why })?;
            output::write_stdout(&page).context("writing the man page")?;
            Ok(exit::OK)
        }
    }
}

async fn init(ctx: &Ctx, args: InitArgs) -> anyhow::Result<u8> {
    let store = ctx.store()?;
    let home = ctx.home()?;
    let require = match ctx.pin_source()? {
        PinSource::Given(pin) => Some(pin),
        PinSource::Home(_) => None,
    };
    let options = signer::profiles::InitOptions {
        require: require.as_ref(),
        seal_existing: args.seal_existing,
        key_store: args.key_store.get(),
    };
    let done = signer::profiles::init(&store, &home, signer::clock::now(), options).await?;
    let ca = &done.ca;
    let doc = serde_json::json!({
        "created": done.created,
        "store": store.url(),
        "root_ca": {"fingerprint": ca.fingerprint, "created_at": ca.created_at},
        "pinned": done.pinned,
        "pin": home.dir().join(signer::home::PIN_FILE).display().to_string(),
        "sealed_record_count": done.sealed,
    });
    let mut text = if done.created {
        format!("created the root CA of {} (sha256 {})", store.url(), ca.fingerprint)
    } else {
        format!("the store {} already has its root CA (sha256 {})", store.url(), ca.fingerprint)
    };
    if done.pinned {
        text.push_str(&format!("\npinned it in {}: this home trusts only what that root sealed", home.dir().display()));
    }
    if args.seal_existing {
        text.push_str(&format!("\nsealed {} trust record(s) written before records were sealed", done.sealed));
    }
    ctx.out.emit(&doc, text)?;
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn verbose_and_quiet_conflict_before_any_io() {
        assert!(Cli::try_parse_from(["signer", "-v", "-q", "init"]).is_err());
    }
}
