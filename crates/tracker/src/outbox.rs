//! The transactional outbox: every step the tracker originates (a
//! [`TicketChanged`]) is written to the `outbox` table in the same
//! transaction as its event row, and [`run_outbox`] publishes it on
//! `civic.ticket.<office>.<category>.<kind>` with `Nats-Msg-Id` = event id,
//! marking it sent only after JetStream's ack.
//!
//! Exactly once per event id, also across a crash: a crash after the commit
//! leaves the row unsent, so it is published on restart; a crash after the
//! publish but before the mark publishes it again with the same
//! `Nats-Msg-Id`, which the stream's duplicate window (24 h) drops.

use crate::time_ms::to_ms;
use crate::{Error, Store};
use async_nats::jetstream;
use civicprobe_model::nats::{ticket_subject, MSG_ID_HEADER};
use civicprobe_model::TicketChanged;
use sqlx::{Any, Row, Transaction};
use std::future::Future;
use std::time::Duration;
use time::OffsetDateTime;

/// Rows published per round.
const BATCH: i64 = 200;
/// How often the publisher looks without being woken (other tracker
/// instances' commits do not wake it).
const POLL: Duration = Duration::from_millis(500);
/// Back-off after a NATS or database failure.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Writes `change` to the outbox inside the event's transaction.
pub(crate) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    change: &TicketChanged,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO outbox (event_id, subject, payload, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(change.event_id.to_string())
    .bind(ticket_subject(
        &change.office_id,
        change.category,
        change.kind,
    ))
    .bind(serde_json::to_string(change)?)
    .bind(to_ms(change.at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One unsent outbox row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The event's id, also the `Nats-Msg-Id`.
    pub event_id: civicprobe_model::EventId,
    /// Where it goes.
    pub subject: String,
    /// The [`TicketChanged`] as JSON.
    pub payload: String,
}

impl Store {
    /// Unsent outbox rows, oldest first, at most `limit`.
    pub async fn unsent_outbox(&self, limit: i64) -> Result<Vec<OutboxMessage>, Error> {
        sqlx::query(
            "SELECT event_id, subject, payload FROM outbox WHERE sent_at IS NULL \
             ORDER BY created_at, event_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(OutboxMessage {
                event_id: crate::tickets::rows::parsed(row, "event_id")?,
                subject: row.try_get("subject")?,
                payload: row.try_get("payload")?,
            })
        })
        .collect()
    }

    /// How many outbox rows wait to be published (the operator's gauge).
    pub async fn outbox_depth(&self) -> Result<i64, Error> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
            .fetch_one(self.pool())
            .await?;
        Ok(count)
    }

    /// Marks an outbox row published.
    pub async fn mark_sent(
        &self,
        event_id: civicprobe_model::EventId,
        at: OffsetDateTime,
    ) -> Result<(), Error> {
        sqlx::query("UPDATE outbox SET sent_at = $1 WHERE event_id = $2 AND sent_at IS NULL")
            .bind(to_ms(at))
            .bind(event_id.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// Publishes one message and waits for JetStream's ack.
async fn publish(js: &jetstream::Context, msg: &OutboxMessage) -> Result<(), Error> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(MSG_ID_HEADER, msg.event_id.to_string().as_str());
    js.publish_with_headers(msg.subject.clone(), headers, msg.payload.clone().into())
        .await
        .map_err(Error::nats)?
        .await
        .map_err(Error::nats)?;
    Ok(())
}

/// Publishes every unsent row (in batches) and marks each after its ack.
/// Returns how many were published.
pub async fn publish_pending(js: &jetstream::Context, store: &Store) -> Result<usize, Error> {
    let mut total = 0;
    loop {
        let batch = store.unsent_outbox(BATCH).await?;
        for msg in &batch {
            publish(js, msg).await?;
            store.mark_sent(msg.event_id, store.now()).await?;
            metrics::counter!("civicprobe_tracker_outbox_published_total").increment(1);
        }
        total += batch.len();
        if i64::try_from(batch.len()).unwrap_or(BATCH) < BATCH {
            return Ok(total);
        }
    }
}

/// The publisher task: publishes the outbox until `shutdown` completes,
/// woken by commits of this process and otherwise polling.
pub async fn run_outbox(
    js: jetstream::Context,
    store: Store,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    tokio::pin!(shutdown);
    loop {
        let wait = match publish_pending(&js, &store).await {
            Ok(_) => POLL,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: publishing failed; will retry");
                RETRY_DELAY
            }
        };
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = store.outbox_ready().notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}
