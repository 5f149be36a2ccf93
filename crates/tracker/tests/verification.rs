//! Verification before points (核查, issue 13) on both databases, through
//! the HTTP API: the reporter's and a supervisor's verdicts, a merged
//! reporter's (their report only), the refusals, auto-verification, the
//! disputes' list and the `verification` of every view. A nearby
//! courier's check: tests/verification_nearby.rs.

mod common;
#[path = "common/verify_harness.rs"]
mod harness;

use civicprobe_model::{CourierId, TicketOpened};
use civicprobe_tracker::{MockClock, Store};
use common::{actors, assert_problem, count, get, merged, post, store, Actors};
use harness::{as_is, last_event, ok, photo, points, resolved_ticket};
use serde_json::{json, Value};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

on_both_databases!(
    the_reporter_verifies_and_only_then_points_are_paid,
    the_reporter_says_not_fixed_and_the_ticket_goes_back,
    a_merged_reporter_records_their_report_only,
    refusals_by_state_role_and_scope,
    auto_verify_pays_and_skips_disputed_tickets,
);

/// The ticket's `verification` as `token` reads it.
async fn verification(store: &Store, t: &str, token: &str) -> Value {
    let reply = get(store, t, token).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["verification"].clone()
}

/// `verification` of the courier's only report in `GET /v1/couriers/me`.
async fn my_verification(store: &Store, token: &str) -> Value {
    let me = get(store, "/v1/couriers/me", token).await.body;
    me["reports"][0]["verification"].clone()
}

/// A routine ticket of `courier`, resolved.
async fn resolved(store: &Store, a: &Actors, courier: CourierId) -> (TicketOpened, String) {
    resolved_ticket(store, a, courier, false).await
}

async fn the_reporter_verifies_and_only_then_points_are_paid(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (ev, t) = resolved(&store, &a, a.courier_id).await;
    assert_eq!(points(&store, a.courier_id).await, 0, "nothing on resolve");
    let body = ok(
        &store,
        &format!("{t}/verify"),
        &a.courier,
        json!({"fixed": true}),
    )
    .await;
    assert_eq!(
        (body["state"].as_str(), body["by"].as_str()),
        (Some("closed"), Some("reporter"))
    );
    assert_eq!(points(&store, a.courier_id).await, 10);
    let last = last_event(&store, &t, &a).await;
    assert_eq!(
        (last["kind"].as_str(), last["reason"].as_str()),
        (Some("verified"), Some("verified_by_reporter"))
    );
    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    assert!(ticket.closed_at.is_some());
    let v = verification(&store, &t, &a.courier).await;
    assert_eq!(
        (v["state"].as_str(), v["verified_by"].as_str()),
        (Some("verified"), Some("reporter"))
    );
    assert!(
        v["verified_at"].is_string() && v["can_verify"] == false,
        "{v}"
    );
    assert_eq!(
        my_verification(&store, &a.courier).await["state"],
        "verified"
    );
    // A retry is refused and pays nothing twice.
    let again = post(
        &store,
        &format!("{t}/verify"),
        &a.courier,
        Some(json!({"fixed": true})),
    )
    .await;
    assert_problem(&again, 409, None);
    assert_eq!(points(&store, a.courier_id).await, 10);
    let awards = format!(
        "SELECT COUNT(*) FROM points_ledger WHERE kind = 'award' AND ticket_id = '{}'",
        ev.ticket_id
    );
    assert_eq!(count(&store, &awards).await, 1);

    // A supervisor's verdict: the same, named for them; `close` is its old name.
    let (_, t2) = resolved(&store, &a, a.courier_id).await;
    ok(&store, &format!("{t2}/close"), &a.supervisor, json!({})).await;
    let last = last_event(&store, &t2, &a).await;
    assert_eq!(last["reason"], "verified_by_supervisor");
    assert_eq!(points(&store, a.courier_id).await, 20);
}

async fn the_reporter_says_not_fixed_and_the_ticket_goes_back(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (_, t) = resolved(&store, &a, a.courier_id).await;
    let body = json!({"fixed": false, "note": "盖子还是松的 still loose"});
    let reply = ok(&store, &format!("{t}/verify"), &a.courier, body).await;
    assert_eq!(reply["state"], "reopened");
    let last = last_event(&store, &t, &a).await;
    assert_eq!(
        (last["kind"].as_str(), last["reason"].as_str()),
        (Some("reopened"), Some("not_fixed"))
    );
    assert_eq!(last["note"], "盖子还是松的 still loose");
    let v = verification(&store, &t, &a.courier).await;
    assert_eq!(
        v,
        json!({"state": "failed", "verified_by": null, "can_verify": false})
    );
    // Back in the office's queue, nothing paid.
    let queue = get(
        &store,
        "/v1/offices/wenquan/tickets?state=reopened",
        &a.wenquan,
    )
    .await;
    assert_eq!(queue.body["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(points(&store, a.courier_id).await, 0);
}

async fn a_merged_reporter_records_their_report_only(kind: &str) {
    let (_db, store) = store(kind).await;
    let clock = MockClock::at(OffsetDateTime::now_utc());
    let store = store.with_clock(Arc::new(clock.clone()));
    let a = actors(&store).await;
    let (dup_id, dup) = store.add_courier("Wang Fang").await.unwrap();
    let (ev, t) = resolved(&store, &a, a.courier_id).await;
    assert!(store
        .record_merged(&merged(&ev, dup_id, false))
        .await
        .unwrap());
    let body = json!({"fixed": false, "note": "not fixed at all"});
    let reply = ok(&store, &format!("{t}/verify"), &dup, body).await;
    assert_eq!(
        (reply["state"].as_str(), reply["by"].as_str()),
        (Some("resolved"), Some("merged"))
    );
    let last = last_event(&store, &t, &a).await;
    assert_eq!(
        (last["kind"].as_str(), last["reason"].as_str()),
        (Some("report_verified"), Some("not_fixed"))
    );
    // Once per resolution; the ticket shows the dispute.
    let v = verification(&store, &t, &dup).await;
    assert_eq!(
        v,
        json!({"state": "disputed", "verified_by": null, "can_verify": false})
    );
    assert_eq!(my_verification(&store, &dup).await, v);
    assert_eq!(
        verification(&store, &t, &a.courier).await["can_verify"],
        true,
        "the opener still may"
    );
    let again = post(
        &store,
        &format!("{t}/verify"),
        &dup,
        Some(json!({"fixed": true})),
    )
    .await;
    assert_problem(&again, 409, None);
    // A dispute: supervisors see it, and the ticket is not auto-verified.
    let list = get(&store, "/v1/verifications?state=disputed", &a.supervisor).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let rows = list.body["verifications"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["ticket_id"].as_str(), rows[0]["by"].as_str()),
        (Some(ev.ticket_id.to_string().as_str()), Some("merged"))
    );
    assert!(
        !list.body.to_string().contains(&dup_id.to_string()),
        "no courier id"
    );
    clock.advance(Duration::days(8));
    assert_eq!(store.auto_verify(Duration::days(7)).await.unwrap(), 0);
    // The supervisor settles it.
    ok(
        &store,
        &format!("{t}/verify"),
        &a.supervisor,
        json!({"fixed": true}),
    )
    .await;
    let list = get(&store, "/v1/verifications", &a.supervisor).await;
    assert!(list.body["verifications"].as_array().unwrap().is_empty());
    assert_eq!(points(&store, a.courier_id).await, 5);
    assert_eq!(points(&store, dup_id).await, 5);
}

async fn refusals_by_state_role_and_scope(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (_, b) = store.add_courier("Chen Jing").await.unwrap();
    let (_, t) = resolved(&store, &a, a.courier_id).await;
    let uri = format!("{t}/verify");
    let fixed = || Some(json!({"fixed": true}));
    assert_problem(&post(&store, &uri, &a.wenquan, fixed()).await, 403, None);
    assert_problem(&post(&store, &uri, &a.fushan, fixed()).await, 404, None);
    assert_problem(
        &post(&store, &uri, &a.courier, Some(json!({}))).await,
        400,
        Some("fixed"),
    );
    assert_problem(
        &post(&store, &uri, &a.courier, Some(json!({"fixed": "yes"}))).await,
        400,
        Some("body"),
    );
    let bad_sha = json!({"fixed": true, "photo_sha256": "../x"});
    assert_problem(
        &post(&store, &uri, &a.courier, Some(bad_sha)).await,
        400,
        Some("photo_sha256"),
    );
    // Not resolved: the reporter gets 409; a courier who did not report it 404.
    let open = common::open_ticket(&store, "wenquan", a.courier_id).await;
    let open_uri = format!("/v1/tickets/{}/verify", open.ticket_id);
    assert_problem(
        &post(&store, &open_uri, &a.courier, fixed()).await,
        409,
        None,
    );
    assert_problem(&post(&store, &open_uri, &b, fixed()).await, 404, None);
    assert_problem(
        &post(&store, &open_uri, &a.supervisor, fixed()).await,
        409,
        None,
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM verifications").await, 0);
}

async fn auto_verify_pays_and_skips_disputed_tickets(kind: &str) {
    let (_db, store) = store(kind).await;
    let clock = MockClock::at(OffsetDateTime::now_utc());
    let store = store.with_clock(Arc::new(clock.clone()));
    let a = actors(&store).await;
    let (b_id, b) = store.add_courier("Chen Jing").await.unwrap();
    let (quiet, qt) = resolved(&store, &a, a.courier_id).await;
    let (disputed, dt) = resolved(&store, &a, a.courier_id).await;
    let sha = "c1".repeat(32);
    photo(&store, &disputed, b_id, &sha, as_is).await;
    let body = json!({"fixed": false, "photo_sha256": sha, "lat": 29.841, "lon": 114.32});
    ok(&store, &format!("{dt}/verify"), &b, body).await;
    clock.advance(Duration::days(6));
    assert_eq!(
        store.auto_verify(Duration::days(7)).await.unwrap(),
        0,
        "too early"
    );
    clock.advance(Duration::days(2));
    assert_eq!(store.auto_verify(Duration::days(7)).await.unwrap(), 1);
    assert_eq!(store.auto_verify(Duration::days(7)).await.unwrap(), 0);
    let done = store.ticket(quiet.ticket_id).await.unwrap().unwrap();
    assert_eq!(done.state.as_str(), "closed");
    let last = last_event(&store, &qt, &a).await;
    assert_eq!(
        (
            last["kind"].as_str(),
            last["reason"].as_str(),
            last["actor"].as_str()
        ),
        (
            Some("verified"),
            Some("auto_verified"),
            Some("system:auto_verify")
        )
    );
    let flagged = format!(
        "SELECT COUNT(*) FROM tickets WHERE verified_by = 'auto' AND ticket_id = '{}'",
        quiet.ticket_id
    );
    assert_eq!(count(&store, &flagged).await, 1);
    let v = verification(&store, &qt, &a.courier).await;
    assert_eq!(
        (v["state"].as_str(), v["verified_by"].as_str()),
        (Some("verified"), Some("auto"))
    );
    assert_eq!(
        points(&store, a.courier_id).await,
        10,
        "the quiet one paid, the disputed one not"
    );
    assert_eq!(
        store
            .ticket(disputed.ticket_id)
            .await
            .unwrap()
            .unwrap()
            .state
            .as_str(),
        "resolved"
    );
}
