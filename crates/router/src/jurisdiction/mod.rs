//! Street offices and the areas they are responsible for.
//!
//! Loaded from a GeoJSON FeatureCollection (see [`parse`] for what is
//! accepted). A point is matched against each office's (multi)polygon with
//! holes honoured; a point on a boundary shared by several offices goes to
//! the one with the lowest `office_id`, so every router instance answers the
//! same.

mod parse;

use civicprobe_model::{Location, OfficeId};
use geo::{BoundingRect, Intersects, MultiPolygon, Point, Rect};
use std::path::Path;

use crate::Error;

/// A street office that receives tickets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Office {
    /// Its id, used in ticket subjects (`civic.ticket.<office_id>.…`).
    pub id: OfficeId,
    /// Its display name (Chinese in the Xian'an fixtures).
    pub name: String,
    /// Its English name, when the jurisdictions file gives one.
    pub name_en: Option<String>,
}

/// One office with its area.
#[derive(Clone, Debug)]
struct Area {
    /// Who is responsible for the area.
    office: Office,
    /// The area itself, holes included.
    shape: MultiPolygon<f64>,
    /// Its bounding box, a cheap first test.
    bounds: Rect<f64>,
}

/// Every street office and its area, ordered by office id.
#[derive(Clone, Debug)]
pub struct Jurisdictions {
    /// Sorted by `office.id`, so the first hit is the lowest id.
    areas: Vec<Area>,
}

impl Jurisdictions {
    /// Parses a GeoJSON FeatureCollection of `Polygon`/`MultiPolygon`
    /// features with properties `office_id` (a valid [`OfficeId`]) and `name`
    /// (optional `name_en`). Invalid input is refused with an error naming
    /// the feature index and, when it has one, its `office_id`.
    pub fn from_geojson(text: &str) -> Result<Self, Error> {
        let mut areas = Vec::new();
        for (office, shape) in parse::offices(text)? {
            let bounds = shape.bounding_rect().ok_or_else(|| {
                Error::Jurisdictions(format!("office {} has an empty area", office.id))
            })?;
            areas.push(Area {
                office,
                shape,
                bounds,
            });
        }
        areas.sort_by(|a, b| a.office.id.cmp(&b.office.id));
        Ok(Self { areas })
    }

    /// Reads and parses a GeoJSON file, see [`Jurisdictions::from_geojson`].
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_geojson(&text)
    }

    /// The office whose area holds `at`. A point on a boundary shared by
    /// several offices goes to the lowest `office_id` among them; a point in
    /// no office's area (or in a hole that no office fills) gives `None`.
    pub fn office_for(&self, at: &Location) -> Option<&Office> {
        let point = Point::new(at.lon(), at.lat());
        self.areas
            .iter()
            .filter(|area| area.bounds.intersects(&point))
            .find(|area| area.shape.intersects(&point))
            .map(|area| &area.office)
    }

    /// Every office, ordered by id.
    pub fn offices(&self) -> impl Iterator<Item = &Office> {
        self.areas.iter().map(|area| &area.office)
    }

    /// The office with this id, if any.
    pub fn office(&self, id: &OfficeId) -> Option<&Office> {
        self.offices().find(|office| &office.id == id)
    }
}

#[cfg(test)]
mod tests;
