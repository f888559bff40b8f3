//! PEM (RFC 7468), read strictly and written in the standard form.
//!
//! Reading follows RFC 7468's strict grammar, minus its optional leniencies: blocks
//! `-----BEGIN LABEL-----` … `-----END LABEL-----` with the same label, only base64
//! and whitespace inside (no RFC 1421 headers), only whitespace between blocks, counted
//! and size-capped before anything is decoded.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::{CryptoError, MAX_CERT_BYTES, MAX_CHAIN_CERTS};

/// The label of a certificate block.
const CERTIFICATE: &str = "CERTIFICATE";

/// The label of an unencrypted PKCS#8 private key block (RFC 7468 §10).
const PRIVATE_KEY: &str = "PRIVATE KEY";

/// Base64 characters per line when writing (RFC 7468 §2).
const LINE_CHARS: usize = 64;

/// The longest label accepted; the ones in use are at most 21 characters.
const MAX_LABEL_CHARS: usize = 64;

/// The largest PEM text read: a full chain of maximal certificates with room for line
/// breaks and whitespace. Anything larger is refused before it is scanned.
const MAX_PEM_CHARS: usize = MAX_CHAIN_CERTS * (MAX_CERT_BYTES * 2 + 128);

/// The most blocks a private key file may hold before it is refused without decoding.
const MAX_KEY_FILE_BLOCKS: usize = 4;

/// The largest PKCS#8 key decoded (Ed25519 and P-384 keys are under 200 bytes).
const MAX_KEY_BYTES: usize = 4 * 1024;

/// How to turn other key formats into the one signer reads.
const CONVERT_KEY: &str = "convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem` (signer reads only unencrypted PKCS#8 `-----BEGIN PRIVATE KEY-----` files holding an ECDSA P-256/P-384 or Ed25519 key)";

/// `der` as PEM: `-----BEGIN {label}-----`, base64 in lines of 64 characters,
/// `-----END {label}-----`, each line ending in `\n`.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    let mut out = String::with_capacity(b64.len() + b64.len() / LINE_CHARS + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for (i, c) in b64.chars().enumerate() {
        if i > 0 && i % LINE_CHARS == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    if !b64.is_empty() {
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The DER certificates of a PEM file, in order.
///
/// Refused: no certificate, a block of another label, text other than whitespace
/// between blocks, more than [`MAX_CHAIN_CERTS`] certificates, a certificate over
/// [`MAX_CERT_BYTES`], and a block that is not exactly one X.509 certificate.
pub fn parse_pem_certs(pem: &str) -> Result<Vec<Vec<u8>>, CryptoError> {
    let blocks = blocks(pem, MAX_CHAIN_CERTS)?;
    if blocks.is_empty() {
        return Err(CryptoError::pem("no certificate found: expected one or more -----BEGIN CERTIFICATE----- blocks"));
    }
    let mut certs = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        let n = i + 1;
        if block.label != CERTIFICATE {
            return Err(CryptoError::pem(format!(
                "block {n} is a {} block; a certificate file holds only CERTIFICATE blocks",
                block.label
            )));
        }
        let der = decode(block.body, MAX_CERT_BYTES).map_err(|e| CryptoError::pem(format!("certificate {n}: {e}")))?;
        super::cert::cert_info(&der).map_err(|e| CryptoError::pem(format!("certificate {n}: {e}")))?;
        certs.push(der.to_vec());
    }
    Ok(certs)
}

/// The DER SubjectPublicKeyInfo of the one `PUBLIC KEY` block of a PEM text (what
/// `openssl pkey -pubout` and `signer admin keygen` write), checked to be a key signer
/// verifies with.
pub fn parse_pem_public_key(pem: &str) -> Result<Vec<u8>, CryptoError> {
    match blocks(pem, 1)?.as_slice() {
        [one] if one.label == "PUBLIC KEY" => {
            let der =
                decode(one.body, MAX_KEY_BYTES).map_err(|e| CryptoError::key(format!("the PUBLIC KEY block: {e}")))?;
            super::keys::spki_parts(&der)?;
            Ok(der.to_vec())
        }
        _ => Err(CryptoError::key("expected one -----BEGIN PUBLIC KEY----- block")),
    }
}

/// The DER of the one `PRIVATE KEY` block of a key file, zeroized on drop.
pub(crate) fn decode_private_key(pem: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let blocks = blocks(pem, MAX_KEY_FILE_BLOCKS).map_err(|e| match e {
        CryptoError::BadPem { reason } => CryptoError::key(format!("{reason}; {CONVERT_KEY}")),
        other => other,
    })?;
    match blocks.as_slice() {
        [] => Err(CryptoError::key(format!("no PEM block found: expected -----BEGIN PRIVATE KEY-----; {CONVERT_KEY}"))),
        [one] if one.label == PRIVATE_KEY => {
            decode(one.body, MAX_KEY_BYTES).map_err(|e| CryptoError::key(format!("the PRIVATE KEY block: {e}")))
        }
        [one] => Err(CryptoError::key(format!("the file holds a {} block; {CONVERT_KEY}", one.label))),
        many => {
            // `openssl ecparam -genkey` writes EC PARAMETERS before EC PRIVATE KEY: name
            // the key block, which is what needs converting.
            let labels: Vec<&str> = many.iter().map(|b| b.label).collect();
            Err(CryptoError::key(format!(
                "the file holds {} PEM blocks ({}); a key file holds exactly one PRIVATE KEY block: {CONVERT_KEY}",
                labels.len(),
                labels.join(", ")
            )))
        }
    }
}

/// One `-----BEGIN LABEL-----` … `-----END LABEL-----` block, not yet decoded.
struct Block<'a> {
    label: &'a str,
    body: &'a str,
}

/// Splits `text` into at most `max` blocks; only whitespace may surround them.
fn blocks(text: &str, max: usize) -> Result<Vec<Block<'_>>, CryptoError> {
    if text.len() > MAX_PEM_CHARS {
        return Err(CryptoError::pem(format!(
            "the PEM text is {} bytes, more than the {MAX_PEM_CHARS} a chain of {MAX_CHAIN_CERTS} certificates needs",
            text.len()
        )));
    }
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(out);
        }
        let n = out.len() + 1;
        let Some(after_begin) = rest.strip_prefix("-----BEGIN ") else {
            return Err(CryptoError::pem(if out.is_empty() {
                "text before the first -----BEGIN line; a PEM file holds only blocks and whitespace".to_owned()
            } else {
                format!("text after block {}; a PEM file holds only blocks and whitespace", out.len())
            }));
        };
        let (label, after_label) = after_begin
            .split_once("-----")
            .ok_or_else(|| CryptoError::pem(format!("block {n}: the -----BEGIN line does not end in -----")))?;
        let label_ok = !label.is_empty()
            && label.len() <= MAX_LABEL_CHARS
            && label.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'-');
        if !label_ok {
            return Err(CryptoError::pem(format!("block {n}: the -----BEGIN line has no valid label")));
        }
        let end = format!("-----END {label}-----");
        let (body, after_end) = after_label
            .split_once(end.as_str())
            .ok_or_else(|| CryptoError::pem(format!("block {n} ({label}) has no {end} line")))?;
        let (first_line, _) = body.split_once('\n').unwrap_or((body, ""));
        if !first_line.trim().is_empty() {
            return Err(CryptoError::pem(format!("block {n} ({label}): text after the -----BEGIN line")));
        }
        if !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=' || b.is_ascii_whitespace())
        {
            return Err(CryptoError::pem(format!(
                "block {n} ({label}) holds something other than base64 (headers, another block, or a mismatched END line)"
            )));
        }
        if out.len() == max {
            return Err(CryptoError::pem(format!("more than {max} PEM blocks")));
        }
        out.push(Block { label, body });
        rest = after_end;
    }
}

/// Decodes a block body (base64 with whitespace) of at most `max` bytes; zeroized on drop,
/// as it may be a key. The text is checked to be base64 by [`blocks`].
fn decode(body: &str, max: usize) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut b64 = Zeroizing::new(String::with_capacity(body.len()));
    b64.extend(body.chars().filter(|c| !c.is_ascii_whitespace()));
    if b64.len() > max.div_ceil(3) * 4 {
        return Err(format!("larger than the {max} bytes allowed"));
    }
    // Sized up front so decoding never reallocates and leaves a copy behind.
    let mut der = Zeroizing::new(Vec::with_capacity(b64.len()));
    STANDARD
        .decode_vec(b64.as_bytes(), &mut der)
        .map_err(|_| "the base64 is malformed (bad padding or length)".to_owned())?;
    if der.is_empty() {
        return Err("the block is empty".to_owned());
    }
    if der.len() > max {
        return Err(format!("larger than the {max} bytes allowed"));
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{SecretKey, create_root_ca};
    use crate::model::{Platform, Timestamp};

    fn root_pem() -> (Vec<u8>, String) {
        let (der, _) = create_root_ca(Timestamp::from_unix(1_800_000_000)).unwrap();
        let pem = to_pem("CERTIFICATE", &der);
        (der, pem)
    }

    #[test]
    fn pem_is_written_in_64_column_lines() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = to_pem("CERTIFICATE", &der);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(*lines.last().unwrap(), "-----END CERTIFICATE-----");
        assert!(lines[1..lines.len() - 2].iter().all(|l| l.len() == 64));
        assert!(lines[lines.len() - 2].len() <= 64);
        assert!(pem.ends_with("-----\n"));
        assert_eq!(&*decode(&lines[1..lines.len() - 1].join("\n"), 1024).unwrap(), &der);
        assert_eq!(to_pem("X", &[]), "-----BEGIN X-----\n-----END X-----\n");
    }

    #[test]
    fn certificates_round_trip_in_order() {
        let (a, pa) = root_pem();
        let (b, pb) = root_pem();
        assert_eq!(parse_pem_certs(&format!("{pa}{pb}")).unwrap(), vec![a.clone(), b.clone()]);
        // CRLF line ends and blank lines between blocks are fine.
        let crlf = format!("\r\n{}\r\n\r\n{}", pa.replace('\n', "\r\n"), pb.replace('\n', "\r\n"));
        assert_eq!(parse_pem_certs(&crlf).unwrap(), vec![a, b]);
    }

    #[test]
    fn everything_else_is_refused() {
        let (_, pem) = root_pem();
        let key = SecretKey::generate(Platform::Ed25519).unwrap();
        let key_pem = key.to_pkcs8_pem();
        let body = pem.lines().nth(1).unwrap().to_owned();
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "no certificate"),
            ("   \n".to_owned(), "no certificate"),
            (format!("hello\n{pem}"), "before the first"),
            (format!("{pem}trailing"), "after block 1"),
            (format!("{pem}{}", &*key_pem), "PRIVATE KEY block"),
            (pem.repeat(MAX_CHAIN_CERTS + 1), "more than 8"),
            (pem.replace("-----END CERTIFICATE-----", "-----END PRIVATE KEY-----"), "no -----END CERTIFICATE-----"),
            (pem.replace(&body, &format!("Proc-Type: 4,ENCRYPTED\n{body}")), "other than base64"),
            (pem.replace(&body, &body[1..]), "base64 is malformed"),
            (pem.replace("-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE----- x"), "after the -----BEGIN"),
            ("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".to_owned(), "empty"),
            (to_pem("CERTIFICATE", b"not a certificate"), "certificate 1"),
            (to_pem("CERTIFICATE", &vec![0x30; MAX_CERT_BYTES + 1]), "larger than"),
            ("-----BEGIN certificate-----\n-----END certificate-----\n".to_owned(), "no valid label"),
        ];
        for (text, want) in cases {
            let e = parse_pem_certs(&text).err().unwrap_or_else(|| panic!("accepted: {want}"));
            assert!(matches!(e, CryptoError::BadPem { .. }), "{e}");
            assert!(e.to_string().contains(want), "{e} (wanted {want:?})");
        }
        assert!(parse_pem_certs(&" ".repeat(MAX_PEM_CHARS + 1)).is_err());
    }

    #[test]
    fn other_private_key_forms_are_refused_with_the_conversion_hint() {
        let b64 = "MHcCAQEEIBWl3y1vYd5zB8Jb7x1ZsK4e8G0e0VJqvKq7Kk7gLw0qoAoGCCqGSM49";
        for label in ["EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"] {
            let pem = format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n");
            let e = SecretKey::from_pkcs8_pem(&pem).err().unwrap().to_string();
            assert!(e.contains(label) && e.contains("openssl pkcs8 -topk8 -nocrypt"), "{e}");
            assert!(!e.contains(b64), "{e}");
        }
        let two = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n-----BEGIN EC PRIVATE KEY-----\n{b64}\n-----END EC PRIVATE KEY-----\n"
        );
        let e = SecretKey::from_pkcs8_pem(&two).err().unwrap().to_string();
        assert!(e.contains("EC PARAMETERS, EC PRIVATE KEY") && e.contains("openssl pkcs8 -topk8 -nocrypt"), "{e}");
        for garbage in ["", "garbage", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"] {
            let e = SecretKey::from_pkcs8_pem(garbage).err().unwrap();
            assert!(matches!(e, CryptoError::BadKey { .. }), "{e}");
        }
    }
}
