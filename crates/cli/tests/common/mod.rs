//! Running the `civicprobe` binary as a user does, for the tests in this
//! folder. Each test binary uses a part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary, run from the workspace root as a user runs it (the default
/// fixture paths are relative to it), without the caller's `DATABASE_URL`.
pub fn civicprobe() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_civicprobe"));
    cmd.env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .current_dir(repo());
    cmd
}

/// Runs `civicprobe <args> --data-dir <data>`.
pub fn run(data: &Path, args: &[&str]) -> std::process::Output {
    civicprobe()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run civicprobe")
}

/// Runs an admin command against `data` and returns the last line it
/// printed (the token).
pub fn admin(data: &Path, args: &[&str]) -> String {
    admin_with(civicprobe(), data, args)
}

/// [`admin`] on the database at `db` (`DATABASE_URL`).
pub fn admin_on(db: &str, data: &Path, args: &[&str]) -> String {
    let mut command = civicprobe();
    command.env("DATABASE_URL", db);
    admin_with(command, data, args)
}

fn admin_with(mut command: Command, data: &Path, args: &[&str]) -> String {
    let out = command
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run civicprobe");
    last_line(&out, &format!("{args:?}"))
}

/// The last line a successful command printed (an admin command's token).
pub fn last_line(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .trim()
        .lines()
        .last()
        .expect("a line")
        .trim()
        .to_owned()
}

/// `civicprobe up` on port 0 with `data` and `nats_url` plus `extra`
/// arguments; returns the child and the base URL it printed first.
pub fn spawn_up<S: AsRef<OsStr>>(data: &Path, nats_url: &str, extra: &[S]) -> (Child, String) {
    let mut child = civicprobe()
        .args(["up", "--listen", "127.0.0.1:0", "--nats-url", nats_url])
        .arg("--data-dir")
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn up");
    let url = first_line_url(&mut child);
    (child, url)
}

/// `up` with nothing configured and a dead default address, so that it
/// starts a nats-server of its own (the machine's default address may hold
/// another's server).
pub fn spawn_up_own_nats(data: &Path) -> (Child, String) {
    let mut child = civicprobe()
        .args(["up", "--listen", "127.0.0.1:0"])
        .env_remove("NATS_URL")
        .env("CIVICPROBE_NATS_DEFAULT_URL", dead_nats_url())
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn up");
    let url = first_line_url(&mut child);
    (child, url)
}

/// The URL `up` prints on its first line.
fn first_line_url(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read line");
    line.trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}

/// A NATS URL nothing answers at.
pub fn dead_nats_url() -> String {
    let port = civicprobe_testkit::nats::free_port().expect("port");
    format!("nats://127.0.0.1:{port}")
}

/// A nats-server of the test's own for `up` to use (`up` no longer starts
/// one when `--nats-url` is given, and the machine's default address may
/// be another's server).
pub fn test_nats() -> civicprobe_testkit::NatsServer {
    civicprobe_testkit::NatsServer::start().expect("nats-server")
}

/// SIGTERM, then waits up to 20 s; `None` if it did not stop (then killed).
pub fn terminate(child: &mut Child) -> Option<ExitStatus> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

/// The multipart body of `POST /v1/reports`.
pub fn report_form(at: (f64, f64), text: &str, photo: Vec<u8>) -> reqwest::multipart::Form {
    let report =
        serde_json::json!({"lat": at.0, "lon": at.1, "text": text, "category_hint": "manhole"});
    reqwest::multipart::Form::new()
        .part(
            "report",
            reqwest::multipart::Part::text(report.to_string())
                .mime_str("application/json")
                .expect("mime"),
        )
        .part("photo", jpeg_part(photo))
}

/// A `photo.jpg` part.
pub fn jpeg_part(bytes: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes)
        .file_name("photo.jpg")
        .mime_str("image/jpeg")
        .expect("mime")
}

/// `POST {base}/v1/reports` as `token`, with a fresh Idempotency-Key.
pub async fn post_report(
    base: &str,
    token: &str,
    form: reqwest::multipart::Form,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/v1/reports"))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .multipart(form)
        .send()
        .await
        .expect("answered")
}

/// An in-process stack with the fixtures, on a fresh database, and what
/// it runs on.
pub struct OnDatabase {
    /// The stack.
    pub stack: civicprobe::stack::Stack,
    /// Its own nats-server, for outages.
    pub nats: civicprobe_testkit::NatsServer,
    /// Its database, dropped after the test.
    pub db: civicprobe_testkit::TestDb,
    /// Its data directory.
    pub data: tempfile::TempDir,
}

/// [`OnDatabase`] on a database of `kind` (`sqlite` or `postgres`).
pub async fn stack_on(kind: &str) -> OnDatabase {
    stack_on_with(kind, |_| {}).await
}

/// [`stack_on`] with `adjust` applied to the configuration.
pub async fn stack_on_with(
    kind: &str,
    adjust: impl FnOnce(&mut civicprobe::stack::StackConfig),
) -> OnDatabase {
    let db = civicprobe_testkit::TestDb::of_kind(kind)
        .await
        .expect("database");
    let nats = civicprobe_testkit::NatsServer::start().expect("nats");
    let data = tempfile::tempdir().expect("tempdir");
    let fixtures = repo().join("fixtures");
    let mut config =
        civicprobe::stack::StackConfig::new(data.path().join("stack"), nats.url(), &fixtures);
    config.database.database_url = Some(db.url().to_owned());
    adjust(&mut config);
    let stack = civicprobe::stack::Stack::start(config)
        .await
        .expect("stack");
    OnDatabase {
        stack,
        nats,
        db,
        data,
    }
}
