//! The one place that reads the system clock; everything else takes a [`Timestamp`].

use crate::model::Timestamp;

/// Now, in whole seconds.
pub fn now() -> Timestamp {
    #[allow(clippy::disallowed_methods)] // the one place
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Timestamp::from_unix(secs)
}
