//! Evidence from a photo's EXIF, read before the metadata is stripped: GPS
//! position, DateTimeOriginal, orientation and the camera (Make and Model).
//!
//! Reading never refuses a photo: the photo is the evidence, its metadata
//! only a hint. What is sound is kept; a part that is malformed,
//! truncated, contradictory or absurd (a latitude past the pole, a zero
//! denominator, NaN, a date before [`EARLIEST_YEAR`] or more than a day in
//! the future, an orientation outside 1..=8) is dropped and said why in
//! [`ExifReading::unreadable`], which becomes the photo's `exif_unreadable`
//! flag. A good DateTimeOriginal next to a broken GPS block keeps the time.
//! No EXIF at all is no flag; neither is a blank DateTimeOriginal (the
//! EXIF standard's "unknown") nor a GPS block without coordinates (no
//! fix). The camera's name is only shown to people, so an odd one (not
//! UTF-8, blank) is simply left out.
//!
//! The TIFF structure is walked by [`super::tiff`], bounded; the EXIF
//! segments are found by each container's own walker: every JPEG APP1
//! holding EXIF (with or without its `Exif\0\0` header; two that disagree
//! drop what they disagree on), PNG's `eXIf` chunk, WebP's `EXIF` chunk.

use super::tiff::{type_name, Directory, Entry, Tiff, Value};
use super::PhotoFormat;
use civicprobe_model::PhotoExif;
use time::OffsetDateTime;

pub use super::exif_write::{
    app1_payload, app1_payload_with_camera, phone_app1, taken_now_at, with_app1,
};

/// A DateTimeOriginal before this year is a camera that lost its clock.
pub const EARLIEST_YEAR: i32 = 1990;

/// Two EXIF segments whose positions are farther apart disagree.
const AGREE_M: f64 = 100.0;

const TAG_ORIENTATION: u16 = 0x0112;
const TAG_MAKE: u16 = 0x010F;
const TAG_MODEL: u16 = 0x0110;
const TAG_EXIF_IFD: u16 = 0x8769;
const TAG_GPS_IFD: u16 = 0x8825;

/// What a photo's EXIF said, as far as it was sound, and why the rest was
/// not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExifReading {
    /// The sound values (what evidence flags and the report use).
    pub exif: PhotoExif,
    /// One sentence per part dropped, for the `exif_unreadable` flag.
    pub unreadable: Vec<String>,
}

impl ExifReading {
    /// The `exif_unreadable` reason: every part dropped, `; `-separated.
    pub fn reason(&self) -> Option<String> {
        (!self.unreadable.is_empty()).then(|| self.unreadable.join("; "))
    }

    fn broken(why: String) -> Self {
        Self {
            exif: PhotoExif::default(),
            unreadable: vec![why],
        }
    }
}

/// The evidence in `raw`'s EXIF (JPEG, PNG or WebP container), now.
pub fn read(raw: &[u8]) -> ExifReading {
    read_at(raw, OffsetDateTime::now_utc())
}

/// The same, judging "in the future" against `now`.
pub fn read_at(raw: &[u8], now: OffsetDateTime) -> ExifReading {
    let segments: Vec<&[u8]> = match PhotoFormat::detect(raw) {
        Some(PhotoFormat::Jpeg) => super::jpeg::exif_payloads(raw),
        Some(PhotoFormat::Png) => super::png::exif_chunk(raw).into_iter().collect(),
        Some(PhotoFormat::WebP) => super::webp::exif_chunk(raw).into_iter().collect(),
        None => Vec::new(),
    };
    let mut readings = segments.iter().map(|s| read_tiff(tiff_data(s), now));
    match (readings.next(), readings.next()) {
        (Some(first), Some(second)) => merge(first, second),
        (Some(only), None) => only,
        (None, _) => ExifReading::default(),
    }
}

/// The TIFF data of an EXIF segment: after `Exif\0\0` (or `Exif\0` and
/// the TIFF header at once), or the segment itself when a writer left the
/// header out.
fn tiff_data(segment: &[u8]) -> &[u8] {
    match segment.strip_prefix(b"Exif\0") {
        Some(rest) if rest.starts_with(b"MM") || rest.starts_with(b"II") => rest,
        Some(rest) => rest.get(1..).unwrap_or_default(),
        None => segment,
    }
}

/// `result`'s value; its error becomes a reason.
fn keep<T>(unreadable: &mut Vec<String>, result: Result<Option<T>, String>) -> Option<T> {
    result.unwrap_or_else(|why| {
        unreadable.push(why);
        None
    })
}

/// One TIFF structure's evidence.
fn read_tiff(data: &[u8], now: OffsetDateTime) -> ExifReading {
    let tiff = match Tiff::parse(data) {
        Ok(tiff) => tiff,
        Err(why) => return ExifReading::broken(why),
    };
    let ifd0 = match tiff.directory(tiff.first_ifd, "IFD0") {
        Ok(dir) => dir,
        Err(why) => return ExifReading::broken(why),
    };
    let mut r = ExifReading::default();
    let problems = &mut r.unreadable;
    problems.extend(ifd0.truncated.clone().or_else(|| tiff.chain_problem(&ifd0)));
    let exif_ifd = keep(problems, sub_ifd(&tiff, &ifd0, TAG_EXIF_IFD, "Exif IFD"));
    let gps_ifd = keep(problems, sub_ifd(&tiff, &ifd0, TAG_GPS_IFD, "GPS IFD"));
    for dir in [&exif_ifd, &gps_ifd].into_iter().flatten() {
        problems.extend(dir.truncated.clone());
    }
    r.exif.gps = gps_ifd.and_then(|dir| keep(problems, gps::position(&tiff, &dir)));
    let taken = taken::taken_at(&tiff, exif_ifd.as_ref(), &ifd0, now);
    r.exif.taken_at = keep(problems, taken);
    r.exif.orientation = keep(problems, orientation(&tiff, &ifd0));
    r.exif.camera = camera(&tiff, &ifd0);
    r
}

/// The IFD an IFD0 pointer (`tag`) names, if there is one.
fn sub_ifd(
    tiff: &Tiff<'_>,
    ifd0: &Directory,
    tag: u16,
    name: &str,
) -> Result<Option<Directory>, String> {
    let Some(entry) = ifd0.get(tag) else {
        return Ok(None);
    };
    let offset = match tiff.value(entry, &format!("the {name} pointer"))? {
        Value::Unsigned(v) if v.len() == 1 => v[0],
        _ => {
            return Err(format!(
                "the {name} pointer is {} × {}, not one offset",
                entry.count,
                type_name(entry.kind)
            ))
        }
    };
    if offset == tiff.first_ifd {
        return Err(format!("the {name} pointer points back at IFD0"));
    }
    tiff.directory(offset, name).map(Some)
}

/// At most `n` bytes of `bytes`, printable, for a reason.
pub(super) fn shown(bytes: &[u8], n: usize) -> String {
    let cut = &bytes[..bytes.len().min(n)];
    let text: String = cut.escape_ascii().to_string();
    if bytes.len() > n {
        format!("{text}…")
    } else {
        text
    }
}

/// The text of an entry written as ASCII (or, by odd writers, BYTE or
/// UNDEFINED), NULs and blanks trimmed.
pub(super) fn text<'a>(tiff: &Tiff<'a>, e: &Entry, name: &str) -> Result<&'a [u8], String> {
    match tiff.value(e, name)? {
        Value::Bytes(b) => Ok(b
            .trim_ascii_end()
            .split(|&c| c == 0)
            .next()
            .unwrap_or_default()),
        _ => Err(format!("{name} is {}, not text", type_name(e.kind))),
    }
}

fn orientation(tiff: &Tiff<'_>, ifd0: &Directory) -> Result<Option<u16>, String> {
    let Some(e) = ifd0.get(TAG_ORIENTATION) else {
        return Ok(None);
    };
    match tiff.value(e, "Orientation")? {
        Value::Unsigned(v) => match v.as_slice() {
            [o @ 1..=8] => Ok(u16::try_from(*o).ok()),
            [o] => Err(format!("Orientation {o} is not 1 to 8")),
            _ => Err(format!("Orientation has {} values, not one", v.len())),
        },
        _ => Err(format!(
            "Orientation is {}, not a number",
            type_name(e.kind)
        )),
    }
}

/// Longest camera name kept, in characters.
const MAX_CAMERA_CHARS: usize = 64;

/// `"<Make> <Model>"` ("HUAWEI ELS-AN00"; the model alone when it already
/// starts with the make), control characters removed, whitespace
/// collapsed, at most [`MAX_CAMERA_CHARS`]; `None` when absent or odd.
fn camera(tiff: &Tiff<'_>, ifd0: &Directory) -> Option<String> {
    let part = |tag| {
        let bytes = text(tiff, ifd0.get(tag)?, "camera").ok()?;
        let text = std::str::from_utf8(bytes).ok()?;
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || civicprobe_model::text::is_forbidden_control(c))
            .filter(|w| !w.is_empty())
            .collect();
        (!words.is_empty()).then(|| words.join(" "))
    };
    let name = match (part(TAG_MAKE), part(TAG_MODEL)) {
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

/// Two EXIF segments in one JPEG: each value from the first that has it;
/// a position or time the two disagree on is dropped (contradictory).
fn merge(first: ExifReading, second: ExifReading) -> ExifReading {
    let mut unreadable = first.unreadable;
    unreadable.extend(
        second
            .unreadable
            .into_iter()
            .map(|why| format!("second EXIF segment: {why}")),
    );
    let (a, b) = (first.exif, second.exif);
    let mut disagree = |what: &str| {
        unreadable.push(format!("two EXIF segments disagree on the {what}"));
    };
    let gps = match (a.gps, b.gps) {
        (Some(x), Some(y)) if x.distance_m(&y) > AGREE_M => {
            disagree("GPS position");
            None
        }
        (x, y) => x.or(y),
    };
    let taken_at = match (a.taken_at, b.taken_at) {
        (Some(x), Some(y)) if x != y => {
            disagree("DateTimeOriginal");
            None
        }
        (x, y) => x.or(y),
    };
    ExifReading {
        exif: PhotoExif {
            gps,
            taken_at,
            orientation: a.orientation.or(b.orientation),
            camera: a.camera.or(b.camera),
        },
        unreadable,
    }
}

mod gps;
mod taken;
#[cfg(test)]
mod tests;
