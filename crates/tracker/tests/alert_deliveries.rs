//! The delivery outbox, on both databases, against a real nats-server and
//! a real local HTTP receiver: retries with back-off until the receiver
//! accepts, a dead URL listed as failing then failed, and the daily digest
//! at its local time, once per channel and day; and who sees channels
//! and deliveries.

mod common;
#[path = "common/alerts_harness.rs"]
mod harness;

use civicprobe_model::nats::ticket_subject;
use civicprobe_model::CourierId;
use civicprobe_tracker::alerts::{send_digests, AlertConfig, Audience};
use civicprobe_tracker::{MockClock, Store};
use common::{assert_problem, base_time, get, office, opened, store};
use harness::{channel, config, Receiver, Running};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

on_both_databases!(
    a_refused_delivery_is_retried_until_accepted,
    a_dead_url_is_listed_as_failing_then_failed,
    the_digest_goes_out_once_a_day_at_its_time,
    channels_are_listed_masked_and_scoped
);

/// `GET /v1/alerts/deliveries?state=…` as a supervisor, polled until
/// `done` holds (20 s at most).
async fn deliveries_until(
    store: &Store,
    boss: &str,
    state: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..400 {
        let reply = get(store, &format!("/v1/alerts/deliveries?state={state}"), boss).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        if done(&reply.body) {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {state} delivery as expected");
}

/// Publishes an urgent ticket of wenquan opened.
async fn publish_urgent(run: &Running) -> civicprobe_model::TicketOpened {
    let t = opened(
        "wenquan",
        CourierId::new(),
        base_time(),
        time::Duration::minutes(30),
    );
    run.publish(
        ticket_subject(
            &t.office_id,
            t.category,
            civicprobe_model::EventKind::Opened,
        ),
        &t,
    )
    .await;
    t
}

async fn a_refused_delivery_is_retried_until_accepted(kind: &str) {
    let (_db, store) = store(kind).await;
    let boss = store.add_supervisor("Zhang").await.unwrap();
    store.add_office(&office("wenquan"), None).await.unwrap();
    let rx = Receiver::start().await;
    rx.answer(500, "busy");
    rx.answer(200, r#"{"errcode":300001,"errmsg":"token is not exist"}"#);
    let url = format!("{}/robot/send?access_token=tok", rx.base);
    channel(
        &store,
        Audience::Office(office("wenquan")),
        &url,
        "dingtalk",
        None,
    )
    .await;
    let run = Running::start(&store, config()).await;
    let t = publish_urgent(&run).await;
    let body = deliveries_until(&store, &boss, "delivered", |b| {
        b["deliveries"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await;
    run.stop().await;
    let d = &body["deliveries"][0];
    assert_eq!(d["attempts"], 3, "{d}");
    assert_eq!(d["ticket_id"], t.ticket_id.to_string());
    assert_eq!(d["channel"]["format"], "dingtalk");
    assert!(d["last_error"].is_null());
    let got = rx.requests();
    assert_eq!(got.len(), 3, "500, errcode 300001, then accepted");
    assert_eq!(got[0].body, got[2].body, "the same message each time");
    assert_eq!(body["failing"], 0);
}

async fn a_dead_url_is_listed_as_failing_then_failed(kind: &str) {
    let (_db, store) = store(kind).await;
    // A clock that stands still: the retry waits until it is moved.
    let clock = MockClock::at(base_time());
    let store = store.with_clock(Arc::new(clock.clone()));
    let boss = store.add_supervisor("Zhang").await.unwrap();
    store.add_office(&office("wenquan"), None).await.unwrap();
    let dead = format!(
        "http://127.0.0.1:{}/hook",
        civicprobe_testkit::nats::free_port().unwrap()
    );
    channel(
        &store,
        Audience::Office(office("wenquan")),
        &dead,
        "json",
        Some("s"),
    )
    .await;
    let run = Running::start(
        &store,
        AlertConfig {
            max_attempts: 3,
            ..config()
        },
    )
    .await;
    publish_urgent(&run).await;
    // The counts and the list are read one after the other: wait for both.
    let failing = deliveries_until(&store, &boss, "failing", |b| {
        b["failing"] == 1 && b["deliveries"][0]["state"] == "failing"
    })
    .await;
    let d = &failing["deliveries"][0];
    assert_eq!(d["attempts"], 1);
    assert!(
        d["last_error"].as_str().unwrap().starts_with("sending"),
        "{d}"
    );
    assert!(
        !d["last_error"].as_str().unwrap().contains("127.0.0.1"),
        "no URL in the error"
    );
    assert!(d["next_attempt_at"].is_string());
    assert_eq!(d["channel"]["office_id"], "wenquan");
    let failed = deliveries_until(&store, &boss, "failed", |b| {
        clock.advance(time::Duration::minutes(1));
        b["failed"] == 1 && b["deliveries"][0]["state"] == "failed"
    })
    .await;
    run.stop().await;
    let d = &failed["deliveries"][0];
    assert_eq!(d["attempts"], 3, "{d}");
    assert_eq!(d["state"], "failed");
    assert!(d["next_attempt_at"].is_null());
    assert_eq!(failed["failing"], 0);
}

async fn the_digest_goes_out_once_a_day_at_its_time(kind: &str) {
    let (_db, store) = store(kind).await;
    // 2025-06-01 08:00 UTC is 16:00 at +08:00; the digest is due at 17:00.
    let clock = MockClock::at(base_time());
    let store = store.with_clock(Arc::new(clock.clone()));
    let config = AlertConfig {
        digest_at: civicprobe_tracker::alerts::DigestAt(Some(time::macros::time!(17:00))),
        ..config()
    };
    let links = config.links();
    for o in ["wenquan", "fushan", "quiet"] {
        store.add_office(&office(o), None).await.unwrap();
    }
    let rx = Receiver::start().await;
    let hook = |path: &str| format!("{}/{path}", rx.base);
    channel(
        &store,
        Audience::Office(office("wenquan")),
        &hook("wq"),
        "wecom",
        None,
    )
    .await;
    channel(
        &store,
        Audience::Office(office("quiet")),
        &hook("quiet"),
        "wecom",
        None,
    )
    .await;
    channel(&store, Audience::Supervisors, &hook("sup"), "feishu", None).await;
    for o in ["wenquan", "fushan"] {
        let t = opened(
            o,
            CourierId::new(),
            base_time() - time::Duration::hours(2),
            time::Duration::minutes(30),
        );
        store.record_ticket_opened(&t).await.unwrap();
    }
    assert_eq!(
        send_digests(&store, &config, &links).await.unwrap(),
        0,
        "not yet 17:00"
    );
    clock.set(base_time() + time::Duration::minutes(65));
    assert_eq!(
        send_digests(&store, &config, &links).await.unwrap(),
        2,
        "wenquan and the supervisors; quiet has nothing overdue"
    );
    assert_eq!(
        send_digests(&store, &config, &links).await.unwrap(),
        0,
        "once a day"
    );
    let run = Running::start(&store, config.clone()).await;
    let got = rx.wait_for(2).await;
    run.stop().await;
    assert_eq!(got.len(), 2);
    let wq = rx.at("/wq")[0].json();
    let content = wq["markdown"]["content"].as_str().unwrap();
    assert!(
        content.contains("【每日超时】2025-06-01 共 1 件超时工单"),
        "{content}"
    );
    let sup = rx.at("/sup")[0].json();
    let text = sup["content"]["text"].as_str().unwrap();
    assert!(
        text.contains("共 2 件")
            && text.contains("街道 Office fushan")
            && text.contains("街道 Office wenquan"),
        "{text}"
    );
    assert!(rx.at("/quiet").is_empty());
    clock.advance(time::Duration::days(1));
    assert_eq!(
        send_digests(&store, &config, &links).await.unwrap(),
        2,
        "the next day"
    );
}

async fn channels_are_listed_masked_and_scoped(kind: &str) {
    let (_db, store) = store(kind).await;
    let wq = store.add_office(&office("wenquan"), None).await.unwrap();
    let fs = store.add_office(&office("fushan"), None).await.unwrap();
    let boss = store.add_supervisor("Zhang").await.unwrap();
    let (_, courier) = store.add_courier("Li").await.unwrap();
    let url = "https://oapi.dingtalk.com/robot/send?access_token=secret-token";
    channel(
        &store,
        Audience::Office(office("wenquan")),
        url,
        "dingtalk",
        Some("SECxyz"),
    )
    .await;
    channel(&store, Audience::Supervisors, url, "json", None).await;
    let all = get(&store, "/v1/alerts/channels", &boss).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["channels"].as_array().unwrap().len(), 2);
    let shown = all.body.to_string();
    assert!(
        !shown.contains("secret-token") && !shown.contains("SECxyz"),
        "{shown}"
    );
    assert!(shown.contains("access_token=***"));
    let own = get(&store, "/v1/alerts/channels", &wq).await;
    assert_eq!(own.body["channels"].as_array().unwrap().len(), 1);
    assert_eq!(own.body["channels"][0]["office_id"], "wenquan");
    let other = get(&store, "/v1/alerts/channels", &fs).await;
    assert_eq!(other.body["channels"].as_array().unwrap().len(), 0);
    assert_problem(
        &get(&store, "/v1/alerts/channels", &courier).await,
        403,
        None,
    );
    assert_problem(&get(&store, "/v1/alerts/deliveries", &wq).await, 403, None);
    assert_problem(
        &get(&store, "/v1/alerts/deliveries?state=lost", &boss).await,
        400,
        Some("state"),
    );
}
