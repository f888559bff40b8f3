//! The signature block: encode and the one-way parse (SECURITY.md, "Block layout").
//!
//! > ```text
//! > block     = HEADER statement LF signature [timestamp] trailer
//! > HEADER    = "signer-signature/v1" LF
//! > statement = canonical JSON, printable ASCII (see statement.rs)
//! > signature = "signature " base64(raw signature) LF
//! > timestamp = "timestamp " base64(DER RFC 3161 token) *"." LF  ; exactly 8192 bytes
//! >             (no token: the line was reserved, the TSA did not answer)
//! > trailer   = "end " 10DIGIT " signer-signature/v1" LF   ; 10DIGIT = block length
//! > payload   = HEADER statement LF                         ; what the signature is over
//! > ```
//! > The block is the last bytes of the file. A parser reads the trailer from the last
//! > 35 bytes, takes exactly `length` bytes before the end, and refuses any deviation:
//! > another header, an extra line, non-canonical base64, a length that disagrees.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{FormatError, HEADER, MAX_BLOCK_LEN, SIGNATURE_PREFIX, Statement, TIMESTAMP_LINE_LEN, TIMESTAMP_PREFIX};

/// How every trailer ends; a zip comment that ends like this already holds a block.
pub const SIGNER_TRAILER_SUFFIX: &[u8] = b" signer-signature/v1\n";
const TRAILER_PREFIX: &[u8] = b"end ";
const LENGTH_DIGITS: usize = 10;
/// The trailer's length.
pub const TRAILER_LEN: usize = TRAILER_PREFIX.len() + LENGTH_DIGITS + SIGNER_TRAILER_SUFFIX.len();

/// A parsed block. `payload` is a byte range of the block exactly as stored.
#[derive(Debug, Clone)]
pub struct Block {
    /// The bytes the signature is over (HEADER, statement, LF), as stored.
    pub payload: Vec<u8>,
    /// The parsed statement.
    pub statement: Statement,
    /// The raw signature.
    pub signature: Vec<u8>,
    /// The timestamp line's RFC 3161 token over the signature (DER), if the block has the
    /// line; an empty token is a line reserved for a timestamp the TSA did not give (the
    /// signature is untimestamped).
    pub timestamp: Option<Vec<u8>>,
    /// The block's length in bytes.
    pub len: usize,
}

/// The payload for a statement: what the signature is over.
pub fn payload(statement: &Statement) -> Result<Vec<u8>, FormatError> {
    let st = statement.encode()?;
    let mut p = Vec::with_capacity(HEADER.len() + st.len() + 1);
    p.extend_from_slice(HEADER);
    p.extend_from_slice(&st);
    p.push(b'\n');
    Ok(p)
}

/// The length of the block for `payload`, a signature of `signature_len` bytes and, if
/// `timestamped`, a timestamp line.
pub fn encoded_len(payload_len: usize, signature_len: usize, timestamped: bool) -> usize {
    let timestamp = if timestamped { TIMESTAMP_LINE_LEN } else { 0 };
    payload_len + SIGNATURE_PREFIX.len() + base64_len(signature_len) + 1 + timestamp + TRAILER_LEN
}

/// The largest token a timestamp line holds, in bytes.
pub const MAX_TIMESTAMP_TOKEN: usize = (TIMESTAMP_LINE_LEN - 10 - 1) / 4 * 3;

fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Encodes a block from its payload, raw signature and timestamp token (DER), if any.
pub fn encode(payload: &[u8], signature: &[u8], timestamp: Option<&[u8]>) -> Result<Vec<u8>, FormatError> {
    let len = encoded_len(payload.len(), signature.len(), timestamp.is_some());
    if len > MAX_BLOCK_LEN {
        return Err(FormatError::Malformed(format!("block of {len} bytes exceeds {MAX_BLOCK_LEN}")));
    }
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(payload);
    b.extend_from_slice(SIGNATURE_PREFIX);
    b.extend_from_slice(B64.encode(signature).as_bytes());
    b.push(b'\n');
    if let Some(token) = timestamp {
        if token.len() > MAX_TIMESTAMP_TOKEN {
            return Err(FormatError::Malformed(format!(
                "the timestamp token is {} bytes; a block holds at most {MAX_TIMESTAMP_TOKEN}",
                token.len()
            )));
        }
        let start = b.len();
        b.extend_from_slice(TIMESTAMP_PREFIX);
        b.extend_from_slice(B64.encode(token).as_bytes());
        b.resize(start + TIMESTAMP_LINE_LEN - 1, b'.');
        b.push(b'\n');
    }
    b.extend_from_slice(TRAILER_PREFIX);
    b.extend_from_slice(format!("{len:0LENGTH_DIGITS$}").as_bytes());
    b.extend_from_slice(SIGNER_TRAILER_SUFFIX);
    debug_assert_eq!(b.len(), len);
    Ok(b)
}

/// Whether `tail` (the end of a file or of an archive comment) ends like a block.
pub fn present(tail: &[u8]) -> bool {
    tail.ends_with(SIGNER_TRAILER_SUFFIX)
}

/// The block length a trailer at the end of `tail` announces.
pub fn announced_len(tail: &[u8]) -> Result<usize, FormatError> {
    let bad = |why: &str| FormatError::Malformed(why.to_owned());
    let start = tail.len().checked_sub(TRAILER_LEN).ok_or_else(|| bad("too short for a trailer"))?;
    let trailer = tail.get(start..).ok_or_else(|| bad("too short for a trailer"))?;
    let digits = trailer
        .strip_prefix(TRAILER_PREFIX)
        .and_then(|t| t.strip_suffix(SIGNER_TRAILER_SUFFIX))
        .filter(|d| d.len() == LENGTH_DIGITS && d.iter().all(u8::is_ascii_digit))
        .ok_or_else(|| bad("trailer is not `end <10 digits> signer-signature/v1`"))?;
    let len: usize = std::str::from_utf8(digits).ok().and_then(|d| d.parse().ok()).ok_or_else(|| bad("bad length"))?;
    if !(TRAILER_LEN..=MAX_BLOCK_LEN).contains(&len) {
        return Err(bad("block length out of range"));
    }
    Ok(len)
}

/// Parses the block that ends `tail`. `tail` must hold at least the whole block; bytes
/// before the block are not looked at.
pub fn parse(tail: &[u8]) -> Result<Block, FormatError> {
    let bad = |why: &str| FormatError::Malformed(why.to_owned());
    let len = announced_len(tail)?;
    let start = tail.len().checked_sub(len).ok_or_else(|| bad("block length exceeds the data"))?;
    let block = tail.get(start..).ok_or_else(|| bad("block length exceeds the data"))?;
    let body = block.get(..len - TRAILER_LEN).ok_or_else(|| bad("block shorter than its trailer"))?;
    let rest = body.strip_prefix(HEADER).ok_or_else(|| bad("does not start with the signer-signature/v1 header"))?;
    let nl = rest.iter().position(|&b| b == b'\n').ok_or_else(|| bad("statement line is not terminated"))?;
    let (statement_bytes, rest) = rest.split_at(nl);
    let rest = rest.strip_prefix(b"\n").ok_or_else(|| bad("statement line is not terminated"))?;
    let sig_end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| bad("signature line is not terminated"))?;
    let (sig_line, rest) = rest.split_at(sig_end + 1);
    let sig_line = sig_line
        .strip_prefix(SIGNATURE_PREFIX)
        .and_then(|r| r.strip_suffix(b"\n"))
        .ok_or_else(|| bad("signature line is missing"))?;
    let timestamp = match rest {
        [] => None,
        line => Some(parse_timestamp_line(line)?),
    };
    let signature = B64.decode(sig_line).map_err(|_| bad("signature is not standard base64"))?;
    if B64.encode(&signature).as_bytes() != sig_line {
        return Err(bad("signature base64 is not canonical"));
    }
    let statement = Statement::parse(statement_bytes)?;
    let payload_len = HEADER.len() + statement_bytes.len() + 1;
    let payload = block.get(..payload_len).ok_or_else(|| bad("payload out of range"))?.to_vec();
    Ok(Block { payload, statement, signature, timestamp, len })
}

/// The token of a timestamp line: exactly [`TIMESTAMP_LINE_LEN`] bytes, canonical base64,
/// then only `.` up to the LF (so the line has one spelling).
fn parse_timestamp_line(line: &[u8]) -> Result<Vec<u8>, FormatError> {
    let bad = |why: &str| FormatError::Malformed(why.to_owned());
    if line.len() != TIMESTAMP_LINE_LEN {
        return Err(bad("extra data after the signature, or a timestamp line of the wrong length"));
    }
    let body = line
        .strip_prefix(TIMESTAMP_PREFIX)
        .and_then(|l| l.strip_suffix(b"\n"))
        .ok_or_else(|| bad("extra data after the signature (not a timestamp line)"))?;
    let end = body.iter().position(|&b| b == b'.').unwrap_or(body.len());
    let (b64, pad) = body.split_at(end);
    if !pad.iter().all(|&b| b == b'.') {
        return Err(bad("the timestamp line's padding is not only '.'"));
    }
    let token = B64.decode(b64).map_err(|_| bad("the timestamp is not standard base64"))?;
    if B64.encode(&token).as_bytes() != b64 {
        return Err(bad("the timestamp's base64 is not canonical"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{ContentDigest, STATEMENT_TYPE};
    use crate::model::{DigestAlgorithm, Platform};

    pub(crate) fn statement() -> Statement {
        Statement {
            kind: STATEMENT_TYPE.into(),
            platform: Platform::EcdsaP384Sha384,
            content: ContentDigest {
                digest_algorithm: DigestAlgorithm::Sha384,
                digest: "ab".repeat(48),
                length: 1234,
                entries: 2,
                unzipped_size: 99,
            },
            profile: "Prof_1".parse().unwrap(),
            profile_version: "AbCdEf1234".parse().unwrap(),
            job_id: None,
            signed_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            expires_at: "2027-01-01T00:00:00Z".parse().unwrap(),
            certificate_chain: vec!["AAEC".into()],
        }
    }

    fn block() -> Vec<u8> {
        let p = payload(&statement()).unwrap();
        encode(&p, &[7u8; 96], None).unwrap()
    }

    fn timestamped() -> Vec<u8> {
        let p = payload(&statement()).unwrap();
        encode(&p, &[7u8; 96], Some(&[0x30, 0x03, 0x02, 0x01, 0x01])).unwrap()
    }

    #[test]
    fn round_trip_and_length() {
        let b = block();
        let p = payload(&statement()).unwrap();
        assert_eq!(b.len(), encoded_len(p.len(), 96, false));
        let parsed = parse(&b).unwrap();
        assert_eq!(parsed.statement, statement());
        assert_eq!(parsed.signature, vec![7u8; 96]);
        assert_eq!(parsed.payload, p);
        assert_eq!(parsed.len, b.len());
        assert!(b.iter().all(|c| c.is_ascii() && (*c == b'\n' || !c.is_ascii_control())));
        assert_eq!(parsed.timestamp, None);

        let t = timestamped();
        assert_eq!(t.len(), encoded_len(p.len(), 96, true));
        let parsed = parse(&t).unwrap();
        assert_eq!(parsed.timestamp.as_deref(), Some(&[0x30, 0x03, 0x02, 0x01, 0x01][..]));
        assert_eq!((parsed.payload, parsed.signature), (p, vec![7u8; 96]));
        assert!(t.iter().all(|c| c.is_ascii() && (*c == b'\n' || !c.is_ascii_control())));
        let reserved = encode(&payload(&statement()).unwrap(), &[7; 96], Some(&[])).unwrap();
        assert_eq!(reserved.len(), t.len());
        assert_eq!(parse(&reserved).unwrap().timestamp, Some(Vec::new()));
        let most = vec![0x5a; MAX_TIMESTAMP_TOKEN];
        assert_eq!(
            parse(&encode(&payload(&statement()).unwrap(), &[7; 96], Some(&most)).unwrap()).unwrap().timestamp,
            Some(most)
        );
        assert!(encode(&payload(&statement()).unwrap(), &[7; 96], Some(&[0; MAX_TIMESTAMP_TOKEN + 1])).is_err());
    }

    #[test]
    fn bytes_before_the_block_are_not_part_of_it() {
        let mut t = b"original comment".to_vec();
        t.extend(block());
        assert_eq!(parse(&t).unwrap().len, block().len());
    }

    #[test]
    fn every_single_byte_change_is_refused_or_changes_what_is_signed() {
        for b in [block(), timestamped()] {
            let orig = parse(&b).unwrap();
            for i in 0..b.len() {
                for bit in [0x01u8, 0x20, 0x80] {
                    let mut m = b.clone();
                    m[i] ^= bit;
                    if let Ok(p) = parse(&m) {
                        assert!(
                            p.payload != orig.payload || p.signature != orig.signature || p.timestamp != orig.timestamp,
                            "byte {i} bit {bit:#x} parsed to the same block"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn non_canonical_forms_are_refused() {
        let st = String::from_utf8(statement().encode().unwrap()).unwrap();
        let spaced = st.replacen(",", ", ", 1);
        let reordered = st.replacen("\"type\":\"signer-package-statement/v1\",", "", 1).replacen(
            "}",
            ",\"type\":\"signer-package-statement/v1\"}",
            1,
        );
        for variant in [spaced, reordered] {
            let mut p = HEADER.to_vec();
            p.extend(variant.as_bytes());
            p.push(b'\n');
            let b = encode(&p, &[7u8; 96], None).unwrap();
            assert!(parse(&b).is_err());
        }
        // Non-canonical base64: with a 64-byte signature the last data character carries
        // four unused bits; setting one gives another spelling of the same bytes.
        let p = payload(&statement()).unwrap();
        let b = String::from_utf8(encode(&p, &[0u8; 64], None).unwrap()).unwrap();
        assert!(parse(b.as_bytes()).is_ok());
        let canonical = B64.encode([0u8; 64]);
        assert!(canonical.ends_with("AA=="));
        let alt = format!("{}B==", &canonical[..canonical.len() - 3]);
        assert!(parse(b.replace(&canonical, &alt).as_bytes()).is_err());
    }

    #[test]
    fn truncation_and_appending_are_refused() {
        for b in [block(), timestamped()] {
            for cut in 1..b.len() {
                assert!(parse(&b[cut..]).is_err(), "cut front {cut}");
                assert!(parse(&b[..b.len() - cut]).is_err(), "cut back {cut}");
            }
            let mut longer = b.clone();
            longer.push(b'\n');
            assert!(parse(&longer).is_err());
        }
    }

    #[test]
    fn a_timestamp_line_has_one_spelling() {
        let t = String::from_utf8(timestamped()).unwrap();
        let b64 = B64.encode([0x30, 0x03, 0x02, 0x01, 0x01]);
        // Padding other than '.', or data in it; a non-canonical token.
        for (from, to) in [("...", ".x."), (&*format!("{b64}."), &*format!("{b64} ")), (&*b64, "MAMCAQF=")] {
            let m = t.replacen(from, to, 1);
            assert_ne!(m, t);
            assert!(parse(m.as_bytes()).is_err(), "{from} -> {to}");
        }
    }
}
