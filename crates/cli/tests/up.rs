//! The binary as a user runs it: token admin, `up` on a NATS server,
//! `submit`, and a clean stop on SIGTERM; `up` refusing to stand in for a
//! configured server that does not answer. (`up` starting its own server
//! when none is configured: tests/nats.rs, since this machine's default
//! address may hold another's server.)

mod common;

use common::{admin, civicprobe, dead_nats_url, repo, spawn_up, terminate, test_nats};

#[test]
fn up_takes_a_report_and_stops_cleanly() {
    let data = tempfile::tempdir().expect("tempdir");
    let courier = admin(data.path(), &["courier", "add", "Li Wei"]);
    let office = admin(
        data.path(),
        &["office", "add", "wenquan", "--person", "Wang Fang"],
    );
    assert_eq!(courier.len(), 64, "{courier}");
    assert_ne!(courier, office);

    let jurisdictions = repo().join("fixtures/jurisdictions.geojson");
    let extra = [
        std::ffi::OsStr::new("--jurisdictions"),
        jurisdictions.as_os_str(),
    ];
    let nats = test_nats();
    let (mut child, url) = spawn_up(data.path(), &nats.url(), &extra);

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

#[test]
fn up_fails_when_the_configured_nats_does_not_answer() {
    let data = tempfile::tempdir().expect("tempdir");
    let dead = dead_nats_url();
    let out = civicprobe()
        .args(["up", "--listen", "127.0.0.1:0"])
        .env("NATS_URL", format!("nats://civic:hunter2@{}", &dead[7..]))
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .expect("run up");
    assert!(!out.status.success(), "up started without its NATS server");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no NATS server answers at"), "{stderr}");
    assert!(stderr.contains(&dead[7..]), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(
        !data.path().join("nats").exists(),
        "up started a private server instead"
    );
}

#[test]
fn a_bad_entry_in_the_nats_url_list_is_named_masked() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = civicprobe()
        .args(["up", "--listen", "127.0.0.1:0"])
        .env(
            "NATS_URL",
            "nats://127.0.0.1:1,http://civic:hunter2@nats-2:4222",
        )
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .expect("run up");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("NATS_URL entry 2"), "{stderr}");
    assert!(stderr.contains("nats-2:4222"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
