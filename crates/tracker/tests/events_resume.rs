//! `GET /v1/events` on both databases, over real HTTP, fed by a real
//! nats-server: resuming with `Last-Event-ID` (header and query), resets,
//! a stream left behind catching up, heartbeats, bad input, the stream
//! cap and shutdown.

mod common;
#[path = "common/sse.rs"]
mod sse;

use civicprobe_model::nats::unrouted_subject;
use civicprobe_model::TicketAction;
use civicprobe_tracker::events::EventsConfig;
use common::{actors, store, unrouted};
use serde_json::Value;
use sse::{open_in, step, Live};

on_both_databases!(
    a_reconnect_with_last_event_id_misses_nothing,
    heartbeats_resets_bad_ids_the_cap_and_shutdown,
    a_stream_left_behind_catches_up_exactly_once,
);

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
