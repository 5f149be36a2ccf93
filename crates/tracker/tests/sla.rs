//! The SLA clock on both databases with a mock clock: one `escalated`
//! event per breached step, also across restarts; the overdue list says
//! how late; resolved tickets are verified automatically after N days (and paid).

mod common;

use civicprobe_model::{Role, TicketAction, TicketState};
use civicprobe_tracker::sla::{sweep, SlaConfig};
use civicprobe_tracker::{MockClock, Store, Transition};
use common::{actors, base_time, count, get, open_ticket, store};
use std::sync::Arc;
use time::Duration;

on_both_databases!(
    each_breach_escalates_once_even_after_a_restart,
    overdue_lists_how_late_each_step_is,
    resolved_tickets_are_verified_after_n_days,
);

async fn with_clock(kind: &str) -> (civicprobe_testkit::TestDb, Store, MockClock) {
    let (db, store) = store(kind).await;
    let clock = MockClock::at(base_time());
    let store = store.with_clock(Arc::new(clock.clone()));
    (db, store, clock)
}

async fn act(store: &Store, id: civicprobe_model::TicketId, action: TicketAction) {
    let current = store.ticket(id).await.unwrap().unwrap();
    let change = Transition {
        action,
        actor: "office:wenquan".into(),
        role: Role::Office,
        at: store.now(),
        reason: None,
        note: Some("done".into()),
        proof_photo_sha256: None,
    };
    store.apply(&current, &change).await.unwrap();
}

async fn each_breach_escalates_once_even_after_a_restart(kind: &str) {
    let (db, store, clock) = with_clock(kind).await;
    // Deadlines: acknowledge +30 min, make safe +2 h 30, resolve +1 day.
    let ev = open_ticket(&store, "wenquan", civicprobe_model::CourierId::new()).await;
    assert!(store.escalate_overdue().await.unwrap().is_empty());
    clock.set(base_time() + Duration::minutes(31));
    assert_eq!(
        store.escalate_overdue().await.unwrap(),
        vec![(ev.ticket_id, "acknowledge")]
    );
    assert!(store.escalate_overdue().await.unwrap().is_empty());
    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.escalated_steps, ["acknowledge"]);

    // A restarted tracker (a new store on the same database) does not repeat it.
    let restarted = Store::connect(db.url())
        .await
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    assert!(restarted.escalate_overdue().await.unwrap().is_empty());

    clock.set(base_time() + Duration::hours(3));
    act(&store, ev.ticket_id, TicketAction::Acknowledge).await;
    assert_eq!(
        restarted.escalate_overdue().await.unwrap(),
        vec![(ev.ticket_id, "make_safe")]
    );
    clock.set(base_time() + Duration::days(2));
    let (escalated, closed) = sweep(&store, &SlaConfig::default()).await.unwrap();
    assert_eq!((escalated, closed), (1, 0));
    assert!(restarted.escalate_overdue().await.unwrap().is_empty());
    // The ticket JSON names every escalated step, for the queue's marks.
    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    let json = serde_json::to_value(&ticket).unwrap();
    let steps = serde_json::json!(["acknowledge", "make_safe", "resolve"]);
    assert_eq!(json["escalated_steps"], steps);

    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    let escalations: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.kind == "escalated")
        .map(|e| (e.reason.as_deref().unwrap(), e.actor.as_str()))
        .collect();
    assert_eq!(
        escalations,
        [
            ("acknowledge", "system:sla"),
            ("make_safe", "system:sla"),
            ("resolve", "system:sla")
        ]
    );
    assert_eq!(
        events
            .iter()
            .find(|e| e.kind == "escalated")
            .unwrap()
            .note
            .as_deref(),
        Some("60 s late")
    );
    // Each escalation goes out through the outbox too.
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox WHERE subject LIKE '%.escalated'"
        )
        .await,
        3
    );
    assert!(store.verify_chain().await.unwrap().is_intact());
}

async fn overdue_lists_how_late_each_step_is(kind: &str) {
    let (_db, store, clock) = with_clock(kind).await;
    let a = actors(&store).await;
    let late = open_ticket(&store, "wenquan", a.courier_id).await;
    let acked = open_ticket(&store, "wenquan", a.courier_id).await;
    let elsewhere = open_ticket(&store, "fushan", a.courier_id).await;
    clock.set(base_time() + Duration::minutes(20));
    act(&store, acked.ticket_id, TicketAction::Acknowledge).await;
    assert_eq!(store.overdue_count().await.unwrap(), 0, "none due yet");
    clock.set(base_time() + Duration::hours(3));
    assert_eq!(store.overdue_count().await.unwrap(), 3);

    let reply = get(&store, "/v1/audit/overdue", &a.supervisor).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let tickets = reply.body["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 3);
    let of = |id: civicprobe_model::TicketId| {
        tickets
            .iter()
            .find(|t| t["ticket_id"] == id.to_string())
            .unwrap()
            .clone()
    };
    let t = of(late.ticket_id);
    assert_eq!(t["late_s"], 9000); // acknowledge was due 2 h 30 ago
    let steps: Vec<(&str, i64)> = t["breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["step"].as_str().unwrap(), b["late_s"].as_i64().unwrap()))
        .collect();
    assert_eq!(steps, [("acknowledge", 9000), ("make_safe", 1800)]);
    assert_eq!(of(acked.ticket_id)["breaches"].as_array().unwrap().len(), 1);
    assert_eq!(
        tickets[2]["ticket_id"],
        acked.ticket_id.to_string(),
        "the least late last"
    );

    let reply = get(&store, "/v1/audit/overdue", &a.fushan).await;
    let ids: Vec<&str> = reply.body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticket_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [elsewhere.ticket_id.to_string()]);
    common::assert_problem(
        &get(&store, "/v1/audit/overdue", &a.courier).await,
        403,
        None,
    );
    // Resolved tickets are no longer overdue.
    act(&store, late.ticket_id, TicketAction::Acknowledge).await;
    act(&store, late.ticket_id, TicketAction::Resolve).await;
    assert_eq!(store.overdue(None, 100).await.unwrap().len(), 2);
    assert_eq!(store.overdue_count().await.unwrap(), 2, "the gauge agrees");
}

async fn resolved_tickets_are_verified_after_n_days(kind: &str) {
    let (_db, store, clock) = with_clock(kind).await;
    let reporter = civicprobe_model::CourierId::new();
    let ev = open_ticket(&store, "wenquan", reporter).await;
    let recent = open_ticket(&store, "wenquan", civicprobe_model::CourierId::new()).await;
    clock.set(base_time() + Duration::minutes(10));
    for id in [ev.ticket_id, recent.ticket_id] {
        act(&store, id, TicketAction::Acknowledge).await;
    }
    act(&store, ev.ticket_id, TicketAction::Resolve).await;
    clock.set(base_time() + Duration::days(2));
    act(&store, recent.ticket_id, TicketAction::Resolve).await;
    assert_eq!(
        store.courier_points(reporter).await.unwrap(),
        0,
        "not paid on resolve"
    );
    let config = SlaConfig {
        auto_verify_days: 3,
        sla_tick_secs: 1,
        ..SlaConfig::default()
    };
    clock.set(base_time() + Duration::days(3) + Duration::minutes(11));
    assert_eq!(sweep(&store, &config).await.unwrap().1, 1);
    assert_eq!(sweep(&store, &config).await.unwrap().1, 0);
    let closed = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    assert_eq!(closed.state, TicketState::Closed);
    let last = store
        .ticket_events(ev.ticket_id)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str(), last.role.as_str()),
        ("verified", "system:auto_verify", "system")
    );
    assert_eq!(last.reason.as_deref(), Some("auto_verified"));
    assert_eq!(
        store.courier_points(reporter).await.unwrap(),
        10,
        "paid on verify"
    );
    let still = store.ticket(recent.ticket_id).await.unwrap().unwrap();
    assert_eq!(still.state, TicketState::Resolved);
}
