//! The HTTP API on both databases, through `app(store).oneshot(…)`.

mod common;

use axum::http::Method;
use civicprobe_model::{CourierId, Role, TicketAction, TicketId, TicketOpened};
use civicprobe_tracker::{Store, Transition};
use common::{assert_problem, base_time, call, get, office, opened, post, store, unrouted};
use serde_json::{json, Value};
use time::Duration;

on_both_databases!(
    requests_without_a_valid_token_are_401,
    office_queue_is_ordered_by_deadline_and_scoped,
    tickets_of_another_area_are_404,
    acknowledge_then_resolve_records_events_and_times,
    illegal_transitions_are_409_with_the_current_state,
    racing_acknowledgements_one_wins_one_conflicts,
    reject_needs_a_known_reason,
    unrouted_is_for_supervisors_only,
    response_times_on_known_data,
    couriers_see_their_own_reports,
);

/// Tokens of one office (`wenquan`), a supervisor and a courier.
struct Actors {
    wenquan: String,
    fushan: String,
    supervisor: String,
    courier_id: CourierId,
    courier: String,
}

async fn actors(store: &Store) -> Actors {
    let (courier_id, courier) = store.add_courier("Li Wei").await.unwrap();
    Actors {
        wenquan: store
            .add_office(&office("wenquan"), Some("温泉"))
            .await
            .unwrap(),
        fushan: store.add_office(&office("fushan"), None).await.unwrap(),
        supervisor: store.add_supervisor("zhang").await.unwrap(),
        courier_id,
        courier,
    }
}

/// Opens a ticket in `office_id` whose acknowledgement is due in `ack_due`.
async fn open(
    store: &Store,
    office_id: &str,
    courier: CourierId,
    ack_due: Duration,
) -> TicketOpened {
    let ev = opened(office_id, courier, base_time(), ack_due);
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    ev
}

/// Applies `action` through the store at `base_time() + after`.
async fn apply_at(store: &Store, id: TicketId, action: TicketAction, after: Duration) {
    let current = store.ticket(id).await.unwrap().unwrap();
    let change = Transition {
        action,
        actor: "supervisor:test".into(),
        role: Role::Supervisor,
        at: base_time() + after,
        reason: None,
        note: Some("done".into()),
        proof_photo_sha256: None,
    };
    store.apply(&current, &change).await.unwrap();
}

fn ids(body: &Value) -> Vec<String> {
    body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticket_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn requests_without_a_valid_token_are_401(kind: &str) {
    let (_db, store) = store(kind).await;
    let reply = call(&store, Method::GET, "/v1/unrouted", None, None).await;
    assert_problem(&reply, 401, None);
    let reply = get(&store, "/v1/unrouted", &"f".repeat(64)).await;
    assert_problem(&reply, 401, None);
}

async fn office_queue_is_ordered_by_deadline_and_scoped(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let late = open(&store, "wenquan", a.courier_id, Duration::minutes(60)).await;
    let soon = open(&store, "wenquan", a.courier_id, Duration::minutes(10)).await;
    let acked = open(&store, "wenquan", a.courier_id, Duration::minutes(30)).await;
    let done = open(&store, "wenquan", a.courier_id, Duration::minutes(5)).await;
    let elsewhere = open(&store, "fushan", a.courier_id, Duration::minutes(1)).await;
    apply_at(
        &store,
        acked.ticket_id,
        TicketAction::Acknowledge,
        Duration::minutes(2),
    )
    .await;
    apply_at(
        &store,
        done.ticket_id,
        TicketAction::Acknowledge,
        Duration::minutes(1),
    )
    .await;
    apply_at(
        &store,
        done.ticket_id,
        TicketAction::Resolve,
        Duration::minutes(3),
    )
    .await;

    let reply = get(&store, "/v1/offices/wenquan/tickets", &a.wenquan).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let want: Vec<String> = [&soon, &late, &acked, &done]
        .iter()
        .map(|t| t.ticket_id.to_string())
        .collect();
    assert_eq!(ids(&reply.body), want);

    let reply = get(&store, "/v1/offices/wenquan/tickets?state=open", &a.wenquan).await;
    assert_eq!(ids(&reply.body), want[..2].to_vec());
    let reply = get(&store, "/v1/offices/wenquan/tickets?state=lost", &a.wenquan).await;
    assert_problem(&reply, 400, Some("state"));

    // Another office's queue does not exist for wenquan; it does for a supervisor.
    let reply = get(&store, "/v1/offices/fushan/tickets", &a.wenquan).await;
    assert_problem(&reply, 404, None);
    let reply = get(&store, "/v1/offices/fushan/tickets", &a.supervisor).await;
    assert_eq!(ids(&reply.body), vec![elsewhere.ticket_id.to_string()]);
    let reply = get(&store, "/v1/offices/fushan/tickets", &a.courier).await;
    assert_problem(&reply, 403, None);
    let reply = get(&store, "/v1/offices/Not.An.Office/tickets", &a.supervisor).await;
    assert_problem(&reply, 400, Some("office_id"));
}

async fn tickets_of_another_area_are_404(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = open(&store, "wenquan", a.courier_id, Duration::minutes(30)).await;
    let uri = format!("/v1/tickets/{}", ev.ticket_id);
    assert_problem(&get(&store, &uri, &a.fushan).await, 404, None);
    let ack = format!("{uri}/acknowledge");
    assert_problem(&post(&store, &ack, &a.fushan, None).await, 404, None);
    let (_, stranger) = store.add_courier("someone else").await.unwrap();
    assert_problem(&get(&store, &uri, &stranger).await, 404, None);
    for token in [&a.wenquan, &a.supervisor, &a.courier] {
        let reply = get(&store, &uri, token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    assert_problem(
        &get(&store, "/v1/tickets/not-a-uuid", &a.supervisor).await,
        400,
        Some("id"),
    );
    let missing = format!("/v1/tickets/{}", TicketId::new());
    assert_problem(&get(&store, &missing, &a.supervisor).await, 404, None);
}

async fn acknowledge_then_resolve_records_events_and_times(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = open(&store, "wenquan", a.courier_id, Duration::minutes(30)).await;
    let uri = format!("/v1/tickets/{}", ev.ticket_id);

    assert_problem(
        &post(&store, &format!("{uri}/acknowledge"), &a.courier, None).await,
        403,
        None,
    );
    let reply = post(&store, &format!("{uri}/acknowledge"), &a.wenquan, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["state"], "acknowledged");
    assert!(reply.body["acknowledged_at"].is_string());
    assert_eq!(reply.body["version"], 2);

    let resolve = format!("{uri}/resolve");
    let reply = post(&store, &resolve, &a.wenquan, Some(json!({}))).await;
    assert_problem(&reply, 400, Some("note"));
    let note = "盖板已更换 cover replaced";
    let reply = post(&store, &resolve, &a.wenquan, Some(json!({ "note": note }))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["state"], "resolved");
    assert!(reply.body["resolved_at"].is_string());

    let reply = get(&store, &uri, &a.courier).await;
    let events = reply.body["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["opened", "acknowledged", "resolved"]);
    // The person of office wenquan who holds the token (an unnamed one).
    let actor = events[1]["actor"].as_str().unwrap();
    assert!(actor.starts_with("office:wenquan/"), "{actor}");
    assert_eq!(events[1]["role"], "office");
    assert_eq!(events[2]["note"], note);
    assert_eq!(events[2]["seq"], 3);
    assert_eq!(reply.body["state"], "resolved");
}

async fn illegal_transitions_are_409_with_the_current_state(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = open(&store, "wenquan", a.courier_id, Duration::minutes(30)).await;
    let uri = format!("/v1/tickets/{}", ev.ticket_id);
    let reply = post(
        &store,
        &format!("{uri}/resolve"),
        &a.wenquan,
        Some(json!({"note": "x"})),
    )
    .await;
    assert_problem(&reply, 409, None);
    assert_eq!(reply.body["state"], "open");
    assert_eq!(
        post(&store, &format!("{uri}/acknowledge"), &a.wenquan, None)
            .await
            .status,
        200
    );
    let reply = post(&store, &format!("{uri}/acknowledge"), &a.supervisor, None).await;
    assert_problem(&reply, 409, None);
    assert_eq!(reply.body["state"], "acknowledged");
    assert_eq!(store.ticket_events(ev.ticket_id).await.unwrap().len(), 2);
}

async fn racing_acknowledgements_one_wins_one_conflicts(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    for _ in 0..5 {
        let ev = open(&store, "wenquan", a.courier_id, Duration::minutes(30)).await;
        let uri = format!("/v1/tickets/{}/acknowledge", ev.ticket_id);
        let (one, two) = tokio::join!(
            tokio::spawn({
                let (store, uri, token) = (store.clone(), uri.clone(), a.wenquan.clone());
                async move { post(&store, &uri, &token, None).await }
            }),
            tokio::spawn({
                let (store, uri, token) = (store.clone(), uri.clone(), a.supervisor.clone());
                async move { post(&store, &uri, &token, Some(json!({}))).await }
            }),
        );
        let (one, two) = (one.unwrap(), two.unwrap());
        let mut statuses = [one.status.as_u16(), two.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{} / {}", one.body, two.body);
        let loser = if one.status == 409 { &one } else { &two };
        assert_problem(loser, 409, None);
        let events = store.ticket_events(ev.ticket_id).await.unwrap();
        assert_eq!(events.len(), 2, "exactly one acknowledgement recorded");
    }
}

async fn reject_needs_a_known_reason(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = open(&store, "wenquan", a.courier_id, Duration::minutes(30)).await;
    let reject = format!("/v1/tickets/{}/reject", ev.ticket_id);
    let reply = post(
        &store,
        &reject,
        &a.wenquan,
        Some(json!({"reason": "boring"})),
    )
    .await;
    assert_problem(&reply, 400, Some("reason"));
    assert_problem(
        &post(&store, &reject, &a.wenquan, None).await,
        400,
        Some("reason"),
    );
    let body = json!({"reason": "not_our_area", "note": "belongs to fushan"});
    let reply = post(&store, &reject, &a.wenquan, Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["state"], "rejected");
    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    assert_eq!(events[1].kind, "rejected");
    assert_eq!(events[1].reason.as_deref(), Some("not_our_area"));
    assert_eq!(events[1].note.as_deref(), Some("belongs to fushan"));
}

async fn unrouted_is_for_supervisors_only(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = unrouted(a.courier_id);
    store.record_unrouted(&ev).await.unwrap();
    let reply = get(&store, "/v1/unrouted", &a.supervisor).await;
    assert_eq!(reply.status, 200);
    let list = reply.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["report_id"], ev.report.report_id.to_string());
    assert_eq!(list[0]["category"], "electrical_box");
    assert_problem(&get(&store, "/v1/unrouted", &a.wenquan).await, 403, None);
    assert_problem(&get(&store, "/v1/unrouted", &a.courier).await, 403, None);
}

async fn response_times_on_known_data(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    // wenquan: acknowledged after 1..5 minutes, resolved after 1..5 hours.
    for i in 1..=5 {
        let ev = open(&store, "wenquan", a.courier_id, Duration::minutes(30)).await;
        apply_at(
            &store,
            ev.ticket_id,
            TicketAction::Acknowledge,
            Duration::minutes(i),
        )
        .await;
        apply_at(
            &store,
            ev.ticket_id,
            TicketAction::Resolve,
            Duration::hours(i),
        )
        .await;
    }
    // One still open (no durations), one acknowledged "before" it arrived.
    open(&store, "wenquan", a.courier_id, Duration::minutes(30)).await;
    let bad = open(&store, "wenquan", a.courier_id, Duration::minutes(30)).await;
    apply_at(
        &store,
        bad.ticket_id,
        TicketAction::Acknowledge,
        Duration::seconds(-10),
    )
    .await;
    // fushan: one ticket acknowledged after 30 s.
    let f = open(&store, "fushan", a.courier_id, Duration::minutes(30)).await;
    apply_at(
        &store,
        f.ticket_id,
        TicketAction::Acknowledge,
        Duration::seconds(30),
    )
    .await;

    let reply = get(
        &store,
        "/v1/audit/response-times?group_by=office",
        &a.supervisor,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["group_by"], "office");
    let groups = reply.body["groups"].as_array().unwrap();
    let (fushan, wenquan) = (&groups[0], &groups[1]);
    assert_eq!(fushan["group"], "fushan");
    assert_eq!(
        fushan["acknowledge"],
        json!({"count": 1, "median_s": 30.0, "p90_s": 30.0, "max_s": 30.0, "within_deadline": 1.0})
    );
    assert_eq!(
        fushan["resolve"],
        json!({"count": 0, "median_s": null, "p90_s": null, "max_s": null, "within_deadline": null})
    );
    assert_eq!(wenquan["group"], "wenquan");
    assert_eq!(wenquan["count"], 7);
    assert_eq!(wenquan["data_errors"], 1);
    // Nearest rank over 5 values: median = 3rd, p90 = 5th.
    assert_eq!(
        wenquan["acknowledge"],
        json!({"count": 5, "median_s": 180.0, "p90_s": 300.0, "max_s": 300.0, "within_deadline": 1.0})
    );
    assert_eq!(
        wenquan["resolve"],
        json!({"count": 5, "median_s": 10800.0, "p90_s": 18000.0, "max_s": 18000.0, "within_deadline": 1.0})
    );

    let reply = get(
        &store,
        "/v1/audit/response-times?group_by=category",
        &a.supervisor,
    )
    .await;
    let groups = reply.body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        (groups[0]["group"].as_str(), groups[0]["count"].as_u64()),
        (Some("manhole"), Some(8))
    );

    let reply = get(
        &store,
        "/v1/audit/response-times?group_by=weekday",
        &a.supervisor,
    )
    .await;
    assert_problem(&reply, 400, Some("group_by"));
    let reply = get(&store, "/v1/audit/response-times", &a.wenquan).await;
    assert_problem(&reply, 403, None);
}

async fn couriers_see_their_own_reports(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ticket = open(&store, "wenquan", a.courier_id, Duration::minutes(30)).await;
    let lost = unrouted(a.courier_id);
    store.record_unrouted(&lost).await.unwrap();
    open(&store, "wenquan", CourierId::new(), Duration::minutes(30)).await;

    let reply = get(&store, "/v1/couriers/me", &a.courier).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["courier_id"], a.courier_id.to_string());
    let reports = reply.body["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    let state_of = |id: String| {
        reports
            .iter()
            .find(|r| r["report_id"] == id.as_str())
            .map(|r| r["state"].clone())
    };
    assert_eq!(
        state_of(ticket.report.report_id.to_string()),
        Some(json!("open"))
    );
    assert_eq!(
        state_of(lost.report.report_id.to_string()),
        Some(json!("unrouted"))
    );
    assert_problem(&get(&store, "/v1/couriers/me", &a.wenquan).await, 403, None);
}
