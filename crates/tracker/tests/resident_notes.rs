//! Open311's store side (issue 16), on both databases: a resident's
//! update is a `resident_note` event recorded once per `update_id`, its
//! outbox message alerts the office of an urgent ticket (and nobody for a
//! routine one), and a supervisor closes a report outside every area.

mod common;

use civicprobe_model::EventKind;
use civicprobe_tracker::alerts::decide::{decide, Decision, Target};
use civicprobe_tracker::alerts::Links;
use civicprobe_tracker::open311::requests::{ResidentClaim, ResidentUpdate};
use civicprobe_tracker::{Error, Store};
use common::{actors, office, open_ticket, opened, post, store};
use sqlx::Row;

on_both_databases!(
    resident_updates_are_recorded_once_and_alert_when_urgent,
    a_supervisor_closes_a_report_outside_every_area,
);

fn update(
    a: &common::Actors,
    report: civicprobe_model::ReportId,
    id: &str,
    note: &str,
) -> ResidentUpdate {
    ResidentUpdate {
        courier_id: a.courier_id,
        update_id: id.into(),
        report_id: report,
        note: note.into(),
        claim: ResidentClaim::ReportedFixed,
        request_sha256: civicprobe_model::Sha256::of(note.as_bytes()),
    }
}

/// The alerts the outbox message of `event_id` decides.
async fn alerts_of(store: &Store, event_id: &str) -> Vec<Target> {
    let row = sqlx::query("SELECT payload FROM outbox WHERE event_id = $1")
        .bind(event_id)
        .fetch_one(store.pool())
        .await
        .expect("outbox row");
    let payload: String = row.try_get(0).expect("payload");
    match decide(
        store,
        &Links::new("http://civic.example"),
        EventKind::ResidentNote.as_str(),
        payload.as_bytes(),
    )
    .await
    .expect("decide")
    {
        Decision::Alerts(alerts) => alerts.into_iter().map(|(t, _)| t).collect(),
        Decision::NotYet => panic!("the ticket is stored"),
    }
}

async fn resident_updates_are_recorded_once_and_alert_when_urgent(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let urgent = open_ticket(&store, "wenquan", a.courier_id).await;
    let first = store
        .record_resident_update(&update(&a, urgent.report.report_id, "u1", "修好了"))
        .await
        .expect("recorded");
    assert!(!first.repeated);
    let again = store
        .record_resident_update(&update(&a, urgent.report.report_id, "u1", "修好了"))
        .await
        .expect("again");
    assert_eq!((again.event_id, again.repeated), (first.event_id, true));
    let other = store
        .record_resident_update(&update(&a, urgent.report.report_id, "u1", "别的"))
        .await;
    assert!(
        matches!(other, Err(Error::IdempotencyKeyReused)),
        "{other:?}"
    );
    let events = store.ticket_events(urgent.ticket_id).await.expect("events");
    let notes: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::ResidentNote)
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].note.as_deref(), Some("修好了"));
    assert_eq!(notes[0].reason.as_deref(), Some("resident_reported_fixed"));
    assert_eq!(notes[0].role, "courier");
    let ticket = store
        .ticket(urgent.ticket_id)
        .await
        .expect("t")
        .expect("some");
    assert_eq!(ticket.state.as_str(), "open", "a resident changes no state");
    assert_eq!(
        alerts_of(&store, &first.event_id.to_string()).await,
        [Target::Office(office("wenquan"))]
    );

    // A routine ticket's office is not alerted.
    let mut routine = opened(
        "wenquan",
        a.courier_id,
        common::base_time(),
        time::Duration::hours(4),
    );
    routine.urgent = false;
    assert!(store.record_ticket_opened(&routine).await.expect("opened"));
    let quiet = store
        .record_resident_update(&update(&a, routine.report.report_id, "u2", "还在"))
        .await
        .expect("recorded");
    assert!(alerts_of(&store, &quiet.event_id.to_string())
        .await
        .is_empty());
    let unknown = store
        .record_resident_update(&update(&a, civicprobe_model::ReportId::new(), "u3", "x"))
        .await;
    assert!(
        matches!(unknown, Err(Error::ReportNotFound(_))),
        "{unknown:?}"
    );
}

async fn a_supervisor_closes_a_report_outside_every_area(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let ev = common::unrouted(a.courier_id);
    assert!(store.record_unrouted(&ev).await.expect("unrouted"));
    let id = ev.report.report_id;
    assert!(store
        .outside_request(id)
        .await
        .expect("read")
        .expect("some")
        .closed
        .is_none());
    let path = format!("/v1/unrouted/{id}/close");
    let refused = post(&store, &path, &a.wenquan, Some(serde_json::json!({}))).await;
    assert_eq!(refused.status.as_u16(), 403);
    let closed = post(
        &store,
        &path,
        &a.supervisor,
        Some(serde_json::json!({"note": "市政管"})),
    )
    .await;
    assert_eq!(closed.status.as_u16(), 200, "{:?}", closed.body);
    assert_eq!(closed.body["note"], "市政管");
    let outside = store
        .outside_request(id)
        .await
        .expect("read")
        .expect("some");
    assert_eq!(
        outside.closed.expect("closed").note.as_deref(),
        Some("市政管")
    );
    assert!(store
        .unrouted(50)
        .await
        .expect("list")
        .iter()
        .all(|u| u.report_id != id));
    let twice = post(&store, &path, &a.supervisor, None).await;
    assert_eq!(twice.status.as_u16(), 409);
    let from = common::base_time() - time::Duration::days(1);
    let window = store
        .outside_closed_between(from, store.now() + time::Duration::minutes(1), 10)
        .await
        .expect("window");
    assert_eq!(window.len(), 1);
}
