//! SIGTERM's drain of ingest's outbox, on a stack over SQLite and
//! PostgreSQL: reports accepted while NATS is down are still in the
//! outbox when the stack is told to stop; NATS comes back during the stop,
//! and the stop publishes every one of them before it returns.

mod common;

use civicprobe_model::nats::REPORTS_STREAM;
use civicprobe_testkit::photos;
use common::{post_report, report_form, stack_on_with};
use std::time::Duration;

/// Reports accepted while NATS is down.
const ACCEPTED: usize = 3;

async fn the_stop_publishes_what_the_outbox_holds(kind: &str) {
    // Partly moved out: the database and data directory live to the end.
    // Ample: NATS's client may take a few seconds to reconnect; the stop
    // ends as soon as the outbox is empty.
    let on = stack_on_with(kind, |c| c.ingest.drain_secs = 30).await;
    let (stack, mut nats) = (on.stack, on.nats);
    let (_, courier) = stack.store.add_courier("ada").await.expect("courier");

    nats.stop();
    for i in 0..ACCEPTED {
        let form = report_form(
            (29.8413, 114.3225),
            &format!("井盖缺失 {i}"),
            photos::jpeg(320, 240),
        );
        let answer = post_report(&stack.base_url(), &courier, form).await;
        assert_eq!(answer.status().as_u16(), 202, "accepted while NATS is down");
    }
    // With NATS away, a short drain gives up and says what remains.
    let remaining = stack.ingest.drain_outbox(Duration::from_millis(300)).await;
    assert_eq!(remaining.expect("drain"), ACCEPTED as i64);

    // NATS returns only once the stop has begun.
    let restart = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_secs(1));
        nats.restart().expect("restart nats");
        nats
    });
    // A stage that met the outage may report it; the outbox is what counts.
    if let Err(e) = stack.stop().await {
        eprintln!("stop: {e:#}");
    }
    let nats = restart.await.expect("restarted");
    let (_client, js) = nats.connect().await.expect("client");
    let mut stream = js.get_stream(REPORTS_STREAM).await.expect("REPORTS");
    let on_stream = stream.info().await.expect("info").state.messages;
    assert_eq!(
        on_stream, ACCEPTED as u64,
        "the stop left reports in the outbox"
    );
}

civicprobe_testkit::on_both_databases!(the_stop_publishes_what_the_outbox_holds);
