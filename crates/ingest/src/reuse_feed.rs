//! Photo reuse across ingest instances. Each instance's reuse index is
//! seeded from its own local store; several instances behind a load
//! balancer would then miss a photo first sent to another one. So every
//! instance also follows `REPORTS` (an ordered consumer on
//! `civic.report.submitted`, from [`REUSE_WINDOW_DAYS`] back) and indexes
//! each report's photo hashes; its own reports come back too and are
//! indexed once ([`crate::evidence::ReuseIndex::insert`] ignores a pair it
//! holds).
//!
//! A photo counts as seen once the other instance has published its report
//! (milliseconds after its `202` while NATS is up).

use crate::evidence::REUSE_WINDOW_DAYS;
use crate::state::Shared;
use crate::Error;
use async_nats::jetstream::{self, consumer::pull, consumer::DeliverPolicy};
use civicprobe_model::nats::{REPORTS_STREAM, REPORT_SUBMITTED};
use civicprobe_model::ReportSubmitted;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The pause before following again after an error (NATS down, the
/// stream not created yet).
const RETRY: Duration = Duration::from_secs(1);

fn unavailable(source: impl Into<crate::BoxError>) -> Error {
    Error::Unavailable {
        what: "the REPORTS stream",
        source: source.into(),
    }
}

/// Follows `REPORTS` until `stop`'s sender is dropped.
pub(crate) async fn run(
    shared: Arc<Shared>,
    js: jetstream::Context,
    mut stop: watch::Receiver<()>,
) {
    let mut next = None;
    loop {
        tokio::select! {
            result = follow(&shared, &js, &mut next) => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "reuse feed interrupted; resuming");
                }
            }
            changed = stop.changed() => if changed.is_err() { return },
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY) => {}
            changed = stop.changed() => if changed.is_err() { return },
        }
    }
}

/// One ordered consumer's life, resuming at `next` (a stream sequence).
async fn follow(
    shared: &Shared,
    js: &jetstream::Context,
    next: &mut Option<u64>,
) -> Result<(), Error> {
    // Seed from the local store first, so that its pairs are not counted
    // twice and nothing is looked up in a half-built index.
    shared.local().await?;
    let stream = js.get_stream(REPORTS_STREAM).await.map_err(unavailable)?;
    let deliver_policy = match *next {
        Some(start_sequence) => DeliverPolicy::ByStartSequence { start_sequence },
        None => DeliverPolicy::ByStartTime {
            start_time: time::OffsetDateTime::now_utc() - time::Duration::days(REUSE_WINDOW_DAYS),
        },
    };
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            // One subject (NATS 2.9 ignores `filter_subjects`).
            filter_subject: REPORT_SUBMITTED.to_owned(),
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(unavailable)?;
    let mut messages = consumer.messages().await.map_err(unavailable)?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(unavailable)?;
        if let Ok(info) = message.info() {
            *next = Some(info.stream_sequence + 1);
        }
        let Ok(report) = serde_json::from_slice::<ReportSubmitted>(&message.payload) else {
            continue;
        };
        for phash in report.photos.iter().filter_map(|p| p.phash) {
            shared.reuse.insert(phash, report.report_id);
        }
    }
    Ok(())
}
