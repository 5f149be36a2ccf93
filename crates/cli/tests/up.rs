//! The binary as a user runs it: token admin, `up` with no NATS running
//! (it starts its own), `submit`, and a clean stop on SIGTERM.

mod common;

use common::{admin, civicprobe, dead_nats_url, repo, spawn_up, terminate};

#[test]
fn up_starts_its_own_nats_takes_a_report_and_stops_cleanly() {
    let data = tempfile::tempdir().expect("tempdir");
    let courier = admin(data.path(), &["courier", "add", "Li Wei"]);
    let office = admin(
        data.path(),
        &["office", "add", "wenquan", "--person", "Wang Fang"],
    );
    assert_eq!(courier.len(), 64, "{courier}");
    assert_ne!(courier, office);

    // Nothing listens on this port: `up` must start nats-server itself.
    let jurisdictions = repo().join("fixtures/jurisdictions.geojson");
    let extra = [
        std::ffi::OsStr::new("--jurisdictions"),
        jurisdictions.as_os_str(),
    ];
    let (mut child, url) = spawn_up(data.path(), &dead_nats_url(), &extra);
    assert!(
        data.path().join("nats").is_dir(),
        "NATS store not in the data dir"
    );

    let photo = data.path().join("hazard.jpg");
    std::fs::write(&photo, civicprobe_testkit::photos::jpeg(320, 240)).expect("write photo");
    let out = civicprobe()
        .args([
            "submit", "--token", &courier, "--lat", "29.84", "--lon", "114.32",
        ])
        .args(["--text", "井盖没了", "--url", &url, "--photo"])
        .arg(&photo)
        .output()
        .expect("submit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report_id = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        uuid::Uuid::parse_str(report_id.trim()).is_ok(),
        "{report_id}"
    );

    // A bad token is refused with the problem's text.
    let out = civicprobe()
        .args([
            "submit", "--token", "nope", "--lat", "29.84", "--lon", "114.32",
        ])
        .args(["--url", &url, "--photo"])
        .arg(&photo)
        .output()
        .expect("submit");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));

    let status = terminate(&mut child).expect("up did not stop on SIGTERM");
    assert!(status.success(), "up exited with {status}");
}
