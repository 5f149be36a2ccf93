//! Metres between a point and an area's edges, on a local flat projection
//! around the point (equirectangular; exact enough within a few kilometres).

use civicprobe_model::Location;
use geo::{LineString, MultiPolygon};

/// Metres per degree of latitude (and of longitude at the equator).
const M_PER_DEGREE: f64 = 111_320.0;

/// Metres per degree of longitude at `lat`, never below 1 % of the equator's.
fn m_per_degree_lon(lat: f64) -> f64 {
    M_PER_DEGREE * lat.to_radians().cos().max(0.01)
}

/// `(Δlat, Δlon)` in degrees covering `metres` around latitude `lat`.
pub(super) fn degrees_around(lat: f64, metres: f64) -> (f64, f64) {
    (metres / M_PER_DEGREE, metres / m_per_degree_lon(lat))
}

/// Shortest distance in metres from `at` to any ring of `shape`.
pub(super) fn to_area_m(at: &Location, shape: &MultiPolygon<f64>) -> f64 {
    let kx = m_per_degree_lon(at.lat());
    let project = |x: f64, y: f64| ((x - at.lon()) * kx, (y - at.lat()) * M_PER_DEGREE);
    shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|ring| to_ring(ring, &project))
        .fold(f64::INFINITY, f64::min)
}

/// Shortest distance from the origin to a ring's segments, projected.
fn to_ring(ring: &LineString<f64>, project: &impl Fn(f64, f64) -> (f64, f64)) -> f64 {
    ring.lines()
        .map(|l| {
            let a = project(l.start.x, l.start.y);
            let b = project(l.end.x, l.end.y);
            to_segment(a, b)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Distance from the origin to the segment `a`–`b`.
fn to_segment(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (-(a.0 * dx + a.1 * dy) / len2).clamp(0.0, 1.0)
    };
    (a.0 + t * dx).hypot(a.1 + t * dy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_distances() {
        assert_eq!(to_segment((-1.0, 1.0), (1.0, 1.0)), 1.0);
        assert_eq!(to_segment((3.0, 4.0), (3.0, 4.0)), 5.0);
        assert_eq!(to_segment((3.0, 0.0), (5.0, 0.0)), 3.0);
    }
}
