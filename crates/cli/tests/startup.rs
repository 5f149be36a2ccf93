//! Every service starts while NATS is down, as real processes of the
//! binary on SQLite and PostgreSQL: `ingest`, `router` and `tracker`
//! pointed at a port where no NATS listens yet answer `/healthz` 200 and
//! `/readyz` 503 naming `nats`, and ingest takes a report (202, into its
//! outbox). Then nats-server starts on that port: every `/readyz` turns
//! 200 and the report becomes a ticket. The services run with
//! `--ops-listen`: there `/metrics` (no token) carries each one's
//! `service` label, and the main listener has no `/metrics` (404).
//! Ingest keeps its photos in the PHOTOS bucket (`--photo-store nats`, as
//! in a district): it makes the bucket at start-up, and its `/readyz`
//! names the bucket's stream when it is gone, as the tracker's names
//! UPLOADS.
//! `up` with `NATS_URL` set to a server that is down starts too, says so
//! (masked), and starts no server of its own.

mod common;

use civicprobe_model::nats::{PHOTOS_STREAM, UPLOADS_STREAM};
use civicprobe_model::{ReportId, TicketId};
use civicprobe_testkit::{photos, NatsServer, TestDb};
use common::{admin, admin_on, civicprobe, post_report, report_form, terminate};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A point in office `wenquan`'s area.
const WENQUAN: (f64, f64) = (29.8413, 114.3225);

/// `127.0.0.1:<a port nothing listens on>`.
fn free_addr() -> String {
    let port = civicprobe_testkit::nats::free_port().expect("port");
    format!("127.0.0.1:{port}")
}

/// A service's process, its main and ops base URLs, and its stderr file.
struct Service {
    child: Child,
    base: String,
    ops: String,
    name: &'static str,
}

/// `civicprobe <name> --listen … --ops-listen … --nats-url <nats>` on
/// `db`, with `data` as its data directory (but the router's); stderr goes
/// to a file in `data`.
fn spawn_service(name: &'static str, nats: &str, db: &str, data: &Path) -> Service {
    let (listen, ops) = (free_addr(), free_addr());
    let log = std::fs::File::create(data.join(format!("{name}.log"))).expect("log file");
    let mut command = civicprobe();
    let flags = [
        "--listen",
        &listen,
        "--ops-listen",
        &ops,
        "--nats-url",
        nats,
    ];
    command.arg(name).args(flags);
    // Ingest's photos go to the shared PHOTOS bucket, as in a district.
    if name == "ingest" {
        command.env("CIVICPROBE_PHOTO_STORE", "nats");
    }
    // The router keeps nothing of its own.
    if name != "router" {
        command.arg("--data-dir").arg(data).env("DATABASE_URL", db);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn a service");
    Service {
        child,
        base: format!("http://{listen}"),
        ops: format!("http://{ops}"),
        name,
    }
}

/// `GET url` until it answers at all (the process listens), up to 60 s.
async fn answered(url: &str) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match reqwest::get(url).await {
            Ok(answer) => return answer,
            Err(e) => assert!(Instant::now() < deadline, "{url} never answered: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET {base}/readyz` until its status is `wanted` (up to 60 s); the body.
async fn readyz_until(base: &str, wanted: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = answered(&format!("{base}/readyz")).await;
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.expect("a JSON body");
        if status == wanted {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{base}/readyz never {wanted}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether `missing` (a `/readyz` list) names NATS.
fn names_nats(body: &Value) -> bool {
    body["missing"]
        .as_array()
        .is_some_and(|m| m.iter().any(|c| c["component"] == "nats"))
}

/// Submits one report to `base` as `courier`; its id (202 asserted).
async fn accepted_report(base: &str, courier: &str) -> ReportId {
    let form = report_form(
        WENQUAN,
        "井盖缺失 manhole cover missing",
        photos::jpeg(320, 240),
    );
    let answer = post_report(base, courier, form).await;
    assert_eq!(answer.status(), 202, "accepted while NATS is down");
    let body: Value = answer.json().await.expect("json");
    body["report_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a report id")
}

/// `GET {base}/v1/tickets/{ticket}` as `office` until 200 (up to 60 s).
async fn ticket_appears(base: &str, office: &str, ticket: TicketId) {
    let url = format!("{base}/v1/tickets/{ticket}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = http.get(&url).bearer_auth(office).send().await;
        if answer.as_ref().is_ok_and(|a| a.status() == 200) {
            return;
        }
        assert!(Instant::now() < deadline, "ticket {ticket} never appeared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The main listener has no `/metrics`; the ops listener serves it,
/// without a token, with the HTTP histogram labelled by this service.
async fn metrics_on_the_ops_listener(service: &Service) {
    let public = answered(&format!("{}/metrics", service.base)).await;
    assert_eq!(
        public.status(),
        404,
        "{}: /metrics on the public listener",
        service.name
    );
    for path in ["/healthz", "/readyz"] {
        let answer = answered(&format!("{}{path}", service.ops)).await;
        assert_eq!(answer.status(), 200, "{} ops {path}", service.name);
    }
    let answer = answered(&format!("{}/metrics", service.ops)).await;
    assert_eq!(answer.status(), 200, "{}: ops /metrics", service.name);
    let text = answer.text().await.expect("text");
    let label = format!(
        "civicprobe_http_request_duration_seconds_count{{service=\"{}\",route=\"/readyz\"",
        service.name
    );
    assert!(
        text.contains(&label),
        "{}: no {label} in\n{text}",
        service.name
    );
}

/// Runs the ingest once beside a tracker, on a NATS of their own, until it
/// accepts `courier`: it learns tokens from `TOKENS`, which the tracker
/// publishes, and keeps a copy in its data directory. Then stops both, so
/// the ingest starts again as one that has run before.
async fn ingest_learns(courier: &str, db: &str, ingest_dir: &Path, tracker_dir: &Path) {
    let nats = NatsServer::start().expect("nats-server");
    let mut ingest = spawn_service("ingest", &nats.url(), db, ingest_dir);
    let mut tracker = spawn_service("tracker", &nats.url(), db, tracker_dir);
    answered(&format!("{}/healthz", ingest.base)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let form = report_form(WENQUAN, "井盖松动", photos::jpeg(64, 48));
        let status = post_report(&ingest.base, courier, form).await.status();
        if status == 202 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the ingest never learnt the courier: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for service in [&mut ingest, &mut tracker] {
        let status = terminate(&mut service.child);
        assert!(
            status.is_some_and(|s| s.success()),
            "{} stopped",
            service.name
        );
    }
}

async fn every_service_starts_while_nats_is_down(kind: &str) {
    let db = TestDb::of_kind(kind).await.expect("database");
    let mut nats = NatsServer::reserve().expect("a port for NATS");
    let data = tempfile::tempdir().expect("tempdir");
    let courier = admin_on(db.url(), data.path(), &["courier", "add", "Li Wei"]);
    let office = admin_on(
        db.url(),
        data.path(),
        &["office", "add", "wenquan", "--person", "Wang Fang"],
    );
    let dirs: Vec<_> = ["ingest", "router", "tracker"]
        .iter()
        .map(|name| {
            let dir = data.path().join(name);
            std::fs::create_dir_all(&dir).expect("data dir");
            dir
        })
        .collect();
    ingest_learns(&courier, db.url(), &dirs[0], &dirs[2]).await;
    let mut services = vec![
        spawn_service("ingest", &nats.url(), db.url(), &dirs[0]),
        spawn_service("router", &nats.url(), db.url(), &dirs[1]),
        spawn_service("tracker", &nats.url(), db.url(), &dirs[2]),
    ];
    for service in &services {
        let health = answered(&format!("{}/healthz", service.base)).await;
        assert_eq!(health.status(), 200, "{} /healthz", service.name);
        let body = readyz_until(&service.base, 503).await;
        assert!(names_nats(&body), "{}: {body}", service.name);
    }
    let report = accepted_report(&services[0].base, &courier).await;

    nats.restart()
        .expect("start nats-server on the reserved port");
    for service in &services {
        let body = readyz_until(&service.base, 200).await;
        assert_eq!(body["status"], "ready", "{}: {body}", service.name);
    }
    ticket_appears(&services[2].base, &office, TicketId::for_report(report)).await;
    for service in &services {
        metrics_on_the_ops_listener(service).await;
    }
    // The tracker is ready only with the streams it reads and publishes:
    // UPLOADS gone, its /readyz names it.
    let (_client, js) = nats.connect().await.expect("nats");
    js.delete_stream(UPLOADS_STREAM)
        .await
        .expect("delete UPLOADS");
    let body = readyz_until(&services[2].base, 503).await;
    let uploads = json!({"component": "stream", "name": UPLOADS_STREAM, "reason": "not found"});
    assert_eq!(body["missing"], json!([uploads]), "{body}");
    // Ingest, with its photos on NATS, is ready only with the bucket
    // (made among its start-up steps, not at the first upload).
    js.delete_stream(PHOTOS_STREAM)
        .await
        .expect("delete the PHOTOS bucket");
    let body = readyz_until(&services[0].base, 503).await;
    let photos = json!({"component": "stream", "name": PHOTOS_STREAM, "reason": "not found"});
    assert_eq!(body["missing"], json!([photos]), "{body}");
    for service in &mut services {
        let status = terminate(&mut service.child);
        let log = std::fs::read_to_string(
            data.path()
                .join(service.name)
                .join(format!("{}.log", service.name)),
        )
        .unwrap_or_default();
        assert!(
            status.is_some_and(|s| s.success()),
            "{} did not stop cleanly ({status:?}):\n{log}",
            service.name
        );
    }
}

civicprobe_testkit::on_both_databases!(every_service_starts_while_nats_is_down);

/// `up` with `NATS_URL` set (with credentials) to a server that is not
/// running yet: it starts, warns naming the server masked, takes a
/// report, and once that server runs, becomes ready and tickets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_starts_while_its_configured_nats_is_down() {
    let mut nats =
        NatsServer::reserve_with(&["--user", "civic", "--pass", "hunter2"]).expect("a port");
    let data = tempfile::tempdir().expect("tempdir");
    let courier = admin(data.path(), &["courier", "add", "Li Wei"]);
    let office = admin(
        data.path(),
        &["office", "add", "wenquan", "--person", "Wang Fang"],
    );
    let with_password = nats.url().replace("nats://", "nats://civic:hunter2@");
    let log_path = data.path().join("up.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut up = civicprobe()
        .args(["up", "--listen", "127.0.0.1:0"])
        .env("NATS_URL", &with_password)
        .arg("--data-dir")
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn up");
    let base = first_url(&mut up);
    let body = readyz_until(&base, 503).await;
    assert!(names_nats(&body), "{body}");
    let report = accepted_report(&base, &courier).await;
    nats.restart().expect("start nats-server");
    readyz_until(&base, 200).await;
    ticket_appears(&base, &office, TicketId::for_report(report)).await;
    let status = terminate(&mut up);
    let stderr = std::fs::read_to_string(&log_path).expect("log");
    assert!(status.is_some_and(|s| s.success()), "{status:?}:\n{stderr}");
    assert!(stderr.contains("no NATS server answers yet"), "{stderr}");
    assert!(stderr.contains(&nats.url()[7..]), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(
        !data.path().join("nats").exists(),
        "up started a private server instead"
    );
}

/// The URL `up` prints on its first line.
fn first_url(child: &mut Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read line");
    let url = line.trim().rsplit(' ').next().unwrap_or_default();
    assert!(url.starts_with("http://"), "unexpected first line {line:?}");
    url.to_owned()
}
