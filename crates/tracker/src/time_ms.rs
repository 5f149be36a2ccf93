//! Timestamps as stored: `BIGINT` unix milliseconds, UTC.

use crate::Error;
use time::OffsetDateTime;

pub(crate) use civicprobe_model::unix_ms::to_ms;

/// [`civicprobe_model::unix_ms::from_ms`], a stored value out of range
/// being a corrupt row.
pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime, Error> {
    civicprobe_model::unix_ms::from_ms(ms)
        .ok_or_else(|| Error::Corrupt(format!("timestamp {ms} ms is out of range")))
}

/// [`from_ms`] for nullable columns.
pub(crate) fn from_opt_ms(ms: Option<i64>) -> Result<Option<OffsetDateTime>, Error> {
    ms.map(from_ms).transpose()
}
