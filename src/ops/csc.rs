//! Code-signing configs (SPEC §2, §5): which profile versions a deployment trusts, and
//! whether an artifact that fails a soft check (mismatch, expiry, revocation) is denied
//! (`enforce`, the default) or allowed with a warning (`warn`).
//!
//! A config lives in the store as numbered revisions, `cscs/<ID>/revisions/<N>.json`: the
//! highest number is its current state, and a delete is a tombstone revision, so an id is
//! never reused. The file store has no compare-and-swap, so an update is built from
//! create-if-absent alone: it reads revision N and creates revision N+1, which succeeds for
//! exactly one writer; a writer that loses reads again and re-applies its change. Two
//! concurrent updates therefore both take effect, in some order, and neither is lost.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::limits::ALLOWED_PUBLISHERS;
use crate::model::{CscId, DESCRIPTION, Policy, Timestamp, VersionRef};
use crate::policy::Trust;
use crate::profiles;
use crate::store::{Store, StoreError, keys};

/// What can go wrong with a code-signing config.
#[derive(Debug, thiserror::Error)]
pub enum CscError {
    /// Too few or too many allowed publishers.
    #[error(
        "a code-signing config allows {} to {} publishers, not {count}; {}",
        ALLOWED_PUBLISHERS.start(),
        ALLOWED_PUBLISHERS.end(),
        if *count == 0 {
            "name at least one with --allowed-publisher NAME/VERSION (or delete the config)"
        } else {
            "split them over several configs"
        }
    )]
    PublisherCount {
        /// How many (distinct) were given.
        count: usize,
    },
    /// An allowed publisher the store does not know.
    #[error("no profile version {version} in this store; see `signer profile show {}` for its versions", version.profile)]
    UnknownPublisher {
        /// The version.
        version: VersionRef,
    },
    /// No free id after many tries.
    #[error("could not find a free code-signing config id; run the command again")]
    NoFreeId,
    /// The config was deleted.
    #[error("code-signing config {id} was deleted at {deleted_at}; see `signer csc list`")]
    Deleted {
        /// The config.
        id: CscId,
        /// When.
        deleted_at: Timestamp,
    },
    /// No such config.
    #[error("no code-signing config {id}; see `signer csc list`")]
    NotFound {
        /// The config.
        id: CscId,
    },
    /// Removing a publisher the config does not allow.
    #[error("{version} is not an allowed publisher of {id} (it allows {allowed}); nothing was changed")]
    NotAllowed {
        /// The version.
        version: VersionRef,
        /// The config.
        id: CscId,
        /// What it allows, for people.
        allowed: String,
    },
    /// An update that would leave no publisher.
    #[error(
        "removing {removed} would leave {id} with no allowed publisher; add another in the same update, or delete the config with `signer csc delete {id}`"
    )]
    WouldBeEmpty {
        /// The versions being removed, for people.
        removed: String,
        /// The config.
        id: CscId,
    },
    /// Other writers kept taking the next revision.
    #[error(
        "{id} was changed by {WRITE_ATTEMPTS} other writers while this change was being made; run the command again"
    )]
    Contended {
        /// The config.
        id: CscId,
    },
    /// A config file over [`MAX_FILE_BYTES`].
    #[error("the code-signing config file is {len} bytes, over the {MAX_FILE_BYTES}-byte limit")]
    FileTooLarge {
        /// Its length.
        len: usize,
    },
    /// A config file that does not parse.
    #[error(
        "not a code-signing config ({reason}); write the one `signer --output json csc show ID` prints, or {{\"allowed_publishers\":[\"NAME/VERSION\"],\"policy\":\"enforce\"}}"
    )]
    BadFile {
        /// What the JSON parser said.
        reason: String,
    },
}

/// The largest config file `--csc-file` reads, in bytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// How many times a create, update or delete re-reads and tries again after another
/// writer took the revision number it wanted.
pub const WRITE_ATTEMPTS: u32 = 50;

/// The allowed publishers of a config: 1 to 20 distinct profile versions. There is no way
/// to build an empty one, so no config can trust nobody by accident (or everybody).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AllowedPublishers(Vec<VersionRef>);

impl AllowedPublishers {
    /// Checks the count (1–20) after dropping repeats, keeping the first occurrence.
    pub fn new(list: Vec<VersionRef>) -> Result<Self, Error> {
        let mut out: Vec<VersionRef> = Vec::with_capacity(list.len());
        for v in list {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        if !ALLOWED_PUBLISHERS.contains(&out.len()) {
            return Err(CscError::PublisherCount { count: out.len() }.into());
        }
        Ok(Self(out))
    }

    /// The publishers, in the order given.
    pub fn as_slice(&self) -> &[VersionRef] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AllowedPublishers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(Vec::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A code-signing config in its current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Csc {
    /// `csc-` and 17 hex digits.
    pub id: CscId,
    /// For people.
    pub description: String,
    /// The trusted profile versions.
    pub allowed_publishers: AllowedPublishers,
    /// Enforce or warn.
    pub policy: Policy,
    /// Whether a signature must carry a valid RFC 3161 timestamp (issue 13).
    pub require_timestamp: bool,
    /// The revision this state comes from (1 when created).
    pub revision: u64,
    /// When the config was created.
    pub created_at: Timestamp,
    /// When this revision was made.
    pub updated_at: Timestamp,
}

impl Csc {
    /// The trust this config puts in force.
    pub fn trust(&self) -> Trust<'_> {
        Trust::Config {
            allowed: self.allowed_publishers.as_slice(),
            policy: self.policy,
            require_timestamp: self.require_timestamp,
        }
    }
}

/// One stored revision.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
enum Revision {
    /// The config as of this revision.
    Active {
        description: String,
        allowed_publishers: AllowedPublishers,
        policy: Policy,
        #[serde(default)]
        require_timestamp: bool,
        created_at: Timestamp,
        updated_at: Timestamp,
    },
    /// Deleted (irreversibly; the id is never reused).
    Deleted { created_at: Timestamp, deleted_at: Timestamp },
}

/// Checks a description against [`DESCRIPTION`].
pub fn check_description(d: &str) -> Result<(), Error> {
    Ok(DESCRIPTION.check(d)?)
}

/// Refuses publishers the store does not know (exit 4): a config can only trust profile
/// versions that exist.
async fn ensure_versions_exist(store: &Store, versions: &[VersionRef]) -> Result<(), Error> {
    for v in versions {
        if profiles::trusted_version(store, v, None).await?.is_none() {
            return Err(CscError::UnknownPublisher { version: v.clone() }.into());
        }
    }
    Ok(())
}

/// Creates a config (revision 1) with a fresh id.
pub async fn create(
    store: &Store,
    allowed: Vec<VersionRef>,
    policy: Policy,
    description: String,
    require_timestamp: bool,
    now: Timestamp,
) -> Result<Csc, Error> {
    check_description(&description)?;
    let allowed = AllowedPublishers::new(allowed)?;
    ensure_versions_exist(store, allowed.as_slice()).await?;
    let rev = Revision::Active {
        description,
        allowed_publishers: allowed,
        policy,
        require_timestamp,
        created_at: now,
        updated_at: now,
    };
    for _ in 0..WRITE_ATTEMPTS {
        let id = CscId::random();
        match store.create_record(&keys::numbered(&keys::csc_revisions(&id)?, 1)?, &rev).await {
            Ok(()) => {
                crate::snapshots::publish(store, now).await?;
                return current(&id, 1, rev);
            }
            // 68 random bits collided: take another id.
            Err(StoreError::AlreadyExists { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(CscError::NoFreeId.into())
}

fn current(id: &CscId, revision: u64, rev: Revision) -> Result<Csc, Error> {
    match rev {
        Revision::Active { description, allowed_publishers, policy, require_timestamp, created_at, updated_at } => {
            Ok(Csc {
                id: id.clone(),
                description,
                allowed_publishers,
                policy,
                require_timestamp,
                revision,
                created_at,
                updated_at,
            })
        }
        Revision::Deleted { deleted_at, .. } => Err(CscError::Deleted { id: id.clone(), deleted_at }.into()),
    }
}

/// The latest revision, if the config was ever created.
async fn latest(store: &Store, id: &CscId) -> Result<Option<(u64, Revision)>, Error> {
    let prefix = keys::csc_revisions(id)?;
    let Some(&n) = store.list_numbered(&prefix).await?.last() else {
        return Ok(None);
    };
    let rev = store.get_record::<Revision>(&keys::numbered(&prefix, n)?).await?.ok_or_else(|| {
        Error::Store(StoreError::Conflict {
            key: prefix.to_string(),
            reason: format!("revision {n} vanished while it was read; run the command again"),
        })
    })?;
    Ok(Some((n, rev)))
}

fn not_found(id: &CscId) -> Error {
    CscError::NotFound { id: id.clone() }.into()
}

/// The config's current state. Unknown or deleted: exit 4.
pub async fn show(store: &Store, id: &CscId) -> Result<Csc, Error> {
    let (n, rev) = latest(store, id).await?.ok_or_else(|| not_found(id))?;
    current(id, n, rev)
}

/// Every config that is not deleted, by id.
pub async fn list(store: &Store) -> Result<Vec<Csc>, Error> {
    let mut ids: Vec<CscId> = store.list_keys(&keys::cscs()?).await?.iter().filter_map(keys::parse_csc).collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        if let Some((n, rev @ Revision::Active { .. })) = latest(store, &id).await? {
            out.push(current(&id, n, rev)?);
        }
    }
    Ok(out)
}

/// A change to a config. At least one part should be set (the CLI makes sure).
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// Publishers to add (each must exist).
    pub add: Vec<VersionRef>,
    /// Publishers to remove (each must be allowed now).
    pub remove: Vec<VersionRef>,
    /// A new policy.
    pub policy: Option<Policy>,
    /// A new description.
    pub description: Option<String>,
    /// Whether timestamps are now required.
    pub require_timestamp: Option<bool>,
}

/// Applies `update` as a new revision. Removing every publisher is refused (delete the
/// config instead); so is removing one that is not allowed, and going over 20.
pub async fn update(store: &Store, id: &CscId, update: &Update, now: Timestamp) -> Result<Csc, Error> {
    if let Some(d) = &update.description {
        check_description(d)?;
    }
    ensure_versions_exist(store, &update.add).await?;
    for _ in 0..WRITE_ATTEMPTS {
        let (n, rev) = latest(store, id).await?.ok_or_else(|| not_found(id))?;
        let old = current(id, n, rev)?;
        let mut list = old.allowed_publishers.as_slice().to_vec();
        for r in &update.remove {
            let Some(i) = list.iter().position(|v| v == r) else {
                return Err(CscError::NotAllowed {
                    version: r.clone(),
                    id: id.clone(),
                    allowed: names(old.allowed_publishers.as_slice()),
                }
                .into());
            };
            list.remove(i);
        }
        list.extend(update.add.iter().cloned());
        if list.is_empty() {
            return Err(CscError::WouldBeEmpty { removed: names(&update.remove), id: id.clone() }.into());
        }
        let next = Revision::Active {
            description: update.description.clone().unwrap_or(old.description),
            allowed_publishers: AllowedPublishers::new(list)?,
            policy: update.policy.unwrap_or(old.policy),
            require_timestamp: update.require_timestamp.unwrap_or(old.require_timestamp),
            created_at: old.created_at,
            updated_at: now,
        };
        match store.create_record(&keys::numbered(&keys::csc_revisions(id)?, n + 1)?, &next).await {
            Ok(()) => {
                crate::snapshots::publish(store, now).await?;
                return current(id, n + 1, next);
            }
            Err(StoreError::AlreadyExists { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(contended(id))
}

/// Deletes a config (a tombstone revision). Returns its last state.
pub async fn delete(store: &Store, id: &CscId, now: Timestamp) -> Result<Deletion, Error> {
    for _ in 0..WRITE_ATTEMPTS {
        let (n, rev) = latest(store, id).await?.ok_or_else(|| not_found(id))?;
        if let Revision::Deleted { deleted_at, .. } = rev {
            return Ok(Deletion { deleted_at, already: true });
        }
        let old = current(id, n, rev)?;
        let tomb = Revision::Deleted { created_at: old.created_at, deleted_at: now };
        match store.create_record(&keys::numbered(&keys::csc_revisions(id)?, n + 1)?, &tomb).await {
            Ok(()) => {
                crate::snapshots::publish(store, now).await?;
                return Ok(Deletion { deleted_at: now, already: false });
            }
            Err(StoreError::AlreadyExists { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(contended(id))
}

/// What [`delete`] did: deleting a deleted config succeeds and says so (as deleting a
/// deleted layer version does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deletion {
    /// When the config was deleted.
    pub deleted_at: Timestamp,
    /// Whether it was deleted already, before this call.
    pub already: bool,
}

fn contended(id: &CscId) -> Error {
    CscError::Contended { id: id.clone() }.into()
}

fn names(list: &[VersionRef]) -> String {
    list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// A config carried in a file (`--csc-file`), for hooks that carry their own: the
/// document `signer --output json csc show ID` prints, or a hand-written one with just
/// `allowed_publishers` (and `policy`, default `enforce`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileConfig {
    /// The id, when the file has one.
    pub id: Option<CscId>,
    /// The trusted profile versions.
    pub allowed_publishers: AllowedPublishers,
    /// Enforce or warn.
    pub policy: Policy,
    /// Whether a signature must carry a valid timestamp.
    pub require_timestamp: bool,
    /// For people.
    pub description: Option<String>,
}

impl FileConfig {
    /// The trust this config puts in force.
    pub fn trust(&self) -> Trust<'_> {
        Trust::Config {
            allowed: self.allowed_publishers.as_slice(),
            policy: self.policy,
            require_timestamp: self.require_timestamp,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    id: Option<CscId>,
    #[serde(default)]
    description: Option<String>,
    allowed_publishers: AllowedPublishers,
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    require_timestamp: bool,
    // Accepted so that the document `csc show` prints can be used as it is; not used.
    #[serde(default)]
    #[expect(dead_code, reason = "read only to accept `csc show` output")]
    revision: Option<u64>,
    #[serde(default)]
    #[expect(dead_code, reason = "read only to accept `csc show` output")]
    created_at: Option<Timestamp>,
    #[serde(default)]
    #[expect(dead_code, reason = "read only to accept `csc show` output")]
    updated_at: Option<Timestamp>,
}

/// Parses a config file (at most [`MAX_FILE_BYTES`]; unknown fields refused).
pub fn parse_file(bytes: &[u8]) -> Result<FileConfig, Error> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(CscError::FileTooLarge { len: bytes.len() }.into());
    }
    let doc: FileDoc =
        serde_json::from_slice(bytes).map_err(|e| Error::from(CscError::BadFile { reason: e.to_string() }))?;
    if let Some(d) = &doc.description {
        check_description(d)?;
    }
    Ok(FileConfig {
        id: doc.id,
        allowed_publishers: doc.allowed_publishers,
        policy: doc.policy,
        require_timestamp: doc.require_timestamp,
        description: doc.description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(i: usize) -> VersionRef {
        format!("P_{i}/AbCdEf{i:04}").parse().unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn an_allow_list_has_one_to_twenty_distinct_publishers() {
        assert!(AllowedPublishers::new(vec![]).is_err());
        assert_eq!(AllowedPublishers::new(vec![v(1)]).unwrap().as_slice(), [v(1)]);
        assert_eq!(AllowedPublishers::new((0..20).map(v).collect()).unwrap().as_slice().len(), 20);
        let e = AllowedPublishers::new((0..21).map(v).collect()).unwrap_err();
        assert!(e.to_string().contains("not 21"), "{e}");
        assert_eq!(AllowedPublishers::new(vec![v(1), v(2), v(1)]).unwrap().as_slice(), [v(1), v(2)]);
        // Deserializing goes through the same rule.
        assert!(serde_json::from_str::<AllowedPublishers>("[]").is_err());
    }

    #[test]
    fn config_files_are_strict() {
        let f = parse_file(br#"{"allowed_publishers":["P_1/AbCdEf0001"]}"#).unwrap();
        assert_eq!(f.policy, Policy::Enforce);
        assert_eq!(f.id, None);
        let f = parse_file(br#"{"id":"csc-0123456789abcdef0","description":"d","allowed_publishers":["P_1/AbCdEf0001"],"policy":"warn","revision":2,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-02T00:00:00Z"}"#).unwrap();
        assert_eq!(f.policy, Policy::Warn);
        for bad in [
            &br#"{"allowed_publishers":[]}"#[..],
            br#"{"allowed_publishers":["P_1/AbCdEf0001"],"polcy":"warn"}"#,
            br#"{"allowed_publishers":["P_1/AbCdEf0001"],"policy":"audit"}"#,
            br#"{"allowed_publishers":["nope"]}"#,
            br#"{}"#,
        ] {
            let e = parse_file(bad).unwrap_err();
            assert_eq!(e.exit_code(), crate::error::exit::INVALID, "{e}");
        }
    }

    #[tokio::test]
    async fn revisions_make_updates_and_deletes_without_compare_and_swap() {
        let (store, _home) = crate::profiles::test_store().await;
        // Publishers must exist: none do in an empty store.
        let e = create(&store, vec![v(1)], Policy::Enforce, String::new(), false, at("2026-01-01T00:00:00Z"))
            .await
            .unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::NOT_FOUND);

        // Write revision 1 by hand (as create would after its existence check).
        let id: CscId = "csc-0123456789abcdef0".parse().unwrap();
        let rev = Revision::Active {
            description: "d".into(),
            allowed_publishers: AllowedPublishers::new(vec![v(1), v(2)]).unwrap(),
            policy: Policy::Enforce,
            require_timestamp: false,
            created_at: at("2026-01-01T00:00:00Z"),
            updated_at: at("2026-01-01T00:00:00Z"),
        };
        store.create_record(&keys::numbered(&keys::csc_revisions(&id).unwrap(), 1).unwrap(), &rev).await.unwrap();
        let c = show(&store, &id).await.unwrap();
        assert_eq!((c.revision, c.policy), (1, Policy::Enforce));

        let u = Update { remove: vec![v(1)], policy: Some(Policy::Warn), ..Update::default() };
        let c = update(&store, &id, &u, at("2026-01-02T00:00:00Z")).await.unwrap();
        assert_eq!((c.revision, c.policy, c.allowed_publishers.as_slice()), (2, Policy::Warn, &[v(2)][..]));
        assert_eq!(c.created_at, at("2026-01-01T00:00:00Z"));
        assert_eq!(c.updated_at, at("2026-01-02T00:00:00Z"));

        // Removing the last one, or one that is not there, changes nothing.
        let e = update(&store, &id, &Update { remove: vec![v(2)], ..Update::default() }, at("2026-01-03T00:00:00Z"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no allowed publisher"), "{e}");
        let e = update(&store, &id, &Update { remove: vec![v(9)], ..Update::default() }, at("2026-01-03T00:00:00Z"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not an allowed publisher"), "{e}");
        assert_eq!(show(&store, &id).await.unwrap().revision, 2);
        assert_eq!(list(&store).await.unwrap().len(), 1);

        let gone = delete(&store, &id, at("2026-01-04T00:00:00Z")).await.unwrap();
        assert_eq!(gone, Deletion { deleted_at: at("2026-01-04T00:00:00Z"), already: false });
        assert_eq!(show(&store, &id).await.unwrap_err().exit_code(), crate::error::exit::NOT_FOUND);
        // Deleting again changes nothing and says when it was deleted.
        let again = delete(&store, &id, at("2026-01-05T00:00:00Z")).await.unwrap();
        assert_eq!(again, Deletion { deleted_at: at("2026-01-04T00:00:00Z"), already: true });
        assert!(list(&store).await.unwrap().is_empty());
        let e = update(
            &store,
            &id,
            &Update { policy: Some(Policy::Enforce), ..Update::default() },
            at("2026-01-05T00:00:00Z"),
        )
        .await
        .unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::NOT_FOUND);
    }

    #[tokio::test]
    async fn concurrent_updates_are_all_applied() {
        let (store, _home) = crate::profiles::test_store().await;
        let id: CscId = "csc-00000000000000001".parse().unwrap();
        let rev = Revision::Active {
            description: String::new(),
            allowed_publishers: AllowedPublishers::new(vec![v(0)]).unwrap(),
            policy: Policy::Enforce,
            require_timestamp: false,
            created_at: at("2026-01-01T00:00:00Z"),
            updated_at: at("2026-01-01T00:00:00Z"),
        };
        store.create_record(&keys::numbered(&keys::csc_revisions(&id).unwrap(), 1).unwrap(), &rev).await.unwrap();
        // Adding versions goes through the existence check; descriptions do not, so race
        // on those: each writer appends nothing but sets its own description, and every
        // one must land as its own revision.
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (store, id) = (store.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let u = Update { description: Some(format!("writer {i}")), ..Update::default() };
                update(&store, &id, &u, at("2026-01-02T00:00:00Z")).await.unwrap().revision
            }));
        }
        let mut revisions = Vec::new();
        for t in tasks {
            revisions.push(t.await.unwrap());
        }
        revisions.sort_unstable();
        assert_eq!(revisions, (2..=9).collect::<Vec<_>>());
    }
}
