//! `Jurisdictions::check` and `check_datum` on the Xian'an fixture and on
//! broken copies of it: each problem is found and named.

mod common;

use civicprobe_model::{Datum, Location};
use civicprobe_router::{check_datum, Finding, Jurisdictions, Tolerances};
use serde_json::Value;

/// The fixture with `edit` applied to its parsed JSON.
fn edited(edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(&common::fixture_text()).unwrap();
    edit(&mut v);
    v.to_string()
}

/// The feature of `office`.
fn feature<'a>(v: &'a mut Value, office: &str) -> &'a mut Value {
    v["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["properties"]["office_id"] == office)
        .unwrap()
}

/// Fushan's rectangle with its north edge at `north`.
fn fushan_north_at(north: f64) -> String {
    edited(|v| {
        feature(v, "fushan")["geometry"]["coordinates"] = serde_json::json!([[
            [114.28, 29.74],
            [114.42, 29.74],
            [114.42, north],
            [114.28, north],
            [114.28, 29.74]
        ]]);
    })
}

fn check(text: &str) -> Vec<Finding> {
    Jurisdictions::from_geojson(text)
        .unwrap()
        .check(Tolerances::default())
}

#[test]
fn the_fixture_is_sound_in_every_datum() {
    assert_eq!(check(&common::fixture_text()), vec![]);
    for d in [Datum::Gcj02, Datum::Bd09] {
        let text = common::in_datum(&common::fixture_text(), d, Some(d));
        assert_eq!(check(&text), vec![], "{d}");
    }
}

#[test]
fn an_overlap_is_found_and_named() {
    // Fushan reaches 0.01° (~1.1 km) into Wenquan, 0.14° (~13.5 km) wide.
    let findings = check(&fushan_north_at(29.83));
    let [Finding::Overlap { a, b, area_m2 }] = findings.as_slice() else {
        panic!("{findings:?}")
    };
    assert_eq!((a.as_str(), b.as_str()), ("fushan", "wenquan"));
    assert!((13.0e6..17.0e6).contains(area_m2), "{area_m2}");
    let line = findings[0].to_string();
    assert!(line.contains("overlap: fushan and wenquan"), "{line}");
    // A few square metres of drawing noise pass.
    let noise = fushan_north_at(29.820_000_01);
    assert_eq!(
        check(&noise),
        vec![],
        "a 15 m² sliver (1 mm deep) is no problem"
    );
}

#[test]
fn a_gap_between_neighbours_is_found_and_named() {
    // Fushan stops ~33 m short of Wenquan.
    let findings = check(&fushan_north_at(29.8197));
    let [Finding::Gap { a, b, distance_m }] = findings.as_slice() else {
        panic!("{findings:?}")
    };
    assert_eq!((a.as_str(), b.as_str()), ("fushan", "wenquan"));
    assert!((30.0..37.0).contains(distance_m), "{distance_m}");
    assert!(findings[0]
        .to_string()
        .starts_with("gap: fushan and wenquan"));
}

#[test]
fn an_area_enclosed_but_covered_by_nobody_is_found() {
    // Without Yong'an, the hole in Wenquan belongs to nobody.
    let text = edited(|v| {
        v["features"]
            .as_array_mut()
            .unwrap()
            .retain(|f| f["properties"]["office_id"] != "yongan");
    });
    let findings = check(&text);
    let [Finding::Uncovered { at, area_m2 }] = findings.as_slice() else {
        panic!("{findings:?}")
    };
    assert!((29.85..29.88).contains(&at.lat()) && (114.34..114.38).contains(&at.lon()));
    assert!((10.0e6..14.0e6).contains(area_m2), "{area_m2}");
}

#[test]
fn a_self_intersecting_ring_is_found() {
    // Xiangyanghu drawn as a bow tie: its top edge crosses its bottom.
    let text = edited(|v| {
        feature(v, "xiangyanghu")["geometry"]["coordinates"] = serde_json::json!([[
            [114.22, 29.90],
            [114.42, 29.94],
            [114.42, 29.90],
            [114.22, 29.94],
            [114.22, 29.90]
        ]]);
    });
    let findings = check(&text);
    let crossing = findings
        .iter()
        .find_map(|f| match f {
            Finding::SelfIntersection { office, at } => Some((office.as_str(), *at)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(crossing.0, "xiangyanghu");
    assert!((crossing.1.lat() - 29.92).abs() < 1e-6 && (crossing.1.lon() - 114.32).abs() < 1e-6);
}

/// Reports 150 m inside the district's west and north edges (WGS-84): where
/// a GCJ-02 file read as WGS-84 (shifted ~520 m east, ~270 m south) does
/// not reach.
fn reports_along_the_west_and_north_edges() -> Vec<Location> {
    let west = (0..6).map(|i| Location::new(29.76 + 0.025 * f64::from(i), 114.2215).unwrap());
    let north = (0..6).map(|i| Location::new(29.9386, 114.25 + 0.03 * f64::from(i)).unwrap());
    // And some in the middle, which every reading holds.
    let middle = (0..8).map(|i| Location::new(29.80 + 0.01 * f64::from(i), 114.32).unwrap());
    west.chain(north).chain(middle).collect()
}

#[test]
fn a_wrongly_declared_datum_is_found_from_the_reports() {
    let positions = reports_along_the_west_and_north_edges();
    // Drawn on Amap, exported without a declaration: read as WGS-84.
    let undeclared = common::in_datum(&common::fixture_text(), Datum::Gcj02, None);
    let j = Jurisdictions::from_geojson(&undeclared).unwrap();
    let finding = check_datum(&undeclared, &j, &positions).expect("found");
    let Finding::Datum {
        declared,
        likely,
        outside,
        recovered,
        median_outside_m,
    } = &finding
    else {
        panic!("{finding:?}")
    };
    assert_eq!((*declared, *likely), (Datum::Wgs84, Datum::Gcj02));
    assert_eq!((*outside, *recovered), (12, 12));
    assert!(
        (50.0..500.0).contains(median_outside_m),
        "{median_outside_m}"
    );
    assert!(
        finding.to_string().contains("probably drawn in gcj02"),
        "{finding}"
    );
    // Declared rightly, the same reports are all inside: nothing to say.
    let declared = common::in_datum(&common::fixture_text(), Datum::Gcj02, Some(Datum::Gcj02));
    let j = Jurisdictions::from_geojson(&declared).unwrap();
    assert_eq!(check_datum(&declared, &j, &positions), None);
    // Reports genuinely outside the district (far away) say nothing either.
    let far: Vec<_> = (0..5)
        .map(|i| Location::new(30.5, 114.0 + 0.1 * f64::from(i)).unwrap())
        .collect();
    let wgs = common::fixture_text();
    let j = Jurisdictions::from_geojson(&wgs).unwrap();
    assert_eq!(check_datum(&wgs, &j, &far), None);
}
