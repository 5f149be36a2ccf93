//! The gauges nothing moves on its own, polled every [`POLL`] by one small
//! task per process that stops with the shutdown signal:
//!
//! - `civicprobe_nats_consumer_pending{stream,consumer}`: messages a
//!   durable consumer has not yet been delivered (its lag), from the
//!   consumer's info;
//! - `civicprobe_dead_letters`: messages in the `DEAD_LETTERS` stream
//!   (what supervisors see at `GET /v1/dead-letters`; the counter
//!   `civicprobe_dead_letters_total{consumer}` says who gave up);
//! - `civicprobe_tracker_outbox_depth`: tracker events not yet published;
//! - `civicprobe_tracker_overdue_tickets`: tickets past a deadline.
//!
//! A failed poll (NATS or the database away) leaves the last value and is
//! logged at debug: `/healthz` and the error counters say that already.

use async_nats::jetstream;
use civicprobe_model::nats::{
    ALERTS_CONSUMER, DEAD_LETTERS_STREAM, REPORTS_STREAM, ROUTER_CONSUMER, TICKETS_STREAM,
    TRACKER_CONSUMER,
};
use civicprobe_tracker::Store;
use std::future::Future;
use std::time::Duration;

/// How often the gauges are polled.
pub const POLL: Duration = Duration::from_secs(3);

/// The lag gauge's name.
pub const CONSUMER_PENDING: &str = "civicprobe_nats_consumer_pending";
/// The dead letters gauge's name.
pub const DEAD_LETTERS: &str = "civicprobe_dead_letters";
/// The tracker outbox gauge's name.
pub const TRACKER_OUTBOX_DEPTH: &str = "civicprobe_tracker_outbox_depth";
/// The overdue tickets gauge's name.
pub const OVERDUE_TICKETS: &str = "civicprobe_tracker_overdue_tickets";

/// A durable consumer: its stream, its name.
pub type Durable = (&'static str, &'static str);

/// The router's consumer.
pub const ROUTER: &[Durable] = &[(REPORTS_STREAM, ROUTER_CONSUMER)];
/// The tracker's consumers.
pub const TRACKER: &[Durable] = &[
    (TICKETS_STREAM, TRACKER_CONSUMER),
    (TICKETS_STREAM, ALERTS_CONSUMER),
];
/// Every consumer `up` runs.
pub const UP: &[Durable] = &[
    (REPORTS_STREAM, ROUTER_CONSUMER),
    (TICKETS_STREAM, TRACKER_CONSUMER),
    (TICKETS_STREAM, ALERTS_CONSUMER),
];

/// What one process polls.
#[derive(Clone, Debug)]
pub struct Watched {
    /// Where the consumers are.
    pub js: jetstream::Context,
    /// The durable consumers this process runs.
    pub consumers: &'static [Durable],
    /// The tracker's store, in a process that runs the tracker.
    pub store: Option<Store>,
}

/// Polls now and every [`POLL`] until `shutdown`.
pub async fn run(watched: Watched, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    loop {
        poll_once(&watched).await;
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Sets every gauge it can read now.
async fn poll_once(watched: &Watched) {
    for &(stream, consumer) in watched.consumers {
        match pending(&watched.js, stream, consumer).await {
            Ok(n) => metrics::gauge!(CONSUMER_PENDING, "stream" => stream, "consumer" => consumer)
                .set(n as f64),
            Err(error) => tracing::debug!(stream, consumer, %error, "consumer info unavailable"),
        }
    }
    match dead_letters(&watched.js).await {
        Ok(n) => metrics::gauge!(DEAD_LETTERS).set(n as f64),
        Err(error) => tracing::debug!(%error, "dead letters unavailable"),
    }
    let Some(store) = &watched.store else {
        return;
    };
    match store.outbox_depth().await {
        Ok(n) => metrics::gauge!(TRACKER_OUTBOX_DEPTH).set(n as f64),
        Err(error) => tracing::debug!(%error, "outbox depth unavailable"),
    }
    match store.overdue_count().await {
        Ok(n) => metrics::gauge!(OVERDUE_TICKETS).set(n as f64),
        Err(error) => tracing::debug!(%error, "overdue count unavailable"),
    }
}

/// A consumer's `num_pending`.
async fn pending(js: &jetstream::Context, stream: &str, consumer: &str) -> anyhow::Result<u64> {
    let info = js.get_stream(stream).await?.consumer_info(consumer).await?;
    Ok(info.num_pending)
}

/// Messages in `DEAD_LETTERS`.
async fn dead_letters(js: &jetstream::Context) -> anyhow::Result<u64> {
    let mut stream = js.get_stream(DEAD_LETTERS_STREAM).await?;
    Ok(stream.info().await?.state.messages)
}
