//! `/readyz` names what the stack lacks, on SQLite and PostgreSQL: 200
//! with nothing missing while all is well; 503 naming a deleted stream,
//! a database that no longer answers, then NATS itself once its server is
//! killed. `/healthz` stays 200 while the process serves.

mod common;

use civicprobe_model::nats::TICKETS_STREAM;
use common::stack_on;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `GET /readyz` until its body's `missing` equals `wanted` (up to 10 s);
/// returns the last status and body.
async fn readyz_until(base: &str, wanted: &Value) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = reqwest::get(format!("{base}/readyz"))
            .await
            .expect("readyz");
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.expect("json body");
        if &body["missing"] == wanted || Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn readyz_names_what_is_missing(kind: &str) {
    let mut on = stack_on(kind).await;
    let base = on.stack.base_url();

    let (status, body) = readyz_until(&base, &json!([])).await;
    assert_eq!((status, &body["status"]), (200, &json!("ready")), "{body}");
    assert_eq!(body["service"], "up");

    let (_client, js) = on.nats.connect().await.expect("client");
    js.delete_stream(TICKETS_STREAM)
        .await
        .expect("delete TICKETS");
    let tickets = json!({"component": "stream", "name": TICKETS_STREAM, "reason": "not found"});
    let (status, body) = readyz_until(&base, &json!([tickets])).await;
    assert_eq!(
        (status, &body["type"]),
        (503, &json!("/problems/not-ready")),
        "{body}"
    );
    assert_eq!(
        body["detail"], "not ready: missing stream TICKETS",
        "{body}"
    );

    on.stack.store.close().await;
    let database = json!({"component": "database", "reason": "does not answer"});
    let (status, body) = readyz_until(&base, &json!([tickets, database])).await;
    assert_eq!(status, 503, "{body}");

    on.nats.stop();
    let gone = json!({"component": "nats", "reason": "not connected"});
    let (status, body) = readyz_until(&base, &json!([gone, database])).await;
    assert_eq!(status, 503, "{body}");
    let health = reqwest::get(format!("{base}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200, "/healthz is liveness, not readiness");
    let _ = tokio::time::timeout(Duration::from_secs(15), on.stack.stop()).await;
}

civicprobe_testkit::on_both_databases!(readyz_names_what_is_missing);
