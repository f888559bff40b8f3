//! Signing: stream the source once through the zip gate, the content digest and the
//! output, then append the signature block (SECURITY.md, "Signing").
//!
//! Pure over `Read + Seek` and `Write`: the caller opens files or objects, passes the key
//! and the clock's time, and publishes the output only when this returns `Ok`.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::crypto;
use crate::error::Error;
use crate::format::{self, ContentDigest, FormatError, STATEMENT_TYPE, Statement, block};
use crate::model::{JobId, Timestamp, VersionRef};
use crate::zipcheck::{self, Inspected, TAIL_WINDOW, ZipLimits};

/// What can refuse a signing, apart from the zip gate.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The source carries a signature block already.
    #[error(
        "the zip is already signed (its comment ends with a signer signature block); sign the original zip instead"
    )]
    AlreadySigned,
    /// The zip comment and the block do not fit the end record's 16-bit length.
    #[error(
        "the zip comment is too long to append a signature block (the end record counts at most 65,535 bytes); shorten the comment or remove it"
    )]
    CommentTooLong,
    /// Signing parameters with no certificate.
    #[error("no certificate to sign with")]
    NoCertificate,
    /// The source changed while it was being signed.
    #[error(
        "the source changed while it was being signed (its end records are not the ones that were checked); nothing was written: sign it again once it is complete"
    )]
    SourceChanged,
}

/// Largest zip comment.
const MAX_COMMENT: usize = 65_535;

/// Who signs, with what, and when.
pub struct SignParams {
    /// The profile version's private key (in a file, a token or KMS).
    pub key: std::sync::Arc<dyn crypto::SigningKey>,
    /// The version's certificate, then its issuers up to the root (DER).
    pub chain: Vec<Vec<u8>>,
    /// The profile version.
    pub version: VersionRef,
    /// The signing job, if any.
    pub job_id: Option<JobId>,
    /// Signing time.
    pub signed_at: Timestamp,
    /// Signature expiry; a time after the certificate's end is cut to that end.
    pub expires_at: Timestamp,
    /// Where the signature gets its RFC 3161 timestamp, if the store has a TSA.
    pub stamper: Option<std::sync::Arc<dyn crate::timestamp::Stamper>>,
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
    /// Zero bytes after the source's end record, left out of the signed package.
    pub dropped_padding: u64,
    /// Whether the signature carries a timestamp.
    pub timestamped: bool,
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
    let tail_window = zipcheck::read_end_window(src).map_err(|e| Error::io("reading the source", e))?;
    let tail = zipcheck::tail_from_window(src, &tail_window, limits)?;
    let end = &tail.end;
    if block::present(&end.comment) {
        return Err(SignError::AlreadySigned.into());
    }
    let platform = params.key.platform();
    let digest_alg = platform.content_digest();
    // No signature outlasts its certificate (verify denies one that claims to).
    let leaf = params.chain.first().ok_or(SignError::NoCertificate)?;
    let leaf_not_after = crypto::cert_info(leaf)?.not_after;
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
        expires_at: params.expires_at.min(leaf_not_after),
        certificate_chain: Statement::encode_chain(&params.chain),
    };
    // The block's length must be known before hashing: the archive comment length, which
    // precedes the block, counts it. Every statement field that varies in value has a
    // fixed width except the sizes, so measure with the sizes' final values filled in.
    let comment_len = end.comment.len();
    let content_length = end.comment_offset + comment_len as u64;
    let mut hasher = crate::hashpipe::ContentHasher::new(digest_alg);
    src.seek(SeekFrom::Start(0)).map_err(|e| Error::io("reading the source", e))?;
    let keep_from = end.central_offset.saturating_sub(TAIL_WINDOW);
    let mut tee = Tee { inner: &mut *src, out, hasher: &mut hasher, done: 0, progress, keep_from, kept: Vec::new() };

    // 1. The entries region, through the gate: the only read of it, and what is hashed and
    //    written is what the gate checked.
    let inspected = {
        let mut body = (&mut tee).take(end.central_offset);
        let inspected = zipcheck::check_body(&tail, &mut body, limits)?;
        if body.limit() != 0 {
            return Err(Error::Internal("the zip gate left entry bytes unread".into()));
        }
        inspected
    };
    statement.content.length = content_length;
    statement.content.entries = inspected.entries;
    statement.content.unzipped_size = inspected.unzipped_size;
    let payload_len = format::block::payload(&statement)?.len();
    let block_len = block::encoded_len(payload_len, crypto::signature_len(platform), params.stamper.is_some());
    let new_comment_len = comment_len + block_len;
    if new_comment_len > MAX_COMMENT {
        return Err(FormatError::TooLarge { block: block_len, comment: comment_len }.into());
    }

    // 2. The central directory and end records as the gate parsed them, never read again;
    //    the comment length counts the block; the original comment. Padding is dropped.
    let len_field = u16::try_from(new_comment_len).map_err(|_| SignError::CommentTooLong)?;
    let len_field = len_field.to_le_bytes();
    let records = end.records.get(..end.records.len().saturating_sub(2)).unwrap_or_default();
    for piece in [&tail.central[..], records, &len_field, &end.comment] {
        tee.emit(piece)?;
    }
    let Tee { out: mut w, done, kept, .. } = tee;
    debug_assert_eq!(done, content_length);

    // 3. The digest, the statement, the signature, the block.
    statement.content.digest = hex::encode(hasher.finish()?);
    let payload = format::block::payload(&statement)?;
    let signature = params.key.sign(&payload)?;
    let token = match &params.stamper {
        Some(stamper) => Some(stamper.stamp(&crypto::signature_to_der(platform, &signature)?)?),
        None => None,
    };
    let blk = block::encode(&payload, &signature, token.as_deref())?;
    if blk.len() != block_len {
        return Err(Error::Internal(format!("block is {} bytes, {block_len} were announced", blk.len())));
    }
    // 4. What verify will read: the package's last bytes find the same end records and
    //    this block, and the signature checks against the certificate's key.
    let window = last_bytes(&[&kept, &tail.central, records, &len_field, &end.comment, &blk], TAIL_WINDOW);
    check_as_verify_reads(&window, content_length + blk.len() as u64, end)?;
    let parsed = block::parse(&blk)?;
    crypto::verify_signature(platform, &crypto::cert_info(leaf)?.spki_der, &parsed.payload, &parsed.signature)?;
    // 5. The source still ends as it did when its tail was read: a writer racing the
    //    signing is told so (what was signed is what was checked either way).
    if zipcheck::read_end_window(src).map_err(|e| Error::io("reading the source", e))? != tail_window {
        return Err(SignError::SourceChanged.into());
    }
    w.write_all(&blk).map_err(|e| Error::io("writing the signed package", e))?;
    w.flush().map_err(|e| Error::io("writing the signed package", e))?;
    let timestamped = token.as_ref().is_some_and(|t| !t.is_empty());
    Ok(Signed {
        statement,
        package_len: content_length + blk.len() as u64,
        inspected,
        dropped_padding: end.padding,
        timestamped,
    })
}

/// The last `n` bytes of the concatenation of `pieces`.
fn last_bytes(pieces: &[&[u8]], n: u64) -> Vec<u8> {
    let mut want = usize::try_from(n).unwrap_or(usize::MAX);
    let mut parts = Vec::new();
    for piece in pieces.iter().rev() {
        if want == 0 {
            break;
        }
        let take = piece.len().min(want);
        parts.push(piece.get(piece.len() - take..).unwrap_or_default());
        want -= take;
    }
    parts.iter().rev().flat_map(|p| p.iter().copied()).collect()
}

/// Parses the signed package's last bytes as `verify` does: they must give the source's end
/// records back, with no second reading (an end record hidden in stored data that the
/// longer comment makes plausible, say) and the block at the end of the comment.
fn check_as_verify_reads(window: &[u8], package_len: u64, source: &zipcheck::End) -> Result<(), Error> {
    let end = zipcheck::parse_end(window, package_len)?;
    let same = end.eocd_offset == source.eocd_offset
        && end.central_offset == source.central_offset
        && end.central_size == source.central_size
        && end.entry_count == source.entry_count
        && end.padding == 0;
    if !same || !block::present(&end.comment) {
        return Err(Error::Internal(
            "the signed package's end records read back differently from the source's; nothing was written".into(),
        ));
    }
    Ok(())
}

/// Reads from the source, hashing and writing every byte it hands on.
struct Tee<'a, R, W> {
    inner: &'a mut R,
    out: W,
    hasher: &'a mut crate::hashpipe::ContentHasher,
    done: u64,
    progress: &'a mut dyn FnMut(u64),
    /// Bytes read from this offset on are kept (the last [`TAIL_WINDOW`] of the entries
    /// region, which the signed package's tail may include).
    keep_from: u64,
    kept: Vec<u8>,
}

impl<R: Read, W: Write> Tee<'_, R, W> {
    fn emit(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.hasher.update(bytes);
        self.out.write_all(bytes).map_err(|e| Error::io("writing the signed package", e))?;
        self.done += bytes.len() as u64;
        Ok(())
    }
}

impl<R: Read, W: Write> Read for Tee<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        self.hasher.update(got);
        self.out.write_all(got)?;
        let skip = usize::try_from(self.keep_from.saturating_sub(self.done)).unwrap_or(usize::MAX);
        self.kept.extend_from_slice(got.get(skip..).unwrap_or_default());
        self.done += n as u64;
        (self.progress)(self.done);
        Ok(n)
    }
}
