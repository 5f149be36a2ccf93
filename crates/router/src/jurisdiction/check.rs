//! Is this jurisdictions file fit to route by? Its areas are checked for
//! self-intersecting rings, overlaps beyond a tolerance and gaps between
//! neighbours ([`Jurisdictions::check`]); and, given where the district's
//! reports were, whether its declared datum is the one it was drawn in
//! ([`check_datum`]): a grid drawn on Amap but declared WGS-84 leaves the
//! reports along its edges just outside, by about the GCJ-02 offset.
//!
//! Areas and distances are measured on a flat projection around the
//! district's centre (equirectangular, metres; exact enough for a district).

use civicprobe_model::{Datum, Location, OfficeId};
use geo::line_intersection::{line_intersection, LineIntersection};
use geo::{Area, BooleanOps, Distance, Euclidean, LineString, MapCoords, MultiPolygon, Polygon};
use std::fmt;

use super::Jurisdictions;

/// Metres per degree of latitude.
const M_PER_DEGREE: f64 = 111_320.0;

/// What the check lets pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// Overlaps and enclosed gaps smaller than this (square metres) are
    /// drawing noise, not problems.
    pub area_m2: f64,
    /// Two offices closer than this (metres) but not touching leave a gap
    /// between them; under a metre is drawing precision.
    pub gap_m: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Self {
            area_m2: 100.0,
            gap_m: 50.0,
        }
    }
}

/// One problem with a jurisdictions file.
#[derive(Clone, Debug, PartialEq)]
pub enum Finding {
    /// A ring of an office's area crosses itself: points near it route
    /// unpredictably.
    SelfIntersection {
        /// Whose area.
        office: OfficeId,
        /// Where, WGS-84.
        at: Location,
    },
    /// Two offices both claim an area; the lower id gets its reports.
    Overlap {
        /// The lower office id.
        a: OfficeId,
        /// The other.
        b: OfficeId,
        /// Square metres claimed by both.
        area_m2: f64,
    },
    /// Two neighbours do not touch: reports between them are unrouted or
    /// go to the nearer one flagged `boundary`.
    Gap {
        /// The lower office id.
        a: OfficeId,
        /// The other.
        b: OfficeId,
        /// The narrowest distance between them, metres.
        distance_m: f64,
    },
    /// A hole enclosed by the offices that no office covers.
    Uncovered {
        /// A point inside it, WGS-84.
        at: Location,
        /// Its area, square metres.
        area_m2: f64,
    },
    /// Read in another datum the file would hold most of the reports that
    /// now fall just outside it: it was probably drawn in that datum.
    Datum {
        /// The datum the file was read in.
        declared: Datum,
        /// The datum it was probably drawn in.
        likely: Datum,
        /// Reports outside every area as declared.
        outside: usize,
        /// How many of those the likely datum puts inside, less the reports
        /// it pushes out.
        recovered: usize,
        /// Their median distance outside, metres, as declared.
        median_outside_m: f64,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::SelfIntersection { office, at } => write!(
                f,
                "self-intersection: the area of {office} crosses itself near {:.6}, {:.6}",
                at.lat(),
                at.lon()
            ),
            Finding::Overlap { a, b, area_m2 } => {
                write!(f, "overlap: {a} and {b} both claim {area_m2:.0} m²")
            }
            Finding::Gap { a, b, distance_m } => write!(
                f,
                "gap: {a} and {b} are neighbours {distance_m:.1} m apart, not touching"
            ),
            Finding::Uncovered { at, area_m2 } => write!(
                f,
                "gap: {area_m2:.0} m² near {:.6}, {:.6} is enclosed by offices but covered by none",
                at.lat(),
                at.lon()
            ),
            Finding::Datum {
                declared,
                likely,
                outside,
                recovered,
                median_outside_m,
            } => write!(
                f,
                "datum: read as {declared}, {outside} recent reports fall outside every area \
                 (median {median_outside_m:.0} m out); read as {likely}, {recovered} of them \
                 fall inside: the file was probably drawn in {likely} (set its \"datum\", or \
                 CIVICPROBE_JURISDICTIONS_DATUM)"
            ),
        }
    }
}

/// The flat projection of one district: degrees to metres and back.
#[derive(Clone, Copy, Debug)]
struct Flat {
    /// Metres per degree of longitude at the district's centre.
    kx: f64,
}

impl Flat {
    fn around(j: &Jurisdictions) -> Self {
        let (lo, hi) = j
            .areas
            .iter()
            .map(|a| (a.bounds.min().y, a.bounds.max().y))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (a, b)| {
                (lo.min(a), hi.max(b))
            });
        let lat = (lo + hi) / 2.0;
        Self {
            kx: M_PER_DEGREE * lat.to_radians().cos().max(0.01),
        }
    }

    fn shape(&self, shape: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        shape.map_coords(|c| geo::coord! { x: c.x * self.kx, y: c.y * M_PER_DEGREE })
    }

    fn location(&self, x: f64, y: f64) -> Location {
        let (lat, lon) = (y / M_PER_DEGREE, x / self.kx);
        Location::new(lat.clamp(-90.0, 90.0), lon.clamp(-180.0, 180.0)).expect("clamped")
    }
}

impl Jurisdictions {
    /// Self-intersections, overlaps beyond `tolerances.area_m2`, neighbours
    /// that leave a gap, and enclosed areas nobody covers; empty when the
    /// file is sound.
    pub fn check(&self, tolerances: Tolerances) -> Vec<Finding> {
        let flat = Flat::around(self);
        let shapes: Vec<_> = self.areas.iter().map(|a| flat.shape(&a.shape)).collect();
        let mut findings = Vec::new();
        for (area, shape) in self.areas.iter().zip(&shapes) {
            for (x, y) in self_intersections(shape) {
                findings.push(Finding::SelfIntersection {
                    office: area.office.id.clone(),
                    at: flat.location(x, y),
                });
            }
        }
        for i in 0..shapes.len() {
            for k in i + 1..shapes.len() {
                findings.extend(pair(self, &shapes, (i, k), tolerances));
            }
        }
        findings.extend(uncovered(&shapes, &flat, tolerances));
        findings
    }
}

/// The overlap or gap between areas `i` and `k`, if any.
fn pair(
    j: &Jurisdictions,
    shapes: &[MultiPolygon<f64>],
    (i, k): (usize, usize),
    tolerances: Tolerances,
) -> Option<Finding> {
    let (a, b) = (&shapes[i], &shapes[k]);
    let (ida, idb) = (j.areas[i].office.id.clone(), j.areas[k].office.id.clone());
    let area_m2 = a.intersection(b).unsigned_area();
    if area_m2 > tolerances.area_m2 {
        return Some(Finding::Overlap {
            a: ida,
            b: idb,
            area_m2,
        });
    }
    if area_m2 > 0.0 {
        return None;
    }
    let distance_m =
        a.0.iter()
            .flat_map(|p| b.0.iter().map(move |q| Euclidean::distance(p, q)))
            .fold(f64::INFINITY, f64::min);
    (distance_m > 1.0 && distance_m <= tolerances.gap_m).then_some(Finding::Gap {
        a: ida,
        b: idb,
        distance_m,
    })
}

/// The holes of the union of every area larger than the tolerance.
fn uncovered(shapes: &[MultiPolygon<f64>], flat: &Flat, tolerances: Tolerances) -> Vec<Finding> {
    let union = shapes
        .iter()
        .fold(MultiPolygon::new(Vec::new()), |all, s| all.union(s));
    union
        .0
        .iter()
        .flat_map(|p| p.interiors().iter())
        .map(|ring| Polygon::new(ring.clone(), Vec::new()))
        .filter_map(|hole| {
            let area_m2 = hole.unsigned_area();
            let c = geo::InteriorPoint::interior_point(&hole)?;
            (area_m2 > tolerances.area_m2).then(|| Finding::Uncovered {
                at: flat.location(c.x(), c.y()),
                area_m2,
            })
        })
        .collect()
}

/// Where a ring of `shape` crosses itself (not at shared vertices of
/// consecutive segments), projected coordinates.
fn self_intersections(shape: &MultiPolygon<f64>) -> Vec<(f64, f64)> {
    shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(ring_crossings)
        .collect()
}

fn ring_crossings(ring: &LineString<f64>) -> Vec<(f64, f64)> {
    let lines: Vec<_> = ring.lines().collect();
    let n = lines.len();
    let mut found = Vec::new();
    for i in 0..n {
        // Skip the neighbours, which share a vertex (the last and first too).
        for k in i + 2..n {
            if i == 0 && k == n - 1 {
                continue;
            }
            match line_intersection(lines[i], lines[k]) {
                Some(LineIntersection::SinglePoint { intersection, .. }) => {
                    found.push((intersection.x, intersection.y));
                }
                Some(LineIntersection::Collinear { intersection }) => {
                    found.push((intersection.start.x, intersection.start.y));
                }
                None => {}
            }
        }
    }
    found
}

/// Whether `text`, read as declared into `declared`, was probably drawn in
/// another datum, judged by recent report positions (WGS-84): when at least
/// three reports fall outside every area, and reading the file in another
/// datum puts at least half of them (and more than it pushes out) inside.
pub fn check_datum(
    text: &str,
    declared: &Jurisdictions,
    positions: &[Location],
) -> Option<Finding> {
    let outside: Vec<&Location> = positions
        .iter()
        .filter(|p| declared.office_for(p).is_none())
        .collect();
    if outside.len() < 3 {
        return None;
    }
    // On a tie the more common datum wins: WGS-84, then GCJ-02 (Amap,
    // Tencent), then BD-09 (`max_by_key` keeps the last of equals).
    let (likely, recovered) = Datum::ALL
        .into_iter()
        .rev()
        .filter(|d| *d != declared.datum())
        .filter_map(|d| Some((d, Jurisdictions::from_geojson_in(text, Some(d)).ok()?)))
        .map(|(d, other)| {
            let recovered = outside
                .iter()
                .filter(|p| other.office_for(p).is_some())
                .count();
            let lost = positions
                .iter()
                .filter(|p| declared.office_for(p).is_some() && other.office_for(p).is_none())
                .count();
            (d, recovered.saturating_sub(lost))
        })
        .max_by_key(|(_, net)| *net)?;
    if recovered * 2 < outside.len() {
        return None;
    }
    let mut distances: Vec<f64> = outside.iter().map(|p| declared.nearest_m(p)).collect();
    distances.sort_by(f64::total_cmp);
    Some(Finding::Datum {
        declared: declared.datum(),
        likely,
        outside: outside.len(),
        recovered,
        median_outside_m: distances[distances.len() / 2],
    })
}
