//! Parsing and lookup on small inline collections; the Xian'an fixture is
//! covered by `tests/jurisdictions.rs`.

use super::*;

fn at(lat: f64, lon: f64) -> Location {
    Location::new(lat, lon).unwrap()
}

fn feature(props: &str, geometry: &str) -> String {
    format!(r#"{{"type":"Feature","properties":{props},"geometry":{geometry}}}"#)
}

fn collection(features: &[String]) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[4,6],[6,6],[6,4],[4,4]]]}"#;
const TWO_ISLANDS: &str = r#"{"type":"MultiPolygon","coordinates":[[[[20,0],[21,0],[21,1],[20,1],[20,0]]],[[[30,0],[31,0],[31,1],[30,1],[30,0]]]]}"#;

fn office_id_at(j: &Jurisdictions, lat: f64, lon: f64) -> Option<&str> {
    j.office_for(&at(lat, lon)).map(|o| o.id.as_str())
}

#[test]
fn holes_are_honoured_and_multipolygons_match_every_part() {
    let j = Jurisdictions::from_geojson(&collection(&[
        feature(r#"{"office_id":"ring","name":"环"}"#, SQUARE),
        feature(
            r#"{"office_id":"islands","name":"岛","name_en":"Islands"}"#,
            TWO_ISLANDS,
        ),
    ]))
    .unwrap();
    assert_eq!(office_id_at(&j, 1.0, 1.0), Some("ring"));
    assert_eq!(office_id_at(&j, 5.0, 5.0), None, "inside the hole");
    assert_eq!(
        office_id_at(&j, 4.0, 5.0),
        Some("ring"),
        "on the hole's edge"
    );
    assert_eq!(office_id_at(&j, 0.5, 20.5), Some("islands"));
    assert_eq!(office_id_at(&j, 0.5, 30.5), Some("islands"));
    assert_eq!(office_id_at(&j, 0.5, 25.0), None, "between the islands");
    let ids: Vec<_> = j.offices().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["islands", "ring"], "ordered by id");
    let islands = j.office(&OfficeId::parse("islands").unwrap()).unwrap();
    assert_eq!(islands.name_en.as_deref(), Some("Islands"));
}

#[test]
fn a_shared_edge_goes_to_the_lowest_office_id_whatever_the_file_order() {
    let west = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}"#;
    let east = r#"{"type":"Polygon","coordinates":[[[1,0],[2,0],[2,1],[1,1],[1,0]]]}"#;
    for features in [
        [
            feature(r#"{"office_id":"b","name":"B"}"#, west),
            feature(r#"{"office_id":"a","name":"A"}"#, east),
        ],
        [
            feature(r#"{"office_id":"a","name":"A"}"#, east),
            feature(r#"{"office_id":"b","name":"B"}"#, west),
        ],
    ] {
        let j = Jurisdictions::from_geojson(&collection(&features)).unwrap();
        assert_eq!(office_id_at(&j, 0.5, 1.0), Some("a"));
        assert_eq!(office_id_at(&j, 0.5, 0.5), Some("b"));
        assert_eq!(office_id_at(&j, 0.5, 1.5), Some("a"));
    }
}

/// Each bad feature sits at index 1 after a good one, so the error must
/// name index 1 and, where it has one, the office id.
#[test]
fn invalid_features_are_refused_naming_index_and_office() {
    let good = feature(r#"{"office_id":"good","name":"好"}"#, SQUARE);
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        (r#"{"name":"无"}"#, SQUARE, None, "office_id is missing"),
        (
            r#"{"office_id":7,"name":"七"}"#,
            SQUARE,
            None,
            "office_id is missing or not a string",
        ),
        (
            r#"{"office_id":"Bad.Id","name":"坏"}"#,
            SQUARE,
            Some("Bad.Id"),
            "must be 1 to 64",
        ),
        (
            r#"{"office_id":"good","name":"重"}"#,
            SQUARE,
            Some("good"),
            "earlier feature",
        ),
        (
            r#"{"office_id":"noname"}"#,
            SQUARE,
            Some("noname"),
            "name is missing",
        ),
        (
            r#"{"office_id":"blank","name":"  "}"#,
            SQUARE,
            Some("blank"),
            "name is missing",
        ),
        (
            r#"{"office_id":"en","name":"英","name_en":1}"#,
            SQUARE,
            Some("en"),
            "name_en",
        ),
        (
            r#"{"office_id":"nogeo","name":"无"}"#,
            "null",
            Some("nogeo"),
            "geometry is missing",
        ),
        (
            r#"{"office_id":"pt","name":"点"}"#,
            r#"{"type":"Point","coordinates":[1,1]}"#,
            Some("pt"),
            "not a Point",
        ),
        (
            r#"{"office_id":"open","name":"开"}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}"#,
            Some("open"),
            "not closed",
        ),
        (
            r#"{"office_id":"short","name":"短"}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}"#,
            Some("short"),
            "at least 4 positions",
        ),
        (
            r#"{"office_id":"far","name":"远"}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,95],[0,0]]]}"#,
            Some("far"),
            "latitude 95 is out of range",
        ),
        (
            r#"{"office_id":"hole","name":"洞"}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[9,0],[9,9],[0,0]],[[1,1],[2,1],[1,1]]]}"#,
            Some("hole"),
            "hole #1",
        ),
        (
            r#"{"office_id":"empty","name":"空"}"#,
            r#"{"type":"MultiPolygon","coordinates":[]}"#,
            Some("empty"),
            "no polygons",
        ),
    ];
    for (props, geometry, office_id, reason) in cases {
        let text = collection(&[good.clone(), feature(props, geometry)]);
        let err = Jurisdictions::from_geojson(&text).unwrap_err();
        let Error::Feature {
            index,
            office_id: got_id,
            reason: got_reason,
        } = &err
        else {
            panic!("{props} {geometry}: expected a feature error, got {err}");
        };
        assert_eq!(*index, 1, "{err}");
        assert_eq!(got_id.as_deref(), *office_id, "{err}");
        assert!(got_reason.contains(reason), "{err} should say {reason:?}");
        assert!(err.to_string().contains("feature #1"), "{err}");
    }
}

#[test]
fn non_collections_and_empty_collections_are_refused() {
    for text in [
        "",
        "not json",
        r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}"#,
        r#"{"type":"FeatureCollection","features":[]}"#,
    ] {
        assert!(Jurisdictions::from_geojson(text).is_err(), "{text:?}");
    }
}

#[test]
fn a_missing_file_names_the_path() {
    let err = Jurisdictions::load(Path::new("/nonexistent/offices.geojson")).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/offices.geojson"),
        "{err}"
    );
}
