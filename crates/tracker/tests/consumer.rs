//! The JetStream consumer end to end, against a real nats-server, on both
//! databases: every message lands in the store exactly once; a consumer
//! started before `TICKETS` exists waits for it rather than failing.

mod common;

use async_nats::jetstream::{self, consumer::PullConsumer};
use civicprobe_model::nats::{ticket_subject, unrouted_subject, MSG_ID_HEADER};
use civicprobe_model::CourierId;
use civicprobe_testkit::NatsServer;
use civicprobe_tracker::{ensure_tracker_consumer, run_consumer};
use common::{base_time, opened, store, tickets_stream, unrouted};
use sqlx::Row;
use std::time::Duration;

on_both_databases!(
    consumer_records_each_message_exactly_once,
    a_consumer_started_before_the_stream_waits_for_it
);

/// Publishes and waits for the stream's ack; `msg_id` sets `Nats-Msg-Id`.
async fn publish(js: &jetstream::Context, subject: String, payload: Vec<u8>, msg_id: Option<&str>) {
    let mut headers = async_nats::HeaderMap::new();
    if let Some(id) = msg_id {
        headers.insert(MSG_ID_HEADER, id);
    }
    js.publish_with_headers(subject, headers, payload.into())
        .await
        .unwrap()
        .await
        .unwrap();
}

/// Signals `stop`, waits for the consumer's `task` to end cleanly, and
/// drains `client`.
async fn stop_consumer(
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), civicprobe_tracker::Error>>,
    client: async_nats::Client,
) {
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("run_consumer stops on shutdown")
        .unwrap()
        .unwrap();
    client.drain().await.unwrap();
}

/// A ticket opened in Wenquan, and the subject it is published on.
fn a_ticket_opened() -> (civicprobe_model::TicketOpened, String) {
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
    (ticket, subject)
}

/// Waits until the consumer has nothing pending or unacknowledged.
async fn drained(consumer: &mut PullConsumer) {
    for _ in 0..300 {
        let info = consumer.info().await.unwrap();
        if info.num_pending == 0 && info.num_ack_pending == 0 && info.delivered.stream_sequence >= 6
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the tracker consumer did not drain the stream");
}

async fn count(store: &civicprobe_tracker::Store, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0)
}

async fn consumer_records_each_message_exactly_once(kind: &str) {
    let (_db, store) = store(kind).await;
    let nats = NatsServer::start().unwrap();
    let (client, js) = nats.connect().await.unwrap();
    tickets_stream(&js).await;
    let mut consumer = ensure_tracker_consumer(&js).await.unwrap();

    let (ticket, subject) = a_ticket_opened();
    let ticket_json = serde_json::to_vec(&ticket).unwrap();
    let lost = unrouted(CourierId::new());
    let lost_json = serde_json::to_vec(&lost).unwrap();
    let lost_subject = unrouted_subject(lost.category);
    let ticket_msg_id = ticket.event_id.to_string();

    publish(
        &js,
        subject.clone(),
        ticket_json.clone(),
        Some(&ticket_msg_id),
    )
    .await;
    publish(&js, lost_subject.clone(), lost_json.clone(), None).await;
    // Redeliveries the stream cannot de-duplicate (no or another msg id).
    publish(&js, subject.clone(), ticket_json, None).await;
    publish(&js, lost_subject, lost_json, Some("another-id")).await;
    // A later kind of ticket event, and garbage: neither may stop the consumer.
    let later = ticket_subject(
        &ticket.office_id,
        ticket.category,
        civicprobe_model::EventKind::Acknowledged,
    );
    publish(&js, later, b"{}".to_vec(), None).await;
    publish(&js, subject, b"{not json".to_vec(), None).await;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run_consumer(
        js.clone(),
        store.clone(),
        Default::default(),
        async {
            let _ = stopped.await;
        },
    ));
    drained(&mut consumer).await;

    assert_eq!(count(&store, "SELECT COUNT(*) FROM tickets").await, 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM ticket_events").await, 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM unrouted").await, 1);
    let stored = store.ticket(ticket.ticket_id).await.unwrap().unwrap();
    assert_eq!(stored.report_id, ticket.report.report_id);
    let listed = store.unrouted(10).await.unwrap();
    assert_eq!(listed[0].report_id, lost.report.report_id);

    stop_consumer(stop, task, client).await;
}

/// A tracker that starts before the router created `TICKETS` (or while
/// NATS is away) keeps trying, and records what arrives once it exists.
async fn a_consumer_started_before_the_stream_waits_for_it(kind: &str) {
    let (_db, store) = store(kind).await;
    let nats = NatsServer::start().unwrap();
    let (client, js) = nats.connect().await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let settings = Default::default();
    let task = tokio::spawn(run_consumer(js.clone(), store.clone(), settings, async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!task.is_finished(), "run_consumer gave up without TICKETS");

    tickets_stream(&js).await;
    let (ticket, subject) = a_ticket_opened();
    let id = ticket.event_id.to_string();
    publish(
        &js,
        subject,
        serde_json::to_vec(&ticket).unwrap(),
        Some(&id),
    )
    .await;
    let mut stored = None;
    for _ in 0..300 {
        stored = store.ticket(ticket.ticket_id).await.unwrap();
        if stored.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stored.is_some(), "the ticket was never recorded");
    stop_consumer(stop, task, client).await;
}
