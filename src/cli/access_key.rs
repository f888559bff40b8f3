//! `signer access-key …`: the keys clients of `signer serve` sign requests with.

use clap::Subcommand;

use super::Ctx;
use signer::access_keys::{self, Access};
use signer::error::exit;
use signer::model::AccessKeyName;

#[derive(Debug, Subcommand)]
pub(super) enum AccessKeyCmd {
    /// Create an access key in this home: an id and a secret for AWS Signature Version 4
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`). The secret is printed once, now; the
    /// home keeps it (0600), never the store.
    ///
    /// Examples:
    ///   signer access-key create ci
    ///   signer --output json access-key create dashboard --read-only
    ///   signer access-key create platform-team --admin
    ///
    /// A key made without --read-only or --admin reads, and starts signing jobs with the
    /// profiles that name it in a permission (`signer profile permission add`).
    #[command(verbatim_doc_comment)]
    Create {
        /// Its name: 2–64 of A-Z a-z 0-9 _.
        name: AccessKeyName,
        /// It may only read (describe, list, get), never change anything.
        #[arg(long, conflicts_with = "admin")]
        read_only: bool,
        /// It may do everything: create and change profiles, layers and code-signing
        /// configs, and grant profile permissions.
        #[arg(long)]
        admin: bool,
    },
    /// List this home's access keys (ids, never secrets).
    ///
    /// Example: signer access-key list
    List,
    /// Delete an access key: requests signed with it are refused from then on. Deleting
    /// twice is not an error.
    ///
    /// Example: signer access-key delete ci
    Delete {
        /// Its name.
        name: AccessKeyName,
    },
}

pub(super) async fn run(ctx: &Ctx, cmd: AccessKeyCmd) -> anyhow::Result<u8> {
    let home = ctx.home()?;
    match cmd {
        AccessKeyCmd::Create { name, read_only, admin } => {
            let access = match (read_only, admin) {
                (true, _) => Access::ReadOnly,
                (false, true) => Access::Admin,
                (false, false) => Access::Sign,
            };
            let c = access_keys::create(&home, &name, access, signer::clock::now())?;
            let k = &c.key;
            let doc = serde_json::json!({
                "name": k.name,
                "access_key_id": k.access_key_id,
                "secret_access_key": c.secret_access_key.as_str(),
                "access": k.access,
                "created_at": k.created_at,
            });
            let text = format!(
                "created access key {} ({}):\n  AWS_ACCESS_KEY_ID={}\n  AWS_SECRET_ACCESS_KEY={}\nthe secret is shown once; this home keeps it for `signer serve`",
                k.name,
                k.access.as_str(),
                k.access_key_id,
                c.secret_access_key.as_str()
            );
            ctx.out.emit(&doc, text)?;
        }
        AccessKeyCmd::List => {
            let keys = access_keys::list(&home)?;
            let mut text = format!("{:<24} {:<22} {:<10} CREATED", "NAME", "ACCESS KEY ID", "ACCESS");
            for k in &keys {
                text.push_str(&format!(
                    "\n{:<24} {:<22} {:<10} {}",
                    k.name.as_str(),
                    k.access_key_id,
                    k.access.as_str(),
                    k.created_at
                ));
            }
            if keys.is_empty() {
                text = "no access keys; create one with `signer access-key create NAME`".into();
            }
            ctx.out.emit(&serde_json::json!({ "access_keys": keys }), text)?;
        }
        AccessKeyCmd::Delete { name } => {
            let deleted = access_keys::delete(&home, &name)?;
            let doc = serde_json::json!({"name": name, "deleted": true, "already_deleted": !deleted});
            let text = if deleted {
                format!("deleted access key {name}; requests signed with it are refused")
            } else {
                format!("there is no access key {name}; nothing to do")
            };
            ctx.out.emit(&doc, text)?;
        }
    }
    Ok(exit::OK)
}
