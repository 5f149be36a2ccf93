//! The `report` part: a JSON object validated field by field, so that every
//! error names the field at fault.

use crate::Error;
use civicprobe_model::{Category, Datum, Location, PositionAsSent};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The name of the multipart part holding the report JSON.
pub const REPORT_PART: &str = "report";

/// The longest `text` accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// The fields a `report` part may hold; anything else is refused.
const KNOWN_FIELDS: [&str; 7] = [
    "lat",
    "lon",
    "datum",
    "accuracy_m",
    "category_hint",
    "text",
    "reported_at",
];

/// A validated `report` part.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportFields {
    /// Where the hazard is; `None` when neither `lat` nor `lon` was sent
    /// (the report then takes a photo's EXIF GPS position, or is refused:
    /// [`crate::evidence::position`]).
    pub location: Option<Location>,
    /// `lat` and `lon` as sent, when `datum` declared GCJ-02 or BD-09
    /// (`location` is then their WGS-84 conversion).
    pub position_as_sent: Option<PositionAsSent>,
    /// The phone's stated accuracy in metres: finite, not negative.
    pub accuracy_m: Option<f64>,
    /// The courier's category choice.
    pub category_hint: Option<Category>,
    /// Free text, at most [`MAX_TEXT_CHARS`] characters; blank means none.
    pub text: Option<String>,
    /// The device clock, RFC 3339.
    pub reported_at: Option<OffsetDateTime>,
    /// An Open311 client's own fields (`None` from the courier app).
    pub open311: Option<civicprobe_model::Open311Details>,
}

/// Parses and validates the `report` part's bytes.
pub fn parse(bytes: &[u8]) -> Result<ReportFields, Error> {
    let map: Map<String, Value> = serde_json::from_slice(bytes).map_err(|e| {
        let why = civicprobe_model::text::redact_quoted(&e.to_string());
        Error::invalid(REPORT_PART, format!("must be a JSON object: {why}"))
    })?;
    if let Some(unknown) = map.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        // Named when it looks like a field name; other input is not echoed.
        let plain = unknown.len() <= 64
            && unknown
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let name = if plain { unknown.as_str() } else { REPORT_PART };
        return Err(Error::invalid(name, "unknown field"));
    }
    let (location, position_as_sent) = location(&map)?;
    Ok(ReportFields {
        location,
        position_as_sent,
        accuracy_m: accuracy(&map)?,
        category_hint: category_hint(&map)?,
        text: text(&map)?,
        reported_at: reported_at(&map)?,
        open311: None,
    })
}

/// `map[key]` unless absent or `null`.
fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// `lat` and `lon`, both or neither (`None`: take a photo's position), in
/// WGS-84, and as sent when `datum` named another datum.
fn location(map: &Map<String, Value>) -> Result<(Option<Location>, Option<PositionAsSent>), Error> {
    let datum = datum(map)?;
    if present(map, "lat").is_none() && present(map, "lon").is_none() {
        // A photo's EXIF position is WGS-84 whatever the phone's map uses.
        return Ok((None, None));
    }
    let lat = required_number(map, "lat")?;
    let lon = required_number(map, "lon")?;
    let location = datum
        .to_wgs84(lat, lon)
        .map_err(|e| Error::invalid(e.field(), e.to_string()))?;
    let as_sent = (datum != Datum::Wgs84).then_some(PositionAsSent { lat, lon, datum });
    Ok((Some(location), as_sent))
}

/// The datum of `lat` and `lon`: WGS-84 unless declared.
fn datum(map: &Map<String, Value>) -> Result<Datum, Error> {
    let Some(value) = present(map, "datum") else {
        return Ok(Datum::Wgs84);
    };
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::invalid("datum", "must be one of wgs84, gcj02, bd09"))
}

fn required_number(map: &Map<String, Value>, key: &str) -> Result<f64, Error> {
    let value = present(map, key).ok_or_else(|| Error::invalid(key, "is required"))?;
    value
        .as_f64()
        .ok_or_else(|| Error::invalid(key, "must be a number of degrees"))
}

fn accuracy(map: &Map<String, Value>) -> Result<Option<f64>, Error> {
    let Some(value) = present(map, "accuracy_m") else {
        return Ok(None);
    };
    match value.as_f64() {
        Some(m) if m.is_finite() && m >= 0.0 => Ok(Some(m)),
        _ => Err(Error::invalid(
            "accuracy_m",
            "must be a finite number of metres, not negative",
        )),
    }
}

fn category_hint(map: &Map<String, Value>) -> Result<Option<Category>, Error> {
    let Some(value) = present(map, "category_hint") else {
        return Ok(None);
    };
    let parsed = value.as_str().map(str::parse::<Category>);
    match parsed {
        Some(Ok(category)) => Ok(Some(category)),
        Some(Err(e)) => Err(Error::invalid("category_hint", e.to_string())),
        None => Err(Error::invalid("category_hint", "must be a string")),
    }
}

fn text(map: &Map<String, Value>) -> Result<Option<String>, Error> {
    let Some(value) = present(map, "text") else {
        return Ok(None);
    };
    let text = value
        .as_str()
        .ok_or_else(|| Error::invalid("text", "must be a string"))?;
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::invalid(
            "text",
            format!("must be at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    no_controls(text)?;
    Ok((!text.trim().is_empty()).then(|| text.to_owned()))
}

impl ReportFields {
    /// Refuses a `text` holding control characters (see
    /// [`civicprobe_model::text`]); every intake path checks its fields
    /// here, whichever form they came in.
    pub fn check_text(&self) -> Result<(), Error> {
        self.text.as_deref().map_or(Ok(()), no_controls)
    }
}

fn no_controls(text: &str) -> Result<(), Error> {
    civicprobe_model::text::check(text).map_err(|e| Error::invalid("text", e.to_string()))
}

fn reported_at(map: &Map<String, Value>) -> Result<Option<OffsetDateTime>, Error> {
    let Some(value) = present(map, "reported_at") else {
        return Ok(None);
    };
    value
        .as_str()
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        .map(Some)
        .ok_or_else(|| Error::invalid("reported_at", "must be an RFC 3339 timestamp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(json: &str) -> String {
        let err = parse(json.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::InvalidField { .. }), "{err:?}");
        err.problem().field.unwrap()
    }

    #[test]
    fn a_full_report_parses() {
        let r = parse(
            r#"{"lat":29.84,"lon":114.32,"accuracy_m":5,"category_hint":"manhole",
                 "text":"井盖丢失","reported_at":"2025-05-01T08:00:00+08:00"}"#
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(r.location, Some(Location::new(29.84, 114.32).unwrap()));
        assert_eq!(r.accuracy_m, Some(5.0));
        assert_eq!(r.category_hint, Some(Category::Manhole));
        assert_eq!(r.text.as_deref(), Some("井盖丢失"));
        assert!(r.reported_at.is_some());
        let minimal = parse(br#"{"lat":0,"lon":0,"text":null,"accuracy_m":null}"#).unwrap();
        assert_eq!((minimal.text, minimal.accuracy_m), (None, None));
        // No position at all: a photo's EXIF GPS may give it later.
        assert_eq!(parse(br#"{"text":"x"}"#).unwrap().location, None);
        assert_eq!(parse(br#"{"lat":null,"lon":null}"#).unwrap().location, None);
    }

    #[test]
    fn each_error_names_its_field() {
        assert_eq!(field_of(r#"{"lon":1}"#), "lat");
        assert_eq!(field_of(r#"{"lat":"north","lon":1}"#), "lat");
        assert_eq!(field_of(r#"{"lat":91,"lon":1}"#), "lat");
        assert_eq!(field_of(r#"{"lat":1,"lon":181}"#), "lon");
        assert_eq!(field_of(r#"{"lat":1}"#), "lon");
        assert_eq!(
            field_of(r#"{"lat":1,"lon":1,"accuracy_m":-1}"#),
            "accuracy_m"
        );
        assert_eq!(
            field_of(r#"{"lat":1,"lon":1,"category_hint":"fire"}"#),
            "category_hint"
        );
        assert_eq!(
            field_of(r#"{"lat":1,"lon":1,"reported_at":"yesterday"}"#),
            "reported_at"
        );
        assert_eq!(field_of(r#"{"lat":1,"lon":1,"colour":"red"}"#), "colour");
        assert_eq!(field_of(r#"[1,2]"#), "report");
        assert_eq!(field_of("not json"), "report");
        let long = format!(r#"{{"lat":1,"lon":1,"text":"{}"}}"#, "字".repeat(2001));
        assert_eq!(field_of(&long), "text");
        let max = format!(r#"{{"lat":1,"lon":1,"text":"{}"}}"#, "字".repeat(2000));
        assert!(parse(max.as_bytes()).is_ok());
        assert_eq!(field_of(r#"{"lat":1,"lon":1,"text":"a\u001bb"}"#), "text");
        assert_eq!(field_of(r#"{"lat":1,"lon":1,"text":"a\u007f"}"#), "text");
        assert!(parse(br#"{"lat":1,"lon":1,"text":"a\tb\r\nc"}"#).is_ok());
        assert_eq!(field_of(r#"{"lat":1,"lon":1,"datum":"mars"}"#), "datum");
        assert_eq!(field_of(r#"{"lat":1,"lon":1,"datum":2}"#), "datum");
        assert_eq!(field_of(r#"{"lat":91,"lon":1,"datum":"gcj02"}"#), "lat");
    }

    #[test]
    fn a_declared_datum_is_converted_and_kept() {
        let r = parse(br#"{"lat":29.84,"lon":114.32,"datum":"gcj02"}"#).unwrap();
        let sent = r.position_as_sent.expect("kept as sent");
        assert_eq!(
            (sent.lat, sent.lon, sent.datum),
            (29.84, 114.32, Datum::Gcj02)
        );
        let wgs = r.location.unwrap();
        let (back_lat, back_lon) = Datum::Gcj02.from_wgs84(&wgs);
        assert!((back_lat - 29.84).abs() < 1e-7 && (back_lon - 114.32).abs() < 1e-7);
        let moved = wgs.distance_m(&Location::new(29.84, 114.32).unwrap());
        assert!((300.0..700.0).contains(&moved), "{moved} m");
        // WGS-84, declared or not, is stored as sent with nothing extra.
        for json in [
            r#"{"lat":29.84,"lon":114.32,"datum":"wgs84"}"#,
            r#"{"lat":29.84,"lon":114.32}"#,
        ] {
            let r = parse(json.as_bytes()).unwrap();
            assert_eq!(r.location, Some(Location::new(29.84, 114.32).unwrap()));
            assert_eq!(r.position_as_sent, None);
        }
        // Without a position the datum has nothing to apply to.
        assert_eq!(
            parse(br#"{"datum":"bd09"}"#).unwrap().position_as_sent,
            None
        );
    }
}
