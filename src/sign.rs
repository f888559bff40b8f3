//! Signing: stream the source once through the zip gate, the content digest and the
//! output, then append the signature block (SECURITY.md, "Signing").
//!
//! Pure over `Read + Seek` and `Write`: the caller opens files or objects, passes the key
//! and the clock's time, and publishes the output only when this returns `Ok`.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::crypto::{self, SecretKey};
use crate::error::Error;
use crate::format::{self, ContentDigest, FormatError, STATEMENT_TYPE, Statement, block};
use crate::model::{JobId, Timestamp, VersionRef};
use crate::zipcheck::{self, Inspected, ZipLimits};

/// Largest zip comment.
const MAX_COMMENT: usize = 65_535;
/// Bytes moved per read on the hot path.
pub const CHUNK: usize = 1 << 20;

/// Who signs, with what, and when.
pub struct SignParams {
    /// The profile version's private key.
    pub key: SecretKey,
    /// The version's certificate, then its issuers up to the root (DER).
    pub chain: Vec<Vec<u8>>,
    /// The profile version.
    pub version: VersionRef,
    /// The signing job, if any.
    pub job_id: Option<JobId>,
    /// Signing time.
    pub signed_at: Timestamp,
    /// Signature expiry.
    pub expires_at: Timestamp,
}

/// What signing produced.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The signed statement.
    pub statement: Statement,
    /// Bytes written.
    pub package_len: u64,
    /// What the gate measured.
    pub inspected: Inspected,
}

/// Signs `src` into `out`. `progress` is called with the bytes processed so far.
///
/// Refuses (exit 3) a source that is not a zip, is empty, already signed, over the
/// limits or hostile; nothing is signed unless the whole source passed the gate.
pub fn sign_package<R: Read + Seek, W: Write>(
    src: &mut R,
    out: W,
    params: &SignParams,
    limits: &ZipLimits,
    progress: &mut dyn FnMut(u64),
) -> Result<Signed, Error> {
    let tail = zipcheck::read_tail(src, limits)?;
    let end = &tail.end;
    if block::present(&end.comment) {
        return Err(Error::Invalid(
            "the zip is already signed (its comment ends with a signer signature block); sign the original zip instead"
                .into(),
        ));
    }
    let platform = params.key.platform();
    let digest_alg = platform.content_digest();
    let mut statement = Statement {
        kind: STATEMENT_TYPE.into(),
        platform,
        content: ContentDigest {
            digest_algorithm: digest_alg,
            digest: "0".repeat(2 * digest_alg.output_len()),
            length: 0,
            entries: 0,
            unzipped_size: 0,
        },
        profile: params.version.profile.clone(),
        profile_version: params.version.version.clone(),
        job_id: params.job_id.clone(),
        signed_at: params.signed_at,
        expires_at: params.expires_at,
        certificate_chain: Statement::encode_chain(&params.chain),
    };
    // The block's length must be known before hashing: the archive comment length, which
    // precedes the block, counts it. Every statement field that varies in value has a
    // fixed width except the sizes, so measure with the sizes' final values filled in.
    let comment_len = end.comment.len();
    let eocd_len_field =
        end.comment_offset.checked_sub(2).ok_or_else(|| Error::Invalid("end record out of range".into()))?;
    let content_length = end.comment_offset + comment_len as u64;
    let mut hasher = crate::hashpipe::ContentHasher::new(digest_alg);
    src.seek(SeekFrom::Start(0)).map_err(|e| Error::io("reading the source", e))?;
    let mut tee = Tee { inner: src, out, hasher: &mut hasher, done: 0, progress };

    // 1. The entries region, through the gate. The gate reads it exactly once.
    let inspected = {
        let mut body = (&mut tee).take(end.central_offset);
        let inspected = zipcheck::check_body(&tail, &mut body, limits)?;
        if body.limit() != 0 {
            return Err(Error::Invalid("the zip gate left entry bytes unread".into()));
        }
        inspected
    };
    statement.content.length = content_length;
    statement.content.entries = inspected.entries;
    statement.content.unzipped_size = inspected.unzipped_size;
    let payload_len = format::block::payload(&statement)?.len();
    let block_len = block::encoded_len(payload_len, crypto::signature_len(platform));
    let new_comment_len = comment_len + block_len;
    if new_comment_len > MAX_COMMENT {
        return Err(FormatError::TooLarge { block: block_len, comment: comment_len }.into());
    }

    // 2. Central directory and end records up to the comment length, unchanged.
    tee.copy_from_source(eocd_len_field - end.central_offset)?;
    // 3. The new comment length, then the original comment.
    let len_field = u16::try_from(new_comment_len).map_err(|_| Error::Invalid("comment too long".into()))?;
    tee.emit(&len_field.to_le_bytes())?;
    tee.inner.seek(SeekFrom::Current(2)).map_err(|e| Error::io("reading the source", e))?;
    tee.emit(&end.comment)?;
    let Tee { out: mut w, done, .. } = tee;
    debug_assert_eq!(done, content_length);

    // 4. The digest, the statement, the signature, the block.
    statement.content.digest = hex::encode(hasher.finish()?);
    let payload = format::block::payload(&statement)?;
    let signature = params.key.sign(&payload)?;
    let blk = block::encode(&payload, &signature)?;
    if blk.len() != block_len {
        return Err(Error::Invalid(format!("internal: block is {} bytes, {block_len} were announced", blk.len())));
    }
    // Re-verify what is about to be published: the block parses back to the same
    // statement and the signature checks against the certificate's key.
    let parsed = block::parse(&blk)?;
    let leaf = params.chain.first().ok_or_else(|| Error::Invalid("no certificate to sign with".into()))?;
    crypto::verify_signature(platform, &crypto::cert_info(leaf)?.spki_der, &parsed.payload, &parsed.signature)?;
    w.write_all(&blk).map_err(|e| Error::io("writing the signed package", e))?;
    w.flush().map_err(|e| Error::io("writing the signed package", e))?;
    Ok(Signed { statement, package_len: content_length + blk.len() as u64, inspected })
}

/// Reads from the source, hashing and writing every byte it hands on.
struct Tee<'a, R, W> {
    inner: &'a mut R,
    out: W,
    hasher: &'a mut crate::hashpipe::ContentHasher,
    done: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read, W: Write> Tee<'_, R, W> {
    fn emit(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.hasher.update(bytes);
        self.out.write_all(bytes).map_err(|e| Error::io("writing the signed package", e))?;
        self.done += bytes.len() as u64;
        Ok(())
    }

    fn copy_from_source(&mut self, n: u64) -> Result<(), Error> {
        let mut left = n;
        let mut buf = vec![0u8; CHUNK.min(usize::try_from(n).unwrap_or(CHUNK)).max(1)];
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(buf.len()));
            let chunk = buf.get_mut(..want).ok_or_else(|| Error::Invalid("internal: buffer".into()))?;
            self.inner.read_exact(chunk).map_err(|e| Error::io("reading the source", e))?;
            self.hasher.update(chunk);
            self.out.write_all(chunk).map_err(|e| Error::io("writing the signed package", e))?;
            left -= want as u64;
            self.done += want as u64;
        }
        Ok(())
    }
}

impl<R: Read, W: Write> Read for Tee<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        self.hasher.update(got);
        self.out.write_all(got)?;
        self.done += n as u64;
        (self.progress)(self.done);
        Ok(n)
    }
}

/// Signs `src` to `dest` (paths or object URLs). The output is published only after the
/// whole source passed the gate and the block was re-verified; otherwise nothing appears.
pub async fn sign_location(
    src: &crate::location::Location,
    dest: &crate::location::Location,
    params: SignParams,
    limits: ZipLimits,
    mut progress: impl FnMut(u64) + Send + 'static,
) -> Result<Signed, Error> {
    let mut input = src.open().await?;
    let mut output = dest.create().await?;
    let outcome = tokio::task::spawn_blocking(move || {
        let r = sign_package(&mut input, &mut output, &params, &limits, &mut progress);
        match r {
            Ok(signed) => output.finish().map(|()| signed),
            Err(e) => {
                output.abort();
                Err(e)
            }
        }
    })
    .await;
    outcome.map_err(|e| Error::Invalid(format!("internal: signing task failed: {e}")))?
}
