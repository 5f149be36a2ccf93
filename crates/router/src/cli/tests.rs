use super::*;
use civicprobe_model::Location;
use clap::Parser;
use std::path::Path;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn classify_writes_one_line_per_input_line() {
    let input = concat!(
        "{\"text\": \"配电箱冒烟 electrical box smoking\", \"hint\": null}\n",
        "\n",
        "{\"text\": \"电梯按钮坏了\", \"hint\": \"elevator\"}\n",
        "not json\n",
        "{\"text\": null, \"hint\": null}\n",
        "{\"text\": \"x\", \"hint\": \"tree\"}\n",
    );
    let mut out = Vec::new();
    classify_lines(&Classifier::builtin(), input.as_bytes(), &mut out).unwrap();
    let got = lines(&out);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[0]["category"], "electrical_box");
    assert_eq!(got[0]["urgent"], true);
    assert!(got[0]["confidence"].as_f64().unwrap() > 0.5);
    assert_eq!(
        (got[1]["category"].as_str(), got[1]["urgent"].as_bool()),
        (Some("elevator"), Some(false))
    );
    assert!(got[2]["error"].as_str().unwrap().starts_with("line 4:"));
    assert_eq!(
        (
            got[3]["category"].as_str(),
            got[3]["needs_triage"].as_bool()
        ),
        (Some("other"), Some(true))
    );
    assert!(got[4]["error"].as_str().unwrap().contains("line 6"));
}

#[test]
fn eval_on_the_heldout_split_prints_the_figures() {
    let mut out = Vec::new();
    let classifier = Classifier::from_file(&fixture("reports/train.jsonl")).unwrap();
    evaluate_file(&classifier, &fixture("reports/heldout.jsonl"), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    println!("{text}");
    let figure = |label: &str| -> f64 {
        let line = text.lines().find(|l| l.starts_with(label)).unwrap();
        line[label.len()..].trim().parse().unwrap()
    };
    assert_eq!(figure("reports"), 147.0);
    assert!(figure("accuracy") >= 0.9, "{text}");
    assert!(figure("urgent recall") >= 0.95, "{text}");
    for c in ["manhole", "elevator", "electrical_box", "other"] {
        assert!(text.lines().any(|l| l.starts_with(c)), "{text}");
    }
    let err = evaluate_file(&classifier, Path::new("/nonexistent.jsonl"), Vec::new()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent.jsonl"), "{err}");
}

#[derive(Parser, Debug)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    Classify(ClassifyArgs),
    Route(RouteArgs),
}

fn route_json(args: &[&str]) -> serde_json::Value {
    let path = fixture("jurisdictions.geojson");
    let mut argv = vec![
        "civicprobe",
        "route",
        "--jurisdictions",
        path.to_str().unwrap(),
    ];
    argv.extend_from_slice(args);
    let Command::Route(args) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not route")
    };
    let mut out = Vec::new();
    route_to(&args, &mut out).unwrap();
    lines(&out).remove(0)
}

#[test]
fn route_prints_the_office_the_boundary_flag_or_null() {
    let inside = route_json(&["--lat", "29.84", "--lon", "114.32"]);
    assert_eq!(
        (inside["office_id"].as_str(), inside["boundary"].as_bool()),
        (Some("wenquan"), Some(false))
    );
    let fushan = route_json(&["--lat", "29.78", "--lon", "114.35"]);
    assert_eq!(fushan["office_id"], "fushan");
    let edge = route_json(&["--lat", "29.739", "--lon", "114.30"]);
    assert_eq!(
        (edge["office_id"].as_str(), edge["boundary"].as_bool()),
        (Some("fushan"), Some(true))
    );
    let strict = route_json(&["--lat", "29.739", "--lon", "114.30", "--boundary-m", "50"]);
    assert_eq!(strict["office_id"], serde_json::Value::Null);
    let far = route_json(&["--lat", "30.60", "--lon", "114.30"]);
    assert_eq!(
        far,
        serde_json::json!({ "office_id": null, "wgs84": { "lat": 30.60, "lon": 114.30 } })
    );
    let Command::Route(mut bad) = Cli::try_parse_from(["c", "route", "--lat", "1", "--lon", "2"])
        .unwrap()
        .command
    else {
        panic!()
    };
    bad.lat = 95.0;
    bad.jurisdictions = fixture("jurisdictions.geojson");
    assert!(route_to(&bad, Vec::new())
        .unwrap_err()
        .to_string()
        .contains("lat"));
}

#[test]
fn route_takes_the_points_datum() {
    // 100 m south of the wenquan / fushan edge (29.82 N) in WGS-84: fushan.
    let wgs = Location::new(29.82 - 100.0 / 111_320.0, 114.35).unwrap();
    let (lat, lon) = Datum::Gcj02.from_wgs84(&wgs);
    let (lat, lon) = (lat.to_string(), lon.to_string());
    let declared = route_json(&["--lat", &lat, "--lon", &lon, "--datum", "gcj02"]);
    assert_eq!(declared["office_id"], "fushan", "{declared}");
    let back = &declared["wgs84"];
    let back = Location::new(back["lat"].as_f64().unwrap(), back["lon"].as_f64().unwrap());
    assert!(back.unwrap().distance_m(&wgs) < 0.01);
    // BD-09 shifts ~370 m north here: its numbers read as WGS-84 land in
    // wenquan; declared (in any spelling) they go to fushan.
    let (lat, lon) = Datum::Bd09.from_wgs84(&wgs);
    let (lat, lon) = (lat.to_string(), lon.to_string());
    let misread = route_json(&["--lat", &lat, "--lon", &lon]);
    assert_eq!(misread["office_id"], "wenquan", "{misread}");
    let declared = route_json(&["--lat", &lat, "--lon", &lon, "--datum", "BD-09"]);
    assert_eq!(declared["office_id"], "fushan", "{declared}");
}

#[test]
fn classify_args_default_to_the_bundled_corpus() {
    let Command::Classify(args) = Cli::try_parse_from(["c", "classify"]).unwrap().command else {
        panic!()
    };
    if std::env::var_os("CIVICPROBE_CLASSIFIER_CORPUS").is_none() {
        assert_eq!(args.classifier_corpus, PathBuf::from(DEFAULT_CORPUS));
    }
    assert_eq!(args.eval, None);
    let Command::Classify(args) = Cli::try_parse_from(["c", "classify", "--eval", "h.jsonl"])
        .unwrap()
        .command
    else {
        panic!()
    };
    assert_eq!(args.eval, Some(PathBuf::from("h.jsonl")));
}
