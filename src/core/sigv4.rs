//! AWS Signature Version 4, the verifying side: what `signer serve` checks of every
//! request before it reads anything else (issue 17, point 3).
//!
//! The canonical request is rebuilt from the request as received, never from what the
//! client says it signed: the method; the path URI-encoded as received (so a path the
//! client sent encoded once is encoded a second time, `%3A` → `%253A`, as botocore signs
//! it for every service but S3); the query decoded and re-encoded, sorted; the signed
//! headers lowercased, their values trimmed with inner runs of spaces collapsed and
//! repeated headers joined with `,`; and the SHA-256 of the body the server read. The
//! signature is compared in constant time. `host` and `x-amz-date` must be signed, the
//! credential's scope must name the date of `x-amz-date`, the region and the service the
//! route belongs to, and the time must be within [`MAX_SKEW_SECS`] of the server's.
//!
//! Checked against the AWS Signature Version 4 test suite (`fixtures/aws-sigv4-test-suite`,
//! from aws-c-auth, Apache-2.0) in `tests/it/sigv4.rs`.

use std::collections::BTreeMap;

use crate::model::Timestamp;

/// The one algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's `x-amz-date` may be from the server's clock, either way (AWS: 15
/// minutes). A request replayed later than that is refused.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `GET`, `POST`…
    pub method: &'a str,
    /// The path as received (still percent-encoded), without the query.
    pub path: &'a str,
    /// The query as received, without `?` ("" for none).
    pub query: &'a str,
    /// Every header, names as received, in the order received.
    pub headers: &'a [(String, String)],
    /// Lowercase hex SHA-256 of the body the server read.
    pub body_sha256: &'a str,
}

/// Why a request is refused, each with the error type AWS answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No `Authorization` header.
    #[error("missing authentication token: sign the request with AWS Signature Version 4")]
    Missing,
    /// An `Authorization` header or `X-Amz-Date` that does not parse.
    #[error("{0}")]
    Incomplete(String),
    /// An access key this server does not know.
    #[error("the security token included in the request is invalid: no access key {0} (see `signer access-key list`)")]
    UnknownKey(String),
    /// The scope, the time or the signature is wrong.
    #[error("{0}")]
    Invalid(String),
}

impl SigV4Error {
    /// The error type AWS answers, as clients read it (`x-amzn-ErrorType`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "MissingAuthenticationTokenException",
            Self::Incomplete(_) => "IncompleteSignatureException",
            Self::UnknownKey(_) => "UnrecognizedClientException",
            Self::Invalid(_) => "InvalidSignatureException",
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id.
    pub access_key_id: String,
    /// The scope's date, `YYYYMMDD`.
    pub date: String,
    /// The scope's region.
    pub region: String,
    /// The scope's service.
    pub service: String,
    /// The signed headers, lowercase, as listed.
    pub signed_headers: Vec<String>,
    /// The signature, lowercase hex.
    pub signature: String,
}

const BAD_CREDENTIAL: &str = "has a Credential that is not KEY/DATE/REGION/SERVICE/aws4_request";

impl Authorization {
    /// Parses the header's value.
    pub fn parse(value: &str) -> Result<Self, SigV4Error> {
        let bad = |why: &str| SigV4Error::Incomplete(format!("the Authorization header {why}"));
        let rest = value
            .strip_prefix(ALGORITHM)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or_else(|| bad(&format!("must start with {ALGORITHM}")))?;
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for part in rest.split(',').map(str::trim) {
            let (k, v) = part.split_once('=').ok_or_else(|| bad("has a part without '='"))?;
            if fields.insert(k, v).is_some() {
                return Err(bad(&format!("names {k} twice")));
            }
        }
        let field = |k: &str| fields.get(k).copied().ok_or_else(|| bad(&format!("lacks {k}")));
        let credential: Vec<&str> = field("Credential")?.split('/').collect();
        let [key, date, region, service, "aws4_request"] = credential[..] else {
            return Err(bad(BAD_CREDENTIAL));
        };
        if key.is_empty() || date.len() != 8 || region.is_empty() || service.is_empty() {
            return Err(bad(BAD_CREDENTIAL));
        }
        let signed_headers: Vec<String> = field("SignedHeaders")?.split(';').map(str::to_owned).collect();
        let signature = field("Signature")?;
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("has a Signature that is not 64 hex digits"));
        }
        Ok(Self {
            access_key_id: key.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            signed_headers,
            signature: signature.to_ascii_lowercase(),
        })
    }

    /// `DATE/REGION/SERVICE/aws4_request`.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }
}

/// URI-encodes every byte but RFC 3986's unreserved ones (and `/` when `keep_slash`).
fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (a `%` not followed by two hex digits stays as it is).
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The canonical URI: with `normalize`, dot segments removed and runs of `/` collapsed
/// (RFC 3986 §5.2.4, as AWS services other than S3 do); then URI-encoded as received.
fn canonical_uri(path: &str, normalize: bool) -> String {
    let path = if path.is_empty() { "/" } else { path };
    if !normalize {
        return uri_encode(path.as_bytes(), true);
    }
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        match seg {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing = path.ends_with('/') && !segments.is_empty();
    let joined = format!("/{}{}", segments.join("/"), if trailing { "/" } else { "" });
    uri_encode(joined.as_bytes(), true)
}

/// The canonical query: each name and value decoded and re-encoded, sorted by name then
/// value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(&percent_decode(k), false), uri_encode(&percent_decode(v), false))
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// A header value as signed: trimmed, inner runs of whitespace one space.
fn canonical_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical request over `signed` (lowercase header names, in the order listed).
pub fn canonical_request(req: &Request<'_>, signed: &[String], normalize: bool) -> Result<String, SigV4Error> {
    let mut lines = String::new();
    for name in signed {
        let values: Vec<String> =
            req.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| canonical_value(v)).collect();
        if values.is_empty() {
            return Err(SigV4Error::Invalid(format!("the signed header {name} is not in the request")));
        }
        lines.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Ok(format!(
        "{}\n{}\n{}\n{lines}\n{}\n{}",
        req.method,
        canonical_uri(req.path, normalize),
        canonical_query(req.query),
        signed.join(";"),
        req.body_sha256
    ))
}

/// The string to sign.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, canonical_request.as_bytes()));
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{hash}")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), data).as_ref().to_vec()
}

/// The signing key of `secret` for the scope of `auth`.
fn signing_key(secret: &str, auth: &Authorization) -> ring::hmac::Key {
    let k_date = zeroize::Zeroizing::new(hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes()));
    let k_region = zeroize::Zeroizing::new(hmac(&k_date, auth.region.as_bytes()));
    let k_service = zeroize::Zeroizing::new(hmac(&k_region, auth.service.as_bytes()));
    let k_signing = zeroize::Zeroizing::new(hmac(&k_service, b"aws4_request"));
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &k_signing)
}

/// The signature of `string_to_sign` under `secret` for the scope of `auth` (what a
/// client sends).
pub fn signature(secret: &str, auth: &Authorization, string_to_sign: &str) -> String {
    hex::encode(ring::hmac::sign(&signing_key(secret, auth), string_to_sign.as_bytes()))
}

/// What a request is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The service of the route (`signer`, `lambda`).
    pub service: &'a str,
    /// The server's region.
    pub region: &'a str,
    /// The server's time.
    pub now: Timestamp,
    /// Whether the path is normalized before it is encoded (AWS services but S3).
    pub normalize: bool,
}

/// Verifies `req` and returns the access key that signed it; `secret_of` gives a key's
/// secret (`None`: no such key).
pub fn verify(
    req: &Request<'_>,
    expect: Expect<'_>,
    secret_of: impl FnOnce(&str) -> Option<zeroize::Zeroizing<String>>,
) -> Result<String, SigV4Error> {
    let header = |name: &str| req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let auth = Authorization::parse(header("authorization").ok_or(SigV4Error::Missing)?)?;
    for needed in ["host", "x-amz-date"] {
        if !auth.signed_headers.iter().any(|h| h == needed) {
            return Err(SigV4Error::Invalid(format!("the {needed} header must be signed")));
        }
    }
    let amz_date =
        header("x-amz-date").ok_or_else(|| SigV4Error::Incomplete("the request has no X-Amz-Date".into()))?;
    let at = parse_amz_date(amz_date)
        .ok_or_else(|| SigV4Error::Incomplete(format!("X-Amz-Date {amz_date} is not YYYYMMDDTHHMMSSZ")))?;
    if (at.unix() - expect.now.unix()).abs() > MAX_SKEW_SECS {
        return Err(SigV4Error::Invalid(format!(
            "Signature expired: {amz_date} is more than {} minutes from the server's time {}",
            MAX_SKEW_SECS / 60,
            expect.now
        )));
    }
    if amz_date.get(..8) != Some(auth.date.as_str()) {
        return Err(SigV4Error::Invalid(format!(
            "the credential's date {} is not that of X-Amz-Date {amz_date}",
            auth.date
        )));
    }
    if auth.service != expect.service {
        return Err(SigV4Error::Invalid(format!(
            "Credential should be scoped to correct service: '{}'",
            expect.service
        )));
    }
    if auth.region != expect.region {
        return Err(SigV4Error::Invalid(format!("Credential should be scoped to a valid region: '{}'", expect.region)));
    }
    if let Some(claimed) = header("x-amz-content-sha256")
        && claimed != req.body_sha256
    {
        return Err(SigV4Error::Invalid("the body's SHA-256 is not the X-Amz-Content-Sha256 sent".into()));
    }
    let secret = secret_of(&auth.access_key_id).ok_or_else(|| SigV4Error::UnknownKey(auth.access_key_id.clone()))?;
    let canonical = canonical_request(req, &auth.signed_headers, expect.normalize)?;
    let sts = string_to_sign(amz_date, &auth.scope(), &canonical);
    // ring's HMAC verification compares in constant time: a timing oracle would let a
    // caller guess the signature byte by byte.
    let given = hex::decode(&auth.signature).unwrap_or_default();
    if ring::hmac::verify(&signing_key(&secret, &auth), sts.as_bytes(), &given).is_err() {
        return Err(SigV4Error::Invalid(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.".into(),
        ));
    }
    Ok(auth.access_key_id)
}

/// `YYYYMMDDTHHMMSSZ` as a time.
pub fn parse_amz_date(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| s.get(r).filter(|d| d.bytes().all(|c| c.is_ascii_digit()));
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        digits(0..4)?,
        digits(4..6)?,
        digits(6..8)?,
        digits(9..11)?,
        digits(11..13)?,
        digits(13..15)?
    );
    rfc3339.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_as_received_so_an_encoded_path_is_encoded_twice() {
        assert_eq!(canonical_uri("/signing-profiles/a%3Ab", false), "/signing-profiles/a%253Ab");
        assert_eq!(canonical_uri("/example space/", true), "/example%20space/");
        assert_eq!(canonical_uri("//a/./b/../c//", true), "/a/c/");
        assert_eq!(canonical_uri("", true), "/");
    }

    #[test]
    fn queries_are_decoded_re_encoded_and_sorted() {
        assert_eq!(canonical_query("b=2&a=%7e&a=1&c"), "a=1&a=~&b=2&c=");
        assert_eq!(canonical_query("x=a%20b&y=a+b"), "x=a%20b&y=a%2Bb");
    }

    #[test]
    fn authorization_headers_are_parsed_strictly() {
        let sig = "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500";
        let ok = format!(
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/signer/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}"
        );
        let a = Authorization::parse(&ok).unwrap();
        assert_eq!((a.service.as_str(), a.signed_headers.len()), ("signer", 2));
        for bad in [
            format!(
                "AWS4-HMAC-SHA1 Credential=AKID/20150830/us-east-1/signer/aws4_request, SignedHeaders=host, Signature={sig}"
            ),
            format!("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/signer, SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/signer/aws4_request, Signature={sig}"),
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/signer/aws4_request, SignedHeaders=host, Signature=zz"
                .to_owned(),
            format!("{ok}, Signature={sig}"),
        ] {
            assert_eq!(Authorization::parse(&bad).unwrap_err().code(), "IncompleteSignatureException", "{bad}");
        }
    }

    #[test]
    fn amz_dates_parse_exactly() {
        assert_eq!(parse_amz_date("20150830T123600Z").unwrap().to_string(), "2015-08-30T12:36:00Z");
        for bad in ["2015-08-30T12:36:00Z", "20150830T123600", "20151330T123600Z", "2015083OT123600Z"] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
    }
}
