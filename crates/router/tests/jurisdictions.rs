//! The Xian'an fixture: the sample points of fixtures/README.md.

use civicprobe_model::Location;
use civicprobe_router::{Config, Jurisdictions};
use clap::Parser;
use std::path::{Path, PathBuf};

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jurisdictions.geojson")
}

fn fixture() -> Jurisdictions {
    Jurisdictions::load(&fixture_path()).expect("the fixture loads")
}

fn office_at(j: &Jurisdictions, lat: f64, lon: f64) -> Option<String> {
    j.office_for(&Location::new(lat, lon).unwrap())
        .map(|o| o.id.to_string())
}

#[test]
fn every_office_has_its_sample_point() {
    let j = fixture();
    for (lat, lon, office) in [
        (29.92, 114.32, "xiangyanghu"),
        (29.80, 114.25, "guanbuqiao"),
        (29.84, 114.32, "wenquan"),
        (29.865, 114.36, "yongan"),
        (29.78, 114.35, "fushan"),
    ] {
        assert_eq!(
            office_at(&j, lat, lon).as_deref(),
            Some(office),
            "{lat},{lon}"
        );
    }
    let ids: Vec<_> = j.offices().map(|o| o.id.to_string()).collect();
    assert_eq!(
        ids,
        ["fushan", "guanbuqiao", "wenquan", "xiangyanghu", "yongan"]
    );
    let names: Vec<_> = j.offices().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        ["浮山街道", "官埠桥镇", "温泉街道", "向阳湖镇", "永安街道"]
    );
    assert!(j.offices().all(|o| o.name_en.is_some()));
}

#[test]
fn points_outside_every_office_belong_to_nobody() {
    let j = fixture();
    for (lat, lon) in [
        (29.84, 114.50),
        (30.00, 114.32),
        (29.70, 114.30),
        (29.84, 114.20),
    ] {
        assert_eq!(office_at(&j, lat, lon), None, "{lat},{lon}");
    }
}

#[test]
fn the_hole_in_wenquan_is_yongan_not_wenquan() {
    let j = fixture();
    // Just inside the hole's corners: Yong'an only.
    for (lat, lon) in [(29.8501, 114.3401), (29.8799, 114.3799)] {
        assert_eq!(office_at(&j, lat, lon).as_deref(), Some("yongan"));
    }
    // Just outside the hole: Wenquan.
    assert_eq!(office_at(&j, 29.8499, 114.36).as_deref(), Some("wenquan"));
}

#[test]
fn shared_edges_go_to_exactly_one_office_the_lowest_id() {
    let j = fixture();
    for (lat, lon, office) in [
        (29.85, 114.28, "guanbuqiao"), // guanbuqiao | wenquan
        (29.82, 114.35, "fushan"),     // wenquan | fushan
        (29.90, 114.32, "wenquan"),    // wenquan | xiangyanghu
        (29.90, 114.25, "guanbuqiao"), // guanbuqiao | xiangyanghu
        (29.85, 114.36, "wenquan"),    // wenquan's hole | yongan
        (29.82, 114.28, "fushan"),     // three-office corner
        (29.74, 114.30, "fushan"),     // the outer edge: still fushan's
    ] {
        for _ in 0..3 {
            assert_eq!(
                office_at(&j, lat, lon).as_deref(),
                Some(office),
                "{lat},{lon}"
            );
        }
    }
}

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    router: Config,
}

#[test]
fn the_config_defaults_to_the_fixture_and_takes_a_flag() {
    let cli = Cli::try_parse_from(["civicprobe"]).unwrap();
    if std::env::var_os("CIVICPROBE_JURISDICTIONS").is_none() {
        assert_eq!(
            cli.router.jurisdictions,
            Path::new("fixtures/jurisdictions.geojson")
        );
        assert_eq!(cli.router.jurisdictions, Config::default().jurisdictions);
    }
    let path = fixture_path();
    let cli = Cli::try_parse_from([
        "civicprobe".as_ref(),
        "--jurisdictions".as_ref(),
        path.as_os_str(),
    ])
    .unwrap();
    let router = civicprobe_router::Router::from_config(&cli.router).unwrap();
    assert_eq!(router.jurisdictions().offices().count(), 5);
}
