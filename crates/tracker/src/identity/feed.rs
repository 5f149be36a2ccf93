//! The `TOKENS` stream: how every ingest learns tokens, sessions and their
//! scopes without the tracker's database ([`civicprobe_model::credential`]).
//!
//! The feed is a reconciler rather than an outbox. Credentials change in
//! three ways that no single code path sees: the admin commands (`civicprobe
//! token|courier|office|supervisor …`) write the database directly, with
//! no tracker running; the tracker's HTTP signs in, signs out and rotates;
//! and time alone kills tokens and sessions (expiry, idle limit). So every
//! [`PERIOD`] each tracker reads the live credentials
//! ([`Store::live_credentials`], one indexed query) and publishes the
//! difference from what the stream holds: a grant for each new or changed
//! credential, a tombstone for each that died. A revocation reaches every
//! ingest within about a second.
//!
//! Recovery is the same step: at start (and whenever the stream's message
//! count disagrees with what this tracker believes it holds, e.g. the
//! stream was lost and recreated) the tracker reads the stream's current
//! state back and republishes what differs; tombstones for credentials
//! that died while no tracker ran included. Several trackers may run the
//! feed: each message's `Nats-Msg-Id` is the credential hash and a digest
//! of its content, so the same state published twice is stored once.
//!
//! A tombstone tells the ingests following the stream that a credential
//! died. An ingest that starts (or follows again) takes the stream's
//! whole current state and drops whatever it does not hold, so it needs
//! no tombstone: each is purged after [`TOMBSTONE_KEPT`]. Without that,
//! every sign-out and expired session would stay on the stream for ever,
//! and every ingest start would read them all. A tombstone is not purged
//! while no credential is live: an empty stream reads as lost, and an
//! ingest keeps its local copy then.

use crate::{Error, Store};
use async_nats::jetstream::{self, consumer::pull, consumer::DeliverPolicy, stream};
use civicprobe_model::nats::{token_subject, MSG_ID_HEADER, TOKENS_STREAM, TOKEN_SUBJECTS};
use civicprobe_model::{CredentialGrant, CredentialState, Sha256};
use futures::StreamExt;
use sha2::Digest;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// How often the live credentials are compared with the stream.
pub const PERIOD: Duration = Duration::from_secs(1);
/// Back-off after a NATS or database failure.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long a tombstone stays on the stream: far longer than any
/// following ingest takes to apply it.
pub const TOMBSTONE_KEPT: Duration = Duration::from_secs(24 * 3600);
/// How often tombstones older than [`TOMBSTONE_KEPT`] are looked for.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// What the stream holds, by credential hash.
pub type Published = HashMap<Sha256, Held>;

/// One credential's state on the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    /// The grant; `None` for a tombstone.
    pub grant: Option<CredentialGrant>,
    /// When the stream stored it (this tracker's clock for what it
    /// published itself).
    pub since: time::OffsetDateTime,
}

/// Creates the `TOKENS` stream if it is missing: one subject per
/// credential hash, the last message of each kept, file storage,
/// `replicas` copies, direct gets allowed (ingest may look one up).
pub async fn ensure_tokens_stream(
    js: &jetstream::Context,
    replicas: usize,
) -> Result<stream::Stream, Error> {
    let config = stream::Config {
        name: TOKENS_STREAM.to_owned(),
        subjects: vec![TOKEN_SUBJECTS.to_owned()],
        max_messages_per_subject: 1,
        storage: stream::StorageType::File,
        allow_direct: true,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    let settings = civicprobe_model::nats::JetStreamSettings {
        replicas: replicas.max(1),
        ..Default::default()
    };
    civicprobe_jetstream::ensure_stream(js, config, &settings)
        .await
        .map_err(Error::nats)?;
    js.get_stream(TOKENS_STREAM).await.map_err(Error::nats)
}

/// Publishes the tracker's credentials on `TOKENS` until `shutdown`.
/// Creates the stream (`replicas` copies) if it is missing.
pub async fn run_token_feed(
    js: jetstream::Context,
    store: Store,
    replicas: usize,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            result = feed(&js, &store, replicas) => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "token feed: interrupted; will retry");
                }
            }
        }
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(RETRY_DELAY) => {}
        }
    }
}

/// Reconciles forever; returns only on an error.
async fn feed(js: &jetstream::Context, store: &Store, replicas: usize) -> Result<(), Error> {
    let mut stream = ensure_tokens_stream(js, replicas).await?;
    let mut published = read_back(&stream).await?;
    tracing::info!(
        credentials = published.len(),
        "token feed: stream read back"
    );
    let mut purged_at = tokio::time::Instant::now();
    loop {
        if purged_at.elapsed() >= PURGE_EVERY {
            purge_tombstones(&stream, &mut published, TOMBSTONE_KEPT).await?;
            purged_at = tokio::time::Instant::now();
        }
        let held = stream.info().await.map_err(Error::nats)?.state.messages;
        if usize::try_from(held).ok() != Some(published.len()) {
            tracing::info!(
                held,
                believed = published.len(),
                "token feed: re-reading the stream"
            );
            published = read_back(&stream).await?;
        }
        publish_changes(js, store, &mut published).await?;
        tokio::time::sleep(PERIOD).await;
    }
}

/// One round: grants for new or changed credentials, tombstones for dead
/// ones. Returns how many messages were published.
pub async fn publish_changes(
    js: &jetstream::Context,
    store: &Store,
    published: &mut Published,
) -> Result<usize, Error> {
    let live = store.live_credentials().await?;
    let mut sent = 0;
    for (hash, grant) in &live {
        if published.get(hash).and_then(|held| held.grant.as_ref()) != Some(grant) {
            publish(js, *hash, Some(grant.clone())).await?;
            published.insert(*hash, held_now(Some(grant.clone())));
            sent += 1;
        }
    }
    let dead: Vec<Sha256> = published
        .iter()
        .filter(|(hash, held)| held.grant.is_some() && !live.contains_key(*hash))
        .map(|(hash, _)| *hash)
        .collect();
    for hash in dead {
        publish(js, hash, None).await?;
        published.insert(hash, held_now(None));
        sent += 1;
    }
    if sent > 0 {
        metrics::counter!("civicprobe_tracker_token_feed_published_total").increment(sent as u64);
        tracing::debug!(sent, "token feed: published");
    }
    Ok(sent)
}

/// Purges the tombstones the stream has held for longer than `older_than`
/// (from `published` too), unless no live credential would remain: an
/// empty stream reads as lost. Returns how many were purged. Another
/// tracker that believed them held re-reads the stream (its count no
/// longer matches).
pub async fn purge_tombstones(
    stream: &stream::Stream,
    published: &mut Published,
    older_than: Duration,
) -> Result<usize, Error> {
    if !published.values().any(|held| held.grant.is_some()) {
        return Ok(0);
    }
    let before = time::OffsetDateTime::now_utc() - older_than;
    let old: Vec<Sha256> = published
        .iter()
        .filter(|(_, held)| held.grant.is_none() && held.since <= before)
        .map(|(hash, _)| *hash)
        .collect();
    for hash in &old {
        stream
            .purge()
            .filter(token_subject(*hash))
            .await
            .map_err(Error::nats)?;
        published.remove(hash);
    }
    if !old.is_empty() {
        metrics::counter!("civicprobe_tracker_token_feed_purged_total").increment(old.len() as u64);
        tracing::info!(purged = old.len(), "token feed: old tombstones purged");
    }
    Ok(old.len())
}

fn held_now(grant: Option<CredentialGrant>) -> Held {
    Held {
        grant,
        since: time::OffsetDateTime::now_utc(),
    }
}

/// Publishes one credential's state and waits for the ack.
async fn publish(
    js: &jetstream::Context,
    hash: Sha256,
    grant: Option<CredentialGrant>,
) -> Result<(), Error> {
    let state = CredentialState { hash, grant };
    let payload = serde_json::to_vec(&state)?;
    let digest = hex::encode(&sha2::Sha256::digest(&payload)[..12]);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(MSG_ID_HEADER, format!("{hash}.{digest}").as_str());
    js.publish_with_headers(token_subject(hash), headers, payload.into())
        .await
        .map_err(Error::nats)?
        .await
        .map_err(Error::nats)?;
    Ok(())
}

/// The stream's current state: the last message of every subject.
pub async fn read_back(stream: &stream::Stream) -> Result<Published, Error> {
    let mut state = Published::new();
    let mut consumer = stream
        .create_consumer(pull::OrderedConfig {
            // One subject (NATS 2.9 ignores `filter_subjects`).
            filter_subject: TOKEN_SUBJECTS.to_owned(),
            deliver_policy: DeliverPolicy::LastPerSubject,
            ..Default::default()
        })
        .await
        .map_err(Error::nats)?;
    if consumer.info().await.map_err(Error::nats)?.num_pending == 0 {
        return Ok(state);
    }
    let mut messages = consumer.messages().await.map_err(Error::nats)?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(Error::nats)?;
        let info = message.info().map_err(Error::nats)?;
        let (since, pending) = (info.published, info.pending);
        if let Ok(cs) = serde_json::from_slice::<CredentialState>(&message.payload) {
            state.insert(
                cs.hash,
                Held {
                    grant: cs.grant,
                    since,
                },
            );
        }
        if pending == 0 {
            break;
        }
    }
    Ok(state)
}
