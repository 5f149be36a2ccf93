//! `civicprobe token list|revoke|rotate` as an administrator runs them, and
//! a revocation that holds at once in every service of the in-process
//! stack (ingest, tracker API, Open311, a cookie session), and within
//! seconds in a separate `civicprobe ingest` process, which has no
//! database and learns it from the stack's `TOKENS` stream.

mod common;

use civicprobe::stack::{Stack, StackConfig};
use civicprobe_testkit::{photos, NatsServer};
use common::{admin, civicprobe, run};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// `token list`: the rows after the header, as columns.
fn token_rows(data: &Path) -> Vec<Vec<String>> {
    let out = run(data, &["token", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut lines = text.lines();
    assert!(lines.next().expect("header").starts_with("TOKEN_ID\tROLE"));
    lines
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// The `token list` row whose NAME is `name`, among active ones.
fn row_of(rows: &[Vec<String>], name: &str) -> Vec<String> {
    rows.iter()
        .find(|r| r[9] == name && r[4] == "active")
        .unwrap_or_else(|| panic!("no active token of {name}: {rows:?}"))
        .clone()
}

#[test]
fn an_office_must_be_one_of_the_jurisdictions() {
    let data = tempfile::tempdir().expect("tempdir");
    // An office no jurisdiction has gets no staff and no alert channel:
    // nothing would ever be routed to it.
    let nowhere = [
        vec!["office", "add", "nowhere", "--person", "Wang Fang"],
        vec![
            "office",
            "alert",
            "nowhere",
            "--format",
            "json",
            "--webhook",
            "http://127.0.0.1:9/",
        ],
    ];
    for args in nowhere {
        let refused = run(data.path(), &args);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{args:?} succeeded");
        assert!(
            stderr.contains("no office \"nowhere\"") && stderr.contains("wenquan"),
            "{args:?}: {stderr}"
        );
    }
    // Another file's office is accepted from that file.
    let other = data.path().join("other.geojson");
    let fixture = std::fs::read_to_string(common::repo().join("fixtures/jurisdictions.geojson"))
        .expect("fixture");
    std::fs::write(&other, fixture.replace("\"wenquan\"", "\"nowhere\"")).expect("write");
    let file = other.to_str().expect("utf-8 path");
    let args = [
        "office",
        "add",
        "nowhere",
        "--person",
        "Li Na",
        "--jurisdictions",
        file,
    ];
    admin(data.path(), &args);
}

#[test]
fn tokens_are_listed_revoked_and_rotated_by_their_public_id() {
    let data = tempfile::tempdir().expect("tempdir");
    let office = admin(
        data.path(),
        &["office", "add", "wenquan", "--person", "Wang Fang"],
    );
    let boss = admin(data.path(), &["supervisor", "add", "Zhang Min"]);
    let args = ["courier", "add", "Li Wei", "--expires-in-days", "5"];
    let courier = admin(data.path(), &args);
    let no_person = run(data.path(), &["office", "add", "wenquan"]);
    assert!(!no_person.status.success(), "office add without --person");

    let list = String::from_utf8(run(data.path(), &["token", "list"]).stdout).expect("utf-8");
    for secret in [&office, &boss, &courier] {
        assert!(!list.contains(secret.as_str()), "a secret in token list");
        let hash = sha256_hex(secret);
        assert!(!list.contains(&hash[..32]), "a token hash in token list");
    }
    let rows = token_rows(data.path());
    assert_eq!(rows.len(), 3, "{rows:?}");
    let wang = row_of(&rows, "Wang Fang");
    assert_eq!((wang[1].as_str(), wang[2].as_str()), ("office", "wenquan"));
    let li = row_of(&rows, "Li Wei");
    let (created, expires) = (parse_time(&li[5]), parse_time(&li[6]));
    assert_eq!((expires - created).whole_days(), 5, "{li:?}");

    let out = run(data.path(), &["token", "revoke", &wang[0]]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = token_rows(data.path());
    let revoked = rows.iter().find(|r| r[0] == wang[0]).expect("still listed");
    assert_eq!(revoked[4], "revoked");
    assert_ne!(revoked[8], "-");
    assert!(!run(data.path(), &["token", "revoke", "ffffffffffffffff"])
        .status
        .success());

    let zhang = row_of(&rows, "Zhang Min");
    let new_boss = admin(data.path(), &["token", "rotate", &zhang[0]]);
    assert_eq!(new_boss.len(), 64);
    assert_ne!(new_boss, boss);
    let rows = token_rows(data.path());
    let rotated = row_of(&rows, "Zhang Min");
    assert_ne!(rotated[0], zhang[0]);
    assert_eq!(rotated[3], zhang[3], "the same person");
    let old = rows.iter().find(|r| r[0] == zhang[0]).expect("old");
    assert_eq!(old[4], "revoked");
    assert!(!run(data.path(), &["token", "rotate", &zhang[0]])
        .status
        .success());
}

/// Hex sha256, as the tokens table stores it.
fn sha256_hex(text: &str) -> String {
    use std::fmt::Write;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn parse_time(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// `civicprobe submit` as `token` to `url`: `Ok(report id)` or the stderr.
fn submit(url: &str, token: &str, photo: &Path) -> Result<String, String> {
    let out = civicprobe()
        .args([
            "submit", "--token", token, "--lat", "29.84", "--lon", "114.32",
        ])
        .args(["--url", url, "--photo"])
        .arg(photo)
        .output()
        .expect("submit");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Retries `probe` every 100 ms for up to 15 s.
fn until(what: &str, mut probe: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match probe() {
            Ok(()) => return,
            Err(last) if Instant::now() >= deadline => panic!("{what}: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A child process killed when dropped, so a failing test leaves none
/// behind (holding the test's output pipe open).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `civicprobe ingest` alone, on its own data directory and no database
/// (it follows `TOKENS`), once it answers.
async fn standalone_ingest(data: &Path, nats_url: &str) -> (Killed, String) {
    let port = civicprobe_testkit::nats::free_port().expect("port");
    let listen = format!("127.0.0.1:{port}");
    let mut child = civicprobe()
        .args(["ingest", "--listen", &listen, "--nats-url", nats_url])
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Killed)
        .expect("spawn ingest");
    let url = format!("http://{listen}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url}/healthz")).await.is_err() {
        assert!(child.0.try_wait().expect("wait").is_none(), "ingest exited");
        assert!(Instant::now() < deadline, "ingest never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, url)
}

/// What each service answers one holder's token with, before and after.
struct Probe {
    client: reqwest::Client,
    base: String,
}

impl Probe {
    async fn status(&self, request: reqwest::RequestBuilder) -> u16 {
        request.send().await.expect("request").status().as_u16()
    }

    async fn office_queue(&self, token: &str) -> u16 {
        let url = format!("{}/v1/offices/wenquan/tickets", self.base);
        self.status(self.client.get(url).bearer_auth(token)).await
    }

    async fn open311_post(&self, api_key: &str) -> u16 {
        let form = [
            ("api_key", api_key),
            ("service_code", "manhole"),
            ("lat", "29.84"),
            ("long", "114.32"),
            ("description", "井盖丢失"),
        ];
        let url = format!("{}/open311/v2/requests.json", self.base);
        self.status(self.client.post(url).form(&form)).await
    }

    /// Signs in with `token`; returns the `Cookie` header value.
    async fn sign_in(&self, token: &str) -> String {
        let r = self
            .client
            .post(format!("{}/session", self.base))
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await
            .expect("sign in");
        assert_eq!(r.status(), 200);
        let pairs: Vec<&str> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next())
            .collect();
        assert!(
            !pairs.iter().any(|p| p.contains(token)),
            "token in a cookie"
        );
        pairs.join("; ")
    }

    async fn with_cookie(&self, jar: &str) -> u16 {
        let url = format!("{}/v1/audit/overdue", self.base);
        self.status(self.client.get(url).header("cookie", jar))
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_holds_at_once_in_every_service_and_process() {
    civicprobe_testkit::init_tracing();
    let nats = NatsServer::start().expect("nats");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("stack");
    let fixtures = common::repo().join("fixtures");
    let stack = Stack::start(StackConfig::new(data.clone(), nats.url(), &fixtures))
        .await
        .expect("stack");
    let courier = admin(&data, &["courier", "add", "Li Wei"]);
    let office = admin(
        &data,
        &["office", "add", "wenquan", "--person", "Wang Fang"],
    );
    let boss = admin(&data, &["supervisor", "add", "Zhang Min"]);
    let (ingest, ingest_url) = standalone_ingest(&dir.path().join("ingest"), &nats.url()).await;
    let photo = dir.path().join("hazard.jpg");
    std::fs::write(&photo, photos::jpeg(64, 48)).expect("photo");
    let probe = Probe {
        client: reqwest::Client::new(),
        base: stack.base_url(),
    };

    // Before: every service takes them.
    let jar = probe.sign_in(&boss).await;
    assert_eq!(probe.with_cookie(&jar).await, 200);
    assert_eq!(probe.office_queue(&office).await, 200);
    assert_eq!(probe.open311_post(&courier).await, 201);
    submit(&stack.base_url(), &courier, &photo).expect("stack's ingest takes it");
    until("standalone ingest takes it", || {
        submit(&ingest_url, &courier, &photo).map(|_| ())
    });

    // Revoke all three with the command line, as an administrator would.
    for row in token_rows(&data) {
        let out = run(&data, &["token", "revoke", &row[0]]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // After: the very next request is refused, everywhere.
    assert_eq!(probe.with_cookie(&jar).await, 401, "cookie session");
    assert_eq!(probe.office_queue(&office).await, 401, "tracker API");
    assert_eq!(probe.open311_post(&courier).await, 403, "Open311 POST");
    let refused = submit(&stack.base_url(), &courier, &photo).expect_err("stack's ingest");
    assert!(refused.contains("401"), "{refused}");
    // The standalone ingest hears it from TOKENS (the stack's token feed
    // publishes every second).
    until("standalone ingest refuses", || {
        match submit(&ingest_url, &courier, &photo) {
            Err(refused) if refused.contains("401") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });

    drop(ingest);
    stack.stop().await.expect("stop");
}
