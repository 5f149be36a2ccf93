//! Street offices and the areas they are responsible for.
//!
//! Loaded from a GeoJSON FeatureCollection (see [`parse`] for what is
//! accepted) and indexed by an R-tree of the areas' bounding boxes. A point
//! is matched against each candidate office's (multi)polygon with holes
//! honoured; a point on a boundary shared by several offices goes to the one
//! with the lowest `office_id`, so every router instance answers the same.
//! A point in no area but within a configurable distance of one (GPS drift
//! at the district's edge) goes to the nearest office, flagged `boundary`
//! ([`Jurisdictions::locate`]).
//!
//! A file drawn on a Chinese map declares its datum (`"datum": "gcj02"` or
//! `"bd09"` at the top of the collection, or the operator's override); its
//! positions are converted to WGS-84 as they are read, so every point is
//! located in WGS-84 whatever the file's datum.

pub mod check;
mod distance;
mod parse;

pub use check::{check_datum, Finding, Tolerances};

use civicprobe_model::{Datum, Location, OfficeId};
use geo::{BoundingRect, Intersects, MultiPolygon, Point, Rect};
use rstar::{primitives::GeomWithData, primitives::Rectangle, RTree, AABB};
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

/// An area's bounding box in the R-tree, with its index in `areas`.
type Indexed = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Every street office and its area, ordered by office id.
#[derive(Clone, Debug)]
pub struct Jurisdictions {
    /// Sorted by `office.id`, so the lowest index is the lowest id.
    areas: Vec<Area>,
    /// The areas' bounding boxes.
    index: RTree<Indexed>,
    /// The datum the file was read in (its areas are held in WGS-84).
    datum: Datum,
}

/// Where a point was routed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Located<'a> {
    /// The responsible office.
    pub office: &'a Office,
    /// The point is outside every area, within the boundary distance of
    /// this office's.
    pub boundary: bool,
    /// Distance to the office's area in metres (0 inside).
    pub distance_m: f64,
}

impl Jurisdictions {
    /// Parses a GeoJSON FeatureCollection of `Polygon`/`MultiPolygon`
    /// features with properties `office_id` (a valid [`OfficeId`]) and `name`
    /// (optional `name_en`). Invalid input is refused with an error naming
    /// the feature index and, when it has one, its `office_id`. The
    /// coordinates are in the file's declared datum (WGS-84 if none).
    pub fn from_geojson(text: &str) -> Result<Self, Error> {
        Self::from_geojson_in(text, None)
    }

    /// Like [`Jurisdictions::from_geojson`], the coordinates read in
    /// `datum` whatever the file declares, when it is `Some`.
    pub fn from_geojson_in(text: &str, datum: Option<Datum>) -> Result<Self, Error> {
        let (datum, offices) = parse::offices(text, datum)?;
        let mut areas = Vec::new();
        for (office, shape) in offices {
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
        let index = RTree::bulk_load(
            areas
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let (min, max) = (a.bounds.min(), a.bounds.max());
                    GeomWithData::new(Rectangle::from_corners([min.x, min.y], [max.x, max.y]), i)
                })
                .collect(),
        );
        Ok(Self {
            areas,
            index,
            datum,
        })
    }

    /// Reads and parses a GeoJSON file, see [`Jurisdictions::from_geojson`].
    pub fn load(path: &Path) -> Result<Self, Error> {
        Self::load_in(path, None)
    }

    /// Reads and parses a GeoJSON file, see
    /// [`Jurisdictions::from_geojson_in`].
    pub fn load_in(path: &Path, datum: Option<Datum>) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_geojson_in(&text, datum)
    }

    /// The datum the file was read in.
    pub fn datum(&self) -> Datum {
        self.datum
    }

    /// The office whose area holds `at`. A point on a boundary shared by
    /// several offices goes to the lowest `office_id` among them; a point in
    /// no office's area (or in a hole that no office fills) gives `None`.
    pub fn office_for(&self, at: &Location) -> Option<&Office> {
        let point = Point::new(at.lon(), at.lat());
        self.index
            .locate_all_at_point(&[at.lon(), at.lat()])
            .map(|hit| hit.data)
            .filter(|&i| self.areas[i].shape.intersects(&point))
            .min()
            .map(|i| &self.areas[i].office)
    }

    /// Like [`Jurisdictions::office_for`], and a point in no area but within
    /// `boundary_m` metres of one goes to the nearest such office (ties to
    /// the lowest id) with `boundary: true`. Farther out: `None`.
    pub fn locate(&self, at: &Location, boundary_m: f64) -> Option<Located<'_>> {
        if let Some(office) = self.office_for(at) {
            return Some(Located {
                office,
                boundary: false,
                distance_m: 0.0,
            });
        }
        if boundary_m.is_nan() || boundary_m <= 0.0 {
            return None;
        }
        let (dlat, dlon) = distance::degrees_around(at.lat(), boundary_m);
        let envelope = AABB::from_corners(
            [at.lon() - dlon, at.lat() - dlat],
            [at.lon() + dlon, at.lat() + dlat],
        );
        self.index
            .locate_in_envelope_intersecting(&envelope)
            .map(|hit| {
                (
                    distance::to_area_m(at, &self.areas[hit.data].shape),
                    hit.data,
                )
            })
            .filter(|(d, _)| *d <= boundary_m)
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
            .map(|(distance_m, i)| Located {
                office: &self.areas[i].office,
                boundary: true,
                distance_m,
            })
    }

    /// Metres from `at` to the nearest office's area (to its edge, so 0
    /// only on one; meant for points outside every area).
    pub fn nearest_m(&self, at: &Location) -> f64 {
        self.areas
            .iter()
            .map(|area| distance::to_area_m(at, &area.shape))
            .fold(f64::INFINITY, f64::min)
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
