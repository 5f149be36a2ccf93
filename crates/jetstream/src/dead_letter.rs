//! Dead letters: a message its handler rejected
//! [`JetStreamSettings::max_deliveries`] times is published, unchanged, on
//! `civic.dead.<consumer>` in the `DEAD_LETTERS` stream with headers saying
//! where it came from and why ([`dead_letter_header`]), then terminated.
//!
//! Only failures that belong to the message count ([`Rejections::reject`]:
//! it does not decode, the handler refuses it). An outage (database down,
//! a NATS publish failing) is the handler's `nak` with back-off and never
//! reaches this module, so an outage never dead-letters anything. The
//! count is kept per stream sequence in this process: a restart or
//! another instance starts counting again, which only delays a dead
//! letter. If the dead letter cannot be published, the message is nak'ed,
//! not terminated: it is never lost.

use crate::{Error, JetStreamSettings};
use async_nats::{
    jetstream::{self, stream, AckKind},
    HeaderMap,
};
use civicprobe_model::nats::{
    dead_letter_header as header, dead_letter_subject, DEAD_LETTERS_STREAM, DEAD_LETTER_SUBJECTS,
    DUPLICATE_WINDOW_SECS, MSG_ID_HEADER,
};
use serde::Serialize;
use std::{collections::HashMap, sync::Mutex, time::Duration};

/// The counter of dead-lettered messages, labelled by `consumer`.
pub const DEAD_LETTERS_TOTAL: &str = "civicprobe_dead_letters_total";
/// How long dead letters are kept: long enough for a supervisor's look.
const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// The redelivery delay after a rejection, per rejection so far: a
/// message that arrived before what it refers to gets a few seconds.
const REJECT_DELAY_STEP: Duration = Duration::from_millis(500);
/// Rejection counts kept at most; beyond, the counts start again (a
/// flood of bad messages then takes a little longer to dead-letter).
const MAX_TRACKED: usize = 10_000;
/// Longest error text kept in a header.
const MAX_ERROR_LEN: usize = 500;

/// Creates the `DEAD_LETTERS` stream (or updates its replicas).
pub async fn ensure_dead_letters(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
) -> Result<(), Error> {
    let config = stream::Config {
        name: DEAD_LETTERS_STREAM.to_owned(),
        subjects: vec![DEAD_LETTER_SUBJECTS.to_owned()],
        storage: stream::StorageType::File,
        max_age: MAX_AGE,
        duplicate_window: Duration::from_secs(DUPLICATE_WINDOW_SECS),
        ..Default::default()
    };
    crate::ensure_stream(js, config, settings).await.map(|_| ())
}

/// One durable consumer's rejection counts and its way to the dead
/// letters.
#[derive(Debug)]
pub struct Rejections {
    /// Where dead letters are published.
    js: jetstream::Context,
    /// The consumer's name, the dead-letter subject's last token.
    consumer: &'static str,
    /// Rejections before the dead letter.
    max: u32,
    /// Rejections so far, by the message's stream sequence.
    counts: Mutex<HashMap<u64, u32>>,
}

/// What [`Rejections::reject`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// Nak'ed for another try.
    Retried,
    /// Published to `DEAD_LETTERS` and terminated.
    DeadLettered,
    /// The dead letter could not be published: nak'ed, tried again later.
    Unpublished,
}

impl Rejections {
    /// Rejections of `consumer`'s messages, dead-lettered after
    /// `settings.max_deliveries`.
    pub fn new(
        js: jetstream::Context,
        consumer: &'static str,
        settings: &JetStreamSettings,
    ) -> Self {
        Self {
            js,
            consumer,
            max: settings.max_deliveries.max(1),
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// The message is done with (acked): forget its count.
    pub fn forget(&self, message: &jetstream::Message) {
        if let Some(seq) = sequence(message) {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            if !counts.is_empty() {
                counts.remove(&seq);
            }
        }
    }

    /// The handler refused `message` for a reason of its own (`error`):
    /// nak it for another try, or once it has been refused `max` times,
    /// dead-letter and terminate it.
    pub async fn reject(&self, message: &jetstream::Message, error: &str) -> Rejected {
        let seq = sequence(message).unwrap_or(0);
        let strikes = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            if counts.len() >= MAX_TRACKED {
                counts.clear();
            }
            let n = counts.entry(seq).or_insert(0);
            *n += 1;
            *n
        };
        if strikes < self.max {
            tracing::warn!(
                consumer = self.consumer,
                seq,
                strikes,
                error,
                "message rejected; retried"
            );
            nak(message, REJECT_DELAY_STEP * strikes).await;
            return Rejected::Retried;
        }
        if let Err(e) = self.publish(message, error).await {
            tracing::error!(consumer = self.consumer, seq, error = %e, "dead letter not published; retried");
            nak(message, REJECT_DELAY_STEP * strikes).await;
            return Rejected::Unpublished;
        }
        self.forget(message);
        tracing::error!(
            consumer = self.consumer,
            seq,
            strikes,
            error,
            "message dead-lettered"
        );
        metrics::counter!(DEAD_LETTERS_TOTAL, "consumer" => self.consumer).increment(1);
        if let Err(e) = message.ack_with(AckKind::Term).await {
            tracing::warn!(error = %e, "terminating a dead-lettered message failed");
        }
        Rejected::DeadLettered
    }

    /// Publishes the dead letter and waits for JetStream's ack.
    async fn publish(
        &self,
        message: &jetstream::Message,
        error: &str,
    ) -> Result<(), crate::BoxError> {
        let info = message.info()?;
        let (stream, seq, delivered) =
            (info.stream.to_owned(), info.stream_sequence, info.delivered);
        let mut headers = HeaderMap::new();
        headers.insert(
            MSG_ID_HEADER,
            format!("dead-{stream}-{seq}-{}", self.consumer),
        );
        headers.insert(header::STREAM, stream.as_str());
        headers.insert(header::SUBJECT, message.subject.as_str());
        headers.insert(header::SEQUENCE, seq.to_string());
        headers.insert(header::CONSUMER, self.consumer);
        headers.insert(header::ERROR, header_safe(error));
        headers.insert(header::DELIVERIES, delivered.to_string());
        self.js
            .publish_with_headers(
                dead_letter_subject(self.consumer),
                headers,
                message.payload.clone(),
            )
            .await?
            .await?;
        Ok(())
    }
}

/// The message's stream sequence.
fn sequence(message: &jetstream::Message) -> Option<u64> {
    message.info().ok().map(|i| i.stream_sequence)
}

async fn nak(message: &jetstream::Message, delay: Duration) {
    if let Err(e) = message.ack_with(AckKind::Nak(Some(delay))).await {
        tracing::warn!(error = %e, "nak failed; the message comes back after the ack wait");
    }
}

/// One line, bounded: a header value may hold neither CR nor LF.
fn header_safe(error: &str) -> String {
    let line: String = error
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_LEN)
        .collect();
    if line.trim().is_empty() {
        "rejected".to_owned()
    } else {
        line
    }
}

/// A dead letter as supervisors see it.
#[derive(Clone, Debug, Serialize)]
pub struct DeadLetter {
    /// Its sequence in `DEAD_LETTERS`.
    pub sequence: u64,
    /// When it was dead-lettered (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub dead_at: time::OffsetDateTime,
    /// The consumer that gave up.
    pub consumer: String,
    /// The stream it came from.
    pub stream: String,
    /// Its subject there.
    pub subject: String,
    /// Its sequence there.
    pub stream_sequence: Option<u64>,
    /// The last error.
    pub error: String,
    /// Deliveries when it was given up.
    pub deliveries: Option<u64>,
    /// The report it was about, if the payload names one.
    pub report_id: Option<String>,
    /// The ticket it was about, if the payload names one.
    pub ticket_id: Option<String>,
    /// The payload's first characters.
    pub preview: String,
}

/// The newest `limit` dead letters, newest first; an empty list when the
/// stream does not exist yet.
pub async fn list(js: &jetstream::Context, limit: usize) -> Result<Vec<DeadLetter>, Error> {
    let failed = |e: crate::BoxError| Error::nats("reading DEAD_LETTERS")(e);
    let mut stream = match js.get_stream(DEAD_LETTERS_STREAM).await {
        Ok(stream) => stream,
        Err(e)
            if matches!(e.kind(), jetstream::context::GetStreamErrorKind::JetStream(ref j)
            if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND) =>
        {
            return Ok(Vec::new())
        }
        Err(e) => return Err(failed(e.into())),
    };
    let state = stream
        .info()
        .await
        .map_err(|e| failed(e.into()))?
        .state
        .clone();
    let mut out = Vec::with_capacity(limit.min(state.messages as usize));
    let mut seq = state.last_sequence;
    while out.len() < limit && seq >= state.first_sequence && seq > 0 {
        match stream.get_raw_message(seq).await {
            Ok(raw) => out.push(from_raw(raw)),
            Err(e) if matches!(e.kind(), stream::RawMessageErrorKind::NoMessageFound) => {}
            Err(e) => return Err(failed(e.into())),
        }
        seq -= 1;
    }
    Ok(out)
}

fn from_raw(raw: jetstream::message::StreamMessage) -> DeadLetter {
    let get = |name: &str| raw.headers.get(name).map(|v| v.as_str().to_owned());
    let json: Option<serde_json::Value> = serde_json::from_slice(&raw.payload).ok();
    let id = |key: &str| {
        let json = json.as_ref()?;
        let found = json.get(key).or_else(|| json.get("report")?.get(key))?;
        found.as_str().map(str::to_owned)
    };
    DeadLetter {
        sequence: raw.sequence,
        dead_at: raw.time,
        consumer: get(header::CONSUMER).unwrap_or_default(),
        stream: get(header::STREAM).unwrap_or_default(),
        subject: get(header::SUBJECT).unwrap_or_default(),
        stream_sequence: get(header::SEQUENCE).and_then(|s| s.parse().ok()),
        error: get(header::ERROR).unwrap_or_default(),
        deliveries: get(header::DELIVERIES).and_then(|s| s.parse().ok()),
        report_id: id("report_id"),
        ticket_id: id("ticket_id"),
        preview: String::from_utf8_lossy(&raw.payload)
            .chars()
            .take(200)
            .collect(),
    }
}
