//! Times (RFC 3339, UTC, whole seconds) and signature validity periods.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::NameError;

/// A point in time, whole seconds since the Unix epoch, shown as RFC 3339 in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From seconds since the epoch.
    pub const fn from_unix(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// This time plus `secs` seconds (saturating).
    pub fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// As a `time` value (for certificates).
    pub fn to_offset(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// As webpki's time.
    pub fn to_pki(self) -> rustls_pki_types::UnixTime {
        rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(self.0.max(0).unsigned_abs()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_offset().format(&Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "@{}", self.0),
        }
    }
}

impl FromStr for Timestamp {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, NameError> {
        OffsetDateTime::parse(s, &Rfc3339).map(|t| Self(t.unix_timestamp())).map_err(|_| NameError {
            kind: "time",
            value: s.chars().take(80).collect(),
            rule: "an RFC 3339 time such as 2026-01-31T12:00:00Z",
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// What [`parse_secs`] reads, for messages.
pub const DURATION_SYNTAX: &str = "a duration such as 90s, 30m, 12h, 7d, 2w or 1h30m (or bare seconds, 300)";

/// A span of time as every flag that takes one reads it: humantime's syntax, a number and
/// a unit or several (`90s`, `30m`, `12h`, `7d`, `2w`, `1h30m`, `30days`; `m` is minutes,
/// `M` months), or bare seconds (`300`). Whole seconds only; `kind` names the value in
/// the error.
pub fn parse_secs(s: &str, kind: &'static str) -> Result<u64, NameError> {
    let bad = |rule: &'static str| NameError { kind, value: s.chars().take(40).collect(), rule };
    if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| bad(DURATION_SYNTAX));
    }
    let d = humantime::parse_duration(s).map_err(|_| bad(DURATION_SYNTAX))?;
    if d.subsec_nanos() != 0 {
        return Err(bad("whole seconds (90s, not 1500ms)"));
    }
    Ok(d.as_secs())
}

/// How long a signature stays valid: 1 day to 135 months (SPEC §2), default 135 months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// A number of days.
    Days(u32),
    /// A number of months (30 days each, as in the expiry arithmetic below).
    Months(u32),
    /// A number of years (12 months each).
    Years(u32),
}

impl Validity {
    /// The longest validity, and the default.
    pub const MAX: Validity = Validity::Months(135);
    const DAY: i64 = 86_400;

    /// The period in days; a month counts 30 days, as AWS Signer's does.
    pub fn days(self) -> i64 {
        match self {
            Self::Days(d) => i64::from(d),
            Self::Months(m) => i64::from(m) * 30,
            Self::Years(y) => i64::from(y) * 12 * 30,
        }
    }

    /// The period in seconds.
    pub fn secs(self) -> i64 {
        self.days() * Self::DAY
    }
}

impl Default for Validity {
    fn default() -> Self {
        Self::MAX
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Days(n) => write!(f, "{n}days"),
            Self::Months(n) => write!(f, "{n}months"),
            Self::Years(n) => write!(f, "{n}years"),
        }
    }
}

impl FromStr for Validity {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, NameError> {
        let bad = || NameError {
            kind: "validity",
            value: s.chars().take(80).collect(),
            rule: "a period from 1 day to 135 months: 30d or 30days, 12M or 12months, 5y or 5years, or any whole \
                   number of days as a duration (2w)",
        };
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let one_unit = num.parse::<u32>().ok().and_then(|n| match unit {
            "d" | "day" | "days" => Some(Self::Days(n)),
            "M" | "mo" | "month" | "months" => Some(Self::Months(n)),
            "y" | "yr" | "year" | "years" => Some(Self::Years(n)),
            _ => None,
        });
        // Anything else humantime reads (2w, 1w3d) counts if it is whole days.
        let v = match one_unit {
            Some(v) => v,
            None => {
                let secs = parse_secs(s, "validity").map_err(|_| bad())?;
                let days = u32::try_from(secs / 86_400).map_err(|_| bad())?;
                if secs % 86_400 != 0 {
                    return Err(bad());
                }
                Self::Days(days)
            }
        };
        if v.days() < 1 || v.days() > Self::MAX.days() {
            return Err(bad());
        }
        Ok(v)
    }
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Validity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_as_rfc3339_utc() {
        let t: Timestamp = "2026-11-23T19:23:27Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-23T19:23:27Z");
        let off: Timestamp = "2026-11-23T20:23:27+01:00".parse().unwrap();
        assert_eq!(off, t);
        assert!("yesterday".parse::<Timestamp>().is_err());
    }

    #[test]
    fn validity_bounds() {
        assert_eq!("30days".parse::<Validity>().unwrap().days(), 30);
        assert_eq!("135months".parse::<Validity>().unwrap(), Validity::MAX);
        assert!("136months".parse::<Validity>().is_err());
        assert!("12years".parse::<Validity>().is_err());
        assert!("0days".parse::<Validity>().is_err());
        assert!("1day".parse::<Validity>().is_ok());
        assert!("5 years".parse::<Validity>().is_err());
    }

    #[test]
    fn validity_takes_the_one_duration_syntax_with_calendar_units_kept() {
        for (s, v) in [
            ("30d", Validity::Days(30)),
            ("12M", Validity::Months(12)),
            ("12mo", Validity::Months(12)),
            ("5y", Validity::Years(5)),
            ("2w", Validity::Days(14)),
            ("1w3d", Validity::Days(10)),
        ] {
            assert_eq!(s.parse::<Validity>().unwrap(), v, "{s}");
        }
        for bad in ["30", "36h", "30m", "0d", "136M", "12y", "1.5d", ""] {
            assert!(bad.parse::<Validity>().is_err(), "{bad}");
        }
        // What a profile record holds reads back as it was written.
        for v in [Validity::Days(30), Validity::Months(12), Validity::Years(5), Validity::MAX] {
            assert_eq!(v.to_string().parse::<Validity>().unwrap(), v);
        }
    }

    #[test]
    fn durations_read_one_way_everywhere() {
        for (s, secs) in [("300", 300), ("90s", 90), ("10m", 600), ("2h", 7_200), ("7d", 604_800), ("1h30m", 5_400)] {
            assert_eq!(parse_secs(s, "timeout").unwrap(), secs, "{s}");
        }
        for bad in ["", "3x", "-1s", "1500ms", "s", "1.5"] {
            let e = parse_secs(bad, "timeout").unwrap_err();
            assert!(e.to_string().contains("timeout"), "{e}");
        }
    }
}
