//! Re-triage over HTTP on both databases: the ticket's office or a
//! supervisor corrects category and urgency; the deadlines follow the
//! policy from `received_at`; the step is in the hash chain and the
//! outbox, and kept as a labelled example. Bad input names its field and
//! stores nothing.

mod common;

use civicprobe_model::{
    nats, Category, EventKind, OfficeId, SlaPolicy, StepDurations, TicketChanged,
};
use civicprobe_tracker::Store;
use common::{
    actors, assert_problem, base_time, count, get, open_ticket, opened, post, store, unrouted,
};
use serde_json::json;
use time::Duration;

on_both_databases!(
    an_office_corrects_category_and_urgency_by_the_policy,
    bad_input_names_its_field_and_stores_nothing,
    who_may_re_triage_and_when,
    routing_by_hand_uses_the_policy,
);

/// The default policy, but a routine elevator must be acknowledged in 3 h.
fn policy() -> SlaPolicy {
    let urgent = SlaPolicy::default().urgent;
    let routine = StepDurations {
        acknowledge: Duration::hours(3),
        make_safe: Duration::hours(20),
        resolve: Duration::days(3),
    };
    SlaPolicy::default().with_category(Category::Elevator, urgent, routine)
}

async fn with_policy(kind: &str) -> (civicprobe_testkit::TestDb, Store) {
    let (db, store) = store(kind).await;
    (db, store.with_policy(policy()))
}

/// The outbox's `TicketChanged` for the ticket's latest `triaged` event.
async fn queued_triage(store: &Store) -> (String, TicketChanged) {
    let queued = store.unsent_outbox(100).await.unwrap();
    let msg = queued
        .iter()
        .rfind(|m| m.subject.ends_with(".triaged"))
        .expect("a triaged event in the outbox");
    (
        msg.subject.clone(),
        serde_json::from_str(&msg.payload).unwrap(),
    )
}

async fn an_office_corrects_category_and_urgency_by_the_policy(kind: &str) {
    let (_db, store) = with_policy(kind).await;
    let a = actors(&store).await;
    let mut ev = opened("wenquan", a.courier_id, base_time(), Duration::minutes(30));
    ev.needs_triage = true;
    ev.model_version = Some("m-0123456789abcdef".into());
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    let staff = get(&store, &format!("/v1/tickets/{}", ev.ticket_id), &a.wenquan).await;
    assert_eq!(
        staff.body["model_version"], "m-0123456789abcdef",
        "{}",
        staff.body
    );
    let uri = format!("/v1/tickets/{}/triage", ev.ticket_id);
    let body = json!({"category": "elevator", "urgent": false, "reason": "是电梯困人，不是井盖"});
    let reply = post(&store, &uri, &a.wenquan, Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["category"], "elevator");
    assert_eq!(reply.body["urgent"], false);
    assert_eq!(reply.body["needs_triage"], false);
    // The model that decided it stays on record after the correction.
    assert_eq!(reply.body["model_version"], "m-0123456789abcdef");

    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    let received = ev.report.received_at;
    assert_eq!(
        ticket.deadlines,
        policy().deadlines(Category::Elevator, false, received)
    );
    assert_eq!(
        ticket.deadlines.acknowledge_by,
        received + Duration::hours(3)
    );
    assert_eq!(ticket.version, 2);

    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind, "triaged");
    assert!(last.actor.starts_with("office:wenquan"), "{}", last.actor);
    assert_eq!(last.role, "office");
    assert_eq!(last.reason.as_deref(), Some("是电梯困人，不是井盖"));
    assert_eq!(
        last.note.as_deref(),
        Some("category manhole→elevator; urgent true→false")
    );
    assert!(store.verify_chain().await.unwrap().is_intact());

    let (subject, changed) = queued_triage(&store).await;
    let office = OfficeId::parse("wenquan").unwrap();
    let triaged = nats::ticket_subject(&office, Category::Elevator, EventKind::Triaged);
    assert_eq!(subject, triaged);
    assert_eq!(changed.ticket_id, ev.ticket_id);
    assert_eq!(
        (changed.category, changed.urgent),
        (Category::Elevator, false)
    );
    assert_eq!(changed.from_category, Some(Category::Manhole));
    assert_eq!(changed.deadlines, Some(ticket.deadlines));
    assert_eq!(changed.kind, "triaged");

    // Urgency only, by a supervisor: the category stays, deadlines tighten.
    let body = json!({"urgent": true, "reason": "people trapped after all"});
    let reply = post(&store, &uri, &a.supervisor, Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    assert_eq!(
        ticket.deadlines.acknowledge_by,
        received + Duration::minutes(15)
    );
    let (_, changed) = queued_triage(&store).await;
    assert_eq!(changed.from_category, None, "the category did not change");

    let corrections = store.triage_corrections().await.unwrap();
    assert_eq!(corrections.len(), 2);
    let first = &corrections[0];
    assert_eq!(first.text, ev.report.text);
    assert_eq!(
        (
            first.from_category,
            first.to_category,
            first.from_urgent,
            first.to_urgent
        ),
        (Category::Manhole, Category::Elevator, true, false)
    );
    assert_eq!(first.reason, "是电梯困人，不是井盖");
    assert!(corrections[1].actor.starts_with("supervisor:"));
    let view = get(&store, &format!("/v1/tickets/{}", ev.ticket_id), &a.wenquan).await;
    let kinds: Vec<_> = view.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["opened", "triaged", "triaged"]);
}

async fn bad_input_names_its_field_and_stores_nothing(kind: &str) {
    let (_db, store) = with_policy(kind).await;
    let a = actors(&store).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    let uri = format!("/v1/tickets/{}/triage", ev.ticket_id);
    let long = "因".repeat(501);
    let cases = [
        (json!({"category": "tree", "reason": "x"}), "category"),
        (json!({"urgent": "yes", "reason": "x"}), "urgent"),
        (json!({"urgent": false}), "reason"),
        (json!({"urgent": false, "reason": ""}), "reason"),
        (json!({"urgent": false, "reason": long}), "reason"),
        (json!({"urgent": false, "reason": "a\u{1b}[2Jb"}), "reason"),
        (json!({"reason": "changes nothing"}), "body"),
        // The ticket is already a manhole and urgent.
        (
            json!({"category": "manhole", "urgent": true, "reason": "same"}),
            "body",
        ),
    ];
    for (body, field) in cases {
        let reply = post(&store, &uri, &a.wenquan, Some(body.clone())).await;
        assert_problem(&reply, 400, Some(field));
    }
    let malformed = common::call(
        &store,
        axum::http::Method::POST,
        &uri,
        Some(&a.wenquan),
        None,
    )
    .await;
    assert_problem(&malformed, 400, Some("body"));
    let events = "SELECT COUNT(*) FROM ticket_events WHERE kind = 'triaged'";
    assert_eq!(count(&store, events).await, 0);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM triage_corrections").await,
        0
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM outbox").await, 0);
    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    assert_eq!(
        (ticket.category, ticket.urgent, ticket.version),
        (Category::Manhole, true, 1)
    );
}

async fn who_may_re_triage_and_when(kind: &str) {
    let (_db, store) = with_policy(kind).await;
    let a = actors(&store).await;
    let ev = open_ticket(&store, "wenquan", a.courier_id).await;
    let t = format!("/v1/tickets/{}", ev.ticket_id);
    let uri = format!("{t}/triage");
    let body = json!({"category": "other", "reason": "not a manhole"});
    let reply = post(&store, &uri, &a.courier, Some(body.clone())).await;
    assert_problem(&reply, 403, None);
    let reply = post(&store, &uri, &a.fushan, Some(body.clone())).await;
    assert_problem(&reply, 404, None);
    let unknown = format!("/v1/tickets/{}/triage", civicprobe_model::TicketId::new());
    assert_problem(
        &post(&store, &unknown, &a.supervisor, Some(body.clone())).await,
        404,
        None,
    );
    assert_problem(
        &post(
            &store,
            "/v1/tickets/x/triage",
            &a.wenquan,
            Some(body.clone()),
        )
        .await,
        400,
        Some("id"),
    );

    // Rejected: no longer active, a 409 with the state.
    let reject = json!({"reason": "not_a_hazard"});
    assert_eq!(
        post(&store, &format!("{t}/reject"), &a.wenquan, Some(reject))
            .await
            .status,
        200
    );
    let reply = post(&store, &uri, &a.supervisor, Some(body)).await;
    assert_problem(&reply, 409, None);
    assert_eq!(reply.body["state"], "rejected");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM triage_corrections").await,
        0
    );
}

async fn routing_by_hand_uses_the_policy(kind: &str) {
    let (_db, store) = with_policy(kind).await;
    let a = actors(&store).await;
    let mut lost = unrouted(a.courier_id);
    lost.category = Category::Elevator;
    assert!(store.record_unrouted(&lost).await.unwrap());
    let uri = format!("/v1/unrouted/{}/route", lost.report.report_id);
    let reply = post(
        &store,
        &uri,
        &a.supervisor,
        Some(json!({"office_id": "wenquan"})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let ticket_id = reply.body["ticket_id"].as_str().unwrap().parse().unwrap();
    let ticket = store.ticket(ticket_id).await.unwrap().unwrap();
    let received = lost.report.received_at;
    assert_eq!(
        ticket.deadlines.acknowledge_by,
        received + Duration::hours(3)
    );
    assert_eq!(
        ticket.deadlines,
        policy().deadlines(Category::Elevator, false, received)
    );
}
