//! The object store: all state that signer's users share (SPEC §2, §8).
//!
//! [`Store`] is a thin, typed layer over an [`object_store`] backend — `file:///abs/dir`,
//! `memory://` or `s3://bucket[/prefix]` — and is the only place that names objects (see
//! [`keys`]). There is no store trait of our own: code that streams bytes takes
//! [`Store::inner`], an `Arc<DynObjectStore>`.
//!
//! Anything that must not race is settled by the backend's conditional write,
//! [`PutMode::Create`] (create-if-absent): [`Store::create_json`] and [`Store::create_bytes`]
//! succeed for exactly one of any number of concurrent writers of a key, and
//! [`Store::create_next`] hands out distinct consecutive numbers. On S3 this is the
//! `If-None-Match: *` header, on the file store a hard link, in memory a map entry. Note
//! that the file store does not offer [`PutMode::Update`] (compare-and-swap on an ETag), so
//! a design that must run on every backend builds its races from create-if-absent alone.
//!
//! The pure core reads and writes through `std::io`; [`ObjectReader`] and [`ObjectWriter`]
//! bridge to the store from inside [`tokio::task::spawn_blocking`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), signer::store::StoreError> {
//! use signer::store::{Key, Store, StoreError};
//!
//! let store = Store::open("memory://")?;
//! let key = Key::new(&["examples", "greeting.json"])?;
//! store.create_json(&key, &"hello").await?;
//! // A second create of the same key loses: this is the race primitive.
//! assert!(matches!(store.create_json(&key, &"again").await, Err(StoreError::AlreadyExists { .. })));
//! assert_eq!(store.get_json::<String>(&key).await?.as_deref(), Some("hello"));
//!
//! let versions = Key::new(&["examples", "versions"])?;
//! assert_eq!(store.create_next(&versions, |n| n).await?, 1);
//! assert_eq!(store.create_next(&versions, |n| n).await?, 2);
//! # Ok(())
//! # }
//! ```

mod io;
mod key;
pub mod keys;
mod sealed;

pub use io::{ObjectReader, ObjectWriter, Staged};
pub use key::{Key, MAX_KEY_LEN};
pub use sealed::PinSource;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{DynObjectStore, GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest JSON record [`Store::get_json`] reads, in bytes: a store is shared, so what
/// it holds is checked like any other input.
pub const MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;

/// How many times [`Store::create_next`] re-lists and tries again after losing a race.
pub const CREATE_NEXT_ATTEMPTS: u32 = 100;

/// What went wrong with the store. Every message names the object key and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A create-if-absent lost: the object exists already.
    #[error("object {key} already exists in the store (it is never overwritten)")]
    AlreadyExists {
        /// The object's key.
        key: String,
    },
    /// The backend failed; the cause is this error's source.
    #[error("could not {op} object {key} in store {store} ({})", backend_hint(store))]
    Backend {
        /// What was being done (`get`, `put`, `list`…).
        op: &'static str,
        /// The object's key (or the listed prefix).
        key: String,
        /// The store, for people.
        store: String,
        /// The backend's error (boxed: it is large).
        source: Box<object_store::Error>,
    },
    /// A key segment broke the key rules.
    #[error("invalid object key {key:?}: {reason}")]
    BadKey {
        /// The key (or the part built so far).
        key: String,
        /// The rule broken.
        reason: String,
    },
    /// No store at this URL (a file store whose directory does not exist).
    #[error("no store at {url} (run `signer init` to create one, or check --store / SIGNER_STORE)")]
    Missing {
        /// The store's URL.
        url: String,
    },
    /// A store or object URL is malformed or unsupported.
    #[error("invalid URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong and the accepted forms.
        reason: String,
    },
    /// A conditional operation found the object in another state than expected.
    #[error("conflict on object {key}: {reason}")]
    Conflict {
        /// The object's key.
        key: String,
        /// What happened and what to do.
        reason: String,
    },
    /// The store holds something signer did not write (bad JSON, an oversized record…).
    #[error("object {key} in the store is corrupt: {reason}")]
    Corrupt {
        /// The object's key.
        key: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The object does not exist.
    #[error("object {key} not found in the store")]
    NotFound {
        /// The object's key.
        key: String,
    },
    /// The home that pins the root or holds its key, for trust records.
    #[error(transparent)]
    Home(Box<crate::home::HomeError>),
    /// The trust root or a trust record (see [`crate::trust`]).
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
    /// The key that seals trust records could not be opened (a token, KMS).
    #[error(transparent)]
    Custody(Box<crate::custody::CustodyError>),
    /// The store could not be opened (a local directory, or the S3 client settings).
    #[error("could not open store {url}: {reason}")]
    Open {
        /// The store URL.
        url: String,
        /// What failed and what to do.
        reason: String,
    },
}

impl From<crate::custody::CustodyError> for StoreError {
    fn from(e: crate::custody::CustodyError) -> Self {
        Self::Custody(Box::new(e))
    }
}

impl From<crate::home::HomeError> for StoreError {
    fn from(e: crate::home::HomeError) -> Self {
        Self::Home(Box::new(e))
    }
}

impl StoreError {
    /// Maps a backend error on `key`: the semantic cases get their own variants.
    fn from_backend(op: &'static str, key: &str, store: &str, e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => Self::NotFound { key: key.to_owned() },
            object_store::Error::AlreadyExists { .. } => Self::AlreadyExists { key: key.to_owned() },
            object_store::Error::Precondition { .. } => Self::Conflict {
                key: key.to_owned(),
                reason: "the object changed since it was first read; run the command again".to_owned(),
            },
            source => Self::Backend { op, key: key.to_owned(), store: store.to_owned(), source: Box::new(source) },
        }
    }
}

/// What to check when a backend fails, by kind of store.
fn backend_hint(store: &str) -> &'static str {
    if store.starts_with("s3://") || store.contains("AmazonS3") {
        "check AWS_ENDPOINT_URL, AWS_REGION, AWS_ALLOW_HTTP for a plain-HTTP endpoint, the credentials \
         (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or AWS_PROFILE), and that the bucket exists"
    } else if store.starts_with("file:") || store.contains("LocalFileSystem") {
        "check that the directory exists, is writable and its disk is not full"
    } else {
        "check the store URL (--store or SIGNER_STORE)"
    }
}

/// An open object store.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<DynObjectStore>,
    url: String,
    /// The pinned root and who seals, for trust records ([`Store::trusting`]).
    trust: Option<Arc<sealed::Trusting>>,
}

impl Store {
    /// Opens the store at `url`:
    ///
    /// - `file:///abs/dir`: a directory, created if missing ([`Store::open_existing`]
    ///   refuses a missing one instead); relative paths are refused;
    /// - `memory://`: a fresh, empty store in memory (each open is a new store);
    /// - `s3://bucket[/prefix]`: S3 or an S3-compatible server, configured by the usual
    ///   variables (`AWS_REGION` / `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` /
    ///   `AWS_ENDPOINT`, `AWS_ENDPOINT_URL_S3`, which wins over the others, and
    ///   `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint), with credentials from the chain
    ///   the aws cli uses (the environment, `AWS_PROFILE`, SSO, `credential_process`, web
    ///   identity, container and instance roles; see `edge::aws`). Conditional writes use
    ///   `If-None-Match: *`.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, true)
    }

    /// Opens the store at `url` as [`Store::open`] does, but a file store whose directory
    /// is missing is [`StoreError::Missing`]: what read-only commands use, so that a
    /// mistyped URL is said, never made.
    pub fn open_existing(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, false)
    }

    fn open_with(url: &str, create: bool) -> Result<Self, StoreError> {
        let bad = |reason: String| StoreError::BadUrl { url: url.to_owned(), reason };
        if let Some(rest) = url.strip_prefix("memory://") {
            if !rest.is_empty() {
                return Err(bad("a memory store takes no path: use memory://".to_owned()));
            }
            return Ok(Self::from_object_store(Arc::new(InMemory::new()), url.to_owned()));
        }
        let parsed = parse_url(url)?;
        let inner: Arc<DynObjectStore> = match parsed.scheme() {
            "file" => {
                let dir = file_url_path(url, &parsed)?;
                if !create && !dir.exists() {
                    return Err(StoreError::Missing { url: url.to_owned() });
                }
                std::fs::create_dir_all(&dir).map_err(|e| StoreError::Open {
                    url: url.to_owned(),
                    reason: format!(
                        "cannot create directory {}: {e}; check the path and its permissions",
                        dir.display()
                    ),
                })?;
                let fs = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| StoreError::Open {
                        url: url.to_owned(),
                        reason: format!("cannot use directory {}: {e}", dir.display()),
                    })?
                    // Durable like a remote store: a record that was acknowledged survives a
                    // power cut (the file store is where the root CA and jobs live).
                    .with_fsync(true);
                Arc::new(fs)
            }
            "s3" => {
                let bucket = s3_bucket(url, &parsed)?;
                let s3 = build_s3(url, bucket)?;
                // The prefix as typed: `Url` would resolve `..` and keep `%` escapes.
                let raw_path = url.strip_prefix("s3://").and_then(|r| r.split_once('/')).map_or("", |(_, p)| p);
                let prefix = raw_path.trim_matches('/');
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    let segments: Vec<&str> = prefix.split('/').collect();
                    let prefix = Key::new(&segments).map_err(|e| bad(format!("bad prefix: {e}")))?;
                    Arc::new(PrefixStore::new(s3, prefix.path()))
                }
            }
            other => return Err(bad(format!("unsupported scheme {other:?}; {URL_FORMS}"))),
        };
        Ok(Self::from_object_store(inner, url.to_owned()))
    }

    /// A store over an existing backend; `url` is only shown to people.
    pub fn from_object_store(inner: Arc<DynObjectStore>, url: String) -> Self {
        Self { inner, url, trust: None }
    }

    /// This store, shown to people as `name` (a store in memory made from a file).
    pub fn named(mut self, name: &str) -> Self {
        name.clone_into(&mut self.url);
        self
    }

    /// The store's URL, as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The backend, for code that streams objects.
    pub fn inner(&self) -> &Arc<DynObjectStore> {
        &self.inner
    }

    /// Reads and parses a JSON record; `None` if it does not exist. Bad JSON, or a record
    /// larger than [`MAX_JSON_BYTES`], is [`StoreError::Corrupt`].
    pub async fn get_json<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.get_capped(key, MAX_JSON_BYTES).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| StoreError::Corrupt {
            key: key.to_string(),
            reason: format!("not the JSON record signer expects ({e}); restore it from a backup or remove it"),
        })
    }

    /// Creates a JSON record if, and only if, `key` does not exist yet: of any number of
    /// concurrent creators, exactly one succeeds and the others get
    /// [`StoreError::AlreadyExists`]. This is the race primitive.
    pub async fn create_json<T: Serialize>(&self, key: &Key, value: &T) -> Result<(), StoreError> {
        self.create_bytes(key, to_json(key, value)?).await
    }

    /// Writes a JSON record, replacing any previous one. Only for data that is derived and
    /// never raced for (an index, a cache); use [`Store::create_json`] for everything else.
    pub async fn put_json<T: Serialize>(&self, key: &Key, value: &T) -> Result<(), StoreError> {
        self.put_bytes(key, to_json(key, value)?).await
    }

    /// Writes an object, replacing any previous one (see [`Store::put_json`]).
    pub(super) async fn put_bytes(&self, key: &Key, bytes: Bytes) -> Result<(), StoreError> {
        self.inner
            .put_opts(&key.path(), PutPayload::from_bytes(bytes), PutOptions::from(PutMode::Overwrite))
            .await
            .map(drop)
            .map_err(|e| self.error("put", key, e))
    }

    /// Creates the next numbered record under `prefix` (`<prefix>/<n, 20 digits>.json`,
    /// from 1) and returns its number; `value(n)` builds the record for number `n`.
    ///
    /// Lists the numbers present, creates one more than the largest with create-if-absent,
    /// and on losing that race lists again and retries after a short random pause (at most
    /// [`CREATE_NEXT_ATTEMPTS`] times). Concurrent callers, in any number of processes, get
    /// distinct consecutive numbers and none is lost; `value` may be called more than
    /// once. Numbers are never reused as long as numbered records are never deleted: mark
    /// a deleted version with another object instead.
    pub async fn create_next<T: Serialize>(&self, prefix: &Key, value: impl Fn(u64) -> T) -> Result<u64, StoreError> {
        self.create_next_bytes(prefix, |key, n| to_json(key, &value(n))).await
    }

    /// [`Store::create_next`] with the bytes of number `n` at `key` built by `bytes`.
    async fn create_next_bytes(
        &self,
        prefix: &Key,
        bytes: impl Fn(&Key, u64) -> Result<Bytes, StoreError>,
    ) -> Result<u64, StoreError> {
        for attempt in 0..CREATE_NEXT_ATTEMPTS {
            let last = self.list_numbered(prefix).await?.last().copied().unwrap_or(0);
            let next = last.checked_add(1).ok_or_else(|| StoreError::Conflict {
                key: prefix.to_string(),
                reason: "every number is used".to_owned(),
            })?;
            let key = keys::numbered(prefix, next)?;
            match self.create_bytes(&key, bytes(&key, next)?).await {
                Ok(()) => return Ok(next),
                Err(StoreError::AlreadyExists { .. }) => tokio::time::sleep(backoff(attempt)).await,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict {
            key: prefix.to_string(),
            reason: format!(
                "gave up numbering a new record after {CREATE_NEXT_ATTEMPTS} attempts lost to concurrent writers; \
                 run the command again"
            ),
        })
    }

    /// The numbers of the numbered records directly under `prefix`, in ascending order.
    pub async fn list_numbered(&self, prefix: &Key) -> Result<Vec<u64>, StoreError> {
        let depth = prefix.segments().count() + 1;
        let mut numbers: Vec<u64> = self
            .list_keys(prefix)
            .await?
            .iter()
            .filter(|k| k.segments().count() == depth)
            .filter_map(|k| keys::parse_numbered(k.last_segment()))
            .collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// Every key under `prefix` (at any depth), sorted. Listing follows the backend's pages
    /// to the end.
    pub async fn list_keys(&self, prefix: &Key) -> Result<Vec<Key>, StoreError> {
        let metas: Vec<_> =
            self.inner.list(Some(&prefix.path())).try_collect().await.map_err(|e| self.error("list", prefix, e))?;
        let mut keys = metas.iter().map(|m| Key::from_path(&m.location)).collect::<Result<Vec<_>, _>>()?;
        keys.sort();
        Ok(keys)
    }

    /// Reads a whole object; `None` if it does not exist.
    pub async fn get_bytes(&self, key: &Key) -> Result<Option<Bytes>, StoreError> {
        self.get_capped(key, u64::MAX).await
    }

    /// Creates an object if, and only if, `key` does not exist yet (see
    /// [`Store::create_json`]).
    pub async fn create_bytes(&self, key: &Key, bytes: Bytes) -> Result<(), StoreError> {
        self.inner
            .put_opts(&key.path(), PutPayload::from_bytes(bytes), PutOptions::from(PutMode::Create))
            .await
            .map(drop)
            .map_err(|e| self.error("create", key, e))
    }

    /// Deletes an object. Deleting an object that does not exist succeeds, on every backend
    /// (S3 cannot tell the difference).
    pub async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        match self.inner.delete(&key.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", key, e)),
        }
    }

    /// When the store says an object was last written (its own clock: the server's on
    /// S3), or `None` if it does not exist.
    pub async fn modified_at(&self, key: &Key) -> Result<Option<crate::model::Timestamp>, StoreError> {
        Ok(self.head(key).await?.map(|meta| crate::model::Timestamp::from_unix(meta.last_modified.timestamp())))
    }

    /// Whether an object exists.
    pub async fn exists(&self, key: &Key) -> Result<bool, StoreError> {
        Ok(self.head(key).await?.is_some())
    }

    /// An object's metadata, or `None` if it does not exist.
    async fn head(&self, key: &Key) -> Result<Option<object_store::ObjectMeta>, StoreError> {
        match self.inner.head(&key.path()).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("head", key, e)),
        }
    }

    /// A reader over an existing object (see [`ObjectReader`]).
    pub async fn reader(&self, key: &Key) -> Result<ObjectReader, StoreError> {
        ObjectReader::open(Arc::clone(&self.inner), key.path()).await
    }

    /// A writer of a new object (see [`ObjectWriter`]); the object appears, whole, when the
    /// writer is finished, replacing any object at `key`.
    pub async fn writer(&self, key: &Key) -> Result<ObjectWriter, StoreError> {
        ObjectWriter::create(Arc::clone(&self.inner), key.path()).await
    }

    async fn get_capped(&self, key: &Key, cap: u64) -> Result<Option<Bytes>, StoreError> {
        let result = match self.inner.get_opts(&key.path(), GetOptions::default()).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error("get", key, e)),
        };
        if result.meta.size > cap {
            return Err(StoreError::Corrupt {
                key: key.to_string(),
                reason: format!("it is {} bytes, more than the {cap} such a record may have", result.meta.size),
            });
        }
        result.bytes().await.map(Some).map_err(|e| self.error("get", key, e))
    }

    fn error(&self, op: &'static str, key: &Key, e: object_store::Error) -> StoreError {
        StoreError::from_backend(op, key.as_str(), &self.url, e)
    }
}

/// The store and the path of an object URL: `s3://bucket/key` (S3 settings as for
/// [`Store::open`]) or `file:///abs/path`. Used where a command takes "a path or an
/// object URL" (`signer sign SOURCE -o DEST`).
pub fn parse_object_url(url: &str) -> Result<(Arc<DynObjectStore>, Path), StoreError> {
    let bad = |reason: String| StoreError::BadUrl { url: url.to_owned(), reason };
    let parsed = parse_url(url)?;
    match parsed.scheme() {
        "s3" => {
            let bucket = s3_bucket(url, &parsed)?;
            if parsed.path().ends_with('/') || parsed.path().trim_matches('/').is_empty() {
                return Err(bad("names a bucket or a prefix, not an object: use s3://bucket/key".to_owned()));
            }
            // The key as typed (`Url` would resolve `..`), percent-decoded; `Path` refuses
            // empty, `.` and `..` segments.
            let raw_key = url.strip_prefix("s3://").and_then(|r| r.split_once('/')).map_or("", |(_, k)| k);
            if raw_key.split('/').any(str::is_empty) {
                return Err(bad("the object key has an empty segment (//)".to_owned()));
            }
            let path = Path::from_url_path(raw_key).map_err(|e| bad(format!("bad object key: {e}")))?;
            Ok((Arc::new(build_s3(url, bucket)?), path))
        }
        "file" => {
            let file = file_object_path(url)?;
            let path = Path::from_absolute_path(&file).map_err(|e| bad(format!("bad file path: {e}")))?;
            Ok((Arc::new(LocalFileSystem::new().with_fsync(true)), path))
        }
        other => Err(bad(format!("unsupported scheme {other:?}; use s3://bucket/key or file:///abs/path"))),
    }
}

/// The local path a `file:///abs/path` object URL names (a file, not a folder).
pub fn file_object_path(url: &str) -> Result<PathBuf, StoreError> {
    let file = file_url_path(url, &parse_url(url)?)?;
    if url.ends_with('/') {
        return Err(StoreError::BadUrl { url: url.to_owned(), reason: "names a directory, not a file".to_owned() });
    }
    Ok(file)
}

const URL_FORMS: &str = "use file:///abs/dir, memory:// or s3://bucket[/prefix]";

fn parse_url(url: &str) -> Result<url::Url, StoreError> {
    let bad = |reason: String| StoreError::BadUrl { url: url.to_owned(), reason };
    let parsed = url::Url::parse(url).map_err(|e| bad(format!("not a URL ({e}); {URL_FORMS}")))?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("a store URL takes no query (?…) or fragment (#…)".to_owned()));
    }
    Ok(parsed)
}

/// The absolute local path of a `file:///abs/path` URL; `file://host/…` and relative forms
/// are refused, since they are a path mistyped more often than meant.
fn file_url_path(url: &str, parsed: &url::Url) -> Result<PathBuf, StoreError> {
    let bad = |reason: &str| StoreError::BadUrl { url: url.to_owned(), reason: reason.to_owned() };
    if !url.starts_with("file:///") {
        return Err(bad("a file URL must hold an absolute path: file:///abs/dir (three slashes)"));
    }
    parsed.to_file_path().map_err(|()| bad("not a local absolute path; use file:///abs/dir"))
}

fn s3_bucket<'u>(url: &str, parsed: &'u url::Url) -> Result<&'u str, StoreError> {
    let bad = |reason: &str| StoreError::BadUrl { url: url.to_owned(), reason: reason.to_owned() };
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.port().is_some() {
        return Err(bad(
            "put no credentials or port in an s3:// URL; use AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_ENDPOINT_URL",
        ));
    }
    let bucket = parsed.host_str().unwrap_or_default();
    let ok = (1..=255).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    if !ok {
        return Err(bad("an s3 URL names a bucket: s3://bucket[/prefix]"));
    }
    Ok(bucket)
}

/// reqwest is built without a default TLS crypto provider: installs ring's, once (a
/// second install fails harmlessly, since the first one stays).
pub(crate) fn install_crypto_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

fn build_s3(url: &str, bucket: &str) -> Result<AmazonS3, StoreError> {
    use object_store::aws::AmazonS3ConfigKey as K;
    install_crypto_provider();
    // `from_env` reads the AWS_* variables, AWS_ENDPOINT_URL_S3 included (it wins over
    // AWS_ENDPOINT_URL); the bucket comes from the URL.
    let mut builder =
        AmazonS3Builder::from_env().with_bucket_name(bucket).with_conditional_put(S3ConditionalPut::ETagMatch);
    // Credentials from the chain the aws cli uses (see `aws`), unless anonymous; the
    // region from the profile when the environment names none.
    if !builder.get_config_value(&K::SkipSignature).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        builder = builder.with_credentials(crate::edge::aws::ChainCredentials::shared());
    }
    if builder.get_config_value(&K::Region).is_none()
        && let Some(region) = crate::edge::aws::profile_region()
    {
        builder = builder.with_region(region);
    }
    // Copy-if-not-exists publishes a signing job's object exactly once (see `worker`):
    // S3 does it as a one-part copy upload completed with `If-None-Match: *`. A server
    // that needs another way is set with AWS_COPY_IF_NOT_EXISTS.
    if builder.get_config_value(&K::CopyIfNotExists).is_none() {
        builder = builder.with_copy_if_not_exists(object_store::aws::S3CopyIfNotExists::Multipart);
    }
    builder.build().map_err(|e| StoreError::Open {
        url: url.to_owned(),
        reason: format!("bad S3 settings ({e}); check the AWS_* variables"),
    })
}

fn to_json<T: Serialize>(key: &Key, value: &T) -> Result<Bytes, StoreError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        reason: format!("the record cannot be written as JSON: {e}"),
    })?;
    bytes.push(b'\n');
    Ok(Bytes::from(bytes))
}

/// A random pause before retry `attempt` (from 0): up to 5 ms, doubling to at most 160 ms,
/// so that writers who collided spread out.
pub(crate) fn backoff(attempt: u32) -> Duration {
    use ring::rand::SecureRandom;
    let cap_ms = 5u64 << attempt.min(5);
    let mut b = [0u8; 2];
    let r = match ring::rand::SystemRandom::new().fill(&mut b) {
        Ok(()) => u64::from(u16::from_le_bytes(b)),
        Err(_) => u64::from(attempt),
    };
    Duration::from_millis(1 + r % cap_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ExitCode as _, exit};

    #[test]
    fn urls_are_checked() {
        for (url, code) in [
            ("memory://x", exit::USAGE),
            ("file://relative/dir", exit::USAGE),
            ("file:relative", exit::USAGE),
            ("ftp://host/x", exit::USAGE),
            ("s3://", exit::USAGE),
            ("s3://user:pw@bucket", exit::USAGE),
            ("s3://bucket/a/../b", exit::USAGE),
            ("s3://bucket/a?x=1", exit::USAGE),
            ("/abs/dir", exit::USAGE),
            ("", exit::USAGE),
        ] {
            let err = Store::open(url).unwrap_err();
            assert_eq!(err.exit_code(), code, "{url}: {err}");
        }
    }

    #[test]
    fn file_and_memory_stores_open() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        let url = format!("file://{}", sub.display());
        // Opening never creates: a missing file store is "not found" (exit 4).
        let err = Store::open_existing(&url).unwrap_err();
        assert!(matches!(err, StoreError::Missing { .. }) && err.exit_code() == 4, "{err}");
        assert!(!sub.exists(), "open_existing created {}", sub.display());
        let store = Store::open(&url).unwrap();
        assert_eq!(store.url(), url);
        assert!(sub.is_dir(), "created");
        Store::open_existing(&url).unwrap();
        Store::open("memory://").unwrap();
    }

    #[test]
    fn s3_urls_build_without_io() {
        Store::open("s3://bucket").unwrap();
        Store::open("s3://bucket/some/prefix/").unwrap();
    }

    #[test]
    fn object_urls() {
        let (_, p) = parse_object_url("s3://bucket/dir/pkg%20x.zip").unwrap();
        assert_eq!(p.as_ref(), "dir/pkg x.zip");
        let (_, p) = parse_object_url("file:///tmp/x/pkg.zip").unwrap();
        assert_eq!(p.as_ref(), "tmp/x/pkg.zip");
        for bad in [
            "s3://bucket",
            "s3://bucket/",
            "s3://bucket/dir/",
            "s3://b/a/../x",
            "s3://b//x",
            "file://rel/x",
            "file:///tmp/dir/",
            "memory://",
        ] {
            assert!(parse_object_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exit_codes() {
        let k = || "k".to_owned();
        assert_eq!(StoreError::NotFound { key: k() }.exit_code(), 4);
        assert_eq!(StoreError::AlreadyExists { key: k() }.exit_code(), 5);
        assert_eq!(StoreError::Conflict { key: k(), reason: k() }.exit_code(), 5);
        assert_eq!(StoreError::Corrupt { key: k(), reason: k() }.exit_code(), 6);
        let e = StoreError::from_backend(
            "get",
            "a/b",
            "s3://bkt",
            object_store::Error::NotFound { path: "a/b".into(), source: "gone".into() },
        );
        assert!(matches!(e, StoreError::NotFound { .. }));
        let e = StoreError::from_backend(
            "get",
            "a/b",
            "s3://bkt",
            object_store::Error::Generic { store: "S3", source: "connection refused".into() },
        );
        assert_eq!(e.exit_code(), 6);
        let msg = e.to_string();
        assert!(msg.contains("a/b") && msg.contains("AWS_ENDPOINT_URL"), "{msg}");
    }

    #[test]
    fn backoff_is_bounded() {
        for attempt in 0..200 {
            let d = backoff(attempt);
            assert!(d >= Duration::from_millis(1) && d <= Duration::from_millis(160), "{d:?}");
        }
    }

    #[tokio::test]
    async fn json_records_are_checked() {
        let store = Store::open("memory://").unwrap();
        let key = Key::new(&["r.json"]).unwrap();
        store.create_bytes(&key, Bytes::from_static(b"{not json")).await.unwrap();
        let err = store.get_json::<serde_json::Value>(&key).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let big = Key::new(&["big.json"]).unwrap();
        store.put_json(&big, &"x".repeat(usize::try_from(MAX_JSON_BYTES).unwrap())).await.unwrap();
        let err = store.get_json::<String>(&big).await.unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
        assert_eq!(store.get_json::<String>(&Key::new(&["none"]).unwrap()).await.unwrap(), None);
    }
}
