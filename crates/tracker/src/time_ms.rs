//! Timestamps as stored: `BIGINT` unix milliseconds, UTC.

use crate::Error;
use time::OffsetDateTime;

/// Milliseconds since the unix epoch (sub-millisecond precision dropped).
pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    // i128 nanoseconds / 1e6 fits an i64 for any OffsetDateTime.
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The inverse of [`to_ms`].
pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| Error::Corrupt(format!("timestamp {ms} ms is out of range")))
}

/// [`from_ms`] for nullable columns.
pub(crate) fn from_opt_ms(ms: Option<i64>) -> Result<Option<OffsetDateTime>, Error> {
    ms.map(from_ms).transpose()
}
