//! The alerts' durable pull consumer on `TICKETS` ([`ALERTS_CONSUMER`], no
//! filter subject: NATS 2.9 keeps only one): for each event it decides who
//! is alerted ([`super::decide`]) and inserts one delivery per (event,
//! channel) in one transaction, then acks. A redelivered message inserts
//! nothing new. The consumer starts at the stream's new messages, so a
//! first start does not alert the whole history. A malformed message is
//! rejected toward its dead letter ([`Rejections`]); a database failure
//! is nak'ed and never counts.

use super::alert::Links;
use super::decide::{decide, event_kind, Decision, Target};
use super::deliveries;
use crate::{Error, Store};
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{self, AckKind};
use civicprobe_jetstream::{JetStreamSettings, Pace, Rejections};
use civicprobe_model::nats::{ALERTS_CONSUMER, TICKETS_STREAM};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tracing::Instrument;

/// The redelivery delay after a database failure, or while the ticket is
/// not stored yet.
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// How often a merge waits for its ticket before it is decided without it.
const NOT_YET_TRIES: i64 = 10;

/// Creates the durable alerts consumer on `TICKETS` (or returns it,
/// updated to the chosen ack wait).
pub async fn ensure_alerts_consumer(js: &jetstream::Context) -> Result<PullConsumer, Error> {
    let stream = js.get_stream(TICKETS_STREAM).await.map_err(Error::nats)?;
    civicprobe_jetstream::ensure_durable(
        &stream,
        pull::Config {
            durable_name: Some(ALERTS_CONSUMER.to_owned()),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::New,
            description: Some("civicprobe tracker: alerts to offices and supervisors".into()),
            ..Default::default()
        },
    )
    .await
    .map_err(Error::nats)
}

/// Decides alerts from `TICKETS` until `shutdown`; wakes `ready` after
/// each commit that added deliveries.
pub(crate) async fn run_alert_consumer(
    js: jetstream::Context,
    store: Store,
    links: Links,
    ready: Arc<Notify>,
    settings: JetStreamSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    tokio::pin!(shutdown);
    let made = crate::consumer::ensured(ALERTS_CONSUMER, &mut shutdown, || async {
        civicprobe_jetstream::ensure_dead_letters(&js, &settings)
            .await
            .map_err(Error::nats)?;
        ensure_alerts_consumer(&js).await
    });
    let Some(consumer) = made.await else {
        return Ok(());
    };
    let rejections = Rejections::new(js, ALERTS_CONSUMER, &settings);
    crate::consumer::pull_each(&consumer, ALERTS_CONSUMER, shutdown, |msg| {
        handle(&store, &links, &ready, &rejections, msg)
    })
    .await
}

/// Decides and records one message, then acks, naks (a database failure,
/// or a merge whose ticket is not stored yet) or rejects (malformed) it.
async fn handle(
    store: &Store,
    links: &Links,
    ready: &Notify,
    rejections: &Rejections,
    msg: jetstream::Message,
) -> Pace {
    let subject = msg.subject.to_string();
    let span = tracing::info_span!("tracker.alerts", subject = %subject, ticket_id = tracing::field::Empty);
    let tries = msg.info().map_or(1, |i| i.delivered);
    let outcome = async {
        let Some(kind) = event_kind(&subject) else {
            tracing::warn!("unexpected subject on TICKETS; acked and ignored");
            return Ok(Some(0));
        };
        match decide(store, links, kind, &msg.payload).await? {
            Decision::Alerts(alerts) => record(store, &alerts).await.map(Some),
            Decision::NotYet if tries < NOT_YET_TRIES => Ok(None),
            Decision::NotYet => Ok(Some(0)),
        }
    }
    .instrument(span.clone())
    .await;
    let _guard = span.enter();
    let (ack, pace) = match outcome {
        Ok(Some(0)) => (AckKind::Ack, Pace::Next),
        Ok(Some(added)) => {
            tracing::info!(added, "alert deliveries decided");
            ready.notify_one();
            (AckKind::Ack, Pace::Next)
        }
        Ok(None) => {
            tracing::debug!("ticket not stored yet; looking again shortly");
            (AckKind::Nak(Some(RETRY_DELAY)), Pace::Next)
        }
        Err(Error::Json(e)) => {
            tracing::warn!(error = %e, "malformed message; rejected");
            rejections
                .reject(&msg, &format!("malformed ticket event: {e}"))
                .await;
            return Pace::Next;
        }
        Err(e) => {
            tracing::error!(error = %e, "deciding alerts failed; will be redelivered");
            (AckKind::Nak(Some(RETRY_DELAY)), Pace::Back)
        }
    };
    if matches!(ack, AckKind::Ack) {
        rejections.forget(&msg);
    }
    if let Err(e) = msg.ack_with(ack).await {
        tracing::warn!(error = %e, "acknowledging to JetStream failed; it will redeliver");
    }
    pace
}

/// Inserts every alert's deliveries in one transaction; how many are new.
async fn record(store: &Store, alerts: &[(Target, super::alert::Alert)]) -> Result<u64, Error> {
    if alerts.is_empty() {
        return Ok(0);
    }
    let mut planned = Vec::with_capacity(alerts.len());
    for (target, alert) in alerts {
        let office = match target {
            Target::Office(office) => Some(office),
            Target::Supervisors => None,
        };
        planned.push((alert, store.channels_of_audience(office).await?));
    }
    let mut tx = store.pool().begin().await?;
    let mut added = 0;
    for (alert, channels) in planned {
        added += deliveries::enqueue(&mut tx, alert, &channels, store.now()).await?;
    }
    tx.commit().await?;
    Ok(added)
}
