//! The outbox on both databases, against a real nats-server: every
//! `TicketChanged` is published once per event id, also when the process
//! is killed between the commit and the publish, or between the publish
//! and marking it sent. The tracker's own consumer ignores what it
//! published and consumes the router's `merged` events.
//!
//! The crash tests run this test binary again as a child process
//! (`crash_child`), let it commit (and possibly publish), and SIGKILL it.

mod common;

use async_nats::jetstream;
use civicprobe_model::nats::{ticket_subject, MSG_ID_HEADER, TICKETS_STREAM};
use civicprobe_model::{Role, TicketAction, TicketChanged, TicketId};
use civicprobe_testkit::NatsServer;
use civicprobe_tracker::outbox::publish_pending;
use civicprobe_tracker::{run_consumer, run_outbox, Store, Transition};
use common::{base_time, count, merged, open_ticket, store, tickets_stream};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

on_both_databases!(
    every_change_is_published_once_and_not_consumed_back,
    a_kill_after_commit_or_after_publish_loses_and_doubles_nothing,
);

/// Every message in `TICKETS`: (subject, Nats-Msg-Id, payload).
async fn stream_messages(js: &jetstream::Context) -> Vec<(String, String, Vec<u8>)> {
    let mut stream = js.get_stream(TICKETS_STREAM).await.unwrap();
    let state = stream.info().await.unwrap().state.clone();
    let mut out = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        if let Ok(m) = stream.get_raw_message(seq).await {
            let id = m
                .headers
                .get(MSG_ID_HEADER)
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default();
            out.push((m.subject.to_string(), id, m.payload.to_vec()));
        }
    }
    out
}

/// The published `TicketChanged` events (not the router's messages).
async fn published_changes(js: &jetstream::Context) -> Vec<(String, TicketChanged)> {
    stream_messages(js)
        .await
        .into_iter()
        .filter_map(|(subject, id, payload)| {
            let change: TicketChanged = serde_json::from_slice(&payload).ok()?;
            assert_eq!(
                change.event_id.to_string(),
                id,
                "Nats-Msg-Id is the event id"
            );
            Some((subject, change))
        })
        .collect()
}

fn change(action: TicketAction) -> Transition {
    Transition {
        action,
        actor: "office:wenquan".into(),
        role: Role::Office,
        at: base_time() + time::Duration::minutes(10),
        reason: None,
        note: Some("done".into()),
        proof_photo_sha256: None,
    }
}

async fn act(store: &Store, ticket_id: TicketId, action: TicketAction) {
    let current = store.ticket(ticket_id).await.unwrap().unwrap();
    store.apply(&current, &change(action)).await.unwrap();
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn every_change_is_published_once_and_not_consumed_back(kind: &str) {
    let (_db, store) = store(kind).await;
    let nats = NatsServer::start().unwrap();
    let (client, js) = nats.connect().await.unwrap();
    tickets_stream(&js).await;
    let ev = open_ticket(&store, "wenquan", civicprobe_model::CourierId::new()).await;
    for action in [
        TicketAction::Acknowledge,
        TicketAction::Start,
        TicketAction::Resolve,
    ] {
        act(&store, ev.ticket_id, action).await;
    }
    assert_eq!(store.unsent_outbox(100).await.unwrap().len(), 3);
    assert_eq!(store.outbox_depth().await.unwrap(), 3, "the gauge's count");

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let publisher = tokio::spawn(run_outbox(
        js.clone(),
        store.clone(),
        until_stopped(stopped.clone()),
    ));
    let consumer = tokio::spawn(run_consumer(
        js.clone(),
        store.clone(),
        Default::default(),
        until_stopped(stopped.clone()),
    ));
    wait_until("the outbox is sent", async || {
        store.unsent_outbox(10).await.unwrap().is_empty()
    })
    .await;
    assert_eq!(store.outbox_depth().await.unwrap(), 0);

    // A later change is published promptly too.
    act(&store, ev.ticket_id, TicketAction::Verify).await;
    wait_until("the verification is sent", async || {
        store.unsent_outbox(10).await.unwrap().is_empty()
    })
    .await;
    let changes = published_changes(&js).await;
    let kinds: Vec<&str> = changes.iter().map(|(_, c)| c.kind.as_str()).collect();
    assert_eq!(kinds, ["acknowledged", "started", "resolved", "verified"]);
    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    for ((subject, change), event) in changes.iter().zip(&events[1..]) {
        assert_eq!(change.event_id, event.event_id);
        assert_eq!(
            subject,
            &ticket_subject(&ev.office_id, ev.category, change.kind)
        );
    }
    assert_eq!(changes[3].1.state, civicprobe_model::TicketState::Closed);

    // The router's merge is consumed (once); our own events are not.
    let dup = merged(&ev, civicprobe_model::CourierId::new(), false);
    let subject = ticket_subject(
        &ev.office_id,
        ev.category,
        civicprobe_model::EventKind::Merged,
    );
    for _ in 0..2 {
        js.publish(subject.clone(), serde_json::to_vec(&dup).unwrap().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    wait_until("the merge is recorded", async || {
        count(&store, "SELECT COUNT(*) FROM ticket_reporters").await == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM ticket_reporters").await,
        2
    );
    let kinds: Vec<String> = store
        .ticket_events(ev.ticket_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "acknowledged",
            "started",
            "resolved",
            "verified",
            "merged"
        ]
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM tickets").await, 1);

    stop.send(true).unwrap();
    publisher.await.unwrap().unwrap();
    consumer.await.unwrap().unwrap();
    client.drain().await.unwrap();
}

/// Runs `crash_child` in `mode` and SIGKILLs it once it prints `marker`.
async fn run_child_until(mode: &str, marker: &str, db_url: &str, ticket: TicketId, nats_url: &str) {
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CIVICPROBE_CRASH_MODE", mode)
        .env("CIVICPROBE_CRASH_DB", db_url)
        .env("CIVICPROBE_CRASH_TICKET", ticket.to_string())
        .env("CIVICPROBE_CRASH_NATS", nats_url)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let seen = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(marker) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(seen, "the child never printed {marker}");
    child.kill().await.unwrap(); // SIGKILL: no destructor, no flush, no mark
    let status = child.wait().await.unwrap();
    assert!(!status.success());
}

async fn a_kill_after_commit_or_after_publish_loses_and_doubles_nothing(kind: &str) {
    let (db, store) = store(kind).await;
    let nats = NatsServer::start().unwrap();
    let (client, js) = nats.connect().await.unwrap();
    tickets_stream(&js).await;
    let ev = open_ticket(&store, "wenquan", civicprobe_model::CourierId::new()).await;

    // 1. Killed right after committing the acknowledgement: nothing published yet.
    run_child_until("commit", "COMMITTED", db.url(), ev.ticket_id, &nats.url()).await;
    assert_eq!(store.unsent_outbox(10).await.unwrap().len(), 1);
    assert!(published_changes(&js).await.is_empty());
    assert_eq!(publish_pending(&js, &store).await.unwrap(), 1);

    // 2. Killed after JetStream acked the resolve, before it was marked sent.
    run_child_until("publish", "PUBLISHED", db.url(), ev.ticket_id, &nats.url()).await;
    assert_eq!(
        store.unsent_outbox(10).await.unwrap().len(),
        1,
        "not marked"
    );
    assert_eq!(published_changes(&js).await.len(), 2, "but published");
    assert_eq!(
        publish_pending(&js, &store).await.unwrap(),
        1,
        "published again …"
    );
    assert_eq!(publish_pending(&js, &store).await.unwrap(), 0);

    let changes = published_changes(&js).await;
    let kinds: Vec<&str> = changes.iter().map(|(_, c)| c.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["acknowledged", "resolved"],
        "… and de-duplicated by event id"
    );
    let events = store.ticket_events(ev.ticket_id).await.unwrap();
    assert_eq!(changes[0].1.event_id, events[1].event_id);
    assert_eq!(changes[1].1.event_id, events[2].event_id);
    client.drain().await.unwrap();
}

/// The child process of the crash tests; does nothing when run normally.
#[tokio::test]
#[ignore = "run by the crash tests as a child process"]
async fn crash_child() {
    let (Ok(mode), Ok(url), Ok(ticket), Ok(nats_url)) = (
        std::env::var("CIVICPROBE_CRASH_MODE"),
        std::env::var("CIVICPROBE_CRASH_DB"),
        std::env::var("CIVICPROBE_CRASH_TICKET"),
        std::env::var("CIVICPROBE_CRASH_NATS"),
    ) else {
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    let ticket_id: TicketId = ticket.parse().unwrap();
    if mode == "commit" {
        act(&store, ticket_id, TicketAction::Acknowledge).await;
        println!("COMMITTED");
    } else {
        act(&store, ticket_id, TicketAction::Resolve).await;
        let client = async_nats::connect(nats_url).await.unwrap();
        let js = jetstream::new(client);
        for msg in store.unsent_outbox(10).await.unwrap() {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(MSG_ID_HEADER, msg.event_id.to_string().as_str());
            js.publish_with_headers(msg.subject, headers, msg.payload.into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
        println!("PUBLISHED");
    }
    tokio::time::sleep(Duration::from_secs(120)).await;
}
