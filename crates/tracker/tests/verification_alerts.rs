//! Verification verdicts alert the office (核查, issue 13), on both
//! databases, end to end: the HTTP verdict, the tracker's outbox onto a
//! real nats-server, the alerts consumer, a real local HTTP receiver. A
//! reporter's not-fixed (`reopened`) and a verification dispute (a merged
//! reporter's or a passer-by's not-fixed) alert the office; a fixed verdict
//! alerts nobody.

#[path = "common/alerts_harness.rs"]
mod alerts_harness;
mod common;
#[path = "common/verify_harness.rs"]
mod harness;

use alerts_harness::{channel, config, Receiver, Running};
use civicprobe_tracker::alerts::Audience;
use common::{actors, merged, office, store};
use harness::{as_is, ok, photo, resolved_ticket};
use serde_json::json;

on_both_databases!(not_fixed_verdicts_alert_the_office);

async fn not_fixed_verdicts_alert_the_office(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let rx = Receiver::start().await;
    let url = format!("{}/wenquan", rx.base);
    channel(
        &store,
        Audience::Office(office("wenquan")),
        &url,
        "json",
        Some("s"),
    )
    .await;
    let run = Running::start(&store, config()).await;
    let (dup_id, dup) = store.add_courier("Wang Fang").await.unwrap();
    let (b_id, b) = store.add_courier("Chen Jing").await.unwrap();

    // Fixed: no alert (acknowledged and resolved alert nobody either).
    let (_, fine) = resolved_ticket(&store, &a, a.courier_id, false).await;
    ok(
        &store,
        &format!("{fine}/verify"),
        &a.courier,
        json!({"fixed": true}),
    )
    .await;
    // The reporter: not fixed, reopened.
    let (_, back) = resolved_ticket(&store, &a, a.courier_id, false).await;
    let body = json!({"fixed": false, "note": "still open"});
    ok(&store, &format!("{back}/verify"), &a.courier, body).await;
    // A merged reporter: not fixed, a dispute.
    let (ev, t) = resolved_ticket(&store, &a, a.courier_id, false).await;
    assert!(store
        .record_merged(&merged(&ev, dup_id, false))
        .await
        .unwrap());
    ok(
        &store,
        &format!("{t}/verify"),
        &dup,
        json!({"fixed": false}),
    )
    .await;
    // A courier passing by: not fixed, a dispute.
    let (ev, t) = resolved_ticket(&store, &a, a.courier_id, false).await;
    let sha = "c1".repeat(32);
    photo(&store, &ev, b_id, &sha, as_is).await;
    let body = json!({"fixed": false, "photo_sha256": sha, "lat": 29.841, "lon": 114.32});
    ok(&store, &format!("{t}/verify"), &b, body).await;
    // A sentinel: once its alert arrives, every earlier event was decided.
    let (_, last) = resolved_ticket(&store, &a, a.courier_id, false).await;
    ok(&store, &format!("{last}/reopen"), &a.supervisor, json!({})).await;

    civicprobe_tracker::outbox::publish_pending(&run.js, &store)
        .await
        .unwrap();
    let got = rx.wait_for(4).await;
    run.stop().await;
    let mut seen: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            let j = r.json();
            (
                j["kind"].as_str().unwrap().to_owned(),
                j["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    seen.sort();
    let want = [
        ("reopened", "not_fixed"),
        ("reopened", "not_fixed"),
        ("report_verified", "not_fixed"),
        ("verification_disputed", "not_fixed"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, r)| ((*k).into(), (*r).into()))
        .collect();
    assert_eq!(seen, want, "nothing for acknowledged, resolved or verified");
    assert!(got.iter().all(|r| r.uri.starts_with("/wenquan")));
    let deliveries = common::count(&store, "SELECT COUNT(*) FROM alert_deliveries").await;
    assert_eq!(deliveries, 4);
}
