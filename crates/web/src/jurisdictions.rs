//! The jurisdictions GeoJSON the pages draw, always in WGS-84.
//!
//! Tickets are stored in WGS-84, so the office areas drawn around them must
//! be too: a file drawn on Amap or Baidu (`"datum": "gcj02"` / `"bd09"`
//! at the top of the collection, or the operator's override) is converted
//! once, at start, and served with `"datum": "wgs84"`.

use crate::Error;
use axum::body::Bytes;
use civicprobe_model::Datum;
use serde_json::Value;
use std::path::Path;

/// Reads the file once, checks that it is JSON with a known datum, and
/// converts every position to WGS-84; `datum` overrides the file's own.
pub fn load(path: &Path, datum: Option<Datum>) -> Result<Bytes, Error> {
    let raw = std::fs::read(path).map_err(|source| Error::Jurisdictions {
        path: path.to_owned(),
        source,
    })?;
    let mut geojson: Value =
        serde_json::from_slice(&raw).map_err(|source| Error::JurisdictionsJson {
            path: path.to_owned(),
            source,
        })?;
    let datum = match (datum, geojson.get("datum")) {
        (Some(datum), _) => datum,
        (None, None) => Datum::Wgs84,
        (None, Some(value)) => value.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
            Error::JurisdictionsDatum {
                path: path.to_owned(),
            }
        })?,
    };
    if datum == Datum::Wgs84 {
        return Ok(Bytes::from(raw));
    }
    if let Some(features) = geojson.get_mut("features").and_then(Value::as_array_mut) {
        for feature in features {
            if let Some(coordinates) = feature.pointer_mut("/geometry/coordinates") {
                to_wgs84(coordinates, datum);
            }
        }
    }
    geojson["datum"] = Value::from(Datum::Wgs84.as_str());
    Ok(Bytes::from(geojson.to_string()))
}

/// Converts nested `[lon, lat, …]` positions in place; anything that is
/// not a valid position is left as it is (the router refuses such a file).
fn to_wgs84(value: &mut Value, datum: Datum) {
    let Some(items) = value.as_array_mut() else {
        return;
    };
    let position = match items.as_slice() {
        [lon, lat, ..] if lon.is_number() && lat.is_number() => lon.as_f64().zip(lat.as_f64()),
        _ => None,
    };
    match position.map(|(lon, lat)| datum.to_wgs84(lat, lon)) {
        Some(Ok(wgs)) => {
            items[0] = Value::from(wgs.lon());
            items[1] = Value::from(wgs.lat());
        }
        Some(Err(_)) => {}
        None => items.iter_mut().for_each(|item| to_wgs84(item, datum)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_model::Location;

    /// The first position of the first feature.
    fn first_position(geojson: &Value) -> Location {
        let p = &geojson["features"][0]["geometry"]["coordinates"][0][0];
        Location::new(p[1].as_f64().unwrap(), p[0].as_f64().unwrap()).unwrap()
    }

    fn file(text: &str) -> (tempfile::NamedTempFile, Value) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        (f, serde_json::from_str(text).unwrap())
    }

    const GCJ: &str = r#"{"type":"FeatureCollection","datum":"gcj02","features":[
        {"type":"Feature","properties":{"office_id":"a","name":"A"},"geometry":{"type":"Polygon",
         "coordinates":[[[114.3254,29.8375],[114.33,29.8375],[114.33,29.84],[114.3254,29.8375]]]}}]}"#;

    #[test]
    fn a_gcj02_file_is_served_in_wgs84() {
        let (f, sent) = file(GCJ);
        let served: Value = serde_json::from_slice(&load(f.path(), None).unwrap()).unwrap();
        assert_eq!(served["datum"], "wgs84");
        let (lat, lon) = (29.8375, 114.3254);
        let expected = Datum::Gcj02.to_wgs84(lat, lon).unwrap();
        assert!(first_position(&served).distance_m(&expected) < 0.01);
        assert!(first_position(&served).distance_m(&first_position(&sent)) > 300.0);
        // The override wins: read as WGS-84, served as it is.
        let as_is = load(f.path(), Some(Datum::Wgs84)).unwrap();
        assert_eq!(as_is.as_ref(), GCJ.as_bytes());
    }

    #[test]
    fn an_unknown_datum_is_refused() {
        let (f, _) = file(&GCJ.replace("gcj02", "mars"));
        let err = load(f.path(), None).unwrap_err().to_string();
        assert!(
            err.contains("datum must be one of wgs84, gcj02, bd09"),
            "{err}"
        );
    }
}
