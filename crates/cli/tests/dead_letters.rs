//! Dead letters through a real stack (its own nats-server, SQLite): a
//! report the router cannot decode and a `TICKETS` message the tracker
//! rejects land in `DEAD_LETTERS` (the latter twice: the tracker's and the
//! alerts' consumers each give up on it), the metrics count them, and
//! `GET /v1/dead-letters` shows them to a supervisor, newest first, and
//! to nobody else.

#[path = "common/mod.rs"]
mod common;
#[allow(dead_code)] // the answers tests use the rest
#[path = "answers/harness.rs"]
mod harness;

use civicprobe::ops::MetricsToken;
use civicprobe_model::nats::{
    ticket_subject, ALERTS_CONSUMER, DEFAULT_MAX_DELIVERIES, REPORT_SUBMITTED, ROUTER_CONSUMER,
    TRACKER_CONSUMER,
};
use civicprobe_model::{Category, OfficeId};
use serde_json::Value;
use std::time::{Duration, Instant};

const TOKEN: &str = "dead-letters-test-token-0123456789";

async fn get(h: &harness::Harness, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = h.http.get(format!("{}{path}", h.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let (status, _, body) = harness::read(request.send().await.expect("get")).await;
    (status, body)
}

/// The value of the sample `series` in the `/metrics` text.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_messages_are_dead_lettered_counted_and_shown_to_supervisors() {
    let token = MetricsToken::new(TOKEN).unwrap();
    let h = harness::start(|c| c.metrics_token = Some(token)).await;
    let (_client, js) = h.nats.connect().await.expect("nats");
    js.publish(REPORT_SUBMITTED, "{not a report".into())
        .await
        .expect("publish")
        .await
        .expect("ack");
    let office = OfficeId::parse("wenquan").expect("office");
    let opened = ticket_subject(
        &office,
        Category::Manhole,
        civicprobe_model::EventKind::Opened,
    );
    js.publish(opened.clone(), r#"{"ticket_id":"broken"}"#.into())
        .await
        .expect("publish")
        .await
        .expect("ack");

    let deadline = Instant::now() + Duration::from_secs(40);
    let letters = loop {
        let (status, body) = get(&h, "/v1/dead-letters", Some(&h.supervisor)).await;
        assert_eq!(status, 200, "{body}");
        let letters: Vec<Value> = serde_json::from_str(&body).expect("json");
        if letters.len() >= 3 {
            break letters;
        }
        assert!(Instant::now() < deadline, "never dead-lettered: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(letters.len(), 3, "{letters:#?}");
    assert!(letters[0]["sequence"].as_u64() > letters[1]["sequence"].as_u64());
    let of = |consumer: &str| {
        letters
            .iter()
            .find(|l| l["consumer"] == consumer)
            .unwrap_or_else(|| panic!("no dead letter of {consumer}: {letters:#?}"))
    };
    let report = of(ROUTER_CONSUMER);
    assert_eq!(report["subject"], REPORT_SUBMITTED);
    assert_eq!(report["preview"], "{not a report");
    assert_eq!(report["deliveries"], u64::from(DEFAULT_MAX_DELIVERIES));
    assert!(report["error"].as_str().unwrap().contains("undecodable"));
    let ticket = of(TRACKER_CONSUMER);
    assert_eq!(ticket["subject"], opened.as_str());
    assert_eq!(ticket["ticket_id"], "broken");
    assert!(ticket["dead_at"].as_str().is_some());
    assert_eq!(of(ALERTS_CONSUMER)["subject"], opened.as_str());

    let (status, body) = get(&h, "/v1/dead-letters?limit=1", Some(&h.supervisor)).await;
    assert_eq!(status, 200, "{body}");
    let one: Vec<Value> = serde_json::from_str(&body).expect("json");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["sequence"], letters[0]["sequence"], "newest first");
    for bad in ["0", "501", "many"] {
        let (status, body) = get(
            &h,
            &format!("/v1/dead-letters?limit={bad}"),
            Some(&h.supervisor),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        let problem: Value = serde_json::from_str(&body).expect("problem");
        assert!(body.contains("limit"), "names the field: {problem}");
    }
    assert_eq!(get(&h, "/v1/dead-letters", Some(&h.office)).await.0, 403);
    assert_eq!(get(&h, "/v1/dead-letters", Some(&h.courier)).await.0, 403);
    assert_eq!(get(&h, "/v1/dead-letters", None).await.0, 401);

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, text) = get(&h, "/metrics", Some(TOKEN)).await;
        assert_eq!(status, 200);
        let router = value(&text, "civicprobe_dead_letters_total{consumer=\"router\"}");
        let tracker = value(&text, "civicprobe_dead_letters_total{consumer=\"tracker\"}");
        let alerts = value(&text, "civicprobe_dead_letters_total{consumer=\"alerts\"}");
        let gauge = value(&text, "civicprobe_dead_letters ");
        if (router, tracker, alerts, gauge) == (Some(1.0), Some(1.0), Some(1.0), Some(3.0)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "metrics never counted them:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
