//! Credentials never reach a log line: `civicprobe up` at `RUST_LOG=trace`
//! with a NATS server that requires a user and a password holding `@`,
//! and a PostgreSQL URL with a password in its user information and in a
//! `password=` parameter.

use crate::common::{civicprobe, terminate};
use civicprobe_testkit::db::TestDb;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NATS_PASSWORD: &str = "n@ts-pw-7Q";
const PG_PASSWORD: &str = "pg@pw-9Z";
const PG_PARAM_PASSWORD: &str = "pgparam-4K";

/// `nats-server -js` requiring `civic` / [`NATS_PASSWORD`]; killed on drop.
struct AuthNats {
    child: Child,
    port: u16,
    _store: tempfile::TempDir,
}

impl AuthNats {
    fn start() -> Self {
        let store = tempfile::tempdir().expect("tempdir");
        let port = civicprobe_testkit::nats::free_port().expect("port");
        let bin = std::env::var_os("NATS_SERVER_BIN").unwrap_or_else(|| {
            let sbin = Path::new("/usr/sbin/nats-server");
            if sbin.exists() {
                sbin.into()
            } else {
                "nats-server".into()
            }
        });
        let child = Command::new(bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store.path())
            .args(["--user", "civic", "--pass", NATS_PASSWORD])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        AuthNats {
            child,
            port,
            _store: store,
        }
    }
}

impl Drop for AuthNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `db`'s URL with [`PG_PASSWORD`] as the password and a `password=`
/// parameter (trust auth ignores both).
fn with_passwords(db: &str) -> String {
    let (scheme, rest) = db.split_once("://").expect("a URL");
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://postgres:{PG_PASSWORD}@{host}?password={PG_PARAM_PASSWORD}&sslmode=disable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_carries_a_credential_at_trace_level() {
    let nats = AuthNats::start();
    let db = TestDb::postgres().await.expect("postgres");
    let data = tempfile::tempdir().expect("tempdir");
    let nats_url = format!("nats://civic:{NATS_PASSWORD}@127.0.0.1:{}", nats.port);
    let mut child = civicprobe()
        .env("RUST_LOG", "trace")
        .args(["up", "--listen", "127.0.0.1:0", "--nats-url", &nats_url])
        .arg("--data-dir")
        .arg(data.path())
        .args(["--database-url", &with_passwords(db.url())])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn up");
    let mut stderr = child.stderr.take().expect("stderr");
    let log = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stderr.read_to_end(&mut all);
        String::from_utf8_lossy(&all).into_owned()
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read line");
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(base.starts_with("http://"), "{line:?}");
    // Some traffic: a health check and a refused request.
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let queue = http
        .get(format!("{base}/v1/unrouted"))
        .send()
        .await
        .expect("unrouted");
    assert_eq!(queue.status(), 401);
    terminate(&mut child).expect("stopped");
    let log = log.join().expect("stderr");
    // The server that requires the password is the one in use, and the
    // log really is at trace level.
    assert!(log.contains("connected to NATS"), "{log}");
    assert!(log.contains("TRACE"), "not a trace log");
    for secret in [
        NATS_PASSWORD,
        PG_PASSWORD,
        PG_PARAM_PASSWORD,
        "n%40ts-pw",
        "pg%40pw",
    ] {
        let leaked: Vec<&str> = log.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaked.is_empty(), "{secret} in the log: {leaked:#?}");
    }
}
