//! `GET /v1/events` on both databases, over real HTTP, fed by a real
//! nats-server: what each holder sees, resuming with `Last-Event-ID`,
//! resets, heartbeats, bad input, the stream cap and shutdown.
//!
//! "Not seen" is shown without waiting: after the event a stream must not
//! get, a later one it must get is published; the next event it receives
//! has to be that one.

mod common;
#[path = "common/sse.rs"]
mod sse;

use civicprobe_model::nats::{ticket_subject, unrouted_subject};
use civicprobe_model::{CourierId, Role, TicketAction, TicketId, TicketOpened};
use civicprobe_tracker::events::EventsConfig;
use civicprobe_tracker::outbox::publish_pending;
use civicprobe_tracker::{MockClock, Store, Transition};
use common::{actors, base_time, merged, office, opened, store, unrouted};
use serde_json::Value;
use sse::Live;
use std::collections::BTreeSet;
use std::sync::Arc;

on_both_databases!(
    an_urgent_ticket_reaches_its_office_and_no_other,
    an_escalation_reaches_supervisors_and_the_office,
    a_courier_sees_the_steps_of_their_own_reports_only,
    a_reconnect_with_last_event_id_misses_nothing,
    a_reroute_reaches_the_office_it_left_and_the_one_it_joins,
    heartbeats_resets_bad_ids_the_cap_and_shutdown,
    a_stream_left_behind_catches_up_exactly_once,
);

/// A ticket opened by the router in `office_id`, recorded and published.
async fn open_in(live: &Live, store: &Store, office_id: &str, courier: CourierId) -> TicketOpened {
    let ev = opened(office_id, courier, base_time(), time::Duration::minutes(30));
    assert!(store.record_ticket_opened(&ev).await.unwrap());
    let subject = ticket_subject(&ev.office_id, ev.category, "opened");
    live.publish(subject, &ev).await;
    ev
}

/// `actor` takes `action` on the ticket; the outbox publishes it.
async fn step(live: &Live, store: &Store, ticket: TicketId, action: TicketAction, actor: &str) {
    let current = store.ticket(ticket).await.unwrap().unwrap();
    let role = if actor.starts_with("office:") {
        Role::Office
    } else {
        Role::Supervisor
    };
    let change = Transition {
        action,
        actor: actor.into(),
        role,
        at: store.now(),
        reason: None,
        note: Some(format!("{action:?} note")),
        proof_photo_sha256: None,
    };
    store.apply(&current, &change).await.unwrap();
    assert_eq!(publish_pending(&live.js, store).await.unwrap(), 1);
}

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
    let subject = ticket_subject(&dup_ev.office_id, dup_ev.category, "merged");
    live.publish(subject, &dup_ev).await;
    let got = dup.ticket().await;
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

async fn a_reconnect_with_last_event_id_misses_nothing(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let live = Live::start(&store, EventsConfig::default()).await;
    let (mut wenquan, _) = live.connect(&a.wenquan, None).await;
    let ev = open_in(&live, &store, "wenquan", a.courier_id).await;
    let first = wenquan.ticket().await;
    drop(wenquan);

    // While it is away: two steps, and another office's ticket between.
    let t = ev.ticket_id;
    step(
        &live,
        &store,
        t,
        TicketAction::Acknowledge,
        "office:wenquan",
    )
    .await;
    open_in(&live, &store, "fushan", a.courier_id).await;
    step(&live, &store, t, TicketAction::MakeSafe, "office:wenquan").await;

    let last = first["seq"].to_string();
    let (mut wenquan, ready) = live.connect(&a.wenquan, Some(&last)).await;
    assert_eq!(ready.data["resumed"], true);
    assert_eq!(ready.id.as_deref(), Some(last.as_str()));
    let kinds = ["acknowledged", "made_safe"];
    let mut seqs = Vec::new();
    for kind in kinds {
        let got = wenquan.ticket().await;
        assert_eq!(got["kind"], kind);
        seqs.push(got["seq"].as_u64().unwrap());
    }
    assert_eq!(seqs, [2, 4]);
    // Then the live feed, with no gap and no repeat.
    step(&live, &store, t, TicketAction::Resolve, "office:wenquan").await;
    let got = wenquan.ticket().await;
    assert_eq!(
        (got["kind"].clone(), got["seq"].clone()),
        ("resolved".into(), 5.into())
    );

    // The query parameter does the same for clients without headers.
    let url = format!("http://{}/v1/events?last_event_id=2", live.addr);
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(&a.wenquan)
        .send()
        .await
        .unwrap();
    let (mut again, _) = Live::opened(response).await;
    assert_eq!(again.ticket().await["seq"], 4);
    assert_eq!(again.ticket().await["seq"], 5);
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

async fn heartbeats_resets_bad_ids_the_cap_and_shutdown(kind: &str) {
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let config = EventsConfig {
        events_replay_hours: 0,
        max_event_streams: 2,
        events_heartbeat_secs: 1,
        ..EventsConfig::default()
    };
    let live = Live::start(&store, config).await;
    assert_eq!(live.request("nobody", None).await.status(), 401);
    let bad = live.request(&a.wenquan, Some("seven")).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let problem: Value = bad.json().await.unwrap();
    assert_eq!(problem["field"], "Last-Event-ID", "{problem}");

    // Beyond the stream's end: reset, then live.
    let (mut beyond, ready) = live.connect(&a.wenquan, Some("41")).await;
    assert_eq!(ready.data["resumed"], false);
    let reset = beyond.next().await;
    assert_eq!(reset.event, "reset", "{reset:?}");
    assert!(reset.data["reason"].as_str().unwrap().contains("beyond"));
    assert_eq!(reset.id.as_deref(), Some("0"));
    // A heartbeat comment on the idle stream.
    let heartbeat = beyond.next_any().await.unwrap();
    assert_eq!(heartbeat.event, ":");
    let ev = open_in(&live, &store, "wenquan", a.courier_id).await;
    assert_eq!(beyond.ticket().await["ticket_id"], ev.ticket_id.to_string());

    // Older than the window (zero hours here): reset.
    let (mut old, _) = live.connect(&a.supervisor, Some("0")).await;
    let reset = old.next().await;
    assert_eq!(reset.event, "reset", "{reset:?}");
    assert!(reset.data["reason"].as_str().unwrap().contains("window"));
    assert_eq!(reset.id.as_deref(), Some("1"));

    // Two streams are the cap here.
    let refused = live.request(&a.fushan, None).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    drop(old);
    // Once one left (the server notices at its next write), room again.
    let mut room = false;
    for _ in 0..100 {
        let response = live.request(&a.fushan, None).await;
        if response.status() == 200 {
            room = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(room, "a closed stream gives its place back");

    // Shutdown ends the open stream.
    let hub = live.hub.clone();
    live.stop().await;
    loop {
        match beyond.next_any().await {
            None => break,
            Some(e) => assert_eq!(e.event, ":", "{e:?}"),
        }
    }
    assert!(hub.latest() >= 1);
}

async fn a_stream_left_behind_catches_up_exactly_once(kind: &str) {
    use axum::response::IntoResponse;
    use futures::StreamExt;
    let (_db, store) = store(kind).await;
    let a = actors(&store).await;
    let config = EventsConfig {
        feed_capacity: 4,
        ..EventsConfig::default()
    };
    let live = Live::start(&store, config).await;
    let who = store.authenticate(&a.supervisor).await.unwrap().unwrap();
    let connection = live.hub.open(who, None).await.unwrap().unwrap();
    // Not read while 20 events pass: the broadcast keeps only 4 for it.
    let sse = axum::response::sse::Sse::new(connection.into_stream());
    let mut body = sse.into_response().into_body().into_data_stream();
    for _ in 0..20 {
        let lost = unrouted(a.courier_id);
        live.publish(unrouted_subject(lost.category), &lost).await;
    }
    while live.hub.latest() < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (mut text, mut ids) = (String::new(), Vec::new());
    while ids.len() < 21 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(20), body.next()).await;
        let chunk = next
            .expect("events missing")
            .expect("the stream ended")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let event = sse::parse(&block).expect("an event");
            ids.push((event.event, event.id.unwrap()));
        }
    }
    assert_eq!(ids[0], ("ready".to_owned(), "0".to_owned()));
    let seqs: Vec<String> = (1..=20).map(|n: u64| n.to_string()).collect();
    let got: Vec<&String> = ids[1..].iter().map(|(_, id)| id).collect();
    assert_eq!(
        got,
        seqs.iter().collect::<Vec<_>>(),
        "every event once, in order"
    );
    live.stop().await;
}
