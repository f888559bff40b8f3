//! The translations between signer's model and the AWS wire shapes, pure: platform ids,
//! ARNs, validity periods, statuses, object URLs and paging tokens.

use base64::Engine as _;

use crate::jobs::JobStatus;
use crate::model::{Platform, ProfileName, Validity, VersionId};

/// The platform id AWS Lambda's clients send for ECDSA P-384 with SHA-384: a naming alias
/// of signer's `ECDSA-P384-SHA384` only. Signatures made here are signer's, which AWS
/// Lambda does not verify.
pub const LAMBDA_PLATFORM_ID: &str = "AWSLambda-SHA384-ECDSA";

/// The id a platform has on the wire.
pub fn platform_id(p: Platform) -> &'static str {
    match p {
        Platform::EcdsaP384Sha384 => LAMBDA_PLATFORM_ID,
        other => other.as_str(),
    }
}

/// The platform a wire id names: the Lambda alias or one of signer's own names.
pub fn parse_platform_id(s: &str) -> Option<Platform> {
    Platform::ALL.into_iter().find(|p| platform_id(*p) == s || p.as_str() == s)
}

/// How a platform is shown to people.
pub fn display_name(p: Platform) -> String {
    format!("signer {} (zip packages)", p.as_str())
}

/// The wire's encryption and hash algorithm names of a platform.
pub fn algorithms(p: Platform) -> (&'static str, &'static str) {
    match p {
        Platform::EcdsaP384Sha384 => ("ECDSA", "SHA384"),
        Platform::EcdsaP256Sha256 => ("ECDSA", "SHA256"),
        Platform::Ed25519 => ("Ed25519", "SHA384"),
    }
}

/// Builds the ARNs of one server: its account id and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arns {
    /// The account id ARNs carry (12 digits).
    pub account_id: String,
    /// The region ARNs carry and requests must be signed for.
    pub region: String,
}

impl Arns {
    fn signer(&self, resource: &str) -> String {
        format!("arn:aws:signer:{}:{}:{resource}", self.region, self.account_id)
    }

    /// `arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME`.
    pub fn profile(&self, name: &ProfileName) -> String {
        self.signer(&format!("/signing-profiles/{name}"))
    }

    /// `arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME/VERSION`.
    pub fn profile_version(&self, name: &ProfileName, version: &VersionId) -> String {
        self.signer(&format!("/signing-profiles/{name}/{version}"))
    }

    /// `arn:aws:signer:REGION:ACCOUNT:/signing-jobs/ID`.
    pub fn job(&self, id: &str) -> String {
        self.signer(&format!("/signing-jobs/{id}"))
    }

    /// The profile an ARN of this server names (with its version when the ARN has one);
    /// `None` for any other ARN, another account's or region's among them.
    pub fn parse_profile(&self, arn: &str) -> Option<(ProfileName, Option<VersionId>)> {
        let rest = arn.strip_prefix(&self.signer("/signing-profiles/"))?;
        let mut parts = rest.split('/');
        let name = parts.next()?.parse().ok()?;
        let version = parts.next().map(str::parse).transpose().ok()?;
        parts.next().is_none().then_some((name, version))
    }
}

impl Arns {
    fn lambda(&self, resource: &str) -> String {
        format!("arn:aws:lambda:{}:{}:{resource}", self.region, self.account_id)
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME`.
    pub fn layer(&self, name: &str) -> String {
        self.lambda(&format!("layer:{name}"))
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N`.
    pub fn layer_version(&self, name: &str, n: u64) -> String {
        format!("{}:{n}", self.layer(name))
    }

    /// The layer name and version a layer version ARN of this server names.
    pub fn parse_layer_version(&self, arn: &str) -> Option<(String, u64)> {
        let rest = arn.strip_prefix(&self.lambda("layer:"))?;
        let (name, n) = rest.rsplit_once(':')?;
        Some((name.to_owned(), n.parse().ok()?))
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:code-signing-config:ID`.
    pub fn csc(&self, id: &str) -> String {
        self.lambda(&format!("code-signing-config:{id}"))
    }

    /// The config id an ARN of this server names, or the id itself when given bare.
    pub fn parse_csc<'a>(&self, arn_or_id: &'a str) -> Option<&'a str> {
        let prefix = self.lambda("code-signing-config:");
        match arn_or_id.strip_prefix(prefix.as_str()) {
            Some(id) => Some(id),
            None if !arn_or_id.starts_with("arn:") => Some(arn_or_id),
            None => None,
        }
    }
}

/// A time as Lambda writes it: `2026-12-02T06:30:00.000+0000`.
pub fn lambda_time(t: crate::model::Timestamp) -> String {
    let d = t.to_offset();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000+0000",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// A SHA-256 in hex as Lambda's `CodeSha256`: the digest's bytes in base64.
pub fn code_sha256(hex_digest: &str) -> String {
    hex::decode(hex_digest).map_or_else(|_| String::new(), |b| base64::engine::general_purpose::STANDARD.encode(b))
}

/// A validity period as `signatureValidityPeriod` carries it: value and type.
pub fn validity_to_wire(v: Validity) -> (u32, &'static str) {
    match v {
        Validity::Days(d) => (d, "DAYS"),
        Validity::Months(m) => (m, "MONTHS"),
        Validity::Years(y) => (y, "YEARS"),
    }
}

/// A `signatureValidityPeriod`, checked against signer's limit (135 months, as AWS).
pub fn validity_from_wire(value: i64, kind: &str) -> Result<Validity, String> {
    let n = u32::try_from(value).ok().filter(|n| *n > 0).ok_or_else(|| format!("value {value} must be positive"))?;
    let v = match kind {
        "DAYS" => Validity::Days(n),
        "MONTHS" => Validity::Months(n),
        "YEARS" => Validity::Years(n),
        other => return Err(format!("type {other} is not DAYS, MONTHS or YEARS")),
    };
    if v.days() > Validity::MAX.days() {
        return Err(format!("{value} {kind} is longer than the most, 135 MONTHS"));
    }
    Ok(v)
}

/// A job's status on the wire: Signer's enum has no `Submitted`, which is `InProgress`.
pub fn job_status(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Submitted | JobStatus::InProgress => "InProgress",
        JobStatus::Succeeded => "Succeeded",
        JobStatus::Failed => "Failed",
    }
}

/// The bucket and key of an `s3://` URL; `None` for another scheme.
pub fn split_s3(url: &str) -> Option<(&str, &str)> {
    url.strip_prefix("s3://")?.split_once('/')
}

/// One page of `items`, listed in the order of `key` (each item's key unique): those
/// whose key comes after the one `token` names, at most `max`, and the token of the next
/// page if there is one. A token is opaque to clients (base64 of the last key shown) and
/// names a place in the order, not an item: items that appear or vanish between pages
/// (a job that ended, under a status filter) neither shift the next page nor break it.
pub fn page<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    token: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let after = token
        .map(|t| {
            b64.decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| format!("nextToken {t} is not one this server gave"))
        })
        .transpose()?;
    items.sort_by_cached_key(|i| key(i));
    let mut rest: Vec<T> = items.into_iter().filter(|i| after.as_ref().is_none_or(|a| key(i) > *a)).collect();
    let more = rest.len() > max;
    rest.truncate(max);
    let next = if more { rest.last().map(|l| b64.encode(key(l))) } else { None };
    Ok((rest, next))
}

/// A key that lists newest first: later times, then larger ids, sort first.
pub fn newest_first(at: crate::model::Timestamp, id: &str) -> String {
    let inverted: String =
        id.chars().map(|c| c.to_digit(16).and_then(|d| char::from_digit(15 - d, 16)).unwrap_or(c)).collect();
    format!("{:020}{inverted}", i64::MAX.saturating_sub(at.unix()))
}

/// A key that lists numbers from the largest down.
pub fn largest_first(n: u64) -> String {
    format!("{:020}", u64::MAX - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lambda_platform_id_is_an_alias_of_ecdsa_p384() {
        assert_eq!(parse_platform_id("AWSLambda-SHA384-ECDSA"), Some(Platform::EcdsaP384Sha384));
        assert_eq!(parse_platform_id("ECDSA-P384-SHA384"), Some(Platform::EcdsaP384Sha384));
        assert_eq!(parse_platform_id("Ed25519"), Some(Platform::Ed25519));
        assert_eq!(parse_platform_id("AWSIoTDeviceManagement-SHA256-ECDSA"), None);
        for p in Platform::ALL {
            assert_eq!(parse_platform_id(platform_id(p)), Some(p));
        }
    }

    #[test]
    fn arns_of_another_account_or_region_are_not_ours() {
        let arns = Arns { account_id: "123456789012".into(), region: "eu-west-1".into() };
        let name: ProfileName = "MyApp".parse().unwrap();
        let version: VersionId = "AbCdE12345".parse().unwrap();
        let arn = arns.profile_version(&name, &version);
        assert_eq!(arn, "arn:aws:signer:eu-west-1:123456789012:/signing-profiles/MyApp/AbCdE12345");
        assert_eq!(arns.parse_profile(&arn), Some((name.clone(), Some(version))));
        assert_eq!(arns.parse_profile(&arns.profile(&name)), Some((name, None)));
        assert_eq!(arns.parse_profile(&arn.replace("eu-west-1", "us-east-1")), None);
        assert_eq!(arns.parse_profile(&arn.replace("123456789012", "210987654321")), None);
        assert_eq!(arns.parse_profile(&format!("{arn}/extra")), None);
    }

    #[test]
    fn lambda_arns_times_and_digests_are_in_lambdas_shapes() {
        let arns = Arns { account_id: "123456789012".into(), region: "us-east-1".into() };
        let arn = arns.layer_version("greet", 3);
        assert_eq!(arn, "arn:aws:lambda:us-east-1:123456789012:layer:greet:3");
        assert_eq!(arns.parse_layer_version(&arn), Some(("greet".into(), 3)));
        assert_eq!(arns.parse_layer_version("arn:aws:lambda:eu-west-1:123456789012:layer:greet:3"), None);
        let csc = arns.csc("csc-0123456789abcdef0");
        assert_eq!(arns.parse_csc(&csc), Some("csc-0123456789abcdef0"));
        assert_eq!(arns.parse_csc("csc-0123456789abcdef0"), Some("csc-0123456789abcdef0"));
        assert_eq!(arns.parse_csc(&csc.replace("123456789012", "000000000000")), None);
        assert_eq!(lambda_time(crate::model::Timestamp::from_unix(0)), "1970-01-01T00:00:00.000+0000");
        // SHA-256 of the empty string, as Lambda shows it.
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(code_sha256(empty), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn validity_periods_round_trip_and_are_bounded() {
        for v in [Validity::Days(30), Validity::Months(135), Validity::Years(5)] {
            let (n, t) = validity_to_wire(v);
            assert_eq!(validity_from_wire(i64::from(n), t), Ok(v));
        }
        assert!(validity_from_wire(136, "MONTHS").is_err());
        assert!(validity_from_wire(0, "DAYS").is_err());
        assert!(validity_from_wire(-1, "DAYS").is_err());
        assert!(validity_from_wire(1, "WEEKS").is_err());
    }

    #[test]
    fn submitted_is_in_progress_on_the_wire() {
        assert_eq!(job_status(JobStatus::Submitted), "InProgress");
        assert_eq!(job_status(JobStatus::Succeeded), "Succeeded");
    }

    #[test]
    fn pages_follow_each_other_without_loss_or_repeat() {
        let items: Vec<u32> = (1..=7).collect();
        let mut token: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let (got, next) = page(items.clone(), u32::to_string, token.as_deref(), 3).unwrap();
            seen.extend(got);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, items);
        // A new item before the page already shown does not shift the next page, and the
        // last item shown vanishing does not break it.
        let (first, next) = page(items.clone(), u32::to_string, None, 3).unwrap();
        let mut changed = vec![0];
        changed.extend(items.iter().filter(|i| **i != 3));
        let (second, _) = page(changed, u32::to_string, next.as_deref(), 3).unwrap();
        assert_eq!((first, second), (vec![1, 2, 3], vec![4, 5, 6]));
        assert!(page(items, u32::to_string, Some("not base64!"), 3).is_err());
    }

    #[test]
    fn newest_first_keys_sort_later_times_and_larger_ids_first() {
        let t = crate::model::Timestamp::from_unix;
        let mut keys =
            vec![newest_first(t(100), "0000-a"), newest_first(t(200), "0000-a"), newest_first(t(100), "ffff-b")];
        keys.sort();
        assert_eq!(
            keys,
            [newest_first(t(200), "0000-a"), newest_first(t(100), "ffff-b"), newest_first(t(100), "0000-a")]
        );
        assert!(largest_first(5) < largest_first(4));
    }
}
