//! Alert channels as an administrator adds them (`civicprobe office alert`,
//! `supervisor alert`, `alerts list|remove`), with their refusals, and an
//! urgent report through a whole stack (real NATS, SQLite and PostgreSQL)
//! reaching the office's webhook receiver, a real local HTTP server.

mod common;

use axum::body::Bytes;
use civicprobe::stack::{Stack, StackConfig};
use civicprobe_testkit::{photos, NatsServer, TestDb};
use civicprobe_tracker::alerts::{Audience, NewChannel};
use common::{admin, run};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Asserts `args` is refused with a message holding `says`.
fn refused(data: &Path, args: &[&str], says: &str) {
    let out = run(data, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} was accepted");
    assert!(stderr.contains(says), "{args:?}: {stderr}");
}

#[test]
fn channels_are_added_checked_listed_masked_and_removed() {
    let data = tempfile::tempdir().expect("tempdir");
    let data = data.path();
    admin(data, &["office", "add", "wenquan", "--person", "Wang Fang"]);
    let ding = "https://oapi.dingtalk.com/robot/send?access_token=tok123";
    let office = |rest: &[&'static str]| -> Vec<&str> { [&["office", "alert"][..], rest].concat() };
    refused(
        data,
        &office(&["nowhere", "--webhook", ding, "--format", "dingtalk"]),
        "no office \"nowhere\" in fixtures/jurisdictions.geojson",
    );
    // In the file, but not known to this database yet (no stack has
    // seeded it, nobody was added to it).
    refused(
        data,
        &office(&["yongan", "--webhook", ding, "--format", "dingtalk"]),
        "yongan is not a known office",
    );
    refused(
        data,
        &office(&["wenquan", "--webhook", "ftp://h/x", "--format", "dingtalk"]),
        "http:// or https://",
    );
    refused(
        data,
        &office(&["wenquan", "--webhook", "https://", "--format", "wecom"]),
        "http:// or https://",
    );
    refused(
        data,
        &office(&["wenquan", "--webhook", ding, "--format", "slack"]),
        "unknown format",
    );
    let id = admin(
        data,
        &office(&[
            "wenquan",
            "--webhook",
            ding,
            "--format",
            "dingtalk",
            "--secret",
            "SECabc",
            "--label",
            "温泉值班群",
        ]),
    );
    let out = run(
        data,
        &[
            "supervisor",
            "alert",
            "--webhook",
            "http://127.0.0.1:9/hook",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "the channel id, then the generated secret: {stdout}"
    );
    assert_eq!(lines[1].len(), 64, "{stdout}");

    let list = run(data, &["alerts", "list"]);
    let table = String::from_utf8(list.stdout).unwrap();
    assert!(table.starts_with("CHANNEL_ID\tAUDIENCE"), "{table}");
    assert_eq!(table.lines().count(), 3, "{table}");
    for secret in ["tok123", "SECabc", lines[1]] {
        assert!(!table.contains(secret), "{secret} shown: {table}");
    }
    assert!(
        table.contains("access_token=***") && table.contains("温泉值班群"),
        "{table}"
    );
    let only = run(data, &["alerts", "list", "--office", "wenquan"]);
    assert_eq!(String::from_utf8(only.stdout).unwrap().lines().count(), 2);

    assert!(run(data, &["alerts", "remove", &id]).status.success());
    refused(data, &["alerts", "remove", &id], "no alert channel has id");
    let after = String::from_utf8(run(data, &["alerts", "list"]).stdout).unwrap();
    assert!(!after.contains(&id), "{after}");
}

/// A receiver that records every body it gets.
async fn receiver() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let log = got.clone();
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(body);
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

async fn an_urgent_report_reaches_the_office_webhook(kind: &str) {
    let db = TestDb::of_kind(kind).await.expect("database");
    let nats = NatsServer::start().expect("nats");
    let data = tempfile::tempdir().expect("tempdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut config = StackConfig::new(data.path().join("stack"), nats.url(), &fixtures);
    config.database.database_url = Some(db.url().to_owned());
    let stack = Stack::start(config).await.expect("stack");
    let (url, got) = receiver().await;
    let new = NewChannel::parse(
        Audience::Office("wenquan".parse().unwrap()),
        &url,
        "json",
        Some("s"),
        None,
    )
    .unwrap();
    stack.store.add_alert_channel(&new).await.expect("channel");
    let (_, courier) = stack.store.add_courier("ada").await.expect("courier");
    let report =
        r#"{"lat":29.8413,"lon":114.3225,"text":"井盖缺失，有人掉进去了 manhole cover missing"}"#;
    let form = reqwest::multipart::Form::new().text("report", report).part(
        "photo",
        reqwest::multipart::Part::bytes(photos::jpeg(320, 240)).file_name("p.jpg"),
    );
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/reports", stack.base_url()))
        .bearer_auth(&courier)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .multipart(form)
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), 202);
    let mut bodies = Vec::new();
    for _ in 0..400 {
        bodies = got.lock().unwrap().clone();
        if !bodies.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let base = stack.base_url();
    stack.stop().await.expect("clean stop");
    assert_eq!(bodies.len(), 1, "one alert for the urgent ticket");
    let alert: serde_json::Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(alert["kind"], "opened");
    assert_eq!(alert["urgent"], true, "{alert}");
    assert_eq!(alert["office_id"], "wenquan");
    assert!(alert["text"].as_str().unwrap().contains("井盖缺失"));
    let link = alert["link"].as_str().unwrap();
    assert_eq!(
        link,
        format!(
            "{base}/office#ticket={}",
            alert["ticket_id"].as_str().unwrap()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_an_urgent_report_reaches_the_office_webhook() {
    an_urgent_report_reaches_the_office_webhook("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_an_urgent_report_reaches_the_office_webhook() {
    an_urgent_report_reaches_the_office_webhook("postgres").await;
}
