//! Jurisdiction files as a district exports them from Amap (GCJ-02) or
//! Baidu (BD-09): the WGS-84 fixture with every position converted.

use civicprobe_model::{Datum, Location};
use serde_json::Value;

/// `geojson` (a WGS-84 FeatureCollection) with every position converted
/// to `datum`, declaring `declared` at the top (no declaration for `None`).
pub fn geojson_in(geojson: &str, datum: Datum, declared: Option<Datum>) -> String {
    let mut collection: Value = serde_json::from_str(geojson).expect("GeoJSON");
    for feature in collection["features"].as_array_mut().expect("features") {
        convert(&mut feature["geometry"]["coordinates"], datum);
    }
    let top = collection.as_object_mut().expect("an object");
    match declared {
        Some(d) => top.insert("datum".into(), Value::from(d.as_str())),
        None => top.remove("datum"),
    };
    collection.to_string()
}

/// Converts nested `[lon, lat]` arrays from WGS-84 to `datum` in place.
fn convert(value: &mut Value, datum: Datum) {
    let Some(items) = value.as_array_mut() else {
        return;
    };
    if let [Value::Number(lon), Value::Number(lat)] = items.as_slice() {
        let (lon, lat) = (lon.as_f64().expect("lon"), lat.as_f64().expect("lat"));
        let (lat, lon) = datum.from_wgs84(&Location::new(lat, lon).expect("a position"));
        *value = serde_json::json!([lon, lat]);
        return;
    }
    items.iter_mut().for_each(|item| convert(item, datum));
}
