//! `signer admin keygen|add|revoke|list`: keys the root appoints to seal trust records.

use std::path::PathBuf;

use clap::Subcommand;

use super::Ctx;
use signer::admins::{self, Admin};
use signer::clock;
use signer::crypto;
use signer::error::exit;
use signer::model::AdminName;

#[derive(Debug, Subcommand)]
pub(super) enum AdminCmd {
    /// Generate an administrator key in this home (keys/admins/NAME.pk8) and write its
    /// public key, for the root to appoint with `signer admin add NAME --public-key FILE`.
    /// The private key never leaves this home.
    ///
    /// Example: signer admin keygen layers_ci -o layers_ci.pub.pem
    Keygen {
        /// The administrator's name (2 to 64 of A-Z, a-z, 0-9, _).
        name: AdminName,
        /// Where to write the public key (PEM), or - for stdout.
        #[arg(short, long = "output-file", visible_alias = "out", value_name = "FILE")]
        o: PathBuf,
        #[command(flatten)]
        key_store: super::KeyStoreArg,
    },
    /// Appoint an administrator (needs the root key): from then on, a home with their key
    /// and no root key seals trust records — layers, configs, revocations, cancellations,
    /// snapshots — that verifiers trust as the root's, so the root key can stay offline.
    /// Without --public-key the key is generated in this home (copy keys/admins/NAME.pk8,
    /// mode 0600, to the home that will use it).
    ///
    /// Examples:
    ///   signer admin add layers_ci --public-key layers_ci.pub.pem
    ///   signer admin add ops
    #[command(verbatim_doc_comment)]
    Add {
        /// The administrator's name.
        name: AdminName,
        /// Their public key (PEM, ECDSA P-384), from `signer admin keygen`; - for stdin.
        #[arg(long, value_name = "FILE", conflicts_with = "key_store")]
        public_key: Option<PathBuf>,
        #[command(flatten)]
        key_store: super::KeyStoreArg,
    },
    /// Revoke an administrator (needs the root key): every record they sealed, before or
    /// after, is untrusted from now on (a leaked key could have backdated any of them);
    /// re-create what must stay from a home with a valid key.
    ///
    /// Example: signer admin revoke layers_ci --reason "laptop lost"
    Revoke {
        /// The administrator's name.
        name: AdminName,
        /// Why (one line).
        #[arg(long)]
        reason: String,
    },
    /// List every administrator ever appointed, revoked ones too.
    List,
}

pub(super) async fn run(ctx: &Ctx, cmd: AdminCmd) -> anyhow::Result<u8> {
    let now = clock::now();
    match cmd {
        AdminCmd::Keygen { name, o, key_store } => {
            let pem = admins::keygen(&ctx.home()?, &name, &key_store.get())?;
            super::paths::write_whole(&o, pem.as_bytes(), "public key", &ctx.out).await?;
            let doc = serde_json::json!({"name": name, "destination": o.display().to_string()});
            let text = format!(
                "generated the key of administrator {name} in this home; its public key is in {}\nappoint it where the root key is: signer admin add {name} --public-key {}",
                o.display(),
                o.display()
            );
            ctx.out.emit(&doc, text)?;
        }
        AdminCmd::Add { name, public_key, key_store } => {
            let store = ctx.store()?;
            let pem = match public_key {
                Some(path) => super::revocations::read_pem(&path, "public key")?,
                None => admins::keygen(&ctx.home()?, &name, &key_store.get())?,
            };
            let spki = crypto::parse_pem_public_key(&pem).map_err(signer::Error::from)?;
            let admin = admins::appoint(&store, &name, &spki, now).await?;
            emit(ctx, &admin, "appointed")?;
        }
        AdminCmd::Revoke { name, reason } => {
            let admin = admins::revoke(&ctx.store()?, &name, &reason, now).await?;
            emit(ctx, &admin, "revoked")?;
        }
        AdminCmd::List => {
            let list = admins::list(&ctx.read_store()?).await?;
            let text = list.iter().map(line).collect::<Vec<_>>().join("\n");
            ctx.out.emit(
                &serde_json::json!({ "admins": list }),
                if text.is_empty() { "no administrators".to_owned() } else { text },
            )?;
        }
    }
    Ok(exit::OK)
}

fn line(a: &Admin) -> String {
    let status = a.revoked_at.map_or_else(|| "active".to_owned(), |t| format!("revoked {t}"));
    format!("{}  appointed {}  key sha256 {}  {status}", a.name, a.created_at, a.public_key_sha256)
}

fn emit(ctx: &Ctx, admin: &Admin, what: &str) -> anyhow::Result<()> {
    ctx.out.emit(admin, format!("{what} administrator {}", line(admin)))
}
