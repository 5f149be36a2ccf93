//! The live event stream in the binary as a user runs it, on SQLite and
//! PostgreSQL: in `civicprobe up`, an urgent report submitted through
//! ingest reaches the office's `/v1/events` stream, which outlives the
//! server's header-read and body-idle timeouts; in the separate
//! `civicprobe tracker`, a router's ticket reaches it too.

mod common;

use civicprobe_model::nats::ticket_subject;
use civicprobe_testkit::{NatsServer, TestDb};
use common::{admin, civicprobe, report_form, spawn_up, terminate, test_nats};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Generous, only so that a broken build fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(30);

/// Reads `response` until `count` blocks matching `wanted` arrived;
/// returns their `data:` (a comment block's is its text).
async fn read_until(response: &mut reqwest::Response, wanted: &str, count: usize) -> Vec<String> {
    let (mut buffer, mut found) = (String::new(), Vec::new());
    let deadline = Instant::now() + PATIENCE;
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if block.lines().any(|l| l == wanted) {
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                found.push(data.unwrap_or(block.trim()).to_owned());
            }
        }
        if found.len() >= count {
            return found;
        }
        assert!(Instant::now() < deadline, "no {wanted:?} came");
        let chunk = tokio::time::timeout(PATIENCE, response.chunk()).await;
        let chunk = chunk.expect("the stream stayed silent").expect("reading");
        buffer.push_str(&String::from_utf8_lossy(&chunk.expect("the stream ended")));
    }
}

async fn stream(base: &str, token: &str) -> reqwest::Response {
    let response = reqwest::Client::new()
        .get(format!("{base}/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /v1/events");
    assert_eq!(response.status(), 200);
    response
}

/// `--database-url` for `kind` (the database lives as long as `db`).
async fn database(kind: &str) -> (TestDb, [String; 2]) {
    let db = TestDb::of_kind(kind).await.expect("database");
    let args = ["--database-url".to_owned(), db.url().to_owned()];
    (db, args)
}

fn add(data: &Path, db: &[String; 2], args: &[&str]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(db.iter().map(String::as_str));
    admin(data, &all)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_urgent_report_reaches_the_office_stream_in_up_on_sqlite() {
    urgent_report_in_up("sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_urgent_report_reaches_the_office_stream_in_up_on_postgres() {
    urgent_report_in_up("postgres").await;
}

async fn urgent_report_in_up(kind: &str) {
    let data = tempfile::tempdir().expect("tempdir");
    let (_db, db) = database(kind).await;
    let courier = add(data.path(), &db, &["courier", "add", "Li Wei"]);
    let office = add(
        data.path(),
        &db,
        &["office", "add", "wenquan", "--person", "Wang"],
    );
    let mut extra: Vec<String> = ["--header-read-timeout", "1", "--body-idle-timeout", "1"]
        .map(String::from)
        .into();
    extra.extend(["--events-heartbeat-secs".into(), "1".into()]);
    extra.extend(db.iter().cloned());
    let nats = test_nats();
    let (mut child, base) = spawn_up(data.path(), &nats.url(), &extra);
    let mut events = stream(&base, &office).await;
    read_until(&mut events, "event: ready", 1).await;

    let text = "井盖整个掉下去了，露出大洞";
    let form = report_form(
        (29.83, 114.41),
        text,
        civicprobe_testkit::photos::jpeg(64, 48),
    );
    let sent = reqwest::Client::new()
        .post(format!("{base}/v1/reports"))
        .bearer_auth(&courier)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_eq!(sent.status(), 202);
    let accepted: Value = sent.json().await.expect("json");

    let got = read_until(&mut events, "event: ticket", 1).await;
    let ticket: Value = serde_json::from_str(&got[0]).expect("json");
    assert_eq!(ticket["kind"], "opened", "{ticket}");
    assert_eq!(ticket["office_id"], "wenquan");
    assert_eq!(ticket["urgent"], true, "{ticket}");
    assert_eq!(ticket["report_id"], accepted["report_id"], "{ticket}");
    // Three heartbeats later (past both 1 s timeouts) it is still open.
    read_until(&mut events, ": heartbeat", 3).await;
    assert!(terminate(&mut child).is_some_and(|s| s.success()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_separate_tracker_serves_the_stream() {
    let data = tempfile::tempdir().expect("tempdir");
    let (_db, db) = database("postgres").await;
    let office = add(
        data.path(),
        &db,
        &["office", "add", "fushan", "--person", "Li"],
    );
    let nats = NatsServer::start().expect("nats-server");
    let port = civicprobe_testkit::nats::free_port().expect("port");
    let mut child = civicprobe()
        .args(["tracker", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--nats-url", &nats.url()])
        .arg("--data-dir")
        .arg(data.path())
        .args(&db)
        .spawn()
        .expect("spawn tracker");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + PATIENCE;
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "the tracker did not listen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut events = stream(&base, &office).await;
    read_until(&mut events, "event: ready", 1).await;

    let (_client, js) = nats.connect().await.expect("connect");
    let opened = serde_json::json!({
        "event_id": uuid::Uuid::new_v4(), "ticket_id": uuid::Uuid::new_v4(),
        "office_id": "fushan", "office_name": "Fushan", "category": "manhole", "urgent": true,
        "opened_at": "2026-12-01T08:00:01Z",
        "deadlines": {"acknowledge_by": "2026-12-01T08:15:00Z",
            "make_safe_by": "2026-12-01T10:00:00Z", "resolve_by": "2026-12-02T08:00:00Z"},
        "report": {"report_id": uuid::Uuid::new_v4(), "courier_id": uuid::Uuid::new_v4(),
            "location": {"lat": 29.8, "lon": 114.4}, "text": "井盖没了", "accuracy_m": null,
            "category_hint": null, "reported_at": null,
            "received_at": "2026-12-01T08:00:00Z", "photos": []},
    });
    let office_id = civicprobe_model::OfficeId::parse("fushan").expect("office");
    let subject = ticket_subject(
        &office_id,
        civicprobe_model::Category::Manhole,
        civicprobe_model::EventKind::Opened,
    );
    let ack = js.publish(subject, opened.to_string().into()).await;
    ack.expect("published").await.expect("acked");
    let got = read_until(&mut events, "event: ticket", 1).await;
    let ticket: Value = serde_json::from_str(&got[0]).expect("json");
    assert_eq!(ticket["ticket_id"], opened["ticket_id"], "{ticket}");
    assert_eq!(ticket["text"], "井盖没了");
    assert!(terminate(&mut child).is_some_and(|s| s.success()));
}
