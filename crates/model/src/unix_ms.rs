//! Unix milliseconds, UTC: how timestamps are stored (`BIGINT` columns)
//! and carried where a number is wanted.

use time::OffsetDateTime;

/// Milliseconds since the unix epoch (sub-millisecond precision dropped).
pub fn to_ms(t: OffsetDateTime) -> i64 {
    // i128 nanoseconds / 1e6 fits an i64 for any OffsetDateTime.
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The inverse of [`to_ms`]; `None` out of `OffsetDateTime`'s range.
pub fn from_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_round_trip() {
        let at = time::macros::datetime!(2026-12-02 03:40:05.123 UTC);
        assert_eq!(to_ms(at), 1_796_182_805_123);
        assert_eq!(from_ms(to_ms(at)), Some(at));
        assert_eq!(from_ms(i64::MAX), None);
    }
}
