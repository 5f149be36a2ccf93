//! The one reader of `TICKETS` per process: an ordered consumer from the
//! stream's end, whose messages are decoded once and broadcast to every
//! open event stream.

use super::connection::Connection;
use super::wire::FeedEvent;
use super::EventsConfig;
use crate::{Error, Store};
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::{self, stream::Stream as JsStream};
use civicprobe_model::nats::TICKETS_STREAM;
use civicprobe_model::Principal;
use futures::StreamExt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch, Semaphore};

/// The pause before the hub re-creates its consumer after a NATS error.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// The live feed of `TICKETS`, shared by every event stream of the process.
#[derive(Clone, Debug)]
pub struct Hub {
    /// Shared by the task and every connection.
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// For replays and the stream's bounds.
    js: jetstream::Context,
    /// Authentication, and a courier's tickets.
    store: Store,
    /// Window, cap, heartbeat.
    config: EventsConfig,
    /// Every decoded message, to every connection.
    feed: broadcast::Sender<Arc<FeedEvent>>,
    /// The newest stream sequence the hub has seen (and broadcast).
    latest: AtomicU64,
    /// Whether `latest` is known: a hub made while NATS is away
    /// ([`Hub::unpositioned`]) learns the stream's end only once NATS is
    /// there, and opens no stream before (it would replay from 0).
    positioned: AtomicBool,
    /// Turns `true` on shutdown: every stream ends.
    closed: watch::Sender<bool>,
    /// One permit per open stream.
    streams: Arc<Semaphore>,
}

impl Hub {
    /// A hub positioned at the current end of `TICKETS` (which must
    /// exist): it will broadcast what is published from now on, once
    /// [`Hub::run`] runs.
    pub async fn connect(
        js: jetstream::Context,
        store: Store,
        config: EventsConfig,
    ) -> Result<Hub, Error> {
        let latest = stream_end(&js).await?;
        let hub = Hub::unpositioned(js, store, config);
        hub.position_at(latest);
        Ok(hub)
    }

    /// A hub that does not touch NATS yet (a service starting while NATS
    /// is down): [`Hub::run`] positions it at the end of `TICKETS` once it
    /// can; until then [`Hub::open`] fails (a 5xx the client retries).
    pub fn unpositioned(js: jetstream::Context, store: Store, config: EventsConfig) -> Hub {
        let (feed, _) = broadcast::channel(config.feed_capacity.max(1));
        let (closed, _) = watch::channel(false);
        let streams = Arc::new(Semaphore::new(config.max_event_streams));
        Hub {
            inner: Arc::new(Inner {
                js,
                store,
                config,
                feed,
                latest: AtomicU64::new(0),
                positioned: AtomicBool::new(false),
                closed,
                streams,
            }),
        }
    }

    fn position_at(&self, latest: u64) {
        self.inner.latest.store(latest, Ordering::Release);
        self.inner.positioned.store(true, Ordering::Release);
    }

    /// Until positioned: the end of `TICKETS`, retried while NATS or the
    /// stream is not there.
    async fn position(&self) {
        while !self.inner.positioned.load(Ordering::Acquire) {
            match stream_end(&self.inner.js).await {
                Ok(latest) => self.position_at(latest),
                Err(e) => {
                    tracing::debug!(error = %e, "event hub: TICKETS not reachable yet; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                }
            }
        }
    }

    /// Reads `TICKETS` and broadcasts each message until `shutdown`
    /// completes; then every open event stream ends. NATS errors are
    /// logged and the consumer re-created after the last message seen.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
        tokio::pin!(shutdown);
        tokio::select! {
            () = &mut shutdown => {}
            () = self.follow() => {}
        }
        self.inner.closed.send_replace(true);
        Ok(())
    }

    /// Never returns: consumes from after [`Hub::latest`], forever.
    async fn follow(&self) {
        self.position().await;
        loop {
            let from = self.latest() + 1;
            let mut messages = match ordered_from(&self.inner.js, from).await {
                Ok(messages) => messages,
                Err(e) => {
                    tracing::warn!(error = %e, "event hub: subscribing to TICKETS failed; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                    continue;
                }
            };
            while let Some(next) = messages.next().await {
                match next {
                    Ok(msg) => self.publish(&msg),
                    Err(e) => {
                        tracing::warn!(error = %e, "event hub: TICKETS consumer failed; re-creating");
                        break;
                    }
                }
            }
        }
    }

    /// Decodes one message and hands it to every connection.
    fn publish(&self, msg: &jetstream::Message) {
        let Ok(info) = msg.info() else {
            tracing::warn!(subject = %msg.subject, "event hub: a message without stream info");
            return;
        };
        let seq = info.stream_sequence;
        if seq <= self.latest() {
            return;
        }
        self.inner.latest.store(seq, Ordering::Release);
        let Some(event) = FeedEvent::decode(seq, &msg.subject, &msg.payload) else {
            return;
        };
        metrics::counter!("civicprobe_tracker_event_hub_messages_total").increment(1);
        // No receiver (no open stream) is not an error.
        let _ = self.inner.feed.send(Arc::new(event));
    }

    /// The newest stream sequence seen.
    pub fn latest(&self) -> u64 {
        self.inner.latest.load(Ordering::Acquire)
    }

    /// A stream for `who` (resuming after `resume_from`), or `None` when
    /// `--max-event-streams` are open.
    pub async fn open(
        &self,
        who: Principal,
        resume_from: Option<u64>,
    ) -> Result<Option<Connection>, Error> {
        if !self.inner.positioned.load(Ordering::Acquire) {
            return Err(Error::nats("the live event feed has not reached NATS yet"));
        }
        let Ok(permit) = self.inner.streams.clone().try_acquire_owned() else {
            return Ok(None);
        };
        Connection::open(self.clone(), who, resume_from, permit)
            .await
            .map(Some)
    }

    /// The live feed, from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<FeedEvent>> {
        self.inner.feed.subscribe()
    }

    /// `true` once the hub has stopped.
    pub(crate) fn closed(&self) -> watch::Receiver<bool> {
        self.inner.closed.subscribe()
    }

    /// The tracker's store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The settings.
    pub fn config(&self) -> &EventsConfig {
        &self.inner.config
    }

    /// The JetStream context, for replays.
    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.inner.js
    }
}

/// The `TICKETS` stream.
pub(crate) async fn tickets(js: &jetstream::Context) -> Result<JsStream, Error> {
    js.get_stream(TICKETS_STREAM).await.map_err(Error::nats)
}

/// The last sequence `TICKETS` holds now (0 when empty).
async fn stream_end(js: &jetstream::Context) -> Result<u64, Error> {
    let mut stream = tickets(js).await?;
    Ok(stream
        .info()
        .await
        .map_err(Error::nats)?
        .state
        .last_sequence)
}

/// Every message of `TICKETS` from sequence `from` on, in order.
pub(crate) async fn ordered_from(
    js: &jetstream::Context,
    from: u64,
) -> Result<jetstream::consumer::pull::Ordered, Error> {
    let consumer = tickets(js)
        .await?
        .create_consumer(OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from.max(1),
            },
            description: Some("civicprobe tracker: live events".into()),
            ..Default::default()
        })
        .await
        .map_err(Error::nats)?;
    consumer.messages().await.map_err(Error::nats)
}
