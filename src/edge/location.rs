//! Where a package is read from or written to: a local path or an object URL
//! (`s3://bucket/key`, `file:///abs/path`). Outputs appear whole or not at all: a local
//! file is written beside its destination and renamed into place; an object is a
//! multipart upload completed only on success.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::DynObjectStore;

use crate::error::Error;
use crate::store::{ObjectReader, ObjectWriter, parse_object_url};

/// A readable, seekable package source.
pub trait Source: Read + Seek + Send {}
impl<T: Read + Seek + Send> Source for T {}

/// A package path or object URL.
#[derive(Clone)]
pub enum Location {
    /// A local file.
    Path(PathBuf),
    /// An object.
    Object {
        /// The store holding it.
        store: Arc<DynObjectStore>,
        /// Its path in that store.
        path: object_store::path::Path,
        /// The URL as given.
        url: String,
    },
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(p) => write!(f, "{}", p.display()),
            Self::Object { url, .. } => f.write_str(url),
        }
    }
}

impl Location {
    /// Parses a path or an object URL (anything with `://`). A `file:///abs/path` URL is
    /// that local path, opened like any other (see [`open_file`]).
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.starts_with("file:") {
            Ok(Self::Path(crate::store::file_object_path(s)?))
        } else if s.contains("://") {
            let (store, path) = parse_object_url(s)?;
            Ok(Self::Object { store, path, url: s.to_owned() })
        } else {
            Ok(Self::Path(PathBuf::from(s)))
        }
    }

    /// The size in bytes of an existing file or object.
    pub async fn size(&self) -> Result<u64, Error> {
        match self {
            Self::Path(p) => {
                std::fs::metadata(p).map(|m| m.len()).map_err(|e| Error::io(format!("reading {}", p.display()), e))
            }
            Self::Object { store, path, .. } => Ok(ObjectReader::open(store.clone(), path.clone()).await?.size()),
        }
    }

    /// Opens the source for reading. Call from a blocking context for objects.
    pub async fn open(&self) -> Result<Box<dyn Source>, Error> {
        match self {
            Self::Path(p) => Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, open_file(p)?))),
            Self::Object { store, path, .. } => Ok(Box::new(ObjectReader::open(store.clone(), path.clone()).await?)),
        }
    }

    /// Starts writing the destination; nothing is visible until [`Output::finish`].
    pub async fn create(&self) -> Result<Output, Error> {
        match self {
            Self::Path(p) => Ok(Output::File(StagedFile::create(p)?)),
            Self::Object { store, path, .. } => {
                Ok(Output::Object(ObjectWriter::create(store.clone(), path.clone()).await?))
            }
        }
    }
}

/// Opens a local input file for reading, refusing ([`Error::NotAFile`], exit 3) anything
/// that is not a regular file before reading a byte of it.
///
/// Opened with `O_NONBLOCK`, so a FIFO with no writer (or a device) cannot block the
/// `open` itself, and then checked on the opened descriptor, so what is checked is what is
/// read. `O_NONBLOCK` has no effect on reads of a regular file. A missing file is an
/// [`Error::Io`] of kind `NotFound` (exit 4).
pub fn open_file(path: &Path) -> Result<File, Error> {
    let shown = || path.display().to_string();
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", shown()), e))?;
    let kind = file.metadata().map_err(|e| Error::io(format!("reading {}", shown()), e))?.file_type();
    let what = if kind.is_file() {
        return Ok(file);
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a file"
    };
    Err(Error::NotAFile { path: shown(), kind: what })
}

/// Reads a local input file of at most `max` bytes; more is refused (exit 3) without
/// reading it all. Not a regular file: [`open_file`]'s refusal.
pub fn read_file(path: &Path, max: usize) -> Result<Vec<u8>, Error> {
    let file = open_file(path)?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if bytes.len() > max {
        return Err(Error::FileTooLarge { path: path.display().to_string(), max });
    }
    Ok(bytes)
}

/// Creates the folder `dir` (and its parents) if missing; something else there is
/// [`Error::NotAFolder`] (exit 3).
pub fn create_folder(dir: &Path) -> Result<(), Error> {
    if std::fs::metadata(dir).is_ok_and(|m| !m.is_dir()) {
        return Err(Error::NotAFolder { path: dir.display().to_string() });
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}

/// An output being written.
pub enum Output {
    /// A local file staged beside its destination.
    File(StagedFile),
    /// A multipart upload.
    Object(ObjectWriter),
}

impl Output {
    /// Publishes the output.
    pub fn finish(self) -> Result<(), Error> {
        match self {
            Self::File(f) => f.finish(),
            Self::Object(o) => o.finish().map(|_| ()).map_err(Error::from),
        }
    }

    /// Discards the output.
    pub fn abort(self) {
        match self {
            Self::File(f) => f.abort(),
            Self::Object(o) => {
                let _ = o.abort();
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::File(f) => f.file.write(buf),
            Self::Object(o) => o.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Self::File(f) => f.file.write_all(buf),
            Self::Object(o) => o.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::File(f) => f.file.flush(),
            Self::Object(o) => o.flush(),
        }
    }
}

/// A file written under a temporary name in its destination's folder, renamed into place
/// on success and removed otherwise.
pub struct StagedFile {
    file: BufWriter<File>,
    temp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl StagedFile {
    /// Creates the temporary file beside `dest`.
    pub fn create(dest: &Path) -> Result<Self, Error> {
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = dest.file_name().ok_or_else(|| Error::NotAFilePath { path: dest.display().to_string() })?;
        // What the rename at the end would refuse, said now and as what it is.
        if std::fs::symlink_metadata(dest).is_ok_and(|m| m.is_dir()) {
            return Err(Error::NotAFile { path: dest.display().to_string(), kind: "a directory" });
        }
        let temp = dir.join(format!(".{}.{}.partial", name.to_string_lossy(), uuid::Uuid::new_v4().simple()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| Error::io(format!("creating {}", temp.display()), e))?;
        Ok(Self { file: BufWriter::with_capacity(1 << 20, file), temp, dest: dest.to_owned(), done: false })
    }

    /// Flushes and renames into place: readers see the whole file or none of it.
    ///
    /// No fsync: a local output is a user's file, written as `cp` writes one; what must
    /// survive a power cut (keys, store records, job outputs in the store) is synced where
    /// it is written. `sync` the file yourself if you need it on disk before power loss.
    pub fn finish(mut self) -> Result<(), Error> {
        let ctx = |what: &str| format!("{what} {}", self.dest.display());
        self.file.flush().map_err(|e| Error::io(ctx("writing"), e))?;
        std::fs::rename(&self.temp, &self.dest).map_err(|e| Error::io(ctx("publishing"), e))?;
        self.done = true;
        Ok(())
    }

    /// Removes the temporary file.
    pub fn abort(mut self) {
        self.done = true;
        let _ = std::fs::remove_file(&self.temp);
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
