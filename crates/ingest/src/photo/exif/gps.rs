//! The GPS IFD: latitude and longitude as one to three numbers each and
//! their hemispheres, or why they are unsound.

use super::shown;
use super::text;
use crate::photo::tiff::{type_name, Directory, Entry, Tiff, Value};
use civicprobe_model::{Location, LocationError};

/// The position in a GPS IFD; `None` when it holds no coordinates (no
/// fix).
pub(super) fn position(tiff: &Tiff<'_>, dir: &Directory) -> Result<Option<Location>, String> {
    let (lat, lon) = match (dir.get(2), dir.get(4)) {
        (None, None) => return Ok(None),
        (Some(lat), Some(lon)) => (lat, lon),
        (Some(_), None) => return Err("GPSLatitude comes without GPSLongitude".to_owned()),
        (None, Some(_)) => return Err("GPSLongitude comes without GPSLatitude".to_owned()),
    };
    let lat =
        degrees(tiff, lat, "GPSLatitude")? * hemisphere(tiff, dir.get(1), "GPSLatitudeRef", b"NS")?;
    let lon = degrees(tiff, lon, "GPSLongitude")?
        * hemisphere(tiff, dir.get(3), "GPSLongitudeRef", b"EW")?;
    if lat == 0.0 && lon == 0.0 {
        return Err("the GPS position 0°, 0° is a placeholder, not a fix".to_owned());
    }
    Location::new(lat, lon).map(Some).map_err(|e| match e {
        LocationError::Lat(v) => format!("GPSLatitude {v}° is past the pole"),
        LocationError::Lon(v) => format!("GPSLongitude {v}° is past 180°"),
        other => other.to_string(),
    })
}

/// Degrees from one to three numbers (degrees, minutes, seconds), as
/// RATIONAL (or, from odd writers, SRATIONAL, FLOAT or DOUBLE).
fn degrees(tiff: &Tiff<'_>, e: &Entry, name: &str) -> Result<f64, String> {
    let parts: Vec<f64> = match tiff.value(e, name)? {
        Value::Rational(parts) => parts
            .iter()
            .map(|&(n, d)| match d {
                0 => Err(format!("{name} has a zero denominator ({n}/0)")),
                d => Ok(n as f64 / d as f64),
            })
            .collect::<Result<_, _>>()?,
        Value::Float(parts) => parts,
        _ => return Err(format!("{name} is {}, not rationals", type_name(e.kind))),
    };
    if parts.is_empty() || parts.len() > 3 {
        return Err(format!("{name} has {} values, not 1 to 3", parts.len()));
    }
    if parts.iter().any(|v| v.is_nan()) {
        return Err(format!("{name} is not a number (NaN)"));
    }
    if parts.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(format!("{name} is negative or infinite"));
    }
    if parts.iter().skip(1).any(|v| *v >= 60.0) {
        return Err(format!("{name} has minutes or seconds of 60 or more"));
    }
    Ok(parts
        .iter()
        .zip([1.0, 60.0, 3600.0])
        .map(|(v, per)| v / per)
        .sum())
}

/// `1.0` or `-1.0` from a reference (`N`/`S`, `E`/`W`, any case).
fn hemisphere(
    tiff: &Tiff<'_>,
    e: Option<&Entry>,
    name: &str,
    signs: &[u8; 2],
) -> Result<f64, String> {
    let e = e.ok_or_else(|| format!("{name} is missing, so the hemisphere is unknown"))?;
    let text = text(tiff, e, name)?;
    match text.trim_ascii().to_ascii_uppercase().as_slice() {
        [c] if *c == signs[0] => Ok(1.0),
        [c] if *c == signs[1] => Ok(-1.0),
        _ => Err(format!(
            "{name} is \"{}\", not {} or {}",
            shown(text, 8),
            char::from(signs[0]),
            char::from(signs[1])
        )),
    }
}
