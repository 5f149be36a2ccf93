//! Test and tool support: EXIF APP1 payloads written with the `exif`
//! crate's writer (a phone's GPS position, DateTimeOriginal, orientation,
//! camera), and splicing one into a JPEG. The odd files of the test corpus
//! are written byte by byte instead (`fixtures/photos/odd-exif/`).

use exif::{In, Tag, Value};
use std::io::Cursor;

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

/// Test and tool support: `jpeg` with the EXIF of a photo taken now
/// (China time, as phones write DateTimeOriginal) at `gps`: a courier's
/// fresh check of a fix.
pub fn taken_now_at(jpeg: &[u8], gps: (f64, f64)) -> Vec<u8> {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let now = time::OffsetDateTime::now_utc().to_offset(offset);
    let taken = format!(
        "{:04}:{:02}:{:02} {:02}:{:02}:{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    with_app1(jpeg, &app1_payload(Some(gps), Some(&taken), Some(1)))
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
