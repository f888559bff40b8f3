//! Profile permissions (issue 17, point 3): which access keys of `signer serve` may start
//! signing jobs with a profile, or revoke its signatures. AWS Signer's
//! AddProfilePermission / ListProfilePermissions / RemoveProfilePermission, and
//! `signer profile permission add|list|remove`.
//!
//! A profile's statements are one sealed record per revision
//! (`profiles/NAME/permissions/N.json`); a change names the revision it starts from, and
//! creates the next one exclusively, so two concurrent changes cannot both land and a
//! stale one is a conflict. A store writer cannot grant a key anything: an unsealed or
//! foreign-sealed record is refused like any trust record.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::{AccessKeyName, ProfileName, TextRule, Timestamp, VersionId};
use crate::profiles::ProfileError;
use crate::store::{Store, StoreError, keys};

/// The most statements a profile holds (AWS Signer's policy is bounded too: past it,
/// `ServiceLimitExceededException`).
pub const MAX_STATEMENTS: usize = 100;

/// A statement id: 1 to 64 characters on one line.
pub const STATEMENT_ID: TextRule = TextRule::new("statement id", 64);

/// What a statement lets its principal do with the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Start signing jobs with it.
    #[serde(rename = "signer:StartSigningJob")]
    StartSigningJob,
    /// Revoke the signatures of its jobs.
    #[serde(rename = "signer:RevokeSignature")]
    RevokeSignature,
    /// Read it (every key may read; recorded for AWS's clients).
    #[serde(rename = "signer:GetSigningProfile")]
    GetSigningProfile,
}

impl Action {
    /// Every action, as the wire names them.
    pub const ALL: [Action; 3] = [Self::StartSigningJob, Self::RevokeSignature, Self::GetSigningProfile];

    /// The wire name, `signer:StartSigningJob`…
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartSigningJob => "signer:StartSigningJob",
            Self::RevokeSignature => "signer:RevokeSignature",
            Self::GetSigningProfile => "signer:GetSigningProfile",
        }
    }
}

impl std::str::FromStr for Action {
    type Err = PermissionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| PermissionError::BadAction { action: s.to_owned() })
    }
}

/// Who a statement names: one access key, or every key (`*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Principal {
    /// Every access key.
    Any,
    /// The access key of this name.
    Key(AccessKeyName),
}

impl TryFrom<String> for Principal {
    type Error = PermissionError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Principal> for String {
    fn from(p: Principal) -> Self {
        p.to_string()
    }
}

impl std::str::FromStr for Principal {
    type Err = PermissionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(Self::Any);
        }
        s.parse().map(Self::Key).map_err(|_| PermissionError::BadPrincipal { principal: s.to_owned() })
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Key(k) => f.write_str(k.as_str()),
        }
    }
}

/// One permission statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Its id, unique within the profile.
    pub statement_id: String,
    /// What it allows.
    pub action: Action,
    /// To whom.
    pub principal: Principal,
    /// Only this version of the profile (none: every version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_version: Option<VersionId>,
}

/// A profile's statements at one revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The profile.
    pub profile: ProfileName,
    /// The revision: 0 before any statement was added, then one more per change.
    pub revision: u64,
    /// The statements, in the order they were added.
    pub statements: Vec<Statement>,
    /// When this revision was made (absent for revision 0).
    pub updated_at: Option<Timestamp>,
}

impl Policy {
    /// Whether the key `key` may do `action` with the profile's version `version`.
    pub fn allows(&self, key: &AccessKeyName, action: Action, version: &VersionId) -> bool {
        self.statements.iter().any(|s| {
            s.action == action
                && (s.principal == Principal::Any || s.principal == Principal::Key(key.clone()))
                && s.profile_version.as_ref().is_none_or(|v| v == version)
        })
    }
}

/// What can go wrong with a profile's permissions.
#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    /// An action that is not one of [`Action::ALL`].
    #[error(
        "the action {action} is not one signer grants; give signer:StartSigningJob, signer:RevokeSignature or signer:GetSigningProfile"
    )]
    BadAction {
        /// The action given.
        action: String,
    },
    /// A principal that is not an access key's name or `*`.
    #[error("the principal {principal} is not an access key's name (see `signer access-key list`) or *")]
    BadPrincipal {
        /// The principal given.
        principal: String,
    },
    /// A statement id in use.
    #[error("{profile} already has a permission statement {statement_id}; remove it first or choose another id")]
    StatementIdTaken {
        /// The profile.
        profile: ProfileName,
        /// The id.
        statement_id: String,
    },
    /// No statement of that id.
    #[error("{profile} has no permission statement {statement_id}; see `signer profile permission list {profile}`")]
    NoStatement {
        /// The profile.
        profile: ProfileName,
        /// The id.
        statement_id: String,
    },
    /// The change started from a revision that is no longer the latest.
    #[error(
        "the permissions of {profile} are at revision {current}, not {given}: list them again and retry with the revision they show"
    )]
    StaleRevision {
        /// The profile.
        profile: ProfileName,
        /// The revision the change named.
        given: u64,
        /// The latest revision.
        current: u64,
    },
    /// Past [`MAX_STATEMENTS`].
    #[error("{profile} has {MAX_STATEMENTS} permission statements, the most it may hold; remove one first")]
    TooMany {
        /// The profile.
        profile: ProfileName,
    },
}

/// The statements in force for `profile` (revision 0, empty, when none was ever added).
/// An unknown profile is [`ProfileError::NotFound`].
pub async fn policy(store: &Store, profile: &ProfileName) -> Result<Policy, Error> {
    if !store.exists(&keys::profile(profile)?).await? {
        return Err(ProfileError::NotFound { name: profile.clone() }.into());
    }
    let prefix = keys::profile_permissions(profile)?;
    let Some(revision) = store.list_numbered(&prefix).await?.last().copied() else {
        return Ok(Policy { profile: profile.clone(), revision: 0, statements: Vec::new(), updated_at: None });
    };
    let record: Policy = store.get_record(&keys::numbered(&prefix, revision)?).await?.ok_or_else(|| {
        StoreError::Corrupt { key: prefix.to_string(), reason: format!("revision {revision} was listed but not found") }
    })?;
    if record.profile != *profile || record.revision != revision {
        return Err(StoreError::Corrupt {
            key: prefix.to_string(),
            reason: format!("revision {revision} holds revision {} of {}", record.revision, record.profile),
        }
        .into());
    }
    Ok(record)
}

/// Adds a statement. `from`, when given, must be the latest revision (AWS's `revisionId`).
pub async fn add(
    store: &Store,
    profile: &ProfileName,
    statement: Statement,
    from: Option<u64>,
    now: Timestamp,
) -> Result<Policy, Error> {
    STATEMENT_ID.check(&statement.statement_id)?;
    let current = policy(store, profile).await?;
    check_revision(&current, from)?;
    if current.statements.iter().any(|s| s.statement_id == statement.statement_id) {
        return Err(PermissionError::StatementIdTaken {
            profile: profile.clone(),
            statement_id: statement.statement_id,
        }
        .into());
    }
    if current.statements.len() >= MAX_STATEMENTS {
        return Err(PermissionError::TooMany { profile: profile.clone() }.into());
    }
    let mut statements = current.statements.clone();
    statements.push(statement);
    next_revision(store, &current, statements, now).await
}

/// Removes the statement `statement_id`, starting from revision `from` (required, as
/// AWS's RemoveProfilePermission requires `revisionId`).
pub async fn remove(
    store: &Store,
    profile: &ProfileName,
    statement_id: &str,
    from: u64,
    now: Timestamp,
) -> Result<Policy, Error> {
    let current = policy(store, profile).await?;
    check_revision(&current, Some(from))?;
    let statements: Vec<Statement> =
        current.statements.iter().filter(|s| s.statement_id != statement_id).cloned().collect();
    if statements.len() == current.statements.len() {
        return Err(
            PermissionError::NoStatement { profile: profile.clone(), statement_id: statement_id.to_owned() }.into()
        );
    }
    next_revision(store, &current, statements, now).await
}

fn check_revision(current: &Policy, from: Option<u64>) -> Result<(), Error> {
    match from {
        Some(given) if given != current.revision => {
            Err(PermissionError::StaleRevision { profile: current.profile.clone(), given, current: current.revision }
                .into())
        }
        _ => Ok(()),
    }
}

/// Writes revision `current + 1` exclusively: a change that raced another and lost is
/// [`PermissionError::StaleRevision`], never a lost update.
async fn next_revision(
    store: &Store,
    current: &Policy,
    statements: Vec<Statement>,
    now: Timestamp,
) -> Result<Policy, Error> {
    let revision = current.revision + 1;
    let next = Policy { profile: current.profile.clone(), revision, statements, updated_at: Some(now) };
    let key = keys::numbered(&keys::profile_permissions(&current.profile)?, revision)?;
    match store.create_record(&key, &next).await {
        Ok(()) => Ok(next),
        Err(StoreError::AlreadyExists { .. }) => Err(PermissionError::StaleRevision {
            profile: current.profile.clone(),
            given: current.revision,
            current: revision,
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}
