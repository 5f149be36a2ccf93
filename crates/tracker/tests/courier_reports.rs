//! `GET /v1/couriers/me`, on both databases: each report carries the
//! courier's own text and photos, the office (or null while unrouted), the
//! state, urgency, deadlines, the office's notes with their kind and time,
//! the proof photo and the points; a merged duplicate's courier sees their
//! own words and photos only, and no courier's note is ever shown.

mod common;

use civicprobe_model::{Sha256, TicketMerged, TicketOpened};
use civicprobe_tracker::Store;
use common::{actors, base_time, get, merged, post, store, unrouted, Actors};
use serde_json::{json, Value};

on_both_databases!(
    each_report_says_where_it_went_and_what_the_office_did,
    a_merged_courier_sees_only_their_own_words_and_photos,
    an_unrouted_report_has_no_office_and_no_deadlines,
    each_of_a_couriers_reports_on_one_ticket_shows_its_steps,
);

/// The proof photo the office resolves with.
fn proof_sha() -> Sha256 {
    Sha256::from([0xcd; 32])
}

/// A wenquan ticket opened by `a.courier` (its photo with a thumbnail), a
/// second courier's duplicate merged into it with their own text and
/// photo; the office acknowledges and resolves with notes and a proof
/// photo, then the opener reopens it with words of their own. Returns the
/// opening, the duplicate and the second courier's token.
async fn worked_ticket(store: &Store, a: &Actors) -> (TicketOpened, TicketMerged, String) {
    let mut ev = common::opened(
        "wenquan",
        a.courier_id,
        base_time(),
        time::Duration::minutes(30),
    );
    ev.report.photos[0].thumbnail_sha256 = Some(Sha256::from([0xa1; 32]));
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    let (second_id, second) = store.add_courier("second courier").await.unwrap();
    let mut dup = merged(&ev, second_id, false);
    dup.report.text = Some("second courier's words".into());
    dup.report.photos[0].sha256 = Sha256::from([0xef; 32]);
    dup.report.photos[0].thumbnail_sha256 = Some(Sha256::from([0xe1; 32]));
    assert!(store.record_merged(&dup).await.unwrap());

    let t = format!("/v1/tickets/{}", ev.ticket_id);
    let steps = [
        ("acknowledge", json!({"note": "crew on the way"})),
        ("start", json!({})),
    ];
    for (action, body) in steps {
        ok(store, &format!("{t}/{action}"), &a.wenquan, body).await;
    }
    store
        .record_proof_photo(ev.ticket_id, proof_sha(), "office:wenquan", base_time())
        .await
        .unwrap();
    let resolve = json!({"note": "cover replaced", "proof_photo_sha256": proof_sha()});
    ok(store, &format!("{t}/resolve"), &a.wenquan, resolve).await;
    let words = json!({"note": "first courier: still wobbly"});
    ok(store, &format!("{t}/reopen"), &a.courier, words).await;
    (ev, dup, second)
}

async fn ok(store: &Store, uri: &str, token: &str, body: Value) -> Value {
    let reply = post(store, uri, token, Some(body)).await;
    assert_eq!(reply.status, 200, "{uri}: {}", reply.body);
    reply.body
}

/// The courier's only report on `/v1/couriers/me`.
async fn only_report(store: &Store, token: &str) -> Value {
    let reply = get(store, "/v1/couriers/me", token).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reports = reply.body["reports"].as_array().unwrap().clone();
    assert_eq!(reports.len(), 1, "{}", reply.body);
    reports[0].clone()
}

async fn each_report_says_where_it_went_and_what_the_office_did(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (ev, _, _) = worked_ticket(&store, &a).await;
    let r = only_report(&store, &a.courier).await;
    assert_eq!(r["report_id"], ev.report.report_id.to_string());
    assert_eq!(r["ticket_id"], ev.ticket_id.to_string());
    assert_eq!(r["text"], "井盖缺失 missing manhole cover");
    assert_eq!(r["photos"][0]["sha256"], "ab".repeat(32));
    assert_eq!(r["photos"][0]["thumbnail_sha256"], "a1".repeat(32));
    assert_eq!(
        (r["office_id"].as_str(), r["office_name"].as_str()),
        (Some("wenquan"), Some("wenquan street office"))
    );
    assert_eq!(
        (r["state"].as_str(), &r["urgent"]),
        (Some("reopened"), &json!(true))
    );
    assert_eq!(r["deadlines"]["acknowledge_by"], "2025-06-01T08:30:00Z");
    assert!(r["deadlines"]["resolve_by"].is_string(), "{r}");
    let notes: Vec<(&str, &str, &str)> = r["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            assert!(n["at"].is_string(), "{n}");
            let field = |k: &str| n[k].as_str().unwrap_or_default();
            (field("kind"), field("role"), field("note"))
        })
        .collect();
    assert_eq!(
        notes,
        [
            ("acknowledged", "office", "crew on the way"),
            ("resolved", "office", "cover replaced"),
        ],
        "office notes in order, the courier's own reopen note not among them"
    );
    assert_eq!(r["proof_photo"]["sha256"], proof_sha().to_string());
    assert!(r["proof_photo"]["at"].is_string(), "{r}");
    assert_eq!(r["points"], 0, "reopened: points reversed");
    assert!(!r.to_string().contains("still wobbly"), "{r}");
}

async fn a_merged_courier_sees_only_their_own_words_and_photos(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (ev, dup, second) = worked_ticket(&store, &a).await;
    let r = only_report(&store, &second).await;
    assert_eq!(r["report_id"], dup.report.report_id.to_string());
    assert_eq!(r["ticket_id"], ev.ticket_id.to_string());
    assert_eq!(r["text"], "second courier's words");
    assert_eq!(r["photos"].as_array().unwrap().len(), 1);
    assert_eq!(r["photos"][0]["thumbnail_sha256"], "e1".repeat(32));
    assert_eq!(r["office_name"], "wenquan street office");
    assert_eq!(r["notes"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["proof_photo"]["sha256"], proof_sha().to_string());
    let raw = r.to_string();
    for secret in [
        a.courier_id.to_string(),
        ev.report.report_id.to_string(),
        "井盖缺失".to_owned(),
        "ab".repeat(32),
        "a1".repeat(32),
        "still wobbly".to_owned(),
    ] {
        assert!(!raw.contains(&secret), "{secret} leaked: {raw}");
    }
    // And the opener's list holds nothing of the second courier's.
    let mine = only_report(&store, &a.courier).await.to_string();
    for secret in ["second courier's words".to_owned(), "ef".repeat(32)] {
        assert!(!mine.contains(&secret), "{secret} leaked: {mine}");
    }
}

async fn an_unrouted_report_has_no_office_and_no_deadlines(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let mut lost = unrouted(a.courier_id);
    lost.report.text = Some("路灯倒了 far away".into());
    lost.report.photos[0].thumbnail_sha256 = Some(Sha256::from([0xb1; 32]));
    assert!(store.record_unrouted(&lost).await.unwrap());
    let r = only_report(&store, &a.courier).await;
    assert_eq!(r["report_id"], lost.report.report_id.to_string());
    assert_eq!(r["state"], "unrouted");
    for absent in [
        "ticket_id",
        "office_id",
        "office_name",
        "deadlines",
        "proof_photo",
    ] {
        assert!(r[absent].is_null(), "{absent}: {r}");
    }
    assert_eq!(r["text"], "路灯倒了 far away");
    assert_eq!(r["photos"][0]["thumbnail_sha256"], "b1".repeat(32));
    assert_eq!((&r["urgent"], &r["points"]), (&json!(false), &json!(0)));
    assert_eq!(r["notes"], json!([]));
}

async fn each_of_a_couriers_reports_on_one_ticket_shows_its_steps(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (ev, _, _) = worked_ticket(&store, &a).await;
    // The opener reports the same hazard again: merged into their own ticket.
    let again = merged(&ev, a.courier_id, false);
    assert!(store.record_merged(&again).await.unwrap());
    let reply = get(&store, "/v1/couriers/me", &a.courier).await;
    let reports = reply.body["reports"].as_array().unwrap().clone();
    assert_eq!(reports.len(), 2, "{}", reply.body);
    for r in &reports {
        assert_eq!(r["notes"].as_array().unwrap().len(), 2, "{r}");
        assert_eq!(r["proof_photo"]["sha256"], proof_sha().to_string(), "{r}");
    }
}
