//! Dead letters on the tracker's consumer, against a real nats-server, on
//! both databases: a message the tracker rejects lands in `DEAD_LETTERS`
//! after `max_deliveries` rejections with its headers; a database outage
//! dead-letters nothing, and after recovery every message is recorded.

mod common;

use async_nats::jetstream;
use civicprobe_jetstream::dead_letter;
use civicprobe_model::nats::{
    dead_letter_header, ticket_subject, JetStreamSettings, DEAD_LETTERS_STREAM, TICKETS_STREAM,
    TRACKER_CONSUMER,
};
use civicprobe_model::CourierId;
use civicprobe_testkit::NatsServer;
use civicprobe_tracker::{run_consumer, Store};
use common::{base_time, opened, store, tickets_stream};
use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;

on_both_databases!(
    a_rejected_ticket_message_is_dead_lettered_with_its_headers,
    an_outage_dead_letters_nothing_and_everything_is_recorded_after_it
);

/// A running consumer and the switch that stops it.
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<Result<(), civicprobe_tracker::Error>>,
}

fn spawn(js: &jetstream::Context, store: &Store, settings: JetStreamSettings) -> Running {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run_consumer(js.clone(), store.clone(), settings, async {
        let _ = stopped.await;
    }));
    Running { stop, task }
}

impl Running {
    async fn shut_down(self) {
        let _ = self.stop.send(());
        let ended = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        ended.expect("stops").expect("no panic").expect("no error");
    }
}

/// Polls `check` until it holds (at most 30 s).
async fn until<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never: {what}");
}

async fn tracker_info(js: &jetstream::Context) -> jetstream::consumer::Info {
    let stream = js.get_stream(TICKETS_STREAM).await.unwrap();
    stream.consumer_info(TRACKER_CONSUMER).await.unwrap()
}

async fn dead_count(js: &jetstream::Context) -> u64 {
    match js.get_stream(DEAD_LETTERS_STREAM).await {
        Ok(mut s) => s.info().await.unwrap().state.messages,
        Err(_) => 0,
    }
}

async fn a_rejected_ticket_message_is_dead_lettered_with_its_headers(kind: &str) {
    let (_db, store) = store(kind).await;
    let nats = NatsServer::start().unwrap();
    let (_client, js) = nats.connect().await.unwrap();
    tickets_stream(&js).await;
    civicprobe_tracker::ensure_tracker_consumer(&js)
        .await
        .unwrap();
    let ticket = opened(
        "wenquan",
        CourierId::new(),
        base_time(),
        time::Duration::minutes(30),
    );
    let subject = ticket_subject(
        &ticket.office_id,
        ticket.category,
        civicprobe_model::EventKind::Opened,
    );
    js.publish(subject.clone(), r#"{"ticket_id":"not-a-ticket"}"#.into())
        .await
        .unwrap()
        .await
        .unwrap();
    let good = serde_json::to_vec(&ticket).unwrap();
    js.publish(subject.clone(), good.into())
        .await
        .unwrap()
        .await
        .unwrap();

    let settings = JetStreamSettings {
        max_deliveries: 3,
        ..Default::default()
    };
    let running = spawn(&js, &store, settings);
    until("the bad message is dead-lettered", || async {
        dead_count(&js).await == 1 && tracker_info(&js).await.num_ack_pending == 0
    })
    .await;
    assert!(
        store.ticket(ticket.ticket_id).await.unwrap().is_some(),
        "not blocked"
    );

    let letters = dead_letter::list(&js, 10).await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:#?}");
    let letter = &letters[0];
    assert_eq!(letter.consumer, TRACKER_CONSUMER);
    assert_eq!(letter.stream, TICKETS_STREAM);
    assert_eq!(letter.subject, subject);
    assert_eq!(letter.stream_sequence, Some(1));
    assert_eq!(letter.deliveries, Some(3), "rejected max_deliveries times");
    assert!(letter.error.contains("malformed"), "{letter:?}");
    assert_eq!(letter.ticket_id.as_deref(), Some("not-a-ticket"));
    let dead = js.get_stream(DEAD_LETTERS_STREAM).await.unwrap();
    let raw = dead.get_raw_message(letter.sequence).await.unwrap();
    let header = |name: &str| raw.headers.get(name).map(|v| v.as_str().to_owned());
    assert_eq!(header(dead_letter_header::SEQUENCE).as_deref(), Some("1"));
    assert_eq!(header(dead_letter_header::DELIVERIES).as_deref(), Some("3"));
    assert_eq!(&raw.payload[..], br#"{"ticket_id":"not-a-ticket"}"#);
    running.shut_down().await;
}

async fn an_outage_dead_letters_nothing_and_everything_is_recorded_after_it(kind: &str) {
    let (db, store) = store(kind).await;
    let nats = NatsServer::start().unwrap();
    let (_client, js) = nats.connect().await.unwrap();
    tickets_stream(&js).await;
    civicprobe_tracker::ensure_tracker_consumer(&js)
        .await
        .unwrap();
    let tickets: Vec<_> = (0..3)
        .map(|i| {
            opened(
                "wenquan",
                CourierId::new(),
                base_time(),
                time::Duration::minutes(30 + i),
            )
        })
        .collect();
    for t in &tickets {
        let subject = ticket_subject(
            &t.office_id,
            t.category,
            civicprobe_model::EventKind::Opened,
        );
        let body = serde_json::to_vec(t).unwrap();
        js.publish(subject, body.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    // The database is gone (its pool closed): every write fails. With one
    // rejection allowed, a failure counted as the message's would
    // dead-letter it at its second delivery.
    let down = Store::connect(db.url()).await.unwrap();
    down.pool().close().await;
    let strict = JetStreamSettings {
        max_deliveries: 1,
        ..Default::default()
    };
    let running = spawn(&js, &down, strict);
    until("messages are redelivered during the outage", || async {
        tracker_info(&js).await.num_redelivered >= 1
    })
    .await;
    running.shut_down().await;
    assert_eq!(dead_count(&js).await, 0, "an outage dead-letters nothing");

    // The database is back: all are recorded, once.
    let running = spawn(&js, &store, strict);
    until("every ticket is recorded", || async {
        let info = tracker_info(&js).await;
        info.num_pending == 0 && info.num_ack_pending == 0
    })
    .await;
    for t in &tickets {
        assert!(
            store.ticket(t.ticket_id).await.unwrap().is_some(),
            "{}",
            t.ticket_id
        );
    }
    assert_eq!(dead_count(&js).await, 0);
    running.shut_down().await;
}
