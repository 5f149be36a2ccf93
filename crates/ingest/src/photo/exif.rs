//! Evidence from a photo's EXIF, read before the metadata is stripped: GPS
//! position, DateTimeOriginal, orientation and the camera (Make and Model).
//!
//! No EXIF at all is fine. EXIF that cannot be parsed, or holds impossible
//! values (a latitude past the pole, a zero denominator, month 13, a date
//! before 1900 or days in the future, an orientation outside 1..=8), is
//! refused as `invalid-exif`: such a file did not come from a phone's
//! camera as is. The camera's name is only shown to people, so an odd one
//! (not UTF-8, blank) is simply left out, never refused.

use super::PHOTO_PART;
use crate::Error;
use civicprobe_model::{Location, PhotoExif};
use exif::{In, Tag, Value};
use std::io::Cursor;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The offset assumed when DateTimeOriginal carries none (China, UTC+8).
const DEFAULT_OFFSET_S: i32 = 8 * 3600;

fn invalid(detail: impl Into<String>) -> Error {
    Error::InvalidExif {
        field: PHOTO_PART.to_owned(),
        detail: detail.into(),
    }
}

/// The evidence in `raw`'s EXIF (JPEG, PNG or WebP container).
pub fn read(raw: &[u8]) -> Result<PhotoExif, Error> {
    let reader = exif::Reader::new();
    let parsed = if super::PhotoFormat::detect(raw) == Some(super::PhotoFormat::Jpeg) {
        // From the APP1 segment found by walking the headers: the container
        // reader would scan the whole scan data of a photo without EXIF.
        match super::jpeg::exif_payload(raw) {
            Some(tiff) => reader.read_raw(tiff.to_vec()),
            None => return Ok(PhotoExif::default()),
        }
    } else {
        reader.read_from_container(&mut Cursor::new(raw))
    };
    let exif = match parsed {
        Ok(exif) => exif,
        Err(exif::Error::NotFound(_)) => return Ok(PhotoExif::default()),
        Err(e) => return Err(invalid(format!("the EXIF cannot be parsed: {e}"))),
    };
    Ok(PhotoExif {
        gps: gps(&exif)?,
        taken_at: taken_at(&exif, OffsetDateTime::now_utc())?,
        orientation: orientation(&exif)?,
        camera: camera(&exif),
    })
}

/// Longest camera name kept, in characters.
const MAX_CAMERA_CHARS: usize = 64;

/// `"<Make> <Model>"` ("HUAWEI ELS-AN00"; the model alone when it already
/// starts with the make), control characters removed, whitespace
/// collapsed, at most [`MAX_CAMERA_CHARS`]; `None` when absent or odd.
fn camera(exif: &exif::Exif) -> Option<String> {
    let part = |tag| {
        let text = std::str::from_utf8(ascii(exif, tag)?).ok()?;
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || civicprobe_model::text::is_forbidden_control(c))
            .filter(|w| !w.is_empty())
            .collect();
        (!words.is_empty()).then(|| words.join(" "))
    };
    let name = match (part(Tag::Make), part(Tag::Model)) {
        (Some(make), Some(model)) if model.to_lowercase().starts_with(&make.to_lowercase()) => {
            model
        }
        (Some(make), Some(model)) => format!("{make} {model}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => return None,
    };
    let cut: String = name.chars().take(MAX_CAMERA_CHARS).collect();
    Some(cut.trim_end().to_owned())
}

fn orientation(exif: &exif::Exif) -> Result<Option<u16>, Error> {
    let Some(field) = exif.get_field(Tag::Orientation, In::PRIMARY) else {
        return Ok(None);
    };
    match field.value.get_uint(0) {
        Some(o @ 1..=8) => Ok(u16::try_from(o).ok()),
        _ => Err(invalid("Orientation must be 1 to 8")),
    }
}

/// Degrees from three rationals (degrees, minutes, seconds).
fn degrees(exif: &exif::Exif, tag: Tag) -> Result<Option<f64>, Error> {
    let Some(field) = exif.get_field(tag, In::PRIMARY) else {
        return Ok(None);
    };
    let Value::Rational(parts) = &field.value else {
        return Err(invalid(format!("{tag} must be three rationals")));
    };
    if parts.len() != 3 || parts.iter().any(|r| r.denom == 0) {
        return Err(invalid(format!(
            "{tag} must be three rationals, no zero denominator"
        )));
    }
    let (d, m, s) = (parts[0].to_f64(), parts[1].to_f64(), parts[2].to_f64());
    if m >= 60.0 || s >= 60.0 {
        return Err(invalid(format!("{tag} has minutes or seconds past 60")));
    }
    Ok(Some(d + m / 60.0 + s / 3600.0))
}

/// `b"N"`, `b"S"`, … from an ASCII field.
fn reference(exif: &exif::Exif, tag: Tag) -> Option<u8> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(v) => v.first().and_then(|s| s.first()).copied(),
        _ => None,
    }
}

fn gps(exif: &exif::Exif) -> Result<Option<Location>, Error> {
    let (Some(lat), Some(lon)) = (
        degrees(exif, Tag::GPSLatitude)?,
        degrees(exif, Tag::GPSLongitude)?,
    ) else {
        return Ok(None);
    };
    let lat = match reference(exif, Tag::GPSLatitudeRef) {
        Some(b'S') => -lat,
        _ => lat,
    };
    let lon = match reference(exif, Tag::GPSLongitudeRef) {
        Some(b'W') => -lon,
        _ => lon,
    };
    Location::new(lat, lon)
        .map(Some)
        .map_err(|e| invalid(format!("GPS position: {e}")))
}

/// The ASCII bytes of a field, if it is one.
fn ascii(exif: &exif::Exif, tag: Tag) -> Option<&[u8]> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(v) => v.first().map(Vec::as_slice),
        _ => None,
    }
}

fn taken_at(exif: &exif::Exif, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, Error> {
    let Some(text) = ascii(exif, Tag::DateTimeOriginal) else {
        return Ok(None);
    };
    let mut dt = match exif::DateTime::from_ascii(text) {
        Ok(dt) => dt,
        Err(exif::Error::BlankValue(_)) => return Ok(None),
        Err(_) => return Err(invalid("DateTimeOriginal is not YYYY:MM:DD HH:MM:SS")),
    };
    if let Some(offset) = ascii(exif, Tag::OffsetTimeOriginal) {
        if dt.parse_offset(offset).is_err() {
            dt.offset = None;
        }
    }
    let at = to_offset_date_time(&dt).ok_or_else(|| invalid("DateTimeOriginal is not a date"))?;
    if at.year() < 1900 || at > now + time::Duration::days(2) {
        return Err(invalid(format!("DateTimeOriginal {at} is impossible")));
    }
    Ok(Some(at))
}

fn to_offset_date_time(dt: &exif::DateTime) -> Option<OffsetDateTime> {
    let month = Month::try_from(dt.month).ok()?;
    let date = Date::from_calendar_date(i32::from(dt.year), month, dt.day).ok()?;
    let time = Time::from_hms(dt.hour, dt.minute, dt.second).ok()?;
    let offset_s = dt.offset.map_or(DEFAULT_OFFSET_S, |m| i32::from(m) * 60);
    let offset = UtcOffset::from_whole_seconds(offset_s).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// Test and tool support: an EXIF APP1 payload (`Exif\0\0` + TIFF) with
/// the given GPS position, DateTimeOriginal text and orientation.
pub fn app1_payload(
    gps: Option<(f64, f64)>,
    taken: Option<&str>,
    orientation: Option<u16>,
) -> Vec<u8> {
    app1_payload_with_camera(gps, taken, orientation, None)
}

/// Test and tool support: the APP1 payload of a phone's photo taken at
/// `gps` long ago (2025-05-01) with a "HUAWEI ELS-AN00": evidence that
/// raises flags.
pub fn phone_app1(gps: (f64, f64)) -> Vec<u8> {
    let camera: (&[u8], &[u8]) = (b"HUAWEI", b"ELS-AN00");
    app1_payload_with_camera(
        Some(gps),
        Some("2025:05:01 07:55:00"),
        Some(1),
        Some(camera),
    )
}

/// Test and tool support: `jpeg` with `payload` as an APP1 segment right
/// after its start-of-image marker.
pub fn with_app1(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len() + 2)
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    [
        jpeg.get(..2).unwrap_or_default(),
        &[0xFF, 0xE1],
        &len,
        payload,
        jpeg.get(2..).unwrap_or_default(),
    ]
    .concat()
}

/// [`app1_payload`] with a camera's Make and Model (raw bytes, so tests
/// can write odd ones).
pub fn app1_payload_with_camera(
    gps: Option<(f64, f64)>,
    taken: Option<&str>,
    orientation: Option<u16>,
    camera: Option<(&[u8], &[u8])>,
) -> Vec<u8> {
    use exif::{Field, Rational};
    fn dms(v: f64) -> Value {
        let v = v.abs();
        let d = v.trunc();
        let m = ((v - d) * 60.0).trunc();
        let s = ((v - d) * 60.0 - m) * 60.0;
        let r = |x: f64, den: u32| Rational::from(((x * f64::from(den)).round() as u32, den));
        Value::Rational(vec![r(d, 1), r(m, 1), r(s, 10_000)])
    }
    let ascii = |s: &str| Value::Ascii(vec![s.as_bytes().to_vec()]);
    let field = |tag, value| Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    };
    let mut fields = Vec::new();
    if let Some((lat, lon)) = gps {
        fields.push(field(
            Tag::GPSLatitudeRef,
            ascii(if lat < 0.0 { "S" } else { "N" }),
        ));
        fields.push(field(Tag::GPSLatitude, dms(lat)));
        fields.push(field(
            Tag::GPSLongitudeRef,
            ascii(if lon < 0.0 { "W" } else { "E" }),
        ));
        fields.push(field(Tag::GPSLongitude, dms(lon)));
    }
    if let Some(taken) = taken {
        fields.push(field(Tag::DateTimeOriginal, ascii(taken)));
    }
    if let Some(o) = orientation {
        fields.push(field(Tag::Orientation, Value::Short(vec![o])));
    }
    if let Some((make, model)) = camera {
        fields.push(field(Tag::Make, Value::Ascii(vec![make.to_vec()])));
        fields.push(field(Tag::Model, Value::Ascii(vec![model.to_vec()])));
    }
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    // Writing to memory fails only for unrepresentable fields; none here.
    let _ = writer.write(&mut tiff, false);
    [&b"Exif\0\0"[..], &tiff.into_inner()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_testkit::photos;

    fn jpeg_with(payload: &[u8]) -> Vec<u8> {
        with_app1(&photos::jpeg(32, 24), payload)
    }

    #[test]
    fn gps_date_and_orientation_are_read() {
        let raw = jpeg_with(&app1_payload(
            Some((29.8413, -114.3225)),
            Some("2025:05:01 08:00:00"),
            Some(6),
        ));
        let exif = read(&raw).unwrap();
        let gps = exif.gps.unwrap();
        assert!((gps.lat() - 29.8413).abs() < 1e-5 && (gps.lon() + 114.3225).abs() < 1e-5);
        assert_eq!(
            exif.taken_at,
            Some(time::macros::datetime!(2025-05-01 08:00 +08:00))
        );
        assert_eq!(exif.orientation, Some(6));
        assert_eq!(read(&photos::jpeg(8, 8)).unwrap(), PhotoExif::default());
    }

    #[test]
    fn the_camera_is_make_and_model_cleaned_and_odd_ones_are_left_out() {
        let camera = |make: &[u8], model: &[u8]| {
            let payload = app1_payload_with_camera(None, None, None, Some((make, model)));
            read(&jpeg_with(&payload)).unwrap().camera
        };
        assert_eq!(
            camera(b"HUAWEI", b"ELS-AN00").as_deref(),
            Some("HUAWEI ELS-AN00")
        );
        assert_eq!(
            camera(b"Canon", b"Canon EOS R6").as_deref(),
            Some("Canon EOS R6")
        );
        assert_eq!(
            camera(b" Xiaomi\x1b[2J ", b"Redmi\tNote\x0712 ").as_deref(),
            Some("Xiaomi [2J Redmi Note 12")
        );
        assert_eq!(camera(b"", b"  ").as_deref(), None);
        assert_eq!(camera(b"\xff\xfe", b"").as_deref(), None, "not UTF-8");
        assert_eq!(camera(b"Apple", b"\xff").as_deref(), Some("Apple"));
        let long = camera(b"Make", "长".repeat(100).as_bytes()).unwrap();
        assert_eq!(long.chars().count(), 64);
        let plain = read(&jpeg_with(&app1_payload(None, None, Some(1)))).unwrap();
        assert_eq!(plain.camera, None);
    }

    #[test]
    fn malformed_or_absurd_exif_is_refused() {
        for payload in [
            app1_payload(None, None, Some(9)),
            app1_payload(None, Some("2025:13:01 08:00:00"), None),
            app1_payload(None, Some("1850:01:01 08:00:00"), None),
            app1_payload(None, Some("2999:01:01 08:00:00"), None),
            app1_payload(Some((95.0, 10.0)), None, None),
            b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude garbage".to_vec(),
        ] {
            let err = read(&jpeg_with(&payload)).unwrap_err();
            assert!(matches!(err, Error::InvalidExif { .. }), "{err:?}");
        }
    }
}
