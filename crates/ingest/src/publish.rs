//! The de-duplicated publish onto `REPORTS` (the stream is
//! `civicprobe_jetstream::pipeline`'s) (used by
//! [`crate::outbox`]).

use crate::Error;
use async_nats::jetstream::{self, context::PublishAckFuture};
use civicprobe_model::nats::{MSG_ID_HEADER, REPORT_SUBMITTED};

fn unavailable(source: impl Into<crate::BoxError>) -> Error {
    Error::Unavailable {
        what: "JetStream",
        source: source.into(),
    }
}

/// Sends an encoded report on `civic.report.submitted` with
/// `Nats-Msg-Id = report_id`; the returned future resolves to JetStream's
/// acknowledgement (`ack.duplicate` when the stream already held it).
pub async fn publish_payload(
    js: &jetstream::Context,
    report_id: civicprobe_model::ReportId,
    payload: Vec<u8>,
) -> Result<PublishAckFuture, Error> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(MSG_ID_HEADER, report_id.to_string().as_str());
    js.publish_with_headers(REPORT_SUBMITTED, headers, payload.into())
        .await
        .map_err(unavailable)
}
