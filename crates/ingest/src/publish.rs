//! The `REPORTS` stream and the de-duplicated publish (used by
//! [`crate::outbox`]).

use crate::Error;
use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use civicprobe_model::nats::{
    JetStreamSettings, DUPLICATE_WINDOW_SECS, MSG_ID_HEADER, REPORTS_STREAM, REPORTS_SUBJECTS,
    REPORT_SUBMITTED,
};
use std::time::Duration;

fn unavailable(source: impl Into<crate::BoxError>) -> Error {
    Error::Unavailable {
        what: "JetStream",
        source: source.into(),
    }
}

/// Creates the `REPORTS` stream (file storage, a day-long duplicate
/// window, `settings.replicas`) unless it exists, and updates an existing
/// one to those replicas; safe to call on every start.
pub async fn ensure_reports_stream(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
) -> Result<(), Error> {
    let config = stream::Config {
        name: REPORTS_STREAM.to_owned(),
        subjects: vec![REPORTS_SUBJECTS.to_owned()],
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(DUPLICATE_WINDOW_SECS),
        ..Default::default()
    };
    civicprobe_jetstream::ensure_stream(js, config, settings)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// Sends an encoded report on `civic.report.submitted` with
/// `Nats-Msg-Id = report_id`; the returned future resolves to JetStream's
/// acknowledgement (`ack.duplicate` when the stream already held it).
pub async fn publish_payload(
    js: &jetstream::Context,
    report_id: &str,
    payload: Vec<u8>,
) -> Result<PublishAckFuture, Error> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(MSG_ID_HEADER, report_id);
    js.publish_with_headers(REPORT_SUBMITTED, headers, payload.into())
        .await
        .map_err(unavailable)
}
