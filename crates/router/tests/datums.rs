//! Jurisdiction files and points in WGS-84, GCJ-02 and BD-09: whatever the
//! datums, a point 100 m inside a WGS-84 boundary goes to its office.

mod common;

use civicprobe_model::{Datum, Location};
use civicprobe_router::Jurisdictions;

/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_320.0;

/// Points 100 m on either side of two of the fixture's shared edges, in
/// WGS-84, with the office each belongs to. GCJ-02 moves positions here
/// ~520 m east and ~270 m south, BD-09 ~1.15 km east and ~370 m north, so a
/// misread datum puts each of these in the neighbour's area.
fn points_100_m_inside() -> Vec<(Location, &'static str)> {
    let dlat = 100.0 / M_PER_DEG;
    let dlon = |lat: f64| 100.0 / (M_PER_DEG * lat.to_radians().cos());
    let at = |lat, lon| Location::new(lat, lon).unwrap();
    vec![
        // guanbuqiao | wenquan at 114.28 E.
        (at(29.86, 114.28 - dlon(29.86)), "guanbuqiao"),
        (at(29.86, 114.28 + dlon(29.86)), "wenquan"),
        // wenquan above fushan at 29.82 N.
        (at(29.82 + dlat, 114.35), "wenquan"),
        (at(29.82 - dlat, 114.35), "fushan"),
        // wenquan around its hole, Yong'an, east edge 114.38 E.
        (at(29.865, 114.38 - dlon(29.865)), "yongan"),
        (at(29.865, 114.38 + dlon(29.865)), "wenquan"),
    ]
}

fn office(j: &Jurisdictions, at: &Location) -> Option<String> {
    j.office_for(at).map(|o| o.id.to_string())
}

/// The fixture as a district would export it from each datum's map.
fn files() -> Vec<(Datum, Jurisdictions)> {
    let wgs = common::fixture_text();
    Datum::ALL
        .into_iter()
        .map(|d| {
            let text = common::in_datum(&wgs, d, Some(d));
            let j = Jurisdictions::from_geojson(&text).expect("loads");
            assert_eq!(j.datum(), d);
            (d, j)
        })
        .collect()
}

#[test]
fn a_point_100_m_inside_goes_to_its_office_whatever_the_datums() {
    for (file_datum, j) in files() {
        for (wgs, expected) in points_100_m_inside() {
            // The point as each datum's map or phone would give it.
            for point_datum in Datum::ALL {
                let (lat, lon) = point_datum.from_wgs84(&wgs);
                let at = point_datum.to_wgs84(lat, lon).unwrap();
                assert_eq!(
                    office(&j, &at).as_deref(),
                    Some(expected),
                    "file {file_datum}, point {point_datum} {lat},{lon}"
                );
            }
        }
    }
}

#[test]
fn a_misread_datum_sends_those_points_to_the_neighbour() {
    // What the issue warns of: the same GCJ-02 file read as WGS-84.
    let gcj = common::in_datum(&common::fixture_text(), Datum::Gcj02, None);
    let misread = Jurisdictions::from_geojson(&gcj).unwrap();
    assert_eq!(misread.datum(), Datum::Wgs84);
    let wrong = points_100_m_inside()
        .into_iter()
        .filter(|(at, expected)| office(&misread, at).as_deref() != Some(*expected))
        .count();
    // Shifted east and south: the three points east of or south of an edge.
    assert_eq!(wrong, 3, "points misrouted");
    // The operator's override reads the undeclared file right.
    let fixed = Jurisdictions::from_geojson_in(&gcj, Some(Datum::Gcj02)).unwrap();
    for (at, expected) in points_100_m_inside() {
        assert_eq!(office(&fixed, &at).as_deref(), Some(expected), "{at:?}");
    }
}

#[test]
fn the_override_beats_the_files_declaration() {
    // A BD-09 file wrongly declared GCJ-02, read with the override.
    let bd = common::in_datum(&common::fixture_text(), Datum::Bd09, Some(Datum::Gcj02));
    let as_declared = Jurisdictions::from_geojson(&bd).unwrap();
    let overridden = Jurisdictions::from_geojson_in(&bd, Some(Datum::Bd09)).unwrap();
    assert_eq!(
        (as_declared.datum(), overridden.datum()),
        (Datum::Gcj02, Datum::Bd09)
    );
    for (at, expected) in points_100_m_inside() {
        assert_eq!(office(&overridden, &at).as_deref(), Some(expected));
    }
}

#[test]
fn an_unknown_datum_is_refused_by_name() {
    let text = common::fixture_text().replacen('{', r#"{"datum": "cgcs2000","#, 1);
    let err = Jurisdictions::from_geojson(&text).unwrap_err().to_string();
    assert!(
        err.contains("datum must be one of wgs84, gcj02, bd09"),
        "{err}"
    );
}
