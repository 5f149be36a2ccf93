//! GeoJSON → offices and areas, refusing anything ambiguous.
//!
//! Accepted: a `FeatureCollection` whose every feature has a `Polygon` or
//! `MultiPolygon` geometry (rings closed, at least four positions, finite
//! WGS84 longitude/latitude) and string properties `office_id` (a valid,
//! unique [`OfficeId`]) and `name` (not empty), optionally `name_en`.
//! The collection may declare the datum of its coordinates as a top-level
//! `"datum"` member (`wgs84`, `gcj02`, `bd09`; WGS-84 when absent); every
//! position is converted to WGS-84 as it is read.

use civicprobe_model::{Datum, OfficeId};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use geojson::{Feature, GeoJson, PolygonType, Position, Value};
use std::collections::BTreeSet;

use super::Office;
use crate::Error;

/// The offices of a file, their areas in WGS-84, and the datum the file
/// was read in.
pub(super) type Parsed = (Datum, Vec<(Office, MultiPolygon<f64>)>);

/// Every office in `text` with its area converted to WGS-84, in file order.
/// `datum` overrides the file's own declaration.
pub(super) fn offices(text: &str, datum: Option<Datum>) -> Result<Parsed, Error> {
    let geojson: GeoJson = text.parse().map_err(|e| Error::GeoJson(Box::new(e)))?;
    let GeoJson::FeatureCollection(collection) = geojson else {
        return Err(Error::Jurisdictions(
            "expected a GeoJSON FeatureCollection".into(),
        ));
    };
    let declared = declared_datum(&collection)?;
    let datum = datum.unwrap_or(declared);
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
        let shape = area(feature, datum).map_err(fault)?;
        out.push((office, shape));
    }
    Ok((datum, out))
}

/// The collection's top-level `"datum"`: WGS-84 when absent.
fn declared_datum(collection: &geojson::FeatureCollection) -> Result<Datum, Error> {
    let Some(value) = collection
        .foreign_members
        .as_ref()
        .and_then(|members| members.get("datum"))
    else {
        return Ok(Datum::Wgs84);
    };
    value.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
        Error::Jurisdictions("the top-level datum must be one of wgs84, gcj02, bd09".into())
    })
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
fn area(feature: &Feature, datum: Datum) -> Result<MultiPolygon<f64>, String> {
    let geometry = feature.geometry.as_ref().ok_or("geometry is missing")?;
    match &geometry.value {
        Value::Polygon(rings) => Ok(MultiPolygon::new(vec![polygon(rings, datum)?])),
        Value::MultiPolygon(polygons) if !polygons.is_empty() => polygons
            .iter()
            .enumerate()
            .map(|(i, rings)| polygon(rings, datum).map_err(|e| format!("polygon #{i}: {e}")))
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
fn polygon(rings: &PolygonType, datum: Datum) -> Result<Polygon<f64>, String> {
    let mut rings = rings.iter().enumerate().map(|(i, ring)| {
        let what = if i == 0 {
            "exterior ring".to_owned()
        } else {
            format!("hole #{i}")
        };
        line_string(ring, datum).map_err(|e| format!("{what}: {e}"))
    });
    let exterior = rings.next().ok_or("the polygon has no rings")??;
    let holes = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, holes))
}

/// A closed ring of at least four valid positions.
fn line_string(ring: &[Position], datum: Datum) -> Result<LineString<f64>, String> {
    if ring.len() < 4 {
        return Err(format!("needs at least 4 positions, has {}", ring.len()));
    }
    let coords = ring
        .iter()
        .enumerate()
        .map(|(i, position)| coord(position, datum).map_err(|e| format!("position #{i}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if coords.first() != coords.last() {
        return Err("is not closed (first and last positions differ)".into());
    }
    Ok(LineString::new(coords))
}

/// `[lon, lat]` in `datum` (a third, altitude, value is ignored), in WGS-84.
/// The same position converts to the same coordinates, so shared edges
/// stay shared.
fn coord(position: &Position, datum: Datum) -> Result<Coord<f64>, String> {
    let [lon, lat, ..] = position.as_slice() else {
        return Err("needs [longitude, latitude]".into());
    };
    if !lon.is_finite() || !(-180.0..=180.0).contains(lon) {
        return Err(format!("longitude {lon} is out of range"));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(lat) {
        return Err(format!("latitude {lat} is out of range"));
    }
    let wgs = datum
        .to_wgs84(*lat, *lon)
        .map_err(|e| format!("{datum} position {lat}, {lon}: {e}"))?;
    Ok(Coord {
        x: wgs.lon(),
        y: wgs.lat(),
    })
}
