//! `std::io` over objects, for the synchronous core (STYLE practice 13).
//!
//! Both types capture the Tokio runtime they were created on and block on it, so they are
//! created in async code and then moved into [`tokio::task::spawn_blocking`]. Calling
//! their `std::io` methods directly on an async worker thread panics (Tokio refuses to
//! block inside the runtime).
//!
//! Errors reach `std::io` callers as [`std::io::Error`]s wrapping a [`StoreError`]
//! (`err.downcast::<StoreError>()` recovers it).

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{DynObjectStore, GetOptions, GetRange, ObjectMeta, ObjectStoreExt, PutResult, WriteMultipart};
use tokio::runtime::Handle;

use super::StoreError;

/// How much [`ObjectReader`] fetches per request.
pub const READ_CHUNK: u64 = 8 * 1024 * 1024;

/// The size of the parts [`ObjectWriter`] uploads (S3 wants at least 5 MiB, and at most
/// 10,000 parts: 80 GiB per object).
pub const WRITE_PART: usize = 8 * 1024 * 1024;

/// How many parts [`ObjectWriter`] uploads at once; memory stays under
/// `(WRITE_PARTS_IN_FLIGHT + 1) × WRITE_PART`.
pub const WRITE_PARTS_IN_FLIGHT: usize = 4;

/// A [`Read`] + [`Seek`] view of one object, fetched in `READ_CHUNK` ranges.
///
/// The object's ETag is read when the reader is opened and every range request requires
/// it (`If-Match`), so a reader sees the bytes of one version of the object or fails with
/// [`StoreError::Conflict`]; it never mixes two versions.
#[derive(Debug)]
pub struct ObjectReader {
    handle: Handle,
    store: Arc<DynObjectStore>,
    location: Path,
    size: u64,
    e_tag: Option<String>,
    /// The object version read, in a versioned bucket when one was asked for.
    version: Option<String>,
    pos: u64,
    buf: Bytes,
    buf_start: u64,
}

impl ObjectReader {
    /// Opens the object at `location` (one `head` request): [`StoreError::NotFound`] if it
    /// does not exist.
    pub async fn open(store: Arc<DynObjectStore>, location: Path) -> Result<Self, StoreError> {
        let meta = store.head(&location).await.map_err(|e| map_err("head", &location, &store, e))?;
        Ok(Self::from_head(store, location, meta))
    }

    /// A reader of the object version `meta` (the caller's own `head`) describes: reads
    /// require its ETag, so a later write to the key fails them rather than mix bytes.
    pub fn from_head(store: Arc<DynObjectStore>, location: Path, meta: ObjectMeta) -> Self {
        Self::at(store, location, meta, None)
    }

    /// A reader of the object version pinned earlier as `e_tag` and `size`, without a
    /// request now: every read requires that ETag, so the first fails with
    /// [`StoreError::NotFound`] if the object is gone, [`StoreError::Conflict`] if it changed.
    pub fn pinned(store: Arc<DynObjectStore>, location: Path, size: u64, e_tag: String) -> Self {
        Self {
            handle: Handle::current(),
            store,
            location,
            size,
            e_tag: Some(e_tag),
            version: None,
            pos: 0,
            buf: Bytes::new(),
            buf_start: 0,
        }
    }

    /// A reader at the start of the object `meta` describes.
    fn at(store: Arc<DynObjectStore>, location: Path, meta: ObjectMeta, version: Option<String>) -> Self {
        Self {
            handle: Handle::current(),
            store,
            location,
            size: meta.size,
            e_tag: meta.e_tag,
            version,
            pos: 0,
            buf: Bytes::new(),
            buf_start: 0,
        }
    }

    /// Opens one version of the object (a versioned bucket): it reads that version's
    /// bytes whatever was written to the key since. [`StoreError::NotFound`] if the
    /// version is gone, [`StoreError::Conflict`] if its ETag is not `e_tag`.
    pub async fn open_version(
        store: Arc<DynObjectStore>,
        location: Path,
        version: &str,
        e_tag: &str,
    ) -> Result<Self, StoreError> {
        let options = GetOptions { head: true, version: Some(version.to_owned()), ..GetOptions::default() };
        let head = store.get_opts(&location, options).await.map_err(|e| map_err("head", &location, &store, e))?;
        if head.meta.e_tag.as_deref() != Some(e_tag) {
            return Err(StoreError::Conflict {
                key: location.to_string(),
                reason: format!(
                    "version {version} has ETag {}, not the pinned {e_tag}; submit the job again",
                    head.meta.e_tag.as_deref().unwrap_or("none")
                ),
            });
        }
        Ok(Self::at(store, location, head.meta, Some(version.to_owned())))
    }

    /// Opens the object at `location` only if its ETag is still `e_tag` (the version pinned
    /// when a job was submitted): [`StoreError::Conflict`] if the object changed since.
    pub async fn open_if_match(store: Arc<DynObjectStore>, location: Path, e_tag: &str) -> Result<Self, StoreError> {
        let reader = Self::open(store, location).await?;
        if reader.e_tag.as_deref() != Some(e_tag) {
            return Err(StoreError::Conflict {
                key: reader.location.to_string(),
                reason: format!(
                    "the object changed after it was pinned (ETag {e_tag}, now {}); submit the job again",
                    reader.e_tag.as_deref().unwrap_or("none")
                ),
            });
        }
        Ok(reader)
    }

    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The ETag of the version being read, if the backend has one.
    pub fn e_tag(&self) -> Option<&str> {
        self.e_tag.as_deref()
    }

    /// The object's location.
    pub fn location(&self) -> &Path {
        &self.location
    }

    /// Fetches the chunk that starts at `self.pos`.
    fn fill(&mut self) -> Result<(), StoreError> {
        let end = self.pos.saturating_add(READ_CHUNK).min(self.size);
        let options = GetOptions {
            range: Some(GetRange::Bounded(self.pos..end)),
            if_match: self.e_tag.clone(),
            version: self.version.clone(),
            ..GetOptions::default()
        };
        let fetch = async {
            let result = self.store.get_opts(&self.location, options).await?;
            result.bytes().await
        };
        let bytes = self.handle.block_on(fetch).map_err(|e| map_err("read", &self.location, &self.store, e))?;
        if u64::try_from(bytes.len()).ok() != Some(end - self.pos) {
            return Err(StoreError::Conflict {
                key: self.location.to_string(),
                reason: format!(
                    "asked for bytes {}..{end} and got {}: the object changed while it was read; run the command again",
                    self.pos,
                    bytes.len()
                ),
            });
        }
        self.buf = bytes;
        self.buf_start = self.pos;
        Ok(())
    }
}

impl Read for ObjectReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || self.pos >= self.size {
            return Ok(0);
        }
        let buffered = self.pos >= self.buf_start && self.pos - self.buf_start < self.buf.len() as u64;
        if !buffered {
            self.fill().map_err(to_io)?;
        }
        let offset = usize::try_from(self.pos - self.buf_start).map_err(io::Error::other)?;
        let available = self.buf.get(offset..).unwrap_or_default();
        let n = available.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), available.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ObjectReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("seek to a negative position in {}", self.location))
        })?;
        self.pos = target;
        Ok(target)
    }
}

/// A [`Write`] that uploads one object: with one PUT when it is smaller than
/// `WRITE_PART` (most packages: one request instead of three), else in `WRITE_PART`
/// parts (a multipart upload).
///
/// Nothing is visible at the location until [`ObjectWriter::finish`] succeeds, and then
/// the whole object appears at once, replacing any object there. [`ObjectWriter::abort`],
/// or dropping the writer unfinished, discards the upload, so a failed or killed writer
/// leaves no partial object where a reader would see it. [`Write::flush`] does nothing:
/// only `finish` makes the bytes durable.
#[derive(Debug)]
pub struct ObjectWriter {
    handle: Handle,
    location: Path,
    store: Arc<DynObjectStore>,
    upload: Upload,
    written: u64,
}

/// What [`ObjectWriter::finish_or_hold`] did.
#[derive(Debug)]
pub enum Staged {
    /// The object is written where the writer was made for.
    Written,
    /// The object (under one part) is here, written nowhere.
    Held(bytes::Bytes),
}

#[derive(Debug)]
enum Upload {
    /// Under one part so far: held here, to be PUT whole.
    Small(Vec<u8>),
    /// A multipart upload under way.
    Parts(WriteMultipart),
    /// Finished or aborted.
    Done,
}

impl ObjectWriter {
    /// A writer to `location`; the first request is made once a part is full, or at
    /// [`ObjectWriter::finish`].
    pub async fn create(store: Arc<DynObjectStore>, location: Path) -> Result<Self, StoreError> {
        Ok(Self { handle: Handle::current(), location, store, upload: Upload::Small(Vec::new()), written: 0 })
    }

    /// The number of bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Uploads what is left and completes the upload: the object appears, whole. On error
    /// the upload is discarded.
    pub fn finish(mut self) -> Result<PutResult, StoreError> {
        match std::mem::replace(&mut self.upload, Upload::Done) {
            Upload::Small(bytes) => {
                self.handle.block_on(self.store.put(&self.location, bytes.into())).map_err(|e| self.error("write", e))
            }
            Upload::Parts(upload) => {
                self.handle.block_on(upload.finish()).map_err(|e| self.error("complete upload of", e))
            }
            Upload::Done => Err(self.finished_error()),
        }
    }

    /// Like [`ObjectWriter::finish`], except that an object under one part is not written
    /// but handed back ([`Staged::Held`]), for the caller to PUT where and how it wants
    /// (a worker creates it at its destination only if absent: one request instead of a
    /// staging object, a copy and a delete).
    pub fn finish_or_hold(mut self) -> Result<Staged, StoreError> {
        match std::mem::replace(&mut self.upload, Upload::Done) {
            Upload::Small(bytes) => Ok(Staged::Held(bytes.into())),
            Upload::Parts(upload) => self
                .handle
                .block_on(upload.finish())
                .map(|_| Staged::Written)
                .map_err(|e| self.error("complete upload of", e)),
            Upload::Done => Err(self.finished_error()),
        }
    }

    /// Discards the upload and every part uploaded so far.
    pub fn abort(mut self) -> Result<(), StoreError> {
        match std::mem::replace(&mut self.upload, Upload::Done) {
            Upload::Small(_) => Ok(()),
            Upload::Parts(upload) => self.handle.block_on(upload.abort()).map_err(|e| self.error("abort upload of", e)),
            Upload::Done => Err(self.finished_error()),
        }
    }

    /// Starts the multipart upload and hands it what was held.
    fn start_parts(&mut self, held: Vec<u8>) -> Result<(), StoreError> {
        let upload = self
            .handle
            .block_on(self.store.put_multipart(&self.location))
            .map_err(|e| self.error("start upload of", e))?;
        let mut upload = WriteMultipart::new_with_chunk_size(upload, WRITE_PART);
        let _runtime = self.handle.enter();
        upload.write(&held);
        self.upload = Upload::Parts(upload);
        Ok(())
    }

    fn error(&self, op: &'static str, e: object_store::Error) -> StoreError {
        StoreError::from_backend(op, self.location.as_ref(), &self.store.to_string(), e)
    }

    fn finished_error(&self) -> StoreError {
        StoreError::Conflict {
            key: self.location.to_string(),
            reason: "the upload was already finished or aborted".to_owned(),
        }
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.upload {
            Upload::Small(held) if held.len() + buf.len() < WRITE_PART => {
                held.extend_from_slice(buf);
                self.written += buf.len() as u64;
                return Ok(buf.len());
            }
            Upload::Small(held) => {
                let held = std::mem::take(held);
                self.start_parts(held).map_err(to_io)?;
            }
            Upload::Parts(_) => {}
            Upload::Done => return Err(to_io(self.finished_error())),
        }
        let Upload::Parts(upload) = &mut self.upload else {
            return Err(to_io(self.finished_error()));
        };
        // Parts are spawned as tasks on the writer's runtime.
        let _runtime = self.handle.enter();
        upload.write(buf);
        let before = self.written / WRITE_PART as u64;
        self.written += buf.len() as u64;
        if self.written / WRITE_PART as u64 != before {
            // A part was started: apply back pressure so memory stays bounded.
            let waited = self.handle.block_on(upload.wait_for_capacity(WRITE_PARTS_IN_FLIGHT));
            if let Err(e) = waited {
                return Err(to_io(StoreError::from_backend(
                    "upload a part of",
                    self.location.as_ref(),
                    &self.store.to_string(),
                    e,
                )));
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if let Upload::Parts(upload) = std::mem::replace(&mut self.upload, Upload::Done) {
            // Unfinished: discard the parts. Best effort, since a drop cannot report; an
            // unfinished upload is invisible to readers either way.
            drop(self.handle.spawn(async move {
                let _ignored = upload.abort().await;
            }));
        }
    }
}

fn map_err(op: &'static str, location: &Path, store: &Arc<DynObjectStore>, e: object_store::Error) -> StoreError {
    StoreError::from_backend(op, location.as_ref(), &store.to_string(), e)
}

fn to_io(e: StoreError) -> io::Error {
    let kind = match e {
        StoreError::NotFound { .. } => io::ErrorKind::NotFound,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}
