//! The binary as a user runs it: token admin, `up` with no NATS running
//! (it starts its own), `submit`, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn civicprobe() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_civicprobe"));
    // From the workspace root, as a user runs it: the default fixture
    // paths (jurisdictions, classifier corpus, policy) are relative to it.
    cmd.env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    cmd
}

fn jurisdictions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jurisdictions.geojson")
}

/// Runs an admin command and returns its stdout, trimmed.
fn admin(data: &Path, args: &[&str]) -> String {
    let out = civicprobe()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run civicprobe");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// `up` on port 0; returns the child and the base URL it printed.
fn up(data: &Path, nats_url: &str) -> (Child, String) {
    let mut child = civicprobe()
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--nats-url",
            nats_url,
            "--jurisdictions",
        ])
        .arg(jurisdictions())
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn up");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read line");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "up did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn up_starts_its_own_nats_takes_a_report_and_stops_cleanly() {
    let data = tempfile::tempdir().expect("tempdir");
    let courier = admin(data.path(), &["courier", "add", "Li Wei"]);
    let office = admin(data.path(), &["office", "add", "wenquan"]);
    assert_eq!(courier.len(), 64, "{courier}");
    assert_ne!(courier, office);

    // Nothing listens on this port: `up` must start nats-server itself.
    let dead = format!(
        "nats://127.0.0.1:{}",
        civicprobe_testkit::nats::free_port().expect("port")
    );
    let (mut child, url) = up(data.path(), &dead);
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

    let status = terminate(&mut child);
    assert!(status.success(), "up exited with {status}");
}
