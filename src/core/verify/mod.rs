//! Integrity and authenticity of a package (SPEC §5). No policy here: a [`Verified`] token
//! is the only way `policy` gets to read a signature's metadata.

use std::io::{Read, Seek, SeekFrom};

use crate::crypto;
use crate::error::Error;
use crate::format::{Block, Statement, block};
use crate::model::{Timestamp, VersionRef};
use crate::timestamp::Stamp;
use crate::zipcheck::{self, Rule};

mod failure;
pub use failure::VerifyFailure;

/// What the bytes of a package say about its signature.
#[derive(Debug)]
pub enum Integrity {
    /// No signature block.
    Unsigned,
    /// A block is present but the package is not what was signed.
    Broken {
        /// Why.
        reason: VerifyFailure,
        /// The block, when it parsed.
        block: Option<Box<Block>>,
    },
    /// The block parses, the content digest matches and the signature is good for the
    /// key in the block's first certificate.
    Intact(IntactBlock),
}

/// A signature block whose content digest matched the package's bytes and whose signature
/// verified for the key in its first certificate. Only [`read_package`] makes one (the
/// field is private), so [`authenticate`] never sees a block that skipped those checks.
#[derive(Debug)]
pub struct IntactBlock(Box<Block>);

impl std::ops::Deref for IntactBlock {
    type Target = Block;

    fn deref(&self) -> &Block {
        &self.0
    }
}

/// Whether reading a package also hashes the whole file with SHA-256: a second
/// whole-package hash, for the answers that show it (the verdict's JSON, a job's result)
/// and for no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WholeHash {
    /// Hash it: `PackageRead::sha256` is set.
    Sha256,
    /// Do not.
    Skip,
}

/// A package's size and whole-file SHA-256 (for the verdict), and its integrity.
#[derive(Debug)]
pub struct PackageRead {
    /// Bytes in the package.
    pub size: u64,
    /// Lowercase hex SHA-256 of the whole package, when asked for.
    pub sha256: Option<String>,
    /// Integrity.
    pub integrity: Integrity,
}

/// Reads a package once: finds its end records and block, hashes the content and checks
/// the signature over the payload. Read errors are `Err`, and so is a file whose last
/// bytes hold no end record at all (not a zip: the gate's refusal, exit 3, before any
/// hashing); a bad package is `Ok` with [`Integrity::Broken`].
pub fn read_package<R: Read + Seek>(
    r: &mut R,
    whole: WholeHash,
    progress: &mut dyn FnMut(u64),
) -> Result<PackageRead, Error> {
    let io = |e| Error::io("reading the package", e);
    let window = zipcheck::read_end_window(r).map_err(io)?;
    let size = window.file_len;
    // Not a zip at all (no end record in its last bytes): refused from them, before any
    // hashing (exit 3), as the gate refuses it. A broken zip is a broken package.
    let found = match zipcheck::parse_end(&window.bytes, size) {
        Err(e) if e.rule == Rule::NotZip => return Err(e.into()),
        Err(e) => Err(VerifyFailure::MalformedZip(e.to_string())),
        Ok(end) if !block::present(&end.comment) => Ok(None),
        Ok(end) if end.padding > 0 => Err(VerifyFailure::TrailingBytes(end.padding)),
        Ok(end) => block::parse(&end.comment).map(Some).map_err(|e| VerifyFailure::BadBlock(e.to_string())),
    };
    // Only a block that parsed has a content digest to check; an unsigned or broken
    // package is judged without one.
    let mut found = found.map(|block| {
        block.map(|b| {
            let hasher = crate::hashpipe::ContentHasher::new(b.statement.content.digest_algorithm);
            (b, hasher)
        })
    });
    let content_len = match &found {
        Ok(Some((b, _))) => size - b.len as u64,
        _ => size,
    };
    let mut whole = (whole == WholeHash::Sha256).then(|| ring::digest::Context::new(&ring::digest::SHA256));
    let signed = matches!(found, Ok(Some(_)));
    if signed || whole.is_some() {
        // One pass: this thread reads each chunk straight into the content hasher's
        // buffer (and updates SHA-256 over it when asked); the content digest's chunks
        // hash on the other cores.
        r.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut plain = if signed { Vec::new() } else { vec![0; READ_LEN] };
        let mut done = 0u64;
        while done < content_len {
            let want = usize::try_from(content_len - done).unwrap_or(usize::MAX).min(READ_LEN);
            let got = match found.as_mut() {
                Ok(Some((_, content))) => content.read_from(r, want).map_err(io)?,
                _ => {
                    let buf = plain.get_mut(..want).unwrap_or_default();
                    r.read_exact(buf).map_err(io)?;
                    buf
                }
            };
            if let Some(whole) = whole.as_mut() {
                whole.update(got);
            }
            done += got.len() as u64;
            progress(done);
        }
        let mut block_bytes = Vec::new();
        r.take(size - done).read_to_end(&mut block_bytes).map_err(io)?;
        if block_bytes.len() as u64 != size - done {
            return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        if let Some(whole) = whole.as_mut() {
            whole.update(&block_bytes);
        }
    }
    progress(size);
    let sha256 = whole.map(|whole| hex::encode(whole.finish()));
    let integrity = match found {
        Err(reason) => Integrity::Broken { reason, block: None },
        Ok(None) => Integrity::Unsigned,
        Ok(Some((b, content))) => check_block(b, content_len, &hex::encode(content.finish()?)),
    };
    Ok(PackageRead { size, sha256, integrity })
}

/// Bytes read at a time: small enough that SHA-256 finds them still in the core's cache.
const READ_LEN: usize = 128 << 10;

fn check_block(b: Block, content_len: u64, digest: &str) -> Integrity {
    match block_problem(&b, content_len, digest) {
        None => Integrity::Intact(IntactBlock(Box::new(b))),
        Some(reason) => Integrity::Broken { reason, block: Some(Box::new(b)) },
    }
}

fn block_problem(b: &Block, content_len: u64, digest: &str) -> Option<VerifyFailure> {
    let st = &b.statement;
    if st.content.length != content_len {
        return Some(VerifyFailure::LengthMismatch { signed: st.content.length, found: content_len });
    }
    if st.content.digest != digest {
        return Some(VerifyFailure::DigestMismatch);
    }
    let spki = match st.chain_der().ok().and_then(|c| c.first().cloned()).map(|leaf| crypto::cert_info(&leaf)) {
        Some(Ok(info)) => info.spki_der,
        _ => return Some(VerifyFailure::CertificateUnparsable),
    };
    match crypto::verify_signature(st.platform, &spki, &b.payload, &b.signature) {
        Ok(()) => None,
        Err(_) => Some(VerifyFailure::BadSignature),
    }
}

/// What the store says a profile version's certificate and trust anchor are.
#[derive(Debug, Clone)]
pub struct TrustedVersion {
    /// The version.
    pub version: VersionRef,
    /// DER of the version's certificate as recorded when it was created.
    pub certificate: Vec<u8>,
    /// DER of the root it must chain to: the store's root CA, or the profile's own.
    pub anchor: Vec<u8>,
    /// DER of the root of the time-stamping authority whose tokens the store believes, if
    /// it has one (issue 13).
    pub tsa_root: Option<Vec<u8>>,
}

/// Proof that a signature passed integrity and authenticity. Only [`authenticate`]
/// makes one.
#[derive(Debug)]
pub struct Verified<'a> {
    block: &'a Block,
    /// The end of the signer's certificate: no signature outlasts it.
    cert_not_after: Timestamp,
    /// What the signature's RFC 3161 timestamp establishes, if it has a valid one.
    stamp: Option<Stamp>,
}

impl Verified<'_> {
    /// The verified statement.
    pub fn statement(&self) -> &Statement {
        &self.block.statement
    }

    /// The trusted signing time: the timestamp's, if the signature has one (`None`: the
    /// signing time is only the signer's claim).
    pub fn stamp(&self) -> Option<&Stamp> {
        self.stamp.as_ref()
    }
}

/// Authenticity: the chain leads to the trusted anchor with codeSigning, and the signer's
/// certificate is the one the store recorded for the claimed profile version.
///
/// `trusted` is `None` when the store knows no such profile version. Only an
/// [`IntactBlock`] can be authenticated: a [`Verified`] always stands for a signature that
/// verified over bytes that matched.
pub fn authenticate<'a>(
    block: &'a IntactBlock,
    trusted: Option<&TrustedVersion>,
) -> Result<Verified<'a>, VerifyFailure> {
    let st = &block.statement;
    let claimed = st.version_ref();
    let trusted = trusted.ok_or_else(|| VerifyFailure::UnknownVersion(claimed.clone()))?;
    if trusted.version != claimed {
        return Err(VerifyFailure::VersionMismatch { recorded: trusted.version.clone(), claimed });
    }
    let stamp = match (&block.timestamp, &trusted.tsa_root) {
        (None, _) => None,
        (Some(token), _) if token.is_empty() => None,
        (Some(_), None) => return Err(VerifyFailure::TimestampNotTrusted),
        (Some(token), Some(root)) => {
            let bad = |e: String| VerifyFailure::BadTimestamp(e);
            let signed = crypto::signature_to_der(st.platform, &block.signature).map_err(|e| bad(e.to_string()))?;
            Some(crate::timestamp::verify(token, &signed, root).map_err(|e| bad(e.to_string()))?)
        }
    };
    // The chain must be valid when the signature was made: the trusted time if there is one.
    let at = stamp.as_ref().map_or(st.signed_at, |s| s.time);
    let bad_certs = |e: String| VerifyFailure::BadCertificates(e);
    let chain = st.chain_der().map_err(|e| bad_certs(e.to_string()))?;
    let (leaf, rest) =
        chain.split_first().ok_or_else(|| bad_certs("the statement carries no certificate".to_owned()))?;
    crypto::validate_chain(leaf, rest, &trusted.anchor, at)
        .map_err(|e| VerifyFailure::UntrustedChain(e.to_string()))?;
    if leaf != &trusted.certificate {
        return Err(VerifyFailure::CertificateNotRecorded(claimed));
    }
    let cert_not_after = crypto::cert_info(leaf).map_err(|e| bad_certs(e.to_string()))?.not_after;
    Ok(Verified { block, cert_not_after, stamp })
}

/// Whether `at` lies within the signature's validity, allowing `skew` seconds of clock
/// difference for a signing time in the future, and whether that validity is one its
/// certificate and a profile can give.
pub fn expiry_problem(v: &Verified<'_>, at: Timestamp, skew: i64) -> Option<VerifyFailure> {
    let st = v.statement();
    // The statement's own times cannot claim more than its certificate, or a profile, may
    // give: the certificate's end, and the longest validity from the signing time.
    if st.expires_at > v.cert_not_after {
        return Some(VerifyFailure::BeyondCertificate { expires_at: st.expires_at, cert_not_after: v.cert_not_after });
    }
    if st.expires_at > st.signed_at.plus_secs(crate::model::Validity::MAX.secs()) {
        return Some(VerifyFailure::BeyondValidity { expires_at: st.expires_at, signed_at: st.signed_at });
    }
    if at >= st.expires_at {
        return Some(VerifyFailure::Expired(st.expires_at));
    }
    if st.signed_at > at.plus_secs(skew) {
        return Some(VerifyFailure::FromTheFuture(st.signed_at));
    }
    if let Some(stamp) = &v.stamp
        && (st.signed_at.unix() - stamp.time.unix()).abs() > skew
    {
        return Some(VerifyFailure::TimeDisagrees { claimed: st.signed_at, stamped: stamp.time });
    }
    None
}
