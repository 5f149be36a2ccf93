//! The pipeline's shared streams, defined once: `REPORTS` (ingest writes,
//! the router reads), `TICKETS` (the router writes, the tracker reads) and
//! `UPLOADS` (ingest announces, the tracker records). Whichever service
//! starts first creates them; every one of them may, so start-up order
//! does not matter. Names and subjects are [`civicprobe_model::nats`]'s.

use crate::{ensure_stream, Error, JetStreamSettings};
use async_nats::jetstream::{self, stream};
use civicprobe_model::nats;
use std::time::Duration;

/// How long `UPLOADS` keeps an announcement: a tracker that was away for
/// less than this still records every upload.
pub const UPLOADS_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

/// `REPORTS`: accepted reports, file storage, a day-long duplicate window
/// (ingest's outbox may publish a report twice).
pub fn reports_stream() -> stream::Config {
    stream::Config {
        name: nats::REPORTS_STREAM.to_owned(),
        subjects: vec![nats::REPORTS_SUBJECTS.to_owned()],
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(nats::DUPLICATE_WINDOW_SECS),
        ..Default::default()
    }
}

/// `TICKETS`: ticket events and unrouted reports, file storage, the same
/// long duplicate window (a router redelivered a report publishes again).
pub fn tickets_stream() -> stream::Config {
    stream::Config {
        name: nats::TICKETS_STREAM.to_owned(),
        subjects: vec![
            nats::TICKET_SUBJECTS.to_owned(),
            nats::UNROUTED_SUBJECTS.to_owned(),
        ],
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(nats::DUPLICATE_WINDOW_SECS),
        ..Default::default()
    }
}

/// `UPLOADS`: proof and verification photos ingest stored, kept
/// [`UPLOADS_KEPT`], direct gets allowed (a tracker looks one up by
/// subject).
pub fn uploads_stream() -> stream::Config {
    stream::Config {
        name: nats::UPLOADS_STREAM.to_owned(),
        subjects: vec![nats::UPLOAD_SUBJECTS.to_owned()],
        storage: stream::StorageType::File,
        max_age: UPLOADS_KEPT,
        allow_direct: true,
        ..Default::default()
    }
}

/// Creates `REPORTS` unless it exists, with `settings.replicas` (an
/// existing one is updated to them). Idempotent.
pub async fn ensure_reports_stream(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
) -> Result<stream::Info, Error> {
    ensure_stream(js, reports_stream(), settings).await
}

/// Creates `TICKETS`, as [`ensure_reports_stream`] does `REPORTS`.
pub async fn ensure_tickets_stream(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
) -> Result<stream::Info, Error> {
    ensure_stream(js, tickets_stream(), settings).await
}

/// Creates `UPLOADS`, as [`ensure_reports_stream`] does `REPORTS`.
pub async fn ensure_uploads_stream(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
) -> Result<stream::Info, Error> {
    ensure_stream(js, uploads_stream(), settings).await
}
