//! GeoJSON → offices and areas, refusing anything ambiguous.
//!
//! Accepted: a `FeatureCollection` whose every feature has a `Polygon` or
//! `MultiPolygon` geometry (rings closed, at least four positions, finite
//! WGS84 longitude/latitude) and string properties `office_id` (a valid,
//! unique [`OfficeId`]) and `name` (not empty), optionally `name_en`.

use civicprobe_model::OfficeId;
use geo::{Coord, LineString, MultiPolygon, Polygon};
use geojson::{Feature, GeoJson, PolygonType, Position, Value};
use std::collections::BTreeSet;

use super::Office;
use crate::Error;

/// Every office in `text` with its area, in file order.
pub(super) fn offices(text: &str) -> Result<Vec<(Office, MultiPolygon<f64>)>, Error> {
    let geojson: GeoJson = text.parse().map_err(|e| Error::GeoJson(Box::new(e)))?;
    let GeoJson::FeatureCollection(collection) = geojson else {
        return Err(Error::Jurisdictions(
            "expected a GeoJSON FeatureCollection".into(),
        ));
    };
    if collection.features.is_empty() {
        return Err(Error::Jurisdictions(
            "the FeatureCollection is empty".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(collection.features.len());
    for (index, feature) in collection.features.iter().enumerate() {
        let raw_id = string_property(feature, "office_id");
        let fault = |reason: String| Error::Feature {
            index,
            office_id: raw_id.map(str::to_owned),
            reason,
        };
        let office = office(feature).map_err(fault)?;
        if !seen.insert(office.id.clone()) {
            return Err(fault("office_id is used by an earlier feature".into()));
        }
        let shape = area(feature).map_err(fault)?;
        out.push((office, shape));
    }
    Ok(out)
}

/// A string property, if present and a string.
fn string_property<'a>(feature: &'a Feature, key: &str) -> Option<&'a str> {
    feature.properties.as_ref()?.get(key)?.as_str()
}

/// The office named by a feature's properties.
fn office(feature: &Feature) -> Result<Office, String> {
    let id = string_property(feature, "office_id")
        .ok_or("property office_id is missing or not a string")?;
    let id = OfficeId::parse(id).map_err(|e| e.to_string())?;
    let name = string_property(feature, "name")
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .ok_or("property name is missing, empty or not a string")?;
    let name_en = match feature.properties.as_ref().and_then(|p| p.get("name_en")) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.trim().to_owned()),
        Some(_) => return Err("property name_en must be a string".into()),
    };
    Ok(Office {
        id,
        name: name.to_owned(),
        name_en,
    })
}

/// The feature's geometry as a multipolygon.
fn area(feature: &Feature) -> Result<MultiPolygon<f64>, String> {
    let geometry = feature.geometry.as_ref().ok_or("geometry is missing")?;
    match &geometry.value {
        Value::Polygon(rings) => Ok(MultiPolygon::new(vec![polygon(rings)?])),
        Value::MultiPolygon(polygons) if !polygons.is_empty() => polygons
            .iter()
            .enumerate()
            .map(|(i, rings)| polygon(rings).map_err(|e| format!("polygon #{i}: {e}")))
            .collect::<Result<Vec<_>, _>>()
            .map(MultiPolygon::new),
        Value::MultiPolygon(_) => Err("the MultiPolygon has no polygons".into()),
        other => Err(format!(
            "geometry must be a Polygon or MultiPolygon, not a {}",
            other.type_name()
        )),
    }
}

/// One polygon: the first ring is the exterior, the others are holes.
fn polygon(rings: &PolygonType) -> Result<Polygon<f64>, String> {
    let mut rings = rings.iter().enumerate().map(|(i, ring)| {
        let what = if i == 0 {
            "exterior ring".to_owned()
        } else {
            format!("hole #{i}")
        };
        line_string(ring).map_err(|e| format!("{what}: {e}"))
    });
    let exterior = rings.next().ok_or("the polygon has no rings")??;
    let holes = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, holes))
}

/// A closed ring of at least four valid positions.
fn line_string(ring: &[Position]) -> Result<LineString<f64>, String> {
    if ring.len() < 4 {
        return Err(format!("needs at least 4 positions, has {}", ring.len()));
    }
    let coords = ring
        .iter()
        .enumerate()
        .map(|(i, position)| coord(position).map_err(|e| format!("position #{i}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if coords.first() != coords.last() {
        return Err("is not closed (first and last positions differ)".into());
    }
    Ok(LineString::new(coords))
}

/// `[lon, lat]` (a third, altitude, value is ignored).
fn coord(position: &Position) -> Result<Coord<f64>, String> {
    let [lon, lat, ..] = position.as_slice() else {
        return Err("needs [longitude, latitude]".into());
    };
    if !lon.is_finite() || !(-180.0..=180.0).contains(lon) {
        return Err(format!("longitude {lon} is out of range"));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(lat) {
        return Err(format!("latitude {lat} is out of range"));
    }
    Ok(Coord { x: *lon, y: *lat })
}
