//! W3C-DTF (the W3C note on date and time formats, a profile of ISO 8601)
//! as GeoReport v2 takes `start_date`, `end_date` and `updated_datetime`:
//! every precision the note allows, `YYYY`, `YYYY-MM`, `YYYY-MM-DD`,
//! `YYYY-MM-DDThh:mmTZD`, `…:ss` and `…:ss.s` (any number of fraction
//! digits), `TZD` being `Z` or `±hh:mm`. A value without a time (and so
//! without a zone) is read in UTC. A reduced precision names a period: a
//! start takes its first instant, an end its last, so
//! `end_date=2026-11-01` includes the whole of that day.

use crate::Error;
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, Month, OffsetDateTime, Time};

/// Which end of the period a reduced-precision value stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// The period's first instant.
    Start,
    /// The period's last instant (one millisecond before the next).
    End,
}

/// `value` of parameter `name`, read as the `bound` of its period.
pub fn parse(name: &str, value: &str, bound: Bound) -> Result<OffsetDateTime, Error> {
    read(value.trim(), bound).ok_or_else(|| {
        Error::bad(format!(
            "{name} must be a W3C-DTF date or date-time (2026-11-01, or 2026-11-01T08:00:00+08:00)"
        ))
    })
}

fn read(value: &str, bound: Bound) -> Option<OffsetDateTime> {
    if value.contains('T') {
        return date_time(value);
    }
    let parts: Vec<&str> = value.split('-').collect();
    let number = |s: &str, len: usize| -> Option<i32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (start, next) = match parts.as_slice() {
        [y] => {
            let year = number(y, 4)?;
            let start = Date::from_calendar_date(year, Month::January, 1).ok()?;
            (
                start,
                Date::from_calendar_date(year + 1, Month::January, 1).ok(),
            )
        }
        [y, m] => {
            let year = number(y, 4)?;
            let month = Month::try_from(u8::try_from(number(m, 2)?).ok()?).ok()?;
            let start = Date::from_calendar_date(year, month, 1).ok()?;
            let (ny, nm) = if month == Month::December {
                (year + 1, Month::January)
            } else {
                (year, month.next())
            };
            (start, Date::from_calendar_date(ny, nm, 1).ok())
        }
        [y, m, d] => {
            let month = Month::try_from(u8::try_from(number(m, 2)?).ok()?).ok()?;
            let day = u8::try_from(number(d, 2)?).ok()?;
            let start = Date::from_calendar_date(number(y, 4)?, month, day).ok()?;
            (start, start.next_day())
        }
        _ => return None,
    };
    let start = start.with_time(Time::MIDNIGHT).assume_utc();
    match bound {
        Bound::Start => Some(start),
        Bound::End => match next {
            Some(next) => {
                Some(next.with_time(Time::MIDNIGHT).assume_utc() - Duration::milliseconds(1))
            }
            // The last period of the calendar: its end is the end of time.
            None => Some(Date::MAX.with_time(Time::MAX).assume_utc()),
        },
    }
}

/// `YYYY-MM-DDThh:mm[:ss[.s…]]TZD`.
fn date_time(value: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(t);
    }
    // Without seconds: `2026-11-01T08:00+08:00` / `…T08:00Z`.
    let (date, rest) = value.split_once('T')?;
    let (hm, zone) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => return None,
    };
    if hm.len() != 5 || hm.as_bytes()[2] != b':' {
        return None;
    }
    OffsetDateTime::parse(&format!("{date}T{hm}:00{zone}"), &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(v: &str, b: Bound) -> String {
        crate::requests::iso(read(v, b).unwrap())
    }

    #[test]
    fn every_precision_of_the_note() {
        assert_eq!(at("2026", Bound::Start), "2026-01-01T00:00:00Z");
        assert_eq!(at("2026", Bound::End), "2026-12-31T23:59:59.999Z");
        assert_eq!(at("2026-02", Bound::End), "2026-02-28T23:59:59.999Z");
        assert_eq!(at("2026-12", Bound::End), "2026-12-31T23:59:59.999Z");
        assert_eq!(at("2026-11-01", Bound::Start), "2026-11-01T00:00:00Z");
        assert_eq!(at("2026-11-01", Bound::End), "2026-11-01T23:59:59.999Z");
        assert_eq!(
            at("2026-11-01T08:30+08:00", Bound::Start),
            "2026-11-01T08:30:00+08:00"
        );
        assert_eq!(at("2026-11-01T08:30Z", Bound::End), "2026-11-01T08:30:00Z");
        assert_eq!(
            at("2026-11-01T08:30:15-05:00", Bound::Start),
            "2026-11-01T08:30:15-05:00"
        );
        assert_eq!(
            at("2026-11-01T08:30:15.25Z", Bound::Start),
            "2026-11-01T08:30:15.25Z"
        );
    }

    #[test]
    fn anything_else_is_refused_naming_the_parameter() {
        for bad in [
            "yesterday",
            "26",
            "2026-1",
            "2026-13",
            "2026-02-30",
            "2026-11-01T08",
            "2026-11-01T08:30",
            "2026-11-01 08:30:00Z",
            "2026/11/01",
            "",
        ] {
            assert!(read(bad, Bound::Start).is_none(), "{bad}");
        }
        let e = parse("start_date", "yesterday", Bound::Start).unwrap_err();
        assert!(e.to_string().starts_with("start_date must be a W3C-DTF"));
    }
}
