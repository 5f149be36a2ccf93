//! The `ANCHORS` stream: signed chain heads, published by the tracker
//! every interval ([`run_anchor`]) and on demand ([`publish_current`]),
//! read back by `verify` ([`latest`]).

use super::{AnchorConfig, SignedHead};
use crate::{Error, Store};
use async_nats::jetstream::{self, stream};
use civicprobe_model::nats::{JetStreamSettings, ANCHORS_STREAM, ANCHOR_SUBJECT, MSG_ID_HEADER};
use ed25519_dalek::SigningKey;
use sqlx::Row;
use std::future::Future;
use std::time::Duration;

/// Back-off after a NATS or database failure.
const RETRY_DELAY: Duration = Duration::from_secs(5);

/// Creates the `ANCHORS` stream if it is missing: every head kept, file
/// storage, no deletes or purges, the configured replicas.
pub async fn ensure_anchors_stream(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
) -> Result<stream::Stream, Error> {
    let config = stream::Config {
        name: ANCHORS_STREAM.to_owned(),
        subjects: vec![ANCHOR_SUBJECT.to_owned()],
        storage: stream::StorageType::File,
        deny_delete: true,
        deny_purge: true,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    civicprobe_jetstream::ensure_stream(js, config, settings)
        .await
        .map_err(Error::nats)?;
    js.get_stream(ANCHORS_STREAM).await.map_err(Error::nats)
}

/// Creates the `ANCHORS` stream with `settings` only when it is missing
/// (an existing one keeps its replicas: for one-off commands).
pub async fn ensure_if_missing(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
) -> Result<(), Error> {
    if js.get_stream(ANCHORS_STREAM).await.is_err() {
        ensure_anchors_stream(js, settings).await?;
    }
    Ok(())
}

impl Store {
    /// The chain's head as stored: the last row's place and hash.
    pub async fn chain_head(&self) -> Result<(i64, String), Error> {
        let row = sqlx::query("SELECT last_seq, last_hash FROM event_chain WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// The current head, signed with `key` now.
    pub async fn signed_head(&self, key: &SigningKey) -> Result<SignedHead, Error> {
        let (seq, hash) = self.chain_head().await?;
        let now = crate::time_ms::to_ms(self.now());
        Ok(SignedHead::sign(key, seq, &hash, now))
    }
}

/// Publishes `head` on `ANCHORS` and waits for the server's ack. The
/// message id is the head itself, so the same head twice is stored once.
pub async fn publish(js: &jetstream::Context, head: &SignedHead) -> Result<(), Error> {
    let mut headers = async_nats::HeaderMap::new();
    let id = format!("{}-{}", head.chain_seq, head.hash);
    headers.insert(MSG_ID_HEADER, id.as_str());
    let payload = serde_json::to_vec(head)?;
    js.publish_with_headers(ANCHOR_SUBJECT, headers, payload.into())
        .await
        .map_err(Error::nats)?
        .await
        .map_err(Error::nats)?;
    metrics::counter!("civicprobe_tracker_anchors_published_total").increment(1);
    metrics::gauge!("civicprobe_tracker_anchored_chain_seq").set(head.chain_seq as f64);
    Ok(())
}

/// Signs the current head, publishes it (creating the stream if needed)
/// and returns it.
pub async fn publish_current(
    js: &jetstream::Context,
    store: &Store,
    key: &SigningKey,
    settings: &JetStreamSettings,
) -> Result<SignedHead, Error> {
    ensure_anchors_stream(js, settings).await?;
    let head = store.signed_head(key).await?;
    publish(js, &head).await?;
    tracing::info!(
        chain_seq = head.chain_seq,
        hash = %head.hash,
        "anchor: chain head published"
    );
    Ok(head)
}

/// The latest head on `ANCHORS`, or `None` when the stream is missing or
/// holds none.
pub async fn latest(js: &jetstream::Context) -> Result<Option<SignedHead>, Error> {
    use async_nats::jetstream::context::GetStreamErrorKind;
    use async_nats::jetstream::stream::LastRawMessageErrorKind;
    let stream = match js.get_stream(ANCHORS_STREAM).await {
        Ok(stream) => stream,
        Err(e) => {
            if let GetStreamErrorKind::JetStream(j) = e.kind() {
                if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND {
                    return Ok(None);
                }
            }
            return Err(Error::nats(e));
        }
    };
    match stream.get_last_raw_message_by_subject(ANCHOR_SUBJECT).await {
        Ok(message) => Ok(Some(serde_json::from_slice(&message.payload)?)),
        Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
        Err(e) => Err(Error::nats(e)),
    }
}

/// Publishes the signed head every `config.anchor_interval_secs` until
/// `shutdown`; does nothing without a key. A failed round is logged and
/// retried: the next head covers everything before it.
pub async fn run_anchor(
    js: jetstream::Context,
    store: Store,
    config: AnchorConfig,
    settings: JetStreamSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let Some(path) = &config.anchor_key else {
        tracing::warn!("anchor: no --anchor-key; the event chain is not anchored");
        return Ok(());
    };
    let key = super::load_signing_key(path)?;
    let every = Duration::from_secs(config.anchor_interval_secs);
    tokio::pin!(shutdown);
    loop {
        let pause = match publish_current(&js, &store, &key, &settings).await {
            Ok(_) => every,
            Err(e) => {
                metrics::counter!("civicprobe_tracker_anchor_failures_total").increment(1);
                tracing::warn!(error = %e, "anchor: publishing the head failed; will retry");
                RETRY_DELAY.min(every)
            }
        };
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(pause) => {}
        }
    }
}
