//! The home (SPEC §2): the default store and the private keys.
//!
//! `--home DIR` or `SIGNER_HOME` (default `~/.local/share/signer`). Private keys never go
//! into the store; they live here, one PKCS#8 DER file per key:
//!
//! ```text
//! <home>/                                  0700
//! <home>/store/                            the default file store (Home::default_store_url)
//! <home>/keys/ca/<fingerprint, 32 hex>.pk8           the root CA's key      0600
//! <home>/keys/profiles/<NAME>/<VERSION>.pk8          a profile version's key 0600
//! <home>/keys/admins/<NAME>.pk8                       an administrator's key 0600
//! <home>/keys/…/<name>.ref.json                       instead of a .pk8: where a PKCS#11
//!                                                     token or AWS KMS holds the key
//! <home>/trust/root.pem                               the pinned root CA certificate
//! <home>/trust/seen/<fingerprint, 32 hex>             the highest trust snapshot seen
//! ```
//!
//! As ssh does, a key file that group or others can read is refused, and so is one that is
//! a symbolic link (which could point anywhere). Key files are created exclusively: written
//! to a private temporary file, synced, then hard-linked into place, which fails if a key is
//! there already. So a key is never overwritten and never seen half-written.
//!
//! The cause of an I/O error is the error's source: print errors with `{:#}` (anyhow) to see
//! it. No message ever holds key bytes.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::model::{AccessKeyName, AdminName, VersionRef};

/// The largest key file read, in bytes (a PKCS#8 key is well under 1 KiB).
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// Hex digits of the root CA certificate's SHA-256 fingerprint used in its key file's name.
pub const CA_FINGERPRINT_HEX_DIGITS: usize = 32;

/// The name ending of a key file (PKCS#8 DER).
const KEY_SUFFIX: &str = ".pk8";

/// The name ending of a key reference (JSON: where a token or KMS holds the key).
const REF_SUFFIX: &str = ".ref.json";

/// Mode of the home and of every folder under `keys/`.
const DIR_MODE: u32 = 0o700;

/// Mode of a key file.
const KEY_MODE: u32 = 0o600;

/// What went wrong with the home. Messages name the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// A key file exists already; keys are never overwritten.
    #[error(
        "key file {} already exists; signer never overwrites a key (move it away first if it really must be replaced)",
        path.display()
    )]
    AlreadyExists {
        /// The key file.
        path: PathBuf,
    },
    /// A key id cannot name a key file.
    #[error("invalid key id {id:?}: {reason}")]
    BadKeyId {
        /// The id as given.
        id: String,
        /// The rule broken.
        reason: &'static str,
    },
    /// The home, or a folder under `keys/`, can be written by group or others.
    #[error(
        "{} is writable by group or others (mode {mode:04o}), so others could swap keys; run: chmod 700 {}",
        path.display(),
        path.display()
    )]
    InsecureDir {
        /// The folder.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file can be read by group or others.
    #[error(
        "key file {} is readable by group or others (mode {mode:04o}); run: chmod 600 {}",
        path.display(),
        path.display()
    )]
    InsecureKey {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// An I/O operation failed; the cause is this error's source.
    #[error("could not {action} {}", path.display())]
    Io {
        /// What was being done ("read key file").
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The key is not in this home.
    #[error(
        "no private key for {id} in this home (looked for {}); copy the key file there, or point --home / SIGNER_HOME \
         at the home that has it",
        path.display()
    )]
    KeyNotFound {
        /// The key, for people.
        id: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Something that must be a directory is not one.
    #[error("{} is not a directory; point --home / SIGNER_HOME at a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A key file is a symbolic link, a directory or another non-regular file, or was
    /// replaced while it was opened.
    #[error("key file {} is {what}; put the key file itself there (mode 0600)", path.display())]
    NotAKeyFile {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// A key file is larger than any key.
    #[error("key file {} is larger than {MAX_KEY_FILE_BYTES} bytes, so it is not a key", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
    },
}

/// The `file://` URL of the default store of the home at `dir` (relative to the working
/// directory if `dir` is), without opening or creating anything.
pub fn default_store_url(dir: &Path) -> Result<String, HomeError> {
    let dir = std::path::absolute(dir).map_err(|source| HomeError::Io {
        action: "resolve the home",
        path: dir.to_owned(),
        source,
    })?;
    Ok(store_url_in(&dir))
}

/// Where a home keeps its pinned trust root, relative to the home.
pub const PIN_FILE: &str = "trust/root.pem";

/// The largest pin file read, in bytes (a certificate is a few KiB).
const MAX_PIN_BYTES: u64 = 64 * 1024;

/// The pinned trust root (PEM) of the home at `dir`, if it has one, without opening or
/// creating anything. A pin that is a symbolic link or not a regular file is refused.
pub fn read_pin(dir: &Path) -> Result<Option<String>, HomeError> {
    let path = dir.join(PIN_FILE);
    let io_err = |action| {
        let path = path.clone();
        move |source| HomeError::Io { action, path, source }
    };
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("inspect the pinned root")(e)),
    };
    if !meta.is_file() {
        return Err(HomeError::NotAKeyFile { path, what: "not a regular file (a pin must be the file itself)" });
    }
    if meta.len() > MAX_PIN_BYTES {
        return Err(HomeError::TooLarge { path });
    }
    let mut text = String::new();
    File::open(&path)
        .and_then(|f| f.take(MAX_PIN_BYTES).read_to_string(&mut text))
        .map_err(io_err("read the pinned root"))?;
    Ok(Some(text))
}

/// The highest trust snapshot number the home at `dir` has seen from the store of the
/// root `fingerprint` (`trust/seen/<32 hex>`), if any.
pub fn seen_snapshot(dir: &Path, fingerprint: &str) -> Result<Option<u64>, HomeError> {
    let path = seen_path(dir, fingerprint)?;
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(HomeError::Io { action: "read the last trust snapshot seen", path, source }),
    };
    text.trim().parse().map(Some).map_err(|_| HomeError::Io {
        action: "read the last trust snapshot seen",
        path,
        source: io::Error::new(io::ErrorKind::InvalidData, "not a number; remove the file"),
    })
}

/// Records that the home at `dir` has seen snapshot `number` of the root `fingerprint`'s
/// store, if it is higher than the one recorded. A home that does not exist is left alone
/// (read-only commands never create one): such a verifier relies on freshness alone.
pub fn remember_snapshot(dir: &Path, fingerprint: &str, number: u64) -> Result<(), HomeError> {
    if !dir.is_dir() || seen_snapshot(dir, fingerprint)?.is_some_and(|seen| seen >= number) {
        return Ok(());
    }
    let path = seen_path(dir, fingerprint)?;
    let io_err = |action| {
        let path = path.clone();
        move |source| HomeError::Io { action, path, source }
    };
    private_dir(&dir.join("trust"))?;
    private_dir(&dir.join("trust/seen"))?;
    // Written aside, then renamed over: a reader sees the old number or the new one.
    let staged = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
    fs::write(&staged, format!("{number}\n")).map_err(io_err("record the last trust snapshot seen"))?;
    fs::rename(&staged, &path).map_err(|e| {
        let _cleanup = fs::remove_file(&staged);
        io_err("record the last trust snapshot seen")(e)
    })
}

fn seen_path(dir: &Path, fingerprint: &str) -> Result<PathBuf, HomeError> {
    let short = fingerprint.get(..CA_FINGERPRINT_HEX_DIGITS).filter(|f| f.bytes().all(|b| b.is_ascii_hexdigit()));
    let short = short.ok_or_else(|| HomeError::BadKeyId {
        id: fingerprint.chars().take(80).collect(),
        reason: "a CA fingerprint has at least 32 hex digits",
    })?;
    Ok(dir.join("trust/seen").join(short.to_ascii_lowercase()))
}

/// The one place the default store's URL is built: `<absolute home>/store`, escaped.
fn store_url_in(absolute_home: &Path) -> String {
    let store = absolute_home.join("store");
    // The home is absolute, so this cannot fail; a plain form stands in regardless.
    url::Url::from_file_path(&store).map_or_else(|()| format!("file://{}", store.display()), String::from)
}

/// Which private key: the root CA's or a profile version's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyId {
    /// The root CA's key, found by its certificate's SHA-256 fingerprint (hex, at least
    /// [`CA_FINGERPRINT_HEX_DIGITS`] digits; the file is named after that many).
    RootCa {
        /// Hex SHA-256 of the CA certificate (DER).
        fingerprint: String,
    },
    /// A profile version's key.
    Version(VersionRef),
    /// An administrator's key (seals trust records for the root).
    Admin(AdminName),
}

impl KeyId {
    /// The key file's path relative to the home.
    fn relative_path(&self) -> Result<PathBuf, HomeError> {
        self.relative_path_as(KEY_SUFFIX)
    }

    /// The key reference's path relative to the home (a key held in a token or KMS).
    fn relative_ref_path(&self) -> Result<PathBuf, HomeError> {
        self.relative_path_as(REF_SUFFIX)
    }

    /// The path of this key's file, or of its reference, relative to the home.
    fn relative_path_as(&self, suffix: &str) -> Result<PathBuf, HomeError> {
        match self {
            Self::RootCa { fingerprint } => {
                let bad = |reason| HomeError::BadKeyId { id: fingerprint.chars().take(80).collect(), reason };
                if !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("a CA fingerprint is hex digits"));
                }
                let short = fingerprint
                    .get(..CA_FINGERPRINT_HEX_DIGITS)
                    .ok_or_else(|| bad("a CA fingerprint has at least 32 hex digits"))?;
                Ok(["keys", "ca", &format!("{}{suffix}", short.to_ascii_lowercase())].iter().collect())
            }
            // Both parts passed their rules (no `/`, `.` or `..`), so they are plain names.
            Self::Version(v) => {
                Ok(["keys", "profiles", v.profile.as_str(), &format!("{}{suffix}", v.version.as_str())]
                    .iter()
                    .collect())
            }
            Self::Admin(name) => Ok(["keys", "admins", &format!("{name}{suffix}")].iter().collect()),
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RootCa { fingerprint } => {
                write!(f, "the root CA (fingerprint {})", fingerprint.get(..16).unwrap_or(fingerprint))
            }
            Self::Version(v) => write!(f, "profile version {v}"),
            Self::Admin(name) => write!(f, "administrator {name}"),
        }
    }
}

/// An open home directory.
#[derive(Debug, Clone)]
pub struct Home {
    dir: PathBuf,
}

impl Home {
    /// Opens the home at `dir`, creating it and its `keys/` folder (mode 0700) if missing.
    /// A home or `keys/` folder that group or others can write is refused.
    pub fn open(dir: &Path) -> Result<Self, HomeError> {
        let dir = std::path::absolute(dir).map_err(|source| HomeError::Io {
            action: "resolve the home",
            path: dir.to_owned(),
            source,
        })?;
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(|source| HomeError::Io {
                action: "create the parent folders of the home",
                path: parent.to_owned(),
                source,
            })?;
        }
        private_dir(&dir)?;
        private_dir(&dir.join("keys"))?;
        Ok(Self { dir })
    }

    /// The home's directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `file://` URL of the default store, `<home>/store`.
    pub fn default_store_url(&self) -> String {
        store_url_in(&self.dir)
    }

    /// Where the key file of `id` is (or would be).
    pub fn key_path(&self, id: &KeyId) -> Result<PathBuf, HomeError> {
        Ok(self.dir.join(id.relative_path()?))
    }

    /// Writes a new key file (mode 0600, folders 0700) holding `pkcs8_der`, and returns its
    /// path. Refuses to overwrite: [`HomeError::AlreadyExists`] if the key exists.
    pub fn write_key(&self, id: &KeyId, pkcs8_der: &[u8]) -> Result<PathBuf, HomeError> {
        self.write_new(&id.relative_path()?, pkcs8_der)
    }

    /// Writes a new key reference (a key held in a PKCS#11 token or KMS; JSON, no secret)
    /// where the key file would be, with a `.ref.json` ending, as exclusively as a key file.
    pub fn write_key_ref(&self, id: &KeyId, json: &str) -> Result<PathBuf, HomeError> {
        self.write_new(&id.relative_ref_path()?, json.as_bytes())
    }

    /// The key reference of `id` and its path, if this home has one. It is read with the
    /// key files' care (a regular, owner-only file, not a link, bounded).
    pub fn read_key_ref(&self, id: &KeyId) -> Result<Option<(PathBuf, String)>, HomeError> {
        let path = self.dir.join(id.relative_ref_path()?);
        let bytes = match read_private(&path) {
            Ok(b) => b,
            Err(HomeError::KeyNotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| HomeError::NotAKeyFile { path: path.clone(), what: "not UTF-8 text" })?
            .to_owned();
        Ok(Some((path, text)))
    }

    /// Records the pinned trust root (the root CA certificate, PEM) in `trust/root.pem`,
    /// once: a home pins one root and never silently changes it ([`HomeError::AlreadyExists`]).
    pub fn pin_root(&self, pem: &str) -> Result<PathBuf, HomeError> {
        self.write_new(Path::new(PIN_FILE), pem.as_bytes())
    }

    /// The pinned trust root (PEM), if this home has one.
    pub fn pinned_root(&self) -> Result<Option<String>, HomeError> {
        read_pin(&self.dir)
    }

    /// Writes a new file at `rel` under the home (mode 0600, folders 0700), exclusively:
    /// staged privately, synced, then hard-linked into place.
    fn write_new(&self, rel: &Path, bytes: &[u8]) -> Result<PathBuf, HomeError> {
        let path = self.dir.join(rel);
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(HomeError::NotAKeyFile { path, what: "not a file path" });
        };
        // Folders from the home down to the file's, each private.
        let mut folder = self.dir.clone();
        for part in rel.parent().unwrap_or(Path::new("")).components() {
            folder.push(part);
            private_dir(&folder)?;
        }
        // Stage privately, then publish with a hard link: exclusive, and never partial.
        let staged = parent.join(format!(".{}.{}.tmp", name.to_string_lossy(), uuid::Uuid::new_v4().simple()));
        let written = write_staged(&staged, bytes);
        let published = written.and_then(|()| {
            fs::hard_link(&staged, &path).map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => HomeError::AlreadyExists { path: path.clone() },
                _ => HomeError::Io { action: "publish key file", path: path.clone(), source },
            })
        });
        // The staged name goes either way; the file, if published, stays under its own name.
        let _cleanup = fs::remove_file(&staged);
        published?;
        sync_dir(parent)?;
        Ok(path)
    }

    /// Reads a key file: the PKCS#8 DER bytes, zeroized when dropped. Refuses a missing key
    /// ([`HomeError::KeyNotFound`]), a symbolic link or other non-regular file, and a file
    /// that group or others can read.
    pub fn read_key(&self, id: &KeyId) -> Result<Zeroizing<Vec<u8>>, HomeError> {
        read_private(&self.key_path(id)?).map_err(|e| match e {
            HomeError::KeyNotFound { path, .. } => HomeError::KeyNotFound { id: id.to_string(), path },
            e => e,
        })
    }

    /// The administrators whose keys this home holds (`keys/admins/<NAME>.pk8`, or a
    /// reference `<NAME>.ref.json`), by name.
    pub fn admin_keys(&self) -> Result<Vec<AdminName>, HomeError> {
        let mut names: Vec<AdminName> = self
            .file_names("keys/admins")?
            .iter()
            .filter_map(|name| name.strip_suffix(KEY_SUFFIX).or_else(|| name.strip_suffix(REF_SUFFIX))?.parse().ok())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The names of the files in the folder `rel` of the home; none if it is missing.
    fn file_names(&self, rel: &str) -> Result<Vec<String>, HomeError> {
        let dir = self.dir.join(rel);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(HomeError::Io { action: "list", path: dir, source }),
        };
        Ok(entries.filter_map(Result::ok).filter_map(|e| e.file_name().into_string().ok()).collect())
    }

    /// Writes a new access key record (`keys/access/<NAME>.json`, 0600, exclusively).
    pub fn write_access_key(&self, name: &AccessKeyName, json: &str) -> Result<PathBuf, HomeError> {
        self.write_new(&access_key_path(name), json.as_bytes())
    }

    /// Every access key record here: its name, path and bytes, read as key files are.
    pub fn access_keys(&self) -> Result<Vec<AccessKeyFile>, HomeError> {
        let mut names: Vec<AccessKeyName> = self
            .file_names(ACCESS_KEYS_DIR)?
            .iter()
            .filter_map(|name| name.strip_suffix(".json")?.parse().ok())
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let path = self.dir.join(access_key_path(&n));
                let bytes = read_private(&path)?;
                Ok((n, path, bytes))
            })
            .collect()
    }

    /// When the access keys last changed (their folder's modification time; `None` when
    /// there is no folder): what a cache of them compares to know it is current.
    pub fn access_keys_changed_at(&self) -> Option<std::time::SystemTime> {
        fs::metadata(self.dir.join(ACCESS_KEYS_DIR)).and_then(|m| m.modified()).ok()
    }

    /// Removes an access key record; `false` if there was none.
    pub fn delete_access_key(&self, name: &AccessKeyName) -> Result<bool, HomeError> {
        let path = self.dir.join(access_key_path(name));
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(HomeError::Io { action: "remove", path, source }),
        }
    }

    /// Whether a key file or a key reference for `id` exists here (whether it is usable,
    /// opening it tells).
    pub fn has_key(&self, id: &KeyId) -> bool {
        [id.relative_path(), id.relative_ref_path()]
            .into_iter()
            .any(|rel| rel.is_ok_and(|rel| fs::symlink_metadata(self.dir.join(rel)).is_ok()))
    }
}

/// Reads an owner-only regular file of the home (a key or a key reference), zeroized when
/// dropped: [`HomeError::KeyNotFound`] (its id left empty) when missing; a symbolic link,
/// another kind of file, one group or others can read, or one over [`MAX_KEY_FILE_BYTES`]
/// is refused.
fn read_private(path: &Path) -> Result<Zeroizing<Vec<u8>>, HomeError> {
    let path = path.to_owned();
    let io_err = |action| {
        let path = path.clone();
        move |source| HomeError::Io { action, path, source }
    };
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(HomeError::KeyNotFound { id: String::new(), path });
        }
        Err(e) => return Err(io_err("inspect key file")(e)),
    };
    check_key_file(&path, &meta)?;
    let file = File::open(&path).map_err(io_err("open key file"))?;
    // The file opened must be the one inspected (not swapped for a link in between).
    let opened = file.metadata().map_err(io_err("inspect key file"))?;
    if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
        return Err(HomeError::NotAKeyFile { path, what: "replaced while it was opened" });
    }
    check_key_file(&path, &opened)?;
    if opened.len() > MAX_KEY_FILE_BYTES {
        return Err(HomeError::TooLarge { path });
    }
    // Sized up front, so the buffer never reallocates and leaves no copy behind.
    let capacity = usize::try_from(opened.len()).unwrap_or(0).saturating_add(1);
    let mut der = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut der).map_err(io_err("read key file"))?;
    if der.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(HomeError::TooLarge { path });
    }
    Ok(der)
}

/// An access key record as read from the home: its name, path and bytes.
pub type AccessKeyFile = (AccessKeyName, PathBuf, Zeroizing<Vec<u8>>);

/// Where access keys live in the home.
const ACCESS_KEYS_DIR: &str = "keys/access";

/// `keys/access/<NAME>.json` (the name passed its rule: no `/`, `.` or `..`).
fn access_key_path(name: &AccessKeyName) -> PathBuf {
    Path::new(ACCESS_KEYS_DIR).join(format!("{name}.json"))
}

/// Makes sure `dir` is a directory that only its owner can write: creates it with mode
/// 0700 if missing, refuses it if group or others can write it.
fn private_dir(dir: &Path) -> Result<(), HomeError> {
    match DirBuilder::new().mode(DIR_MODE).create(dir) {
        // The umask may have taken bits away; put them back.
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE)).map_err(|source| HomeError::Io {
            action: "set the mode of",
            path: dir.to_owned(),
            source,
        }),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // Following a link here is deliberate: a home may be a mounted secret.
            let meta = fs::metadata(dir).map_err(|source| HomeError::Io {
                action: "inspect",
                path: dir.to_owned(),
                source,
            })?;
            if !meta.is_dir() {
                return Err(HomeError::NotADirectory { path: dir.to_owned() });
            }
            let mode = meta.mode() & 0o7777;
            if mode & 0o022 != 0 {
                return Err(HomeError::InsecureDir { path: dir.to_owned(), mode });
            }
            Ok(())
        }
        Err(source) => Err(HomeError::Io { action: "create directory", path: dir.to_owned(), source }),
    }
}

/// A key file must be a regular file (not a link) that only its owner can read.
fn check_key_file(path: &Path, meta: &fs::Metadata) -> Result<(), HomeError> {
    if meta.file_type().is_symlink() {
        return Err(HomeError::NotAKeyFile { path: path.to_owned(), what: "a symbolic link" });
    }
    if !meta.is_file() {
        return Err(HomeError::NotAKeyFile { path: path.to_owned(), what: "not a regular file" });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(HomeError::InsecureKey { path: path.to_owned(), mode });
    }
    Ok(())
}

/// Creates `path` exclusively with mode 0600 and writes `bytes`, synced; removes it on error.
fn write_staged(path: &Path, bytes: &[u8]) -> Result<(), HomeError> {
    let io_err = |action| move |source| HomeError::Io { action, path: path.to_owned(), source };
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(KEY_MODE).open(path).map_err(io_err("create key file"))?;
    let result = file
        .write_all(bytes)
        .and_then(|()| file.set_permissions(fs::Permissions::from_mode(KEY_MODE)))
        .and_then(|()| file.sync_all())
        .map_err(io_err("write key file"));
    if result.is_err() {
        let _cleanup = fs::remove_file(path);
    }
    result
}

/// Syncs a directory, so that a new entry in it survives a power cut.
fn sync_dir(dir: &Path) -> Result<(), HomeError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|source| HomeError::Io {
        action: "sync directory",
        path: dir.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;
    use crate::error::{ExitCode as _, exit};

    fn version(s: &str) -> KeyId {
        KeyId::Version(s.parse().unwrap())
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn open_creates_private_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/home");
        let home = Home::open(&dir).unwrap();
        assert_eq!(home.dir(), dir);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("keys")), 0o700);
        // Opening again is fine.
        Home::open(&dir).unwrap();
        let url = home.default_store_url();
        assert_eq!(url, format!("file://{}/store", dir.display()));
    }

    #[test]
    fn the_default_store_opens_whatever_the_home_is_called() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("my home %20#1");
        let home = Home::open(&dir).unwrap();
        let url = home.default_store_url();
        assert!(url.starts_with("file:///") && url.ends_with("/store"), "{url}");
        crate::store::Store::open(&url).unwrap();
        assert!(dir.join("store").is_dir(), "{url} is {}/store", dir.display());
        assert_eq!(default_store_url(&dir).unwrap(), url, "the same URL, with or without the home opened");
    }

    #[test]
    fn a_writable_home_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("home");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = Home::open(&dir).unwrap_err();
        assert!(matches!(err, HomeError::InsecureDir { mode: 0o777, .. }), "{err}");
        assert_eq!(err.exit_code(), exit::INVALID);
        assert!(err.to_string().contains(&format!("chmod 700 {}", dir.display())), "{err}");
        // A home that others may read but not write is the user's choice.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        Home::open(&dir).unwrap();
        let file = tmp.path().join("file");
        fs::write(&file, b"").unwrap();
        assert!(matches!(Home::open(&file), Err(HomeError::NotADirectory { .. })));
    }

    #[test]
    fn keys_are_written_owner_only_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::open(tmp.path()).unwrap();
        let id = version("Prof_1/AbCdEf1234");
        assert!(!home.has_key(&id));
        let path = home.write_key(&id, b"\x30\x2edummy-der").unwrap();
        assert_eq!(path, tmp.path().join("keys/profiles/Prof_1/AbCdEf1234.pk8"));
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&tmp.path().join("keys/profiles")), 0o700);
        assert_eq!(mode(&tmp.path().join("keys/profiles/Prof_1")), 0o700);
        assert!(home.has_key(&id));
        assert_eq!(home.read_key(&id).unwrap().as_slice(), b"\x30\x2edummy-der");
        // Nothing but the key is left in its folder.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("AbCdEf1234.pk8")]);
    }

    #[test]
    fn keys_are_never_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::open(tmp.path()).unwrap();
        let id = version("Prof_1/AbCdEf1234");
        home.write_key(&id, b"first").unwrap();
        let err = home.write_key(&id, b"second").unwrap_err();
        assert!(matches!(err, HomeError::AlreadyExists { .. }), "{err}");
        assert_eq!(err.exit_code(), exit::CONFLICT);
        assert_eq!(home.read_key(&id).unwrap().as_slice(), b"first");
    }

    #[test]
    fn a_readable_key_is_refused_with_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::open(tmp.path()).unwrap();
        let id = version("Prof_1/AbCdEf1234");
        let path = home.write_key(&id, b"secret-bytes").unwrap();
        for bad in [0o644, 0o640, 0o604, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(bad)).unwrap();
            let err = home.read_key(&id).unwrap_err();
            assert_eq!(err.exit_code(), exit::INVALID);
            let msg = err.to_string();
            assert_eq!(
                msg,
                format!(
                    "key file {} is readable by group or others (mode {bad:04o}); run: chmod 600 {}",
                    path.display(),
                    path.display()
                )
            );
            assert!(!msg.contains("secret-bytes"));
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(home.read_key(&id).unwrap().as_slice(), b"secret-bytes");
    }

    #[test]
    fn a_symlinked_key_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::open(tmp.path()).unwrap();
        let real = tmp.path().join("elsewhere.pk8");
        fs::write(&real, b"k").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
        let id = version("Prof_1/AbCdEf1234");
        let path = home.key_path(&id).unwrap();
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        symlink(&real, &path).unwrap();
        let err = home.read_key(&id).unwrap_err();
        assert!(matches!(err, HomeError::NotAKeyFile { what: "a symbolic link", .. }), "{err}");
        assert_eq!(err.exit_code(), exit::INVALID);
        // Writing through the link is refused too.
        assert!(matches!(home.write_key(&id, b"x"), Err(HomeError::AlreadyExists { .. })));
        assert_eq!(fs::read(&real).unwrap(), b"k");
    }

    #[test]
    fn a_missing_key_is_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::open(tmp.path()).unwrap();
        let err = home.read_key(&version("Prof_1/AbCdEf1234")).unwrap_err();
        assert!(matches!(err, HomeError::KeyNotFound { .. }), "{err}");
        assert_eq!(err.exit_code(), exit::NOT_FOUND);
        assert!(err.to_string().contains("profile version Prof_1/AbCdEf1234"), "{err}");
    }

    #[test]
    fn root_ca_keys_are_named_by_fingerprint() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::open(tmp.path()).unwrap();
        let fp = "AB".repeat(32);
        let id = KeyId::RootCa { fingerprint: fp };
        let path = home.write_key(&id, b"ca-key").unwrap();
        assert_eq!(path, tmp.path().join(format!("keys/ca/{}.pk8", "ab".repeat(16))));
        assert_eq!(mode(&tmp.path().join("keys/ca")), 0o700);
        for bad in ["../../etc/passwd", "abcd", &format!("{}/x", "a".repeat(40)), ""] {
            let id = KeyId::RootCa { fingerprint: bad.to_owned() };
            let err = home.write_key(&id, b"x").unwrap_err();
            assert!(matches!(err, HomeError::BadKeyId { .. }), "{bad}: {err}");
            assert!(!home.has_key(&id));
        }
    }

    #[test]
    fn oversized_and_odd_key_files_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home::open(tmp.path()).unwrap();
        let id = version("Prof_1/AbCdEf1234");
        let path = home.write_key(&id, &vec![0u8; usize::try_from(MAX_KEY_FILE_BYTES).unwrap() + 1]).unwrap();
        assert!(matches!(home.read_key(&id), Err(HomeError::TooLarge { .. })));
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        assert!(matches!(home.read_key(&id), Err(HomeError::NotAKeyFile { .. })));
    }
}
