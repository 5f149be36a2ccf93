//! The router's files and flags: loaded at start, refused with the key at
//! fault.

use civicprobe_model::Category;
use civicprobe_router::{Classifier, Config, Options, Router};
use clap::Parser;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(flatten)]
    options: Options,
}

fn parse(extra: &[&str]) -> Cli {
    let j = fixture("jurisdictions.geojson");
    let corpus = fixture("reports/train.jsonl");
    let policy = fixture("policy.toml");
    let categories = fixture("categories.toml");
    let mut argv = vec![
        "civicprobe",
        "--jurisdictions",
        j.to_str().unwrap(),
        "--classifier-corpus",
        corpus.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--categories",
        categories.to_str().unwrap(),
    ];
    let owned: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    argv.extend(owned.iter().map(String::as_str));
    Cli::try_parse_from(argv).unwrap()
}

#[test]
fn the_defaults_name_the_bundled_fixtures() {
    let cli = Cli::try_parse_from(["civicprobe"]).unwrap();
    let vars = [
        "CIVICPROBE_CLASSIFIER_CORPUS",
        "CIVICPROBE_POLICY",
        "CIVICPROBE_CATEGORIES",
        "CIVICPROBE_BOUNDARY_M",
        "CIVICPROBE_DUPLICATE_RADIUS_M",
        "CIVICPROBE_DUPLICATE_HOURS",
        "CIVICPROBE_DUPLICATE_PHASH_BITS",
        "CIVICPROBE_DUPLICATE_PHOTO_RADIUS_M",
    ];
    if vars.iter().all(|v| std::env::var_os(v).is_none()) {
        assert_eq!(cli.options, Options::default());
        assert_eq!(cli.options.policy, Path::new("fixtures/policy.toml"));
        assert_eq!(
            cli.options.classifier_corpus,
            Path::new("fixtures/reports/train.jsonl")
        );
        assert_eq!(cli.options.boundary_m, 200.0);
        let rules = cli.options.duplicate_rules();
        assert_eq!(rules.radius_m, 30.0);
        assert_eq!(rules.window, time::Duration::hours(72));
        assert_eq!(rules.photo_radius_m, 1000.0);
    }
}

#[test]
fn every_file_loads_and_the_flags_apply() {
    let cli = parse(&[
        "--boundary-m",
        "50",
        "--duplicate-radius-m",
        "12",
        "--duplicate-photo-radius-m",
        "400",
    ]);
    let router = Router::from_options(&cli.config, &cli.options).unwrap();
    assert_eq!(router.classifier().trained_on(), 1451);
    assert_eq!(
        router.classifier().version(),
        Classifier::builtin().version()
    );
    assert_eq!(router.duplicates().radius_m, 12.0);
    assert_eq!(router.duplicates().photo_radius_m, 400.0);
    assert_eq!(
        router.categories().names(Category::Elevator).unwrap().zh,
        "电梯"
    );
    // 111 m outside the district: too far with a 50 m tolerance.
    let at = civicprobe_model::Location::new(29.739, 114.30).unwrap();
    assert!(router.locate(&at).is_none());
}

#[test]
fn a_bad_file_is_refused_at_start_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let bad_policy = write("policy.toml", "[elevator.urgent]\nacknowledge = 'soon'\n");
    let mut cli = parse(&[]);
    cli.options.policy = bad_policy;
    let err = Router::from_options(&cli.config, &cli.options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("elevator.urgent.acknowledge"), "{err}");

    let mut cli = parse(&[]);
    cli.options.categories = write("categories.toml", "[manhole]\nzh='井盖'\nen='Manhole'\n");
    let err = Router::from_options(&cli.config, &cli.options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("elevator: is missing"), "{err}");

    let mut cli = parse(&[]);
    cli.options.classifier_corpus = write("c.jsonl", "{\"text\":\"x\"}\n");
    let err = Router::from_options(&cli.config, &cli.options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1"), "{err}");

    let mut cli = parse(&[]);
    cli.options.classifier_corpus = write("empty.jsonl", "");
    let err = Router::from_options(&cli.config, &cli.options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty"), "{err}");

    let mut cli = parse(&[]);
    cli.config.jurisdictions = write(
        "j.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"office_id":"x","name":"X"},"geometry":{"type":"Point","coordinates":[1,2]}}]}"#,
    );
    let err = Router::from_options(&cli.config, &cli.options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("feature #0") && err.contains("\"x\""), "{err}");
}
