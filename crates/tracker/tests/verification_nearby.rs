//! A courier passing by verifies a resolved ticket (核查, issue 13), on
//! both databases, through the HTTP API: offered it near them (nothing of
//! its reporters), verifies it with a fresh photo inside the radius (closed,
//! 2 points), or is refused with a 422 naming the field and nothing
//! recorded (outside the radius, no photo or position, a photo not theirs,
//! the report's own photo or a near copy, stale EXIF time, EXIF GPS far
//! away); their not-fixed is a dispute, once.

mod common;
#[path = "common/verify_harness.rs"]
mod harness;

use civicprobe_model::Location;
use common::{actors, assert_problem, count, get, post, store};
use harness::{as_is, last_event, ok, photo, points, resolved_ticket};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

on_both_databases!(
    a_nearby_courier_verifies_with_a_fresh_photo,
    a_nearby_courier_brings_evidence_or_nothing_is_recorded,
);

async fn a_nearby_courier_verifies_with_a_fresh_photo(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (b_id, b) = store.add_courier("Chen Jing").await.unwrap();
    let (ev, t) = resolved_ticket(&store, &a, a.courier_id, false).await;
    // Offered to B (near), not to the reporter; never another reporter's data.
    let near = get(&store, "/v1/verifications/nearby?lat=29.841&lon=114.32", &b).await;
    assert_eq!(near.status, 200, "{}", near.body);
    let offered = near.body["tickets"].as_array().unwrap();
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0]["ticket_id"], ev.ticket_id.to_string());
    assert_eq!(offered[0]["note"], "cover replaced");
    assert!((100.0..125.0).contains(&offered[0]["distance_m"].as_f64().unwrap()));
    let text = near.body.to_string();
    assert!(!text.contains(&a.courier_id.to_string()) && !text.contains("井盖缺失"));
    let mine = get(
        &store,
        "/v1/verifications/nearby?lat=29.841&lon=114.32",
        &a.courier,
    )
    .await;
    assert!(mine.body["tickets"].as_array().unwrap().is_empty());
    let far = get(&store, "/v1/verifications/nearby?lat=29.9&lon=114.32", &b).await;
    assert!(far.body["tickets"].as_array().unwrap().is_empty());
    assert_problem(
        &get(&store, "/v1/verifications/nearby?lat=x&lon=114", &b).await,
        400,
        Some("lat"),
    );

    let sha = "c1".repeat(32);
    photo(&store, &ev, b_id, &sha, as_is).await;
    let body = json!({"fixed": true, "photo_sha256": sha, "lat": 29.841, "lon": 114.32});
    let reply = ok(&store, &format!("{t}/verify"), &b, body).await;
    assert_eq!(
        (reply["state"].as_str(), reply["by"].as_str()),
        (Some("closed"), Some("courier"))
    );
    let last = last_event(&store, &t, &a).await;
    assert_eq!(
        (last["kind"].as_str(), last["reason"].as_str()),
        (Some("verified"), Some("verified_by_courier"))
    );
    assert_eq!(points(&store, b_id).await, 2);
    assert_eq!(points(&store, a.courier_id).await, 10);
    let kinds = "SELECT COUNT(*) FROM points_ledger WHERE kind = 'verification'";
    assert_eq!(count(&store, kinds).await, 1);
    let near = get(&store, "/v1/verifications/nearby?lat=29.841&lon=114.32", &b).await;
    assert!(
        near.body["tickets"].as_array().unwrap().is_empty(),
        "verified: no longer offered"
    );
}

async fn a_nearby_courier_brings_evidence_or_nothing_is_recorded(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (b_id, b) = store.add_courier("Chen Jing").await.unwrap();
    let (ev, t) = resolved_ticket(&store, &a, a.courier_id, false).await;
    let uri = format!("{t}/verify");
    let fresh = "c1".repeat(32);
    // Without EXIF GPS: allowed (checked only when present).
    photo(&store, &ev, b_id, &fresh, |p| p.gps = None).await;
    let try_with = async |body: Value, field: &str| {
        let reply = post(&store, &uri, &b, Some(body)).await;
        assert_problem(&reply, 422, Some(field));
    };
    // Outside the radius (about 1.1 km).
    try_with(
        json!({"fixed": true, "photo_sha256": fresh, "lat": 29.85, "lon": 114.32}),
        "lat",
    )
    .await;
    // No photo, no position.
    try_with(
        json!({"fixed": true, "lat": 29.841, "lon": 114.32}),
        "photo_sha256",
    )
    .await;
    try_with(json!({"fixed": true, "photo_sha256": fresh}), "lat").await;
    // A photo never uploaded by B for this ticket.
    try_with(
        json!({"fixed": true, "photo_sha256": "d2".repeat(32), "lat": 29.841, "lon": 114.32}),
        "photo_sha256",
    )
    .await;
    // The report's own photo, uploaded again.
    let report_sha = ev.report.photos[0].sha256.to_string();
    photo(&store, &ev, b_id, &report_sha, as_is).await;
    try_with(
        json!({"fixed": false, "photo_sha256": report_sha, "lat": 29.841, "lon": 114.32}),
        "photo_sha256",
    )
    .await;
    // A near copy of it (one bit from its perceptual hash).
    let copy = "c3".repeat(32);
    photo(&store, &ev, b_id, &copy, |p| {
        p.phash = Some("00ff00ff00ff00fe".parse().expect("a photo hash"))
    })
    .await;
    try_with(
        json!({"fixed": true, "photo_sha256": copy, "lat": 29.841, "lon": 114.32}),
        "photo_sha256",
    )
    .await;
    // Taken two hours ago.
    let stale = "c4".repeat(32);
    photo(&store, &ev, b_id, &stale, |p| {
        p.taken_at = Some(OffsetDateTime::now_utc() - Duration::hours(2))
    })
    .await;
    try_with(
        json!({"fixed": true, "photo_sha256": stale, "lat": 29.841, "lon": 114.32}),
        "photo_sha256",
    )
    .await;
    // Taken elsewhere (EXIF GPS 5 km away).
    let elsewhere = "c5".repeat(32);
    photo(&store, &ev, b_id, &elsewhere, |p| {
        p.gps = Some(Location::new(29.885, 114.32).unwrap())
    })
    .await;
    try_with(
        json!({"fixed": true, "photo_sha256": elsewhere, "lat": 29.841, "lon": 114.32}),
        "photo_sha256",
    )
    .await;
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM verifications").await,
        0,
        "nothing recorded"
    );
    assert_eq!(points(&store, b_id).await, 0);

    // Not fixed, with good evidence: a dispute, 2 points, once.
    let body = json!({"fixed": false, "photo_sha256": fresh, "lat": 29.841, "lon": 114.32, "note": "still open"});
    let reply = ok(&store, &uri, &b, body.clone()).await;
    assert_eq!(reply["state"], "resolved", "a passer-by may not reopen");
    let last = last_event(&store, &t, &a).await;
    assert_eq!(
        (last["kind"].as_str(), last["reason"].as_str()),
        (Some("verification_disputed"), Some("not_fixed"))
    );
    assert_eq!(points(&store, b_id).await, 2);
    assert_problem(&post(&store, &uri, &b, Some(body)).await, 409, None);
    assert_eq!(points(&store, b_id).await, 2);
    let list = get(&store, "/v1/verifications?state=disputed", &a.supervisor).await;
    assert_eq!(list.body["verifications"][0]["by"], "courier");
    // A supervisor's not-fixed reopens it; the verifier keeps their points.
    ok(&store, &uri, &a.supervisor, json!({"fixed": false})).await;
    assert_eq!(
        store
            .ticket(ev.ticket_id)
            .await
            .unwrap()
            .unwrap()
            .state
            .as_str(),
        "reopened"
    );
    assert_eq!(points(&store, b_id).await, 2);
}
