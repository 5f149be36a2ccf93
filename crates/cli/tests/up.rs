//! The binary as a user runs it: token admin, `up` on a NATS server,
//! `submit`, and a clean stop on SIGTERM (`up` waiting for a configured
//! server that does not answer yet is in `startup.rs`); `up`'s own nats-server (started
//! when nothing is configured and nothing answers at the default address,
//! pointed here at a dead port) dying with it, also on kill -9, and one
//! server per store.

mod common;

use common::{
    admin, civicprobe, dead_nats_url, repo, spawn_up, spawn_up_own_nats, terminate, test_nats,
};
use std::path::Path;
use std::time::{Duration, Instant};

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

    // Without --lat/--lon the photo's EXIF GPS places it; one without the
    // other is refused before anything is sent.
    let gps_photo = repo().join("fixtures/photos/odd-exif/be-motorola.jpg");
    let out = civicprobe()
        .args(["submit", "--token", &courier, "--url", &url, "--photo"])
        .arg(&gps_photo)
        .output()
        .expect("submit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = civicprobe()
        .args([
            "submit", "--token", &courier, "--lat", "29.84", "--url", &url,
        ])
        .arg("--photo")
        .arg(&gps_photo)
        .output()
        .expect("submit");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lon"));

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
fn a_killed_up_takes_its_nats_server_along_and_frees_the_store() {
    let data = tempfile::tempdir().expect("tempdir");
    let (mut up, _url) = spawn_up_own_nats(data.path());
    let store = data.path().join("nats");
    let server = nats_server_using(&store).expect("up's nats-server is not running");

    let _ = std::process::Command::new("kill")
        .args(["-KILL", &up.id().to_string()])
        .status();
    let _ = up.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(server) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(server), "nats-server {server} outlived up's kill -9");

    // The store is free again: a new `up` starts its own server on it.
    let (mut again, _url) = spawn_up_own_nats(data.path());
    let status = terminate(&mut again).expect("the second up did not stop");
    assert!(status.success(), "{status}");
    assert!(
        nats_server_using(&store).is_none(),
        "a stopped up left its nats-server"
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

#[test]
fn a_second_up_on_a_store_in_use_refuses_and_names_it() {
    let data = tempfile::tempdir().expect("tempdir");
    let (mut first, _url) = spawn_up_own_nats(data.path());
    let out = civicprobe()
        .args(["up", "--listen", "127.0.0.1:0"])
        .env_remove("NATS_URL")
        .env("CIVICPROBE_NATS_DEFAULT_URL", dead_nats_url())
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .expect("run the second up");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the second up started: {stderr}");
    let store = data.path().join("nats").display().to_string();
    assert!(stderr.contains(&store), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.id())), "{stderr}");
    assert_eq!(
        nats_servers_using(&data.path().join("nats")).len(),
        1,
        "a second nats-server runs on the store"
    );
    let status = terminate(&mut first).expect("up did not stop");
    assert!(status.success(), "{status}");
}

/// The pids of the nats-servers whose command line names `store`.
fn nats_servers_using(store: &Path) -> Vec<u32> {
    let store = store.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<_> = cmdline
                .split(|b| *b == 0)
                .map(String::from_utf8_lossy)
                .collect();
            args.first().is_some_and(|a| a.ends_with("nats-server"))
                && args.iter().any(|a| *a == store)
                && alive(*pid)
        })
        .collect()
}

/// The one nats-server on `store`, if any.
fn nats_server_using(store: &Path) -> Option<u32> {
    nats_servers_using(store).first().copied()
}

/// Whether `pid` runs (a zombie, dead but not yet reaped, does not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}
