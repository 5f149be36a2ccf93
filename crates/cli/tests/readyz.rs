//! `/readyz` names what the stack lacks, on SQLite and PostgreSQL: 200
//! with nothing missing while all is well; 503 naming a deleted stream,
//! a database that no longer answers, then NATS itself once its server is
//! killed. `/healthz` stays 200 while the process serves.

use civicprobe::stack::{Stack, StackConfig};
use civicprobe_model::nats::TICKETS_STREAM;
use civicprobe_testkit::{NatsServer, TestDb};
use serde_json::{json, Value};
use std::path::Path;
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
    let db = TestDb::of_kind(kind).await.expect("database");
    let mut nats = NatsServer::start().expect("nats");
    let data = tempfile::tempdir().expect("tempdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut config = StackConfig::new(data.path().join("stack"), nats.url(), &fixtures);
    config.database.database_url = Some(db.url().to_owned());
    let stack = Stack::start(config).await.expect("stack");
    let base = stack.base_url();

    let (status, body) = readyz_until(&base, &json!([])).await;
    assert_eq!((status, &body["status"]), (200, &json!("ready")), "{body}");
    assert_eq!(body["service"], "up");

    let (_client, js) = nats.connect().await.expect("client");
    js.delete_stream(TICKETS_STREAM)
        .await
        .expect("delete TICKETS");
    let tickets = json!({"component": "stream", "name": "TICKETS", "reason": "not found"});
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

    stack.store.close().await;
    let database = json!({"component": "database", "reason": "does not answer"});
    let (status, body) = readyz_until(&base, &json!([tickets, database])).await;
    assert_eq!(status, 503, "{body}");

    nats.stop();
    let gone = json!({"component": "nats", "reason": "not connected"});
    let (status, body) = readyz_until(&base, &json!([gone, database])).await;
    assert_eq!(status, 503, "{body}");
    let health = reqwest::get(format!("{base}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200, "/healthz is liveness, not readiness");
    let _ = tokio::time::timeout(Duration::from_secs(15), stack.stop()).await;
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn readyz_names_what_is_missing() {
        super::readyz_names_what_is_missing("sqlite").await
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn readyz_names_what_is_missing() {
        super::readyz_names_what_is_missing("postgres").await
    }
}
