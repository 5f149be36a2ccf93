//! `GET /v1/events` on both databases, over real HTTP, fed by a real
//! nats-server: what each holder sees (offices, supervisors, couriers,
//! reroutes in and out). Resuming is in `events_resume.rs`.
//!
//! "Not seen" is shown without waiting: after the event a stream must not
//! get, a later one it must get is published; the next event it receives
//! has to be that one.

mod common;
#[path = "common/sse.rs"]
mod sse;

use civicprobe_model::nats::{ticket_subject, unrouted_subject};
use civicprobe_model::TicketAction;
use civicprobe_tracker::events::EventsConfig;
use civicprobe_tracker::outbox::publish_pending;
use civicprobe_tracker::MockClock;
use common::{actors, base_time, merged, office, store, unrouted};
use serde_json::Value;
use sse::{open_in, step, Live};
use std::collections::BTreeSet;
use std::sync::Arc;

on_both_databases!(
    an_urgent_ticket_reaches_its_office_and_no_other,
    an_escalation_reaches_supervisors_and_the_office,
    a_courier_sees_the_steps_of_their_own_reports_only,
    a_reroute_reaches_the_office_it_left_and_the_one_it_joins,
);

fn keys(event: &Value) -> BTreeSet<&str> {
    event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

async fn an_urgent_ticket_reaches_its_office_and_no_other(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let live = Live::start(&store, EventsConfig::default()).await;
    let (mut wenquan, ready) = live.connect(&a.wenquan, None).await;
    assert_eq!(ready.data["resumed"], false);
    assert_eq!(ready.id.as_deref(), Some("0"));
    let (mut fushan, _) = live.connect(&a.fushan, None).await;
    let (mut supervisor, _) = live.connect(&a.supervisor, None).await;

    let urgent = open_in(&live, &store, "wenquan", a.courier_id).await;
    let theirs = open_in(&live, &store, "fushan", a.courier_id).await;
    let lost = unrouted(a.courier_id);
    live.publish(unrouted_subject(lost.category), &lost).await;

    let got = wenquan.ticket().await;
    assert_eq!(got["kind"], "opened");
    assert_eq!(got["ticket_id"], urgent.ticket_id.to_string());
    assert_eq!(got["office_id"], "wenquan");
    assert_eq!(
        (got["urgent"].clone(), got["state"].clone()),
        (true.into(), "open".into())
    );
    assert_eq!(got["report_id"], urgent.report.report_id.to_string());
    assert_eq!(got["text"], urgent.report.text.clone().unwrap());
    assert_eq!(got["category"], "manhole");
    assert!(got["deadlines"]["acknowledge_by"].is_string(), "{got}");
    // Fushan's first event is its own ticket: wenquan's never reached it.
    let got = fushan.ticket().await;
    assert_eq!(got["ticket_id"], theirs.ticket_id.to_string());
    assert_eq!(got["seq"], 2);
    // The supervisor sees both, then the unrouted report.
    assert_eq!(supervisor.ticket().await["seq"], 1);
    assert_eq!(supervisor.ticket().await["seq"], 2);
    let got = supervisor.next().await;
    assert_eq!(got.event, "unrouted");
    assert_eq!(got.id.as_deref(), Some("3"));
    assert_eq!(got.data["report_id"], lost.report.report_id.to_string());
    assert_eq!(got.data["category"], "electrical_box");
    // Nor did the unrouted report reach an office: its next is a step.
    step(
        &live,
        &store,
        urgent.ticket_id,
        TicketAction::Acknowledge,
        "office:wenquan",
    )
    .await;
    assert_eq!(wenquan.ticket().await["kind"], "acknowledged");
    live.stop().await;
}

async fn an_escalation_reaches_supervisors_and_the_office(kind: &str) {
    let (_db, store) = store(kind).await;
    let clock = MockClock::at(base_time());
    let store = store.with_clock(Arc::new(clock.clone()));
    let a = actors(&store).await;
    let live = Live::start(&store, EventsConfig::default()).await;
    let (mut supervisor, _) = live.connect(&a.supervisor, None).await;
    let (mut wenquan, _) = live.connect(&a.wenquan, None).await;
    let ev = open_in(&live, &store, "wenquan", a.courier_id).await;
    assert_eq!(supervisor.ticket().await["kind"], "opened");
    assert_eq!(wenquan.ticket().await["kind"], "opened");

    clock.advance(time::Duration::minutes(31));
    assert_eq!(store.escalate_overdue().await.unwrap().len(), 1);
    assert_eq!(publish_pending(&live.js, &store).await.unwrap(), 1);
    for stream in [&mut supervisor, &mut wenquan] {
        let got = stream.ticket().await;
        assert_eq!(got["kind"], "escalated", "{got}");
        assert_eq!(got["ticket_id"], ev.ticket_id.to_string());
        assert_eq!(got["reason"], "acknowledge");
        assert_eq!(got["urgent"], true);
        assert!(
            got["actor"].as_str().unwrap().starts_with("system"),
            "{got}"
        );
    }
    live.stop().await;
}

async fn a_courier_sees_the_steps_of_their_own_reports_only(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let (second_id, second) = store.add_courier("Wang").await.unwrap();
    let (other_id, other) = store.add_courier("Zhao").await.unwrap();
    let live = Live::start(&store, EventsConfig::default()).await;
    let (mut own, _) = live.connect(&a.courier, None).await;
    let (mut dup, _) = live.connect(&second, None).await;
    let (mut stranger, _) = live.connect(&other, None).await;

    let ev = open_in(&live, &store, "wenquan", a.courier_id).await;
    let got = own.ticket().await;
    let opened_keys = [
        "at",
        "category",
        "kind",
        "report_id",
        "seq",
        "state",
        "text",
    ];
    let mut expected: BTreeSet<&str> = opened_keys.into();
    expected.extend(["ticket_id", "urgent"]);
    assert_eq!(keys(&got), expected, "{got}");
    assert_eq!(got["report_id"], ev.report.report_id.to_string());

    // The second courier's duplicate is merged: they learn the ticket
    // from the merge, the first courier sees the merge without its report.
    let dup_ev = merged(&ev, second_id, false);
    assert!(store.record_merged(&dup_ev).await.unwrap());
    let subject = ticket_subject(
        &dup_ev.office_id,
        dup_ev.category,
        civicprobe_model::EventKind::Merged,
    );
    live.publish(subject, &dup_ev).await;
    let mut got = dup.ticket().await;
    if got["kind"] == "opened" {
        // Their connection read the opening after the merge was recorded:
        // they are a reporter of the ticket by then, and see its opening,
        // without the first courier's report.
        assert_eq!(got["report_id"], Value::Null, "{got}");
        got = dup.ticket().await;
    }
    assert_eq!(got["report_id"], dup_ev.report.report_id.to_string());
    assert_eq!(got["reason"], Value::Null, "no reason for couriers");
    let got = own.ticket().await;
    assert_eq!(got["kind"], "merged");
    assert_eq!(
        keys(&got),
        ["at", "category", "kind", "seq", "ticket_id", "urgent"].into()
    );

    // A courier connecting later learns it is theirs from the store.
    drop(own);
    let (mut own, _) = live.connect(&a.courier, None).await;
    step(
        &live,
        &store,
        ev.ticket_id,
        TicketAction::Acknowledge,
        "office:wenquan",
    )
    .await;
    for stream in [&mut own, &mut dup] {
        let got = stream.ticket().await;
        assert_eq!(got["kind"], "acknowledged");
        assert_eq!(got["state"], "acknowledged");
        assert_eq!(got["note"], "Acknowledge note", "the office's note");
        let mut allowed: BTreeSet<&str> = ["at", "category", "kind", "note", "seq"].into();
        allowed.extend(["state", "ticket_id", "urgent"]);
        assert_eq!(keys(&got), allowed, "{got}");
    }
    // The stranger's first event is its own ticket's opening.
    let mine = open_in(&live, &store, "fushan", other_id).await;
    let got = stranger.ticket().await;
    assert_eq!(got["ticket_id"], mine.ticket_id.to_string());
    assert_eq!(got["kind"], "opened");
    live.stop().await;
}

async fn a_reroute_reaches_the_office_it_left_and_the_one_it_joins(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let live = Live::start(&store, EventsConfig::default()).await;
    let ev = open_in(&live, &store, "wenquan", a.courier_id).await;
    let (mut wenquan, _) = live.connect(&a.wenquan, None).await;
    let (mut fushan, _) = live.connect(&a.fushan, None).await;

    let current = store.ticket(ev.ticket_id).await.unwrap().unwrap();
    store
        .reroute(&current, &office("fushan"), "supervisor:zhang", None)
        .await
        .unwrap();
    assert_eq!(publish_pending(&live.js, &store).await.unwrap(), 1);
    for stream in [&mut wenquan, &mut fushan] {
        let got = stream.ticket().await;
        assert_eq!(got["kind"], "rerouted");
        assert_eq!(got["from_office"], "wenquan");
        assert_eq!(got["office_id"], "fushan");
    }
    // Fushan's steps on it are no longer wenquan's business.
    step(
        &live,
        &store,
        ev.ticket_id,
        TicketAction::Acknowledge,
        "office:fushan",
    )
    .await;
    assert_eq!(fushan.ticket().await["kind"], "acknowledged");
    let back = open_in(&live, &store, "wenquan", a.courier_id).await;
    let got = wenquan.ticket().await;
    assert_eq!(got["ticket_id"], back.ticket_id.to_string());
    live.stop().await;
}
