//! `signer profile permission add|list|remove`: which access keys of `signer serve` may
//! start jobs with a profile or revoke its signatures (AWS Signer's profile permissions).

use clap::Subcommand;

use super::Ctx;
use signer::clock;
use signer::error::exit;
use signer::model::{ProfileName, VersionId};
use signer::permissions::{self, Action, Policy, Principal, Statement};

#[derive(Debug, Subcommand)]
pub(super) enum PermissionCmd {
    /// Grant an access key (or every key, `*`) an action on the profile. Admin keys may
    /// do everything without one; read-only keys nothing.
    ///
    /// Examples:
    ///   signer profile permission add MyApp --statement-id ci-signs --action signer:StartSigningJob --principal ci
    ///   signer profile permission add MyApp --statement-id ops-revokes --action signer:RevokeSignature --principal ops
    #[command(verbatim_doc_comment)]
    Add {
        /// Profile name.
        #[arg(add = super::complete::profiles())]
        name: ProfileName,
        /// The statement's id, unique within the profile (1–64 characters).
        #[arg(long, value_name = "ID")]
        statement_id: String,
        /// What it grants.
        #[arg(long, value_parser = super::one_of::<Action>(Action::ALL.map(Action::as_str)))]
        action: Action,
        /// The access key's name (`signer access-key list`), or * for every key.
        #[arg(long, value_name = "KEY|*")]
        principal: Principal,
        /// Only this version of the profile (default: every version).
        #[arg(long, value_name = "VERSION")]
        profile_version: Option<VersionId>,
        /// Refuse unless the permissions are still at this revision (from `list`).
        #[arg(long, value_name = "N")]
        revision: Option<u64>,
    },
    /// List the profile's permission statements and their revision.
    ///
    /// Example: signer profile permission list MyApp
    List {
        /// Profile name.
        #[arg(add = super::complete::profiles())]
        name: ProfileName,
    },
    /// Remove a statement.
    ///
    /// Example: signer profile permission remove MyApp ci-signs
    Remove {
        /// Profile name.
        #[arg(add = super::complete::profiles())]
        name: ProfileName,
        /// The statement's id.
        statement_id: String,
        /// Refuse unless the permissions are still at this revision (default: the latest).
        #[arg(long, value_name = "N")]
        revision: Option<u64>,
    },
}

fn policy_text(p: &Policy) -> String {
    if p.statements.is_empty() {
        return format!(
            "{} has no permission statements (revision {}): only admin keys may sign with it through `signer serve`",
            p.profile, p.revision
        );
    }
    let mut t = format!(
        "{} (revision {}):\n{:<24} {:<26} {:<24} VERSION",
        p.profile, p.revision, "STATEMENT", "ACTION", "PRINCIPAL"
    );
    for s in &p.statements {
        let version = s.profile_version.as_ref().map_or("(every)".to_owned(), ToString::to_string);
        t.push_str(&format!(
            "\n{:<24} {:<26} {:<24} {version}",
            s.statement_id,
            s.action.as_str(),
            s.principal.to_string()
        ));
    }
    t
}

pub(super) async fn run(ctx: &Ctx, cmd: PermissionCmd) -> anyhow::Result<u8> {
    let policy = match cmd {
        PermissionCmd::List { name } => permissions::policy(&ctx.read_store()?, &name).await?,
        PermissionCmd::Add { name, statement_id, action, principal, profile_version, revision } => {
            let statement = Statement { statement_id, action, principal, profile_version };
            permissions::add(&ctx.store()?, &name, statement, revision, clock::now()).await?
        }
        PermissionCmd::Remove { name, statement_id, revision } => {
            let store = ctx.store()?;
            let from = match revision {
                Some(r) => r,
                None => permissions::policy(&store, &name).await?.revision,
            };
            permissions::remove(&store, &name, &statement_id, from, clock::now()).await?
        }
    };
    ctx.out.emit(&policy, policy_text(&policy))?;
    Ok(exit::OK)
}
