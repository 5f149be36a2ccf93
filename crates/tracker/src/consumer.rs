//! The tracker's durable pull consumer on `TICKETS`.
//!
//! Both subject trees arrive on one consumer without a filter (NATS 2.9
//! drops `filter_subjects`): `civic.ticket.<office>.<category>.opened`
//! opens a ticket, `…merged` attaches a duplicate report to its ticket,
//! `civic.unrouted.<category>` records an unrouted report; every other
//! ticket event kind (the [`civicprobe_model::TicketChanged`] events this
//! tracker publishes itself through its outbox, or kinds it does not know)
//! is acked and ignored. A message is acked only after its transaction
//! committed. A malformed one is rejected and, after `--max-deliveries`
//! rejections, dead-lettered ([`Rejections`]); a database failure is an
//! outage, nak'ed with a delay so JetStream redelivers it, and never
//! counts toward the dead letter. Ack wait, progress heartbeats and the
//! nak of held messages on shutdown come from [`civicprobe_jetstream`].

use crate::{Error, Store};
use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::{self, AckKind};
use civicprobe_jetstream::{JetStreamSettings, Pace, Rejections, Stop};
use civicprobe_model::nats::{TicketsSubject, TICKETS_STREAM, TRACKER_CONSUMER};
use civicprobe_model::EventKind;
use civicprobe_model::{ReportUnrouted, TicketMerged, TicketOpened};
use std::future::Future;
use std::time::Duration;
use tracing::Instrument;

/// The redelivery delay after a database failure.
const RETRY_DELAY: Duration = Duration::from_secs(2);

/// Creates the durable `tracker` consumer on `TICKETS` (or returns the
/// existing one, updated to the chosen ack wait). The stream itself
/// is `civicprobe_jetstream::pipeline`'s (`ensure_tickets_stream`).
pub async fn ensure_tracker_consumer(js: &jetstream::Context) -> Result<PullConsumer, Error> {
    let stream = js.get_stream(TICKETS_STREAM).await.map_err(Error::nats)?;
    civicprobe_jetstream::ensure_durable(
        &stream,
        pull::Config {
            durable_name: Some(TRACKER_CONSUMER.to_owned()),
            ack_policy: AckPolicy::Explicit,
            description: Some("civicprobe tracker: tickets and unrouted reports".into()),
            ..Default::default()
        },
    )
    .await
    .map_err(Error::nats)
}

/// Feeds the store from `TICKETS` until `shutdown` completes. Transient
/// NATS errors are logged and the subscription is re-established; so is
/// a failure to create the consumer (NATS or `TICKETS` not there yet).
pub async fn run_consumer(
    js: jetstream::Context,
    store: Store,
    settings: JetStreamSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    tokio::pin!(shutdown);
    let made = ensured(TRACKER_CONSUMER, &mut shutdown, || async {
        civicprobe_jetstream::ensure_dead_letters(&js, &settings)
            .await
            .map_err(Error::nats)?;
        ensure_tracker_consumer(&js).await
    })
    .await;
    let Some(consumer) = made else {
        return Ok(());
    };
    let rejections = Rejections::new(js, TRACKER_CONSUMER, &settings);
    pull_each(&consumer, TRACKER_CONSUMER, shutdown, |msg| {
        handle(&store, &rejections, msg)
    })
    .await
}

/// The consumer `ensure` creates, retried every [`RETRY_DELAY`] while it
/// fails (NATS away, the stream not created yet: a service may start
/// first); `None` once `shutdown` completes.
pub(crate) async fn ensured<S, F, Fut>(
    name: &str,
    shutdown: &mut std::pin::Pin<&mut S>,
    ensure: F,
) -> Option<PullConsumer>
where
    S: Future<Output = ()>,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<PullConsumer, Error>>,
{
    loop {
        tokio::select! {
            () = shutdown.as_mut() => return None,
            made = ensure() => match made {
                Ok(consumer) => return Some(consumer),
                Err(e) => tracing::warn!(error = %e, consumer = name, "creating the consumer failed; retrying"),
            },
        }
        tokio::select! {
            () = shutdown.as_mut() => return None,
            () = tokio::time::sleep(RETRY_DELAY) => {}
        }
    }
}

/// Hands every message of `consumer` to `handle`, one at a time, until
/// `shutdown` completes ([`civicprobe_jetstream::drive`]); a failed
/// subscription is logged (as `name`'s) and made again.
pub(crate) async fn pull_each<F, Fut>(
    consumer: &PullConsumer,
    name: &str,
    shutdown: impl Future<Output = ()> + Send,
    mut handle: F,
) -> Result<(), Error>
where
    F: FnMut(jetstream::Message) -> Fut,
    Fut: Future<Output = Pace>,
{
    tokio::pin!(shutdown);
    loop {
        let messages = tokio::select! {
            () = &mut shutdown => return Ok(()),
            m = civicprobe_jetstream::subscribe(consumer) => match m {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, consumer = name, "subscribing failed; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                    continue;
                }
            },
        };
        if civicprobe_jetstream::drive(name, messages, &mut shutdown, &mut handle).await
            == Stop::Shutdown
        {
            return Ok(());
        }
    }
}

/// What a message is, by its subject.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `civic.ticket.<office>.<category>.opened`.
    Opened,
    /// `civic.ticket.<office>.<category>.merged`.
    Merged,
    /// Another `civic.ticket.…` event kind: not ours yet.
    OtherTicketEvent,
    /// `civic.unrouted.<category>`.
    Unrouted,
    /// Nothing this stream should hold.
    Unknown,
}

pub(crate) fn kind_of(subject: &str) -> Kind {
    match TicketsSubject::parse(subject) {
        Some(TicketsSubject::Ticket { event, .. }) if EventKind::Opened == event => Kind::Opened,
        Some(TicketsSubject::Ticket { event, .. }) if EventKind::Merged == event => Kind::Merged,
        Some(TicketsSubject::Ticket { .. }) => Kind::OtherTicketEvent,
        Some(TicketsSubject::Unrouted { .. }) => Kind::Unrouted,
        None => Kind::Unknown,
    }
}

/// Records one message and acks, rejects or naks it. Never panics.
async fn handle(store: &Store, rejections: &Rejections, msg: jetstream::Message) -> Pace {
    let subject = msg.subject.to_string();
    let kind = kind_of(&subject);
    let span = tracing::info_span!("tracker.consume", subject = %subject, ticket_id = tracing::field::Empty, report_id = tracing::field::Empty);
    let outcome = record(store, &kind, &msg.payload)
        .instrument(span.clone())
        .await;
    let _guard = span.enter();
    let (ack, label) = match outcome {
        Ok(Some(true)) => (AckKind::Ack, "recorded"),
        Ok(Some(false)) => (AckKind::Ack, "duplicate"),
        Ok(None) => {
            tracing::debug!("not a tracker event; acked and ignored");
            (AckKind::Ack, "ignored")
        }
        Err(Error::Json(e)) => {
            tracing::warn!(error = %e, "malformed message; rejected");
            metrics::counter!("civicprobe_tracker_messages_total", "outcome" => "malformed")
                .increment(1);
            rejections
                .reject(&msg, &format!("malformed {kind:?} message: {e}"))
                .await;
            return Pace::Next;
        }
        Err(e) => {
            tracing::error!(error = %e, "recording failed; will be redelivered");
            metrics::counter!("civicprobe_tracker_messages_total", "outcome" => "error")
                .increment(1);
            if let Err(e) = msg.ack_with(AckKind::Nak(Some(RETRY_DELAY))).await {
                tracing::warn!(error = %e, "nak failed; JetStream redelivers after the ack wait");
            }
            return Pace::Back;
        }
    };
    metrics::counter!("civicprobe_tracker_messages_total", "outcome" => label).increment(1);
    rejections.forget(&msg);
    if let Err(e) = msg.ack_with(ack).await {
        tracing::warn!(error = %e, "acknowledging to JetStream failed; it will redeliver");
    }
    Pace::Next
}

/// `Some(inserted)` for a recorded message, `None` for one to ignore.
async fn record(store: &Store, kind: &Kind, payload: &[u8]) -> Result<Option<bool>, Error> {
    let span = tracing::Span::current();
    match kind {
        Kind::Opened => {
            let ev: TicketOpened = serde_json::from_slice(payload)?;
            span.record("ticket_id", tracing::field::display(ev.ticket_id));
            span.record("report_id", tracing::field::display(ev.report.report_id));
            let inserted = store.record_ticket_opened(&ev).await?;
            observe_report_to_ticket(inserted, ev.report.received_at);
            Ok(Some(inserted))
        }
        Kind::Merged => {
            let ev: TicketMerged = serde_json::from_slice(payload)?;
            span.record("ticket_id", tracing::field::display(ev.ticket_id));
            span.record("report_id", tracing::field::display(ev.report.report_id));
            let inserted = store.record_merged(&ev).await?;
            observe_report_to_ticket(inserted, ev.report.received_at);
            Ok(Some(inserted))
        }
        Kind::Unrouted => {
            let ev: ReportUnrouted = serde_json::from_slice(payload)?;
            span.record("report_id", tracing::field::display(ev.report.report_id));
            store.record_unrouted(&ev).await.map(Some)
        }
        Kind::OtherTicketEvent => Ok(None),
        Kind::Unknown => {
            tracing::warn!("unexpected subject on TICKETS; acked and ignored");
            Ok(None)
        }
    }
}

/// The histogram of how long a report waited from ingest's `202` (its
/// `received_at`) until its ticket or merge was recorded here.
pub const REPORT_TO_TICKET_SECONDS: &str = "civicprobe_tracker_report_to_ticket_seconds";

/// Records the wait of a report recorded for the first time (a redelivery
/// is not a second wait); a negative wait (clock skew) is a data error,
/// never recorded.
fn observe_report_to_ticket(inserted: bool, received_at: time::OffsetDateTime) {
    let waited = (time::OffsetDateTime::now_utc() - received_at).as_seconds_f64();
    if inserted && waited >= 0.0 {
        metrics::histogram!(REPORT_TO_TICKET_SECONDS).record(waited);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicprobe_model::nats::{ticket_subject, unrouted_subject, REPORT_SUBMITTED};
    use civicprobe_model::{Category, OfficeId};

    #[test]
    fn subjects_are_told_apart() {
        let office = OfficeId::parse("wenquan").unwrap();
        let opened = ticket_subject(&office, Category::Manhole, EventKind::Opened);
        assert_eq!(kind_of(&opened), Kind::Opened);
        let acked = ticket_subject(
            &office,
            Category::Manhole,
            civicprobe_model::EventKind::Acknowledged,
        );
        assert_eq!(kind_of(&acked), Kind::OtherTicketEvent);
        let merged = ticket_subject(&office, Category::Manhole, EventKind::Merged);
        assert_eq!(kind_of(&merged), Kind::Merged);
        assert_eq!(kind_of(&unrouted_subject(Category::Other)), Kind::Unrouted);
        // Malformed subjects are model::nats::TicketsSubject's to tell.
        assert_eq!(kind_of(REPORT_SUBMITTED), Kind::Unknown);
    }
}
