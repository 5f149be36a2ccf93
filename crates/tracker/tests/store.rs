//! The store on both databases: tokens, idempotent recording, the
//! append-only history, optimistic concurrency.

mod common;

use civicprobe_model::{CourierId, Principal, Role, TicketAction, TicketState};
use civicprobe_tracker::{Error, Transition};
use common::{base_time, office, open_ticket, opened, store, unrouted, wenquan_acknowledges};
use sqlx::Row;
use time::Duration;

on_both_databases!(
    numbered_placeholders_bind_by_number,
    tokens_are_stored_hashed_and_authenticate,
    recording_a_ticket_twice_stores_it_once,
    recording_an_unrouted_report_twice_stores_it_once,
    ticket_events_are_append_only,
    a_stale_version_is_a_concurrent_update,
    needs_triage_is_stored_and_returned,
    the_boundary_flag_is_stored_and_returned,
    updated_at_is_the_newest_step_whatever_it_was,
);

/// The design rests on `$N` working on SQLite too, also out of order and
/// repeated.
async fn numbered_placeholders_bind_by_number(kind: &str) {
    let (_db, store) = store(kind).await;
    let row = sqlx::query("SELECT $2 AS b, $1 AS a, $2 AS b2")
        .bind("first")
        .bind("second")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("a"), "first");
    assert_eq!(row.get::<String, _>("b"), "second");
    assert_eq!(row.get::<String, _>("b2"), "second");
}

async fn tokens_are_stored_hashed_and_authenticate(kind: &str) {
    let (_db, store) = store(kind).await;
    let (courier_id, courier) = store.add_courier("Li Wei").await.unwrap();
    let wenquan = office("wenquan");
    let office_token = store.add_office(&wenquan, Some("温泉街道")).await.unwrap();
    let supervisor = store.add_supervisor("zhang").await.unwrap();

    let rows = sqlx::query("SELECT token_hash, role, subject, name FROM tokens")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        for column in ["token_hash", "role", "subject", "name"] {
            let value: String = row.get(column);
            for token in [&courier, &office_token, &supervisor] {
                assert!(
                    !value.contains(token.as_str()),
                    "raw token in tokens.{column}"
                );
            }
        }
        assert_eq!(row.get::<String, _>("token_hash").len(), 64);
    }

    let who = store.authenticate(&courier).await.unwrap().unwrap();
    assert_eq!(
        who,
        Principal::Courier {
            courier_id,
            name: "Li Wei".into()
        }
    );
    let who = store.authenticate(&office_token).await.unwrap().unwrap();
    assert!(matches!(who, Principal::Office { office_id, .. } if office_id == wenquan));
    let who = store.authenticate(&supervisor).await.unwrap().unwrap();
    assert_eq!(who.role(), Role::Supervisor);
    assert_eq!(who.person().map(|p| p.name.as_str()), Some("zhang"));

    let never_issued = "0".repeat(64);
    assert_eq!(store.authenticate(&never_issued).await.unwrap(), None);
    assert_eq!(store.authenticate("").await.unwrap(), None);
    assert_eq!(
        store.authenticate("not a token ' OR 1=1 --").await.unwrap(),
        None
    );
}

async fn recording_a_ticket_twice_stores_it_once(kind: &str) {
    let (_db, store) = store(kind).await;
    let ev = opened(
        "wenquan",
        CourierId::new(),
        base_time(),
        Duration::minutes(30),
    );
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    assert!(!store.record_ticket_opened(&ev).await.unwrap());

    let count = |sql: &'static str| {
        let pool = store.pool().clone();
        async move {
            sqlx::query(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM tickets").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM ticket_events").await, 1);

    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    assert_eq!(ticket.state, TicketState::Open);
    assert_eq!(ticket.version, 1);
    assert_eq!(ticket.report_id, ev.report.report_id);
    assert_eq!(ticket.office_id, ev.office_id);
    assert_eq!(ticket.location, ev.report.location);
    assert_eq!(ticket.photos, ev.report.photos);
    assert_eq!(ticket.text, ev.report.text);
    assert_eq!(ticket.deadlines, ev.deadlines);
    assert_eq!(ticket.received_at, ev.report.received_at);
    assert!(ticket.urgent);

    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].seq, events[0].kind.as_str()), (1, "opened"));
    assert_eq!(events[0].event_id, ev.event_id);
}

async fn recording_an_unrouted_report_twice_stores_it_once(kind: &str) {
    let (_db, store) = store(kind).await;
    let ev = unrouted(CourierId::new());
    assert!(store.record_unrouted(&ev).await.unwrap());
    assert!(!store.record_unrouted(&ev).await.unwrap());
    let all = store.unrouted(100).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].report_id, ev.report.report_id);
    assert_eq!(all[0].location, ev.report.location);
    assert!(!all[0].urgent);
}

async fn ticket_events_are_append_only(kind: &str) {
    let (_db, store) = store(kind).await;
    let ev = open_ticket(&store, "wenquan", CourierId::new()).await;
    let update = sqlx::query("UPDATE ticket_events SET note = 'edited'")
        .execute(store.pool())
        .await;
    assert!(update.is_err(), "an event was edited");
    let delete = sqlx::query("DELETE FROM ticket_events")
        .execute(store.pool())
        .await;
    assert!(delete.is_err(), "an event was deleted");
    assert_eq!(store.ticket_events(ev.ticket_id).await.unwrap().len(), 1);
}

async fn a_stale_version_is_a_concurrent_update(kind: &str) {
    let (_db, store) = store(kind).await;
    let ev = open_ticket(&store, "wenquan", CourierId::new()).await;
    let read = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    let ack = wenquan_acknowledges(base_time() + Duration::minutes(5));
    let now = store.apply(&read, &ack).await.unwrap();
    assert_eq!((now.state, now.version), (TicketState::Acknowledged, 2));
    let make_safe = Transition {
        action: TicketAction::MakeSafe,
        ..ack.clone()
    };
    // `read` is stale (open, version 1): make_safe from open is refused by
    // the state machine before any write.
    assert!(matches!(
        store.apply(&read, &make_safe).await,
        Err(Error::IllegalTransition(_))
    ));
    // Acknowledge on the stale copy passes the state machine, loses the race.
    assert!(matches!(
        store.apply(&read, &ack).await,
        Err(Error::ConcurrentUpdate(id)) if id == ev.ticket_id
    ));
    assert_eq!(store.ticket_events(ev.ticket_id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_and_creates_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data/nested/civicprobe.db");
    let store = civicprobe_tracker::Store::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    assert!(file.exists());
    // Connecting again re-runs the (already applied) migrations harmlessly.
    drop(store);
    civicprobe_tracker::Store::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
}

/// The router's `needs_triage` survives the store and reaches the JSON
/// offices and supervisors read; an ordinary ticket says `false`.
async fn needs_triage_is_stored_and_returned(kind: &str) {
    let (_db, store) = store(kind).await;
    let mut unsure = opened("wenquan", CourierId::new(), base_time(), Duration::hours(1));
    unsure.needs_triage = true;
    let sure = opened("wenquan", CourierId::new(), base_time(), Duration::hours(1));
    assert!(store.record_ticket_opened(&unsure).await.unwrap());
    assert!(store.record_ticket_opened(&sure).await.unwrap());
    for (ev, expected) in [(&unsure, true), (&sure, false)] {
        let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
        assert_eq!(ticket.needs_triage, expected);
        let json = serde_json::to_value(&ticket).unwrap();
        assert_eq!(json["needs_triage"], expected, "{json}");
    }
    // A supervisor's reroute is the triage.
    let ticket = store.ticket(unsure.ticket_id).await.unwrap().unwrap();
    let moved = store
        .reroute(&ticket, &office("fushan"), "supervisor:zhang", None)
        .await
        .unwrap();
    assert!(!moved.needs_triage);
}

/// A ticket opened for a point just outside the district says so.
async fn the_boundary_flag_is_stored_and_returned(kind: &str) {
    let (_db, store) = store(kind).await;
    let mut outside = opened("fushan", CourierId::new(), base_time(), Duration::hours(1));
    outside.boundary = true;
    let inside = opened("fushan", CourierId::new(), base_time(), Duration::hours(1));
    for (ev, expected) in [(&outside, true), (&inside, false)] {
        assert!(store.record_ticket_opened(ev).await.unwrap());
        let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
        let json = serde_json::to_value(&ticket).unwrap();
        assert_eq!(json["boundary"], expected, "{json}");
    }
}

/// `updated_at` is the time of the newest event: an office's step, and
/// also a supervisor's reroute, which no `*_at` column records.
async fn updated_at_is_the_newest_step_whatever_it_was(kind: &str) {
    let (_db, store) = store(kind).await;
    let ev = open_ticket(&store, "wenquan", CourierId::new()).await;
    let ticket = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    assert_eq!(ticket.updated_at, events[0].at);
    let ack = wenquan_acknowledges(base_time() + Duration::minutes(5));
    let ticket = store.apply(&ticket, &ack).await.unwrap();
    assert_eq!(ticket.updated_at, base_time() + Duration::minutes(5));
    // The reroute happens now (the store's clock), long after the ack, and
    // clears acknowledged_at: only the event tells when.
    let moved = store
        .reroute(&ticket, &office("fushan"), "supervisor:zhang", None)
        .await
        .unwrap();
    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind, "rerouted");
    assert_eq!(moved.updated_at, last.at);
    assert!(moved.updated_at > base_time() + Duration::minutes(5));
    let queue = store
        .office_queue(&office("fushan"), None, 10)
        .await
        .unwrap();
    assert_eq!(queue[0].updated_at, last.at);
    let json = serde_json::to_value(&moved).unwrap();
    assert!(json["updated_at"].is_string(), "{json}");
}
