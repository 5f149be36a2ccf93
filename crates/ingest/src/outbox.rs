//! The publisher: drains the local outbox ([`crate::local`]) to the
//! `REPORTS` stream, oldest first, `Nats-Msg-Id` = report id, and marks a
//! report published only once JetStream acknowledged it.
//!
//! It is woken by every accepted report and also polls each second. While
//! NATS is down it retries with a growing pause (up to 2 s); when NATS
//! returns the backlog drains. A report published twice (an ack lost, a
//! crash after publishing but before marking) is dropped by JetStream's
//! duplicate window, so each report is on the stream exactly once.
//!
//! With the JetStream photo store, a report's photos wait in the local
//! spool ([`crate::photo::spool`]) and are uploaded just before the report
//! is published: a report is published only once the photos it names are
//! in the bucket, and a failed upload is handled like a failed publish
//! (that report and the ones after it wait for the next round).
//!
//! On shutdown, [`drain_for`] keeps publishing for a bounded time
//! (`--drain-secs`) and logs how many reports remain for the next start.

use crate::photo::store::PhotoBackend;
use crate::publish::publish_payload;
use crate::state::Shared;
use crate::Error;
use async_nats::jetstream;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The gauge of reports accepted but not yet acknowledged by JetStream.
pub const OUTBOX_BACKLOG: &str = "civicprobe_ingest_outbox_backlog";
/// The histogram of how long a report waited from its `202` until
/// `REPORTS` acknowledged it (photo uploads included).
pub const REPORT_TO_PUBLISH_SECONDS: &str = "civicprobe_ingest_report_to_publish_seconds";

/// Reports published per round.
const BATCH: u32 = 256;
/// Reports whose photos are uploaded to the bucket at once.
const UPLOADS_AT_ONCE: usize = 16;
/// Poll period when idle.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Pauses after a failure, doubling.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Runs until `stop`'s sender is dropped ([`crate::IngestState::run`]'s shutdown).
pub(crate) async fn run(
    shared: Arc<Shared>,
    photos: Arc<PhotoBackend>,
    js: jetstream::Context,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<()>,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let pause = match drain_once(&shared, &photos, &js).await {
            Ok(0) => IDLE_POLL,
            Ok(_) => {
                backoff = MIN_BACKOFF;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), "outbox: publishing failed; will retry");
                let pause = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                pause
            }
        };
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(pause) => {}
            changed = stop.changed() => if changed.is_err() { return },
        }
    }
}

/// Publishes until the outbox is empty or `within` has passed (shutdown);
/// returns how many reports remain unpublished. Runs beside [`run`]: a
/// report both publish is dropped by JetStream's duplicate window.
pub(crate) async fn drain_for(
    shared: &Shared,
    photos: &PhotoBackend,
    js: &jetstream::Context,
    within: Duration,
) -> Result<i64, Error> {
    let deadline = tokio::time::Instant::now() + within;
    let mut published = 0;
    loop {
        let remaining = shared.local().await?.backlog().await?;
        let now = tokio::time::Instant::now();
        if remaining == 0 || now >= deadline {
            tracing::info!(published, remaining, "outbox: drained on shutdown");
            return Ok(remaining);
        }
        match tokio::time::timeout(deadline - now, drain_once(shared, photos, js)).await {
            Ok(Ok(n)) => published += n,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "outbox: draining; NATS not there yet");
                tokio::time::sleep(MIN_BACKOFF.min(deadline - now)).await;
            }
            Err(_) => {}
        }
    }
}

/// Publishes one batch, each report after the bucket holds its photos;
/// returns how many were acknowledged.
async fn drain_once(
    shared: &Shared,
    photos: &PhotoBackend,
    js: &jetstream::Context,
) -> Result<usize, Error> {
    let local = shared.local().await?;
    // The whole backlog, not this batch: it was only ever set to 0 (when
    // empty), so it read 0 while NATS was away and reports piled up.
    metrics::gauge!(OUTBOX_BACKLOG).set(local.backlog().await? as f64);
    let pending = local.unpublished(BATCH).await?;
    if pending.is_empty() {
        if let Err(error) = photos.upload_stale_spool().await {
            tracing::debug!(%error, "photo spool: left-over photos not uploaded yet");
        }
        return Ok(0);
    }
    // Every report's photos at once (a few bucket writes each, and each
    // write waits for its replicas), then the reports in order.
    let mut uploads = Vec::with_capacity(pending.len());
    for chunk in pending.chunks(UPLOADS_AT_ONCE) {
        let mut at_once = Vec::with_capacity(chunk.len());
        for report in chunk {
            at_once.push(upload_photos(photos, &report.payload));
        }
        uploads.extend(futures::future::join_all(at_once).await);
    }
    let mut in_flight = Vec::with_capacity(pending.len());
    let mut failure = None;
    for (report, uploaded) in pending.into_iter().zip(uploads) {
        let sent = match uploaded {
            Ok(()) => publish_payload(js, report.report_id, report.payload).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(ack) => in_flight.push((report.report_id, report.accepted_ms, ack)),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    photos.count_spool().await;
    let mut acked = Vec::with_capacity(in_flight.len());
    for (id, accepted_ms, ack) in in_flight {
        match ack.await {
            Ok(ack) => {
                tracing::debug!(report_id = %id, duplicate = ack.duplicate, "outbox: published");
                observe_wait(accepted_ms);
                acked.push(id);
            }
            Err(e) => {
                failure.get_or_insert(Error::Unavailable {
                    what: "JetStream",
                    source: e.into(),
                });
            }
        }
    }
    local.mark_published(&acked).await?;
    metrics::gauge!(OUTBOX_BACKLOG).set(local.backlog().await? as f64);
    metrics::counter!("civicprobe_ingest_published_total").increment(acked.len() as u64);
    match failure {
        Some(e) => Err(e),
        None => Ok(acked.len()),
    }
}

/// Uploads the photos of the report encoded in `payload` (a no-op with the
/// filesystem store).
async fn upload_photos(photos: &PhotoBackend, payload: &[u8]) -> Result<(), Error> {
    if let PhotoBackend::Fs(_) = photos {
        return Ok(());
    }
    let report: civicprobe_model::ReportSubmitted = serde_json::from_slice(payload)
        .map_err(|e| Error::internal("decoding an outbox report", e))?;
    photos.upload_for_report(&report).await
}

/// Records how long a report accepted at `accepted_ms` waited to be
/// published (a negative wait, the clock set back, is not recorded).
fn observe_wait(accepted_ms: i64) {
    let now_ms = civicprobe_model::unix_ms::to_ms(time::OffsetDateTime::now_utc());
    let waited = (now_ms - accepted_ms) as f64 / 1000.0;
    if waited >= 0.0 {
        metrics::histogram!(REPORT_TO_PUBLISH_SECONDS).record(waited);
    }
}
