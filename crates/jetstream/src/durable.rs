//! Durable pull consumers: made with the chosen ack wait, driven one
//! message at a time with progress heartbeats, and left cleanly.
//!
//! # The numbers
//!
//! - Ack wait [`ACK_WAIT`] (5 s): a message held by an instance that
//!   crashed (kill -9, a lost machine) is redelivered to another within
//!   5 s, not the 30 s it used to take.
//! - Progress every [`PROGRESS_EVERY`] (1 s) while a handler works on a
//!   message, so that slow work (a database stall) is not redelivered to
//!   a second instance while the first still works on it.
//! - At most [`BATCH`] (32) messages fetched ahead: every fetched message's
//!   ack wait runs while it waits its turn, and 32 take milliseconds.
//! - No server-side `max_deliver` (-1): the server never drops a message
//!   on its own, since one it stops delivering without our dead-lettering
//!   it would be lost to the pipeline. Deciding when to give up is ours
//!   ([`crate::Rejections`]), and outages never count.
//! - On shutdown, the messages fetched but not handed to the handler are
//!   nak'ed (after the subscription is dropped, so they cannot come back
//!   here), so that another instance gets them at once.

use crate::Error;
use async_nats::jetstream::{
    self,
    consumer::{pull, PullConsumer},
    stream::Stream,
    AckKind,
};
use civicprobe_model::nats::{ACK_WAIT_SECS, PROGRESS_EVERY_MS};
use futures::{FutureExt, StreamExt};
use std::{future::Future, pin::Pin, time::Duration};

/// How long JetStream waits for an ack before redelivering.
pub const ACK_WAIT: Duration = Duration::from_secs(ACK_WAIT_SECS);
/// How often a slow message gets a progress heartbeat.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(PROGRESS_EVERY_MS);
/// Messages fetched ahead of the handler at most.
pub const BATCH: usize = 32;
/// No server-side delivery limit (see the module docs).
pub const UNLIMITED_DELIVERIES: i64 = -1;

/// First pause after an error; doubled up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest pause after repeated errors.
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// The redelivery delay of a held message nak'ed on shutdown: at once for
/// a waiting instance, yet after this process's unsubscribe has reached
/// the server, so that it goes to another instance.
const HELD_NAK_DELAY: Duration = Duration::from_millis(200);
/// How long shutdown waits for messages already on their way to this
/// instance before it naks what it holds.
const HELD_GRACE: Duration = Duration::from_millis(50);

/// The durable consumer `config` names on `stream`, with [`ACK_WAIT`] and
/// no server-side delivery limit. A missing one is created; an existing
/// one with another ack wait or delivery limit (made by an older version)
/// is updated, and that is logged.
pub async fn ensure_durable(stream: &Stream, config: pull::Config) -> Result<PullConsumer, Error> {
    let name = config.durable_name.clone().unwrap_or_default();
    let wanted = pull::Config {
        ack_wait: ACK_WAIT,
        max_deliver: UNLIMITED_DELIVERIES,
        ..config
    };
    let failed = |what: &str| Error::nats(format!("{what} consumer {name}"));
    match stream.consumer_info(&name).await {
        Ok(info) if info.config.ack_wait == ACK_WAIT && info.config.max_deliver <= 0 => {
            stream.get_consumer(&name).await.map_err(failed("opening"))
        }
        Ok(info) => {
            let consumer = stream
                .update_consumer(wanted)
                .await
                .map_err(|e| failed("updating")(e.into()))?;
            tracing::info!(
                consumer = %name,
                ack_wait_from = ?info.config.ack_wait,
                ack_wait_to = ?ACK_WAIT,
                max_deliver_from = info.config.max_deliver,
                "consumer updated to the chosen ack wait and delivery limit"
            );
            Ok(consumer)
        }
        Err(e) if is_not_found(&e) => stream
            .create_consumer(wanted)
            .await
            .map_err(|e| failed("creating")(e.into())),
        Err(e) => Err(failed("looking up")(e.into())),
    }
}

fn is_not_found(e: &jetstream::context::ConsumerInfoError) -> bool {
    use jetstream::context::ConsumerInfoErrorKind as Kind;
    match e.kind() {
        Kind::NotFound => true,
        Kind::JetStream(inner) => inner.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND,
        _ => false,
    }
}

/// The consumer's messages, at most [`BATCH`] fetched ahead.
pub async fn subscribe(consumer: &PullConsumer) -> Result<pull::Stream, Error> {
    consumer
        .stream()
        .max_messages_per_batch(BATCH)
        .messages()
        .await
        .map_err(|e| Error::nats("pulling messages")(e.into()))
}

/// What the handler asks of the loop after a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Go on with the next message.
    Next,
    /// Something the message needs is away (NATS publish, database): pause,
    /// longer each time in a row, before the next.
    Back,
}

/// Why [`drive`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `shutdown` resolved; held messages were nak'ed.
    Shutdown,
    /// The message stream ended; subscribe again.
    Ended,
}

/// Hands each message of `messages` to `handle`, one at a time, with a
/// progress heartbeat every [`PROGRESS_EVERY`] while it works, until
/// `shutdown` (then the messages held here are nak'ed) or the stream's
/// end. A message being handled when shutdown comes is finished first.
/// `name` labels log lines.
pub async fn drive<F, H, Fut>(
    name: &str,
    mut messages: pull::Stream,
    shutdown: &mut Pin<&mut F>,
    mut handle: H,
) -> Stop
where
    F: Future<Output = ()>,
    H: FnMut(jetstream::Message) -> Fut,
    Fut: Future<Output = Pace>,
{
    let mut backoff = Backoff::default();
    loop {
        let next = tokio::select! {
            biased;
            () = shutdown.as_mut() => {
                nak_held(name, messages).await;
                return Stop::Shutdown;
            }
            next = messages.next() => next,
        };
        let pace = match next {
            None => return Stop::Ended,
            Some(Ok(message)) => with_progress(&message.clone(), handle(message)).await,
            Some(Err(e)) => {
                tracing::warn!(consumer = name, error = %e, "error while pulling messages");
                Pace::Back
            }
        };
        if pace == Pace::Next {
            backoff.reset();
            continue;
        }
        let pause = backoff.step();
        tokio::select! {
            biased;
            () = shutdown.as_mut() => {
                nak_held(name, messages).await;
                return Stop::Shutdown;
            }
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Runs `work`, telling JetStream every [`PROGRESS_EVERY`] that `message`
/// is still being worked on.
pub async fn with_progress<T>(message: &jetstream::Message, work: impl Future<Output = T>) -> T {
    tokio::pin!(work);
    let start = tokio::time::Instant::now() + PROGRESS_EVERY;
    let mut beat = tokio::time::interval_at(start, PROGRESS_EVERY);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = beat.tick() => {
                if let Err(e) = message.ack_with(AckKind::Progress).await {
                    tracing::debug!(error = %e, "progress heartbeat failed");
                }
            }
        }
    }
}

/// Takes the messages already delivered here, drops the subscription (so
/// none comes back here), then naks them for another instance.
async fn nak_held(name: &str, mut messages: pull::Stream) {
    let mut held = Vec::new();
    while held.len() < BATCH * 2 {
        let next = match messages.next().now_or_never() {
            Some(next) => next,
            None => match tokio::time::timeout(HELD_GRACE, messages.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
        };
        match next {
            Some(Ok(message)) => held.push(message),
            Some(Err(_)) | None => break,
        }
    }
    drop(messages);
    let count = held.len();
    if let Some(first) = held.first() {
        // The unsubscribe goes out before the naks, so that no pull request
        // of ours is left for JetStream to redeliver them to.
        let _ = first.context.client().flush().await;
    }
    for message in held {
        if let Err(e) = message.ack_with(AckKind::Nak(Some(HELD_NAK_DELAY))).await {
            tracing::debug!(consumer = name, error = %e, "nak on shutdown failed");
        }
    }
    if count > 0 {
        tracing::info!(
            consumer = name,
            count,
            "stopping: nak'ed the messages held, for another instance"
        );
    }
}

/// Exponential backoff between [`BACKOFF_MIN`] and [`BACKOFF_MAX`] (also
/// the router's, between its subscriptions).
#[derive(Debug, Default)]
pub struct Backoff {
    /// The next pause; zero before the first.
    current: Duration,
}

impl Backoff {
    /// The pause to take now; doubles the next one.
    pub fn step(&mut self) -> Duration {
        self.current = (self.current * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
        self.current
    }

    /// Back to the shortest pause after a success.
    pub fn reset(&mut self) {
        self.current = Duration::ZERO;
    }
}
