//! A live event hub made while NATS is away (a tracker that starts before
//! NATS): it opens no event stream until it knows where `TICKETS` ends,
//! then, once NATS and the stream are there, positions itself at the end
//! (the history is not replayed) and follows what comes after. A real
//! nats-server, started on its port only after the hub exists.

mod common;

use async_nats::jetstream;
use civicprobe_model::nats::unrouted_subject;
use civicprobe_model::{Category, Person, PersonId, Principal};
use civicprobe_testkit::NatsServer;
use civicprobe_tracker::events::{EventsConfig, Hub};
use common::{store, tickets_stream};
use std::time::{Duration, Instant};

/// Waits (up to 20 s) until `done`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_made_before_nats_positions_itself_once_nats_is_there() {
    let (_db, store) = store("sqlite").await;
    let mut nats = NatsServer::reserve().expect("a port");
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(nats.url())
        .await
        .expect("a client that connects later");
    let js = jetstream::new(client);
    let hub = Hub::unpositioned(js.clone(), store, EventsConfig::default());
    let supervisor = Principal::Supervisor {
        person: Person {
            person_id: PersonId::new(),
            name: "S".into(),
        },
    };
    assert!(
        hub.open(supervisor.clone(), None).await.is_err(),
        "an event stream opened before the hub knew where TICKETS ends"
    );

    nats.restart().expect("start nats-server");
    let (_other, other_js) = nats.connect().await.expect("client");
    tickets_stream(&other_js).await;
    let history = other_js
        .publish(unrouted_subject(Category::Other), "{}".into())
        .await
        .expect("publish");
    history.await.expect("acked");

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(hub.clone().run(async move {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(20);
    while hub.open(supervisor.clone(), None).await.is_err() {
        assert!(Instant::now() < deadline, "the hub never positioned itself");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hub.latest(), 1, "positioned at the end of TICKETS");
    let next = other_js
        .publish(unrouted_subject(Category::Other), "{}".into())
        .await
        .expect("publish");
    next.await.expect("acked");
    until("the hub follows what comes after", || hub.latest() == 2).await;
    let _ = stop.send(());
    running
        .await
        .expect("joined")
        .expect("the hub stops cleanly");
}
