//! `layer publish`: gate, hash, store the blob once, number the record.
//!
//! The zip is first copied into a private temporary file (signed into it with `--sign`,
//! downloaded for an object URL): every later step reads that copy, which nobody else
//! writes, so the bytes checked, hashed and stored are one and the same whatever happens
//! to the source meanwhile. The copy is read by offset (`pread`), never whole into memory:
//!
//! 1. **Check and hash, at once.** [`zipcheck::inspect_parallel`] runs the strict gate with
//!    Lambda's unzipped limit, inflating runs of entries on every core, while one more
//!    thread computes the SHA-256 of the file. A zip bomb stops at the central directory
//!    (declared sizes over the limit, overlapping entries) or at the first entry that
//!    inflates past its declared size, so the work is bounded by the limit, never by what
//!    the zip would expand to.
//! 2. **Store the blob once.** `blobs/sha256/<hex>.zip` is written only if absent, from the
//!    same private copy (a multipart upload, invisible until complete).
//! 3. **Number the record.** [`Store::create_next`] creates `NAME:N` with create-if-absent.

use std::fs::File;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::{Architecture, LICENSE_INFO, LayerError, LayerVersion, MAX_RUNTIMES, Runtime};
use crate::error::Error;
use crate::location::Location;
use crate::model::{DESCRIPTION, JobId, LayerName, LayerVersionRef, Timestamp, VersionRef};
use crate::sign::SignParams;
use crate::signing::sign_location;
use crate::store::{Store, StoreError, keys};
use crate::zipcheck::{self, InspectError, Inspected, Parallelism, ReadAt, Rule, ZipLimits};

/// Bytes per read when hashing and uploading.
const CHUNK: usize = 8 << 20;

/// What a new version records besides its content.
#[derive(Debug, Clone)]
pub struct PublishParams {
    /// The layer.
    pub name: LayerName,
    /// At most [`crate::model::MAX_DESCRIPTION`] characters.
    pub description: Option<String>,
    /// At most [`MAX_RUNTIMES`]; duplicates are dropped.
    pub compatible_runtimes: Vec<Runtime>,
    /// Duplicates are dropped.
    pub compatible_architectures: Vec<Architecture>,
    /// At most [`super::MAX_LICENSE_INFO`] characters.
    pub license_info: Option<String>,
}

impl PublishParams {
    /// Checks the lengths and counts (Lambda's limits) and drops duplicates; refusals are
    /// [`LayerError`].
    fn checked(mut self) -> Result<Self, Error> {
        for (rule, value) in [(DESCRIPTION, &self.description), (LICENSE_INFO, &self.license_info)] {
            value.as_deref().map_or(Ok(()), |v| rule.check(v))?;
        }
        dedup(&mut self.compatible_runtimes);
        dedup(&mut self.compatible_architectures);
        if self.compatible_runtimes.len() > MAX_RUNTIMES {
            return Err(LayerError::TooManyRuntimes { count: self.compatible_runtimes.len() }.into());
        }
        Ok(self)
    }
}

fn dedup<T: PartialEq>(v: &mut Vec<T>) {
    let mut seen = Vec::with_capacity(v.len());
    for x in v.drain(..) {
        if !seen.contains(&x) {
            seen.push(x);
        }
    }
    *v = seen;
}

/// Who signed the stored package.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signing {
    /// The profile version.
    signed_by: VersionRef,
    /// The signing job, if the signature came from one.
    job: Option<JobId>,
    /// The signing time.
    signed_at: Timestamp,
}

/// A published version.
#[derive(Debug, Clone)]
pub struct Published {
    /// Its record.
    pub version: LayerVersion,
    /// Whether this publish stored the bytes (`false`: identical content was stored
    /// already, and the new version shares it).
    pub blob_created: bool,
}

/// A phase of publishing and the bytes it has just processed, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Signing the zip (`--sign`): bytes signed so far.
    Signing(u64),
    /// Checking: entry bytes just read (a delta; the total is about the zip's size).
    Checking(u64),
    /// Storing the blob: bytes uploaded so far.
    Storing(u64),
}

/// Publishes `zip` (a path or an object URL) as the next version of `params.name`.
///
/// With `sign`, the zip is first signed through the signing pipeline into a temporary
/// file, and the signed package is what is checked and stored; the record names the
/// profile version, the job (if any) and the signing time.
///
/// Refusals: a zip the strict gate refuses, or whose entries inflate to more than
/// 262,144,000 bytes, is [`LayerError::TooLarge`] (exit 3), with Lambda's
/// wording and the actual size for the limit. Nothing is written to the store then.
pub async fn publish(
    store: &Store,
    zip: &Location,
    params: PublishParams,
    sign: Option<SignParams>,
    now: Timestamp,
    progress: impl Fn(Step) + Send + Sync + 'static,
) -> Result<Published, Error> {
    let params = params.checked()?;
    let progress: Arc<dyn Fn(Step) + Send + Sync> = Arc::new(progress);
    let local = TempFile::new();
    let signing = match sign {
        Some(sign_params) => {
            let p = Arc::clone(&progress);
            let signed =
                sign_location(zip, &Location::Path(local.0.clone()), sign_params, ZipLimits::default(), move |n| {
                    p(Step::Signing(n));
                })
                .await
                .map_err(|e| match e {
                    Error::Zip(z) => refusal(&params.name, &zip.to_string(), InspectError::Zip(z)),
                    e => e,
                })?;
            let st = signed.statement;
            Some(Signing { signed_by: st.version_ref(), job: st.job_id, signed_at: st.signed_at })
        }
        None => {
            copy_private(zip, &local.0).await?;
            None
        }
    };
    publish_file(store, &local.0, params, signing, now, progress).await
}

/// Publishes the private copy of a zip; see [`publish`].
async fn publish_file(
    store: &Store,
    path: &Path,
    params: PublishParams,
    signing: Option<Signing>,
    now: Timestamp,
    progress: Arc<dyn Fn(Step) + Send + Sync>,
) -> Result<Published, Error> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(format!("opening {shown}"), e))?;
    let file = Arc::new(FileAt(file));
    let (inspected, sha256, zipped_size) = {
        let file = Arc::clone(&file);
        let progress = Arc::clone(&progress);
        let name = params.name.clone();
        let shown = shown.clone();
        blocking(move || check_and_hash(&file, &name, &shown, &*progress)).await??
    };

    let key = keys::blob_sha256(&sha256)?;
    let blob_created = if store.exists(&key).await? {
        false
    } else {
        store_blob(store, &key, Arc::clone(&file), zipped_size, progress).await?;
        true
    };

    let record = |n: u64| LayerVersion {
        layer: LayerVersionRef { name: params.name.clone(), version: n },
        sha256: sha256.clone(),
        zipped_size,
        unzipped_size: inspected.unzipped_size,
        entry_count: inspected.entries,
        created_at: now,
        description: params.description.clone(),
        compatible_runtimes: params.compatible_runtimes.iter().map(|r| r.as_str().to_owned()).collect(),
        compatible_architectures: params.compatible_architectures.iter().map(|a| a.as_str().to_owned()).collect(),
        license_info: params.license_info.clone(),
        signed_by: signing.as_ref().map(|s| s.signed_by.clone()),
        signing_job: signing.as_ref().and_then(|s| s.job.clone()),
        signed_at: signing.as_ref().map(|s| s.signed_at),
    };
    let n = store.create_next_record(&keys::layer_versions(&params.name)?, record).await?;
    Ok(Published { version: record(n), blob_created })
}

/// Step 1: the gate on every core, and the SHA-256 on one more thread, over one open file.
fn check_and_hash(
    file: &FileAt,
    name: &LayerName,
    shown: &str,
    progress: &(dyn Fn(Step) + Send + Sync),
) -> Result<(Inspected, String, u64), Error> {
    let size = file.size().map_err(|e| Error::io(format!("reading {shown}"), e))?;
    let stop = AtomicBool::new(false);
    let (checked, hashed) = std::thread::scope(|s| {
        let hasher = s.spawn(|| sha256_at(file, size, &stop));
        let checked = zipcheck::inspect_parallel(file, &ZipLimits::default(), Parallelism::available(), &|n| {
            progress(Step::Checking(n));
        });
        if checked.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        (checked, hasher.join())
    });
    let inspected = checked.map_err(|e| refusal(name, shown, e))?;
    let sha256 = hashed
        .map_err(|_| Error::Internal("the hashing thread failed".into()))?
        .map_err(|e| Error::io(format!("reading {shown}"), e))?
        .ok_or_else(|| Error::Internal("hashing stopped early".into()))?;
    Ok((inspected, sha256, size))
}

/// The gate's refusal, in Lambda's words for the size limit.
fn refusal(name: &LayerName, shown: &str, e: InspectError) -> Error {
    match e {
        InspectError::Zip(z) => match z.rule {
            Rule::UnzippedTooLarge { actual } => LayerError::TooLarge { name: name.clone(), actual }.into(),
            _ => Error::Zip(z),
        },
        InspectError::Io(io) => Error::io(format!("reading {shown}"), io),
    }
}

/// SHA-256 of the first `size` bytes (hex), or `None` when told to stop.
fn sha256_at(file: &FileAt, size: u64, stop: &AtomicBool) -> io::Result<Option<String>> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    while offset < size {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let n = read_chunk(file, &mut buf, offset, size)?;
        ctx.update(buf.get(..n).unwrap_or_default());
        offset += n as u64;
    }
    Ok(Some(hex::encode(ctx.finish())))
}

/// Reads the next chunk at `offset` (up to `size`), at least one byte.
fn read_chunk(file: &FileAt, buf: &mut [u8], offset: u64, size: u64) -> io::Result<usize> {
    let want = usize::try_from(size - offset).unwrap_or(usize::MAX).min(buf.len());
    let chunk = buf.get_mut(..want).unwrap_or_default();
    loop {
        match file.read_at(chunk, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file got shorter while it was read; publish it again once nothing writes to it",
                ));
            }
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Step 2: writes the blob from the private copy, whose SHA-256 step 1 computed (nobody
/// else writes the copy, so it is not hashed a second time).
async fn store_blob(
    store: &Store,
    key: &crate::store::Key,
    file: Arc<FileAt>,
    size: u64,
    progress: Arc<dyn Fn(Step) + Send + Sync>,
) -> Result<(), Error> {
    if size <= CHUNK as u64 {
        // One request, create-if-absent: a concurrent publish of the same bytes wins
        // harmlessly.
        let bytes = blocking(move || {
            let mut buf = vec![0u8; usize::try_from(size).unwrap_or(0)];
            let mut offset = 0usize;
            while let Some(rest) = buf.get_mut(offset..).filter(|r| !r.is_empty()) {
                offset += read_chunk(&file, rest, offset as u64, size)?;
            }
            Ok::<_, io::Error>(buf)
        })
        .await?
        .map_err(|e| Error::io("reading the zip", e))?;
        return match store.create_bytes(key, Bytes::from(bytes)).await {
            Ok(()) | Err(StoreError::AlreadyExists { .. }) => {
                progress(Step::Storing(size));
                Ok(())
            }
            Err(e) => Err(e.into()),
        };
    }
    // A multipart upload: nothing is visible until it completes, and a concurrent upload
    // of the same key carries the same bytes.
    let mut writer = store.writer(key).await?;
    blocking(move || {
        let mut buf = vec![0u8; CHUNK];
        let mut offset = 0u64;
        let copied = (|| {
            while offset < size {
                let n = read_chunk(&file, &mut buf, offset, size).map_err(|e| Error::io("reading the zip", e))?;
                let chunk = buf.get(..n).unwrap_or_default();
                io::Write::write_all(&mut writer, chunk).map_err(|e| Error::io("storing the layer's zip", e))?;
                offset += n as u64;
                progress(Step::Storing(offset));
            }
            Ok::<_, Error>(())
        })();
        match copied {
            Ok(()) => writer.finish().map(drop).map_err(Error::from),
            Err(e) => {
                let _ = writer.abort();
                Err(e)
            }
        }
    })
    .await?
}

/// Copies the zip (a path, refused unless a regular file, or an object URL) into the
/// private file `dest`: the one read of the source.
async fn copy_private(zip: &Location, dest: &Path) -> Result<(), Error> {
    if let Location::Path(src) = zip {
        // File to file: the kernel copies (copy_file_range), no buffer passes through here.
        let mut input = crate::location::open_file(src)?;
        let (dest, shown) = (dest.to_owned(), src.display().to_string());
        return blocking(move || {
            let mut output = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&dest)
                .map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
            io::copy(&mut input, &mut output).map(drop).map_err(|e| Error::io(format!("copying {shown}"), e))
        })
        .await?;
    }
    let mut input = zip.open().await?;
    let mut output = Location::Path(dest.to_owned()).create().await?;
    let shown = zip.to_string();
    blocking(move || match io::copy(&mut input, &mut output) {
        Ok(_) => output.finish(),
        Err(e) => {
            output.abort();
            Err(Error::io(format!("copying {shown}"), e))
        }
    })
    .await?
}

/// Runs blocking work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Internal(format!("a publishing task failed: {e}")))
}

/// A file read by offset from several threads at once (`pread`: no shared cursor).
struct FileAt(File);

impl ReadAt for FileAt {
    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.0, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(&self.0, buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        self.0.metadata().map(|m| m.len())
    }
}

/// A path in the system's temporary folder, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("signer-layer-{}.zip", uuid::Uuid::new_v4().simple())))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
