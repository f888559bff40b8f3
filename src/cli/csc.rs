//! `signer csc …`: code-signing configs.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::Ctx;
use signer::clock;
use signer::csc::{self, Csc, FileConfig, Update};
use signer::error::exit;
use signer::model::{CscId, Policy, VersionRef};
use signer::policy::Trust;
use signer::store::Store;

#[derive(Debug, Subcommand)]
pub(super) enum CscCmd {
    /// Create a code-signing config: the profile versions a deployment trusts (1 to 20)
    /// and what an untrusted, expired or revoked artifact gets. The policy is `enforce`
    /// (deny) by default, safer than Lambda's default of `warn` (allow with a warning).
    ///
    /// Examples:
    ///   signer csc create --allowed-publisher MyApp/AbCdEf1234
    ///   signer csc create --allowed-publisher MyApp/AbCdEf1234 Vendor/XyZ0987654 --policy warn
    ///   signer csc create --from csc.json
    ///   signer --output json csc show csc-0123456789abcdef0 | signer csc create --from -
    #[command(verbatim_doc_comment)]
    Create {
        /// Read the config from a JSON file (`-` for stdin): what `signer --output json csc
        /// show ID` prints, or just allowed_publishers, policy, require_timestamp and
        /// description. Its id, if any, is not reused; a flag given here wins over the file.
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
        /// A trusted profile version, NAME/VERSION (see `signer profile show NAME`).
        /// Repeat the flag or list several after it.
        #[arg(
            long = "allowed-publisher",
            value_name = "NAME/VERSION",
            required_unless_present = "from",
            num_args = 1..
        )]
        allowed_publishers: Vec<VersionRef>,
        /// enforce (deny; the default) or warn (allow with a warning) when an artifact is
        /// unsigned, from another publisher, expired or revoked. Integrity and
        /// authenticity failures always deny.
        #[arg(long, value_enum)]
        policy: Option<PolicyArg>,
        /// For people (at most 256 characters).
        #[arg(long)]
        description: Option<String>,
        /// Require a valid RFC 3161 timestamp (`signer tsa set`): an untimestamped
        /// signature fails the mismatch check (denies under enforce, warns under warn).
        #[arg(long)]
        require_timestamp: bool,
    },
    /// List code-signing configs.
    ///
    /// Example: signer csc list
    List,
    /// Show a code-signing config.
    ///
    /// Example: signer --output json csc show csc-0123456789abcdef0 > csc.json
    Show {
        /// The config id.
        #[arg(add = super::complete::cscs())]
        id: CscId,
    },
    /// Change a code-signing config: add or remove publishers, set the policy or the
    /// description. It keeps at least one and at most 20 publishers.
    ///
    /// Example: signer csc update csc-0123456789abcdef0 --add-publisher MyApp/NeWvErSiOn --remove-publisher MyApp/AbCdEf1234
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true)))]
    Update {
        /// The config id.
        #[arg(add = super::complete::cscs())]
        id: CscId,
        /// Trust another profile version.
        #[arg(long = "add-publisher", value_name = "NAME/VERSION", num_args = 1.., group = "change")]
        add: Vec<VersionRef>,
        /// Stop trusting a profile version.
        #[arg(long = "remove-publisher", value_name = "NAME/VERSION", num_args = 1.., group = "change")]
        remove: Vec<VersionRef>,
        /// enforce or warn.
        #[arg(long, value_enum, group = "change")]
        policy: Option<PolicyArg>,
        /// A new description.
        #[arg(long, group = "change")]
        description: Option<String>,
        /// Require a valid timestamp (true) or not (false).
        #[arg(long, value_name = "true|false", group = "change")]
        require_timestamp: Option<bool>,
    },
    /// Delete a code-signing config (irreversible; its id is never reused). Deployments
    /// that name it are refused with exit 4. Deleting twice is not an error.
    ///
    /// Example: signer csc delete csc-0123456789abcdef0
    Delete {
        /// The config id.
        #[arg(add = super::complete::cscs())]
        id: CscId,
    },
}

/// The policy as the command line spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum PolicyArg {
    /// Deny.
    Enforce,
    /// Allow with a warning.
    Warn,
}

impl From<PolicyArg> for Policy {
    fn from(p: PolicyArg) -> Self {
        match p {
            PolicyArg::Enforce => Policy::Enforce,
            PolicyArg::Warn => Policy::Warn,
        }
    }
}

pub(super) async fn run(ctx: &Ctx, cmd: CscCmd) -> anyhow::Result<u8> {
    let store = match cmd {
        CscCmd::List | CscCmd::Show { .. } => ctx.read_store()?,
        _ => ctx.store()?,
    };
    let now = clock::now();
    match cmd {
        CscCmd::Create { from, allowed_publishers, policy, description, require_timestamp } => {
            let file = match &from {
                Some(path) => Some(read_file(path)?),
                None => None,
            };
            let publishers = match (allowed_publishers.is_empty(), &file) {
                (true, Some(f)) => f.allowed_publishers.as_slice().to_vec(),
                _ => allowed_publishers,
            };
            let policy = policy.map(Policy::from).or(file.as_ref().map(|f| f.policy)).unwrap_or_default();
            let description = description.or(file.as_ref().and_then(|f| f.description.clone())).unwrap_or_default();
            let require_timestamp = require_timestamp || file.as_ref().is_some_and(|f| f.require_timestamp);
            let c = csc::create(&store, publishers, policy, description, require_timestamp, now).await?;
            ctx.out.emit(&c, format!("created code-signing config {}\n{}", c.id, text(&c)))?;
        }
        CscCmd::List => {
            let list = csc::list(&store).await?;
            let mut t = format!("{:<22} {:<8} {:<10} DESCRIPTION", "ID", "POLICY", "PUBLISHERS");
            for c in &list {
                t.push_str(&format!(
                    "\n{:<22} {:<8} {:<10} {}",
                    c.id.as_str(),
                    policy_name(c.policy),
                    c.allowed_publishers.as_slice().len(),
                    c.description
                ));
            }
            if list.is_empty() {
                t = "no code-signing configs; create one with `signer csc create --allowed-publisher NAME/VERSION`"
                    .into();
            }
            ctx.out.emit(&serde_json::json!({ "cscs": list }), t)?;
        }
        CscCmd::Show { id } => {
            let c = csc::show(&store, &id).await?;
            ctx.out.emit(&c, text(&c))?;
        }
        CscCmd::Update { id, add, remove, policy, description, require_timestamp } => {
            let u = Update { add, remove, policy: policy.map(Policy::from), description, require_timestamp };
            let c = csc::update(&store, &id, &u, now).await?;
            ctx.out.emit(&c, format!("updated {} (revision {})\n{}", c.id, c.revision, text(&c)))?;
        }
        CscCmd::Delete { id } => {
            let d = csc::delete(&store, &id, now).await?;
            let doc = serde_json::json!({
                "id": id,
                "deleted": true,
                "already_deleted": d.already,
                "deleted_at": d.deleted_at,
            });
            let text = if d.already {
                format!("code-signing config {id} was already deleted (at {}); nothing to do", d.deleted_at)
            } else {
                format!("deleted code-signing config {id}; deployments that name it are refused")
            };
            ctx.out.emit(&doc, text)?;
        }
    }
    Ok(exit::OK)
}

fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::Enforce => "enforce",
        Policy::Warn => "warn",
    }
}

fn text(c: &Csc) -> String {
    let mut t = format!(
        "id:          {}\npolicy:      {}{}\ndescription: {}\nrevision:    {} (created {}, updated {})\nallowed publishers:",
        c.id,
        policy_name(c.policy),
        if c.require_timestamp { ", timestamps required" } else { "" },
        c.description,
        c.revision,
        c.created_at,
        c.updated_at
    );
    for v in c.allowed_publishers.as_slice() {
        t.push_str(&format!("\n  {v}"));
    }
    t
}

/// Reads a config file (`--csc-file`, `csc create --from`; `-` is stdin).
fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let bytes = super::paths::read_input(path, csc::MAX_FILE_BYTES, "code-signing config file")?;
    csc::parse_file(&bytes)
        .map_err(|e| anyhow::Error::from(e).context(format!("reading {}", super::paths::shown(path))))
}

/// The code-signing config a judgement runs under: one from the store, one from a file,
/// or none (any publisher of the store, expiry and revocation deny).
pub(super) enum Loaded {
    /// `--csc ID` or the deployment's `code_signing_config`.
    Store(Csc),
    /// `--csc-file FILE`.
    File(FileConfig),
    /// No config.
    None,
}

impl Loaded {
    /// Loads the config named by id or file (at most one of them).
    pub(super) async fn load(store: &Store, id: Option<&CscId>, file: Option<&Path>) -> anyhow::Result<Self> {
        Ok(match (id, file) {
            (Some(id), None) => Self::Store(csc::show(store, id).await?),
            (None, Some(path)) => Self::File(read_file(path)?),
            (None, None) => Self::None,
            (Some(id), Some(path)) => {
                return Err(signer::Error::BothGiven {
                    what: format!("two code-signing configs: {id} and the file {}", path.display()),
                }
                .into());
            }
        })
    }

    /// Refuses a config from the store whose newer revisions were deleted (the snapshot
    /// records its newest revision).
    pub(super) fn check_snapshot(&self, snapshot: &signer::snapshot::Snapshot) -> anyhow::Result<()> {
        if let Self::Store(c) = self {
            snapshot.check_csc(&c.id, c.revision)?;
        }
        Ok(())
    }

    /// The trust it puts in force.
    pub(super) fn trust(&self) -> Trust<'_> {
        match self {
            Self::Store(c) => c.trust(),
            Self::File(f) => f.trust(),
            Self::None => Trust::AnyPublisher,
        }
    }

    /// The policy the verdict reports (enforce when there is no config).
    pub(super) fn policy(&self) -> Policy {
        match self {
            Self::Store(c) => c.policy,
            Self::File(f) => f.policy,
            Self::None => Policy::Enforce,
        }
    }
}

/// `--csc ID` / `--csc-file FILE` for `verify`.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct CscArgs {
    /// Judge under this code-signing config: only its allowed publishers pass the
    /// mismatch check, and its policy decides whether mismatch, expiry and revocation
    /// failures deny (enforce) or warn.
    #[arg(long, value_name = "ID", conflicts_with = "csc_file")]
    #[arg(add = super::complete::cscs())]
    pub(super) csc: Option<CscId>,
    /// Like --csc, with the config read from a JSON file (what `signer --output json csc
    /// show ID` prints; - for stdin), for hooks that carry their config.
    #[arg(long, value_name = "FILE")]
    pub(super) csc_file: Option<PathBuf>,
}
