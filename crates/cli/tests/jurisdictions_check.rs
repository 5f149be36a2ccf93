//! `civicprobe jurisdictions check FILE` as an operator runs it: a sound
//! file passes; an overlap, and a GCJ-02 file declared WGS-84 held against
//! the district's report positions, are named and exit 1.

mod common;

use civicprobe_model::Datum;
use civicprobe_testkit::datums::geojson_in;
use common::{civicprobe, repo};
use serde_json::{json, Value};

fn fixture() -> Value {
    let text = std::fs::read_to_string(repo().join("fixtures/jurisdictions.geojson")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn check(args: &[&str]) -> (bool, String) {
    let out = civicprobe()
        .args(["jurisdictions", "check"])
        .args(args)
        .output()
        .expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_sound_file_passes_and_an_overlap_is_named() {
    let (ok, out) = check(&["fixtures/jurisdictions.geojson"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("5 offices, read as wgs84") && out.ends_with("no problems\n"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut bad = fixture();
    let fushan = bad["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["properties"]["office_id"] == "fushan")
        .unwrap();
    fushan["geometry"]["coordinates"] = json!([[
        [114.28, 29.74],
        [114.42, 29.74],
        [114.42, 29.83],
        [114.28, 29.83],
        [114.28, 29.74]
    ]]);
    let path = dir.path().join("overlap.geojson");
    std::fs::write(&path, bad.to_string()).unwrap();
    let (ok, out) = check(&[path.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("overlap: fushan and wenquan both claim"),
        "{out}"
    );
}

#[test]
fn a_gcj02_file_declared_wgs84_is_named_from_the_report_positions() {
    let dir = tempfile::tempdir().unwrap();
    let file = geojson_in(&fixture().to_string(), Datum::Gcj02, None);
    let path = dir.path().join("from-amap.geojson");
    std::fs::write(&path, file).unwrap();
    // Reports 150 m inside the district's west edge, in WGS-84.
    let positions: String = (0..8)
        .map(|i| {
            format!(
                "{{\"lat\": {}, \"lon\": 114.2215}}\n",
                29.76 + 0.02 * f64::from(i)
            )
        })
        .collect();
    let reports = dir.path().join("positions.jsonl");
    std::fs::write(&reports, positions).unwrap();
    let (file, reports) = (path.to_str().unwrap(), reports.to_str().unwrap());

    let (ok, out) = check(&[file, "--positions", reports]);
    assert!(!ok, "{out}");
    assert!(out.contains("checked against 8 report positions"), "{out}");
    assert!(
        out.contains("datum: read as wgs84, 8 recent reports fall outside"),
        "{out}"
    );
    assert!(out.contains("probably drawn in gcj02"), "{out}");
    // Read in its real datum, it passes.
    let (ok, out) = check(&[file, "--positions", reports, "--datum", "gcj02"]);
    assert!(ok, "{out}");
}
