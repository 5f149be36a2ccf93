//! DateTimeOriginal: the text cameras write (NUL-padded, zoned, blank or
//! zeroed), its offset, and the dates that are absurd.

use super::{shown, text, EARLIEST_YEAR};
use crate::photo::tiff::{Directory, Tiff};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The offset assumed when DateTimeOriginal carries none (China, UTC+8).
const DEFAULT_OFFSET_S: i32 = 8 * 3600;

const TAG_DATE_TIME_ORIGINAL: u16 = 0x9003;
const TAG_OFFSET_TIME_ORIGINAL: u16 = 0x9011;

/// DateTimeOriginal (from the Exif IFD, or IFD0 where some writers put
/// it), in its offset, or why it is unsound.
pub(super) fn taken_at(
    tiff: &Tiff<'_>,
    exif_ifd: Option<&Directory>,
    ifd0: &Directory,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, String> {
    let in_exif = |tag| exif_ifd.and_then(|d| d.get(tag));
    // Some writers put it in IFD0.
    let Some(entry) = in_exif(TAG_DATE_TIME_ORIGINAL).or_else(|| ifd0.get(TAG_DATE_TIME_ORIGINAL))
    else {
        return Ok(None);
    };
    let raw = text(tiff, entry, "DateTimeOriginal")?;
    let trimmed = raw.trim_ascii();
    if trimmed.iter().all(|&c| c == b' ' || c == b':') {
        return Ok(None); // The EXIF standard's "unknown".
    }
    let quoted = shown(trimmed, 40);
    if trimmed.iter().all(|&c| matches!(c, b'0' | b' ' | b':')) {
        return Err(format!(
            "DateTimeOriginal is {quoted}, a camera's placeholder for no date"
        ));
    }
    let not_a_date =
        || format!("DateTimeOriginal \"{quoted}\" is not a date (YYYY:MM:DD HH:MM:SS)");
    let (local, inline_offset) = parse_date_time(trimmed).ok_or_else(not_a_date)?;
    let offset = inline_offset
        .or_else(|| {
            let e = in_exif(TAG_OFFSET_TIME_ORIGINAL)?;
            parse_offset(text(tiff, e, "OffsetTimeOriginal").ok()?)
        })
        .unwrap_or(UtcOffset::from_whole_seconds(DEFAULT_OFFSET_S).unwrap_or(UtcOffset::UTC));
    let at = local.assume_offset(offset);
    if at.year() < EARLIEST_YEAR {
        return Err(format!(
            "DateTimeOriginal {quoted} is before {EARLIEST_YEAR}"
        ));
    }
    if at > now + time::Duration::days(1) {
        return Err(format!("DateTimeOriginal {quoted} is in the future"));
    }
    Ok(Some(at))
}

/// `YYYY:MM:DD HH:MM:SS` (also `-` in the date, `T` between), optional
/// fraction, optional offset (`+08:00`, `+0800`, `Z`).
fn parse_date_time(text: &[u8]) -> Option<(PrimitiveDateTime, Option<UtcOffset>)> {
    let head = text.get(..19)?;
    let num = |range: std::ops::Range<usize>| -> Option<u16> {
        let digits = head.get(range)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + u16::from(d - b'0')))
    };
    let seps_ok = matches!(head[4], b':' | b'-')
        && head[7] == head[4]
        && matches!(head[10], b' ' | b'T')
        && head[13] == b':'
        && head[16] == b':';
    if !seps_ok {
        return None;
    }
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let date = Date::from_calendar_date(
        i32::from(num(0..4)?),
        month,
        u8::try_from(num(8..10)?).ok()?,
    )
    .ok()?;
    let hms = |r| num(r).and_then(|n| u8::try_from(n).ok());
    let time = Time::from_hms(hms(11..13)?, hms(14..16)?, hms(17..19)?).ok()?;
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &fraction[digits..];
    }
    let offset = match rest.trim_ascii() {
        [] => None,
        other => Some(parse_offset(other)?),
    };
    Some((PrimitiveDateTime::new(date, time), offset))
}

/// `+08:00`, `+0800`, `-05:30` or `Z`.
fn parse_offset(text: &[u8]) -> Option<UtcOffset> {
    let text = text.trim_ascii();
    if text == b"Z" {
        return Some(UtcOffset::UTC);
    }
    let (sign, rest) = match text.split_first()? {
        (b'+', rest) => (1, rest),
        (b'-', rest) => (-1, rest),
        _ => return None,
    };
    let digits: Vec<u8> = rest.iter().copied().filter(|c| *c != b':').collect();
    if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let h = i32::from(digits[0] - b'0') * 10 + i32::from(digits[1] - b'0');
    let m = i32::from(digits[2] - b'0') * 10 + i32::from(digits[3] - b'0');
    UtcOffset::from_whole_seconds(sign * (h * 3600 + m * 60)).ok()
}
