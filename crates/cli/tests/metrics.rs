//! What an operator watches, scraped from `/metrics` of a real stack (its
//! own nats-server; SQLite, then PostgreSQL) after reports went through,
//! and the log lines `--log-format json` writes.
//!
//! The Prometheus recorder is one per process, so the scrape checks run
//! in one test, one database after the other, and compare counts taken
//! before and after.

#[path = "common/mod.rs"]
mod common;
#[allow(dead_code)] // the answers tests use the rest
#[path = "answers/harness.rs"]
mod harness;

use civicprobe::ops::MetricsToken;
use civicprobe_model::nats::{REPORTS_STREAM, ROUTER_CONSUMER, TICKETS_STREAM, TRACKER_CONSUMER};
use civicprobe_testkit::{NatsServer, TestDb};
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

const TOKEN: &str = "metrics-test-token-0123456789";

/// The `/metrics` text.
async fn scrape(h: &harness::Harness) -> String {
    let r = h
        .http
        .get(format!("{}/metrics", h.base))
        .bearer_auth(TOKEN)
        .send();
    let (status, _, body) = harness::read(r.await.expect("scrape")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the first sample whose line starts with `series` (a name,
/// optionally with the start of its labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Scrapes until `series` reads `wanted`; the last scrape.
async fn until(h: &harness::Harness, series: &str, wanted: impl Fn(f64) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(h).await;
        if value(&text, series).is_some_and(&wanted) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never as wanted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const HISTOGRAMS: [&str; 5] = [
    "civicprobe_ingest_submit_seconds",
    "civicprobe_ingest_photo_seconds",
    "civicprobe_ingest_report_to_publish_seconds",
    "civicprobe_router_report_to_routed_seconds",
    "civicprobe_tracker_report_to_ticket_seconds",
];

async fn histograms_and_gauges_move(kind: &str) {
    let db = TestDb::of_kind(kind).await.expect("database");
    let url = db.url().to_owned();
    let token = MetricsToken::new(TOKEN).unwrap();
    let h = harness::start(|c| {
        c.metrics_token = Some(token);
        c.database.database_url = Some(url);
    })
    .await;
    let before = scrape(&h).await;
    let report = h.submit("井盖被偷了").await;
    let ticket = h.routed(report).await;
    let after = until(
        &h,
        "civicprobe_tracker_report_to_ticket_seconds_count",
        |n| n > value(&before, "civicprobe_tracker_report_to_ticket_seconds_count").unwrap_or(0.0),
    )
    .await;
    for name in HISTOGRAMS {
        let bucket = format!("{name}_bucket{{le=\"0.005\"}}");
        assert!(
            after.contains(&bucket),
            "{name} is not a histogram:\n{after}"
        );
        let count = format!("{name}_count");
        let moved = value(&after, &count).unwrap() - value(&before, &count).unwrap_or(0.0);
        assert_eq!(moved, 1.0, "{name}: one report, one observation");
    }
    let version = env!("CARGO_PKG_VERSION");
    let build = format!("civicprobe_build_info{{version=\"{version}\"}}");
    assert_eq!(value(&after, &build), Some(1.0), "{after}");
    http_by_route_template(&h, ticket).await;
    let pending = |stream, consumer| {
        format!("civicprobe_nats_consumer_pending{{stream=\"{stream}\",consumer=\"{consumer}\"}}")
    };
    let lag = pending(REPORTS_STREAM, ROUTER_CONSUMER);
    let text = until(&h, &lag, |n| n == 0.0).await;
    for gauge in [
        pending(TICKETS_STREAM, TRACKER_CONSUMER),
        "civicprobe_tracker_outbox_depth".to_owned(),
        "civicprobe_tracker_overdue_tickets".to_owned(),
    ] {
        assert!(value(&text, &gauge).is_some(), "no {gauge}:\n{text}");
    }
    outbox_backlog_counts(h).await;
}

/// The HTTP histogram is labelled by the service (`up` here; each split
/// service's in `startup.rs`) and the route template, never the path.
async fn http_by_route_template(h: &harness::Harness, ticket: civicprobe_model::TicketId) {
    let r = h.http.get(format!("{}/v1/tickets/{ticket}", h.base));
    let status = r.bearer_auth(&h.office).send().await.expect("get").status();
    assert_eq!(status, 200);
    let series = "civicprobe_http_request_duration_seconds_count{service=\"up\",route=\"/v1/tickets/{id}\",method=\"GET\",status=\"200\"}";
    let text = until(h, series, |n| n >= 1.0).await;
    let submit = "civicprobe_http_request_duration_seconds_bucket{service=\"up\",route=\"/v1/reports\",method=\"POST\",status=\"202\",le=\"";
    assert!(text.contains(submit), "{text}");
    assert!(
        !text.contains(&ticket.to_string()),
        "a raw path in a label:\n{text}"
    );
}

/// While NATS is down the ingest backlog gauge counts what waits; it
/// falls back to 0 once NATS returns.
async fn outbox_backlog_counts(mut h: harness::Harness) {
    let backlog = "civicprobe_ingest_outbox_backlog";
    until(&h, backlog, |n| n == 0.0).await;
    h.nats.stop();
    for text in ["路灯电箱冒烟", "电梯困人"] {
        let report =
            serde_json::json!({"lat": harness::WENQUAN.0, "lon": harness::WENQUAN.1, "text": text});
        let (status, body) = h.submit_raw(&report.to_string()).await;
        assert_eq!(status, 202, "{body}");
    }
    until(&h, backlog, |n| n == 2.0).await;
    h.nats.restart().expect("restart nats");
    until(&h, backlog, |n| n == 0.0).await;
    h.stack.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histograms_and_gauges_move_on_sqlite_then_postgres() {
    histograms_and_gauges_move("sqlite").await;
    histograms_and_gauges_move("postgres").await;
}

/// `up` with `args`, run until it listens, then stopped; its stderr.
fn stderr_of_up(args: &[&str]) -> String {
    let nats = NatsServer::start().expect("nats");
    let data = tempfile::tempdir().expect("tempdir");
    let mut child = common::civicprobe()
        .args(["up", "--listen", "127.0.0.1:0", "--nats-url", &nats.url()])
        .arg("--data-dir")
        .arg(data.path())
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn up");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut line).expect("read line");
    assert!(line.contains("http://"), "{line:?}");
    // Not asserted: a SIGTERM that comes before `up` listens for it ends
    // the process by the signal, which says nothing about its logs.
    let _ = common::terminate(&mut child);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    stderr
}

#[test]
fn json_logs_are_json_and_text_logs_have_no_colour_off_a_terminal() {
    let json = stderr_of_up(&["--log-format", "json"]);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let up = lines
        .iter()
        .find(|l| l["fields"]["message"] == "civicprobe is up");
    let up = up.unwrap_or_else(|| panic!("no 'civicprobe is up' line:\n{json}"));
    assert_eq!(up["level"], "INFO", "{up}");
    assert!(up["fields"]["addr"].as_str().is_some(), "{up}");
    let text = stderr_of_up(&[]);
    assert!(text.contains("civicprobe is up"), "{text}");
    assert!(!text.contains('\u{1b}'), "colour codes in a pipe:\n{text}");
}
