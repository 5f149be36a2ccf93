//! Keeps an [`OpenTickets`] index current from JetStream: one ordered
//! consumer on `TICKETS` (every subject; `unrouted` ones are skipped) and
//! one on `ROUTER_CLAIMS`, both replayed from the first message, resumed
//! after the last applied one when they have to be recreated.

use async_nats::jetstream::{self, consumer::pull, consumer::DeliverPolicy};
use civicprobe_model::{nats, TicketChanged, TicketMerged, TicketOpened};
use futures::StreamExt;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::{claim::CLAIMS_STREAM, OpenTicket, OpenTickets};
use crate::Error;

/// The two streams the index is fed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// `TICKETS`.
    Tickets,
    /// `ROUTER_CLAIMS`.
    Claims,
}

impl Feed {
    /// The stream's name.
    fn stream(self) -> &'static str {
        match self {
            Feed::Tickets => nats::TICKETS_STREAM,
            Feed::Claims => CLAIMS_STREAM,
        }
    }

    /// Slot in [`DedupState::applied`].
    fn slot(self) -> usize {
        match self {
            Feed::Tickets => 0,
            Feed::Claims => 1,
        }
    }
}

/// The index and how far each feed has got.
#[derive(Debug, Default)]
pub struct DedupState {
    /// The open tickets.
    pub index: OpenTickets,
    /// Last stream sequence applied, per [`Feed`].
    pub applied: [u64; 2],
    /// Last claim sequence seen per claim subject.
    pub last_claim: HashMap<String, u64>,
    /// Reports settled since the index last forgot old tickets.
    pub settled_since_prune: u32,
}

/// The shared state, fed by the feed tasks, read by the router.
#[derive(Clone, Debug, Default)]
pub struct Shared(Arc<Mutex<DedupState>>);

impl Shared {
    /// Locks the state (a poisoned lock is still usable: every update is
    /// a single insert or flag).
    pub fn lock(&self) -> MutexGuard<'_, DedupState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `feed` has applied `sequence`; `false` after `timeout`.
    pub async fn wait_for(&self, feed: Feed, sequence: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.lock().applied[feed.slot()] >= sequence {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The running feed tasks; dropping this stops them.
#[derive(Debug)]
pub struct Feeds {
    /// The two tasks.
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Feeds {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts both feeds and waits until each has replayed its stream as it
/// was when called (so a restarted router knows every open ticket).
pub async fn start(
    js: &jetstream::Context,
    state: &Shared,
    catch_up: Duration,
) -> Result<Feeds, Error> {
    let mut targets = Vec::new();
    for feed in [Feed::Tickets, Feed::Claims] {
        let mut stream = js
            .get_stream(feed.stream())
            .await
            .map_err(Error::nats("getting a stream to replay"))?;
        let info = stream
            .info()
            .await
            .map_err(Error::nats("reading a stream's state"))?;
        targets.push((feed, info.state.last_sequence));
    }
    let tasks = targets
        .iter()
        .map(|(feed, _)| tokio::spawn(follow(js.clone(), state.clone(), *feed)))
        .collect();
    let feeds = Feeds { tasks };
    for (feed, target) in targets {
        if !state.wait_for(feed, target, catch_up).await {
            return Err(Error::Dedup(format!(
                "replaying {} did not reach sequence {target} in {catch_up:?}",
                feed.stream()
            )));
        }
    }
    Ok(feeds)
}

/// Applies one stream forever, recreating the ordered consumer after
/// errors from the last applied sequence.
async fn follow(js: jetstream::Context, state: Shared, feed: Feed) {
    loop {
        if let Err(e) = follow_once(&js, &state, feed).await {
            warn!(error = %e, stream = feed.stream(), "duplicate index feed failed; resuming");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One ordered consumer's life.
async fn follow_once(js: &jetstream::Context, state: &Shared, feed: Feed) -> Result<(), Error> {
    let next = state.lock().applied[feed.slot()] + 1;
    let stream = js
        .get_stream(feed.stream())
        .await
        .map_err(Error::nats("getting a stream to follow"))?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy: if next <= 1 {
                DeliverPolicy::All
            } else {
                DeliverPolicy::ByStartSequence {
                    start_sequence: next,
                }
            },
            ..Default::default()
        })
        .await
        .map_err(Error::nats("creating an ordered consumer"))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(Error::nats("following a stream"))?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(Error::nats("reading a followed stream"))?;
        let Ok(info) = message.info() else { continue };
        let sequence = info.stream_sequence;
        let mut s = state.lock();
        if sequence <= s.applied[feed.slot()] {
            continue;
        }
        apply(&mut s, feed, &message.subject, &message.payload, sequence);
        s.applied[feed.slot()] = sequence;
    }
    Ok(())
}

/// Applies one message to the index; undecodable ones are skipped.
pub fn apply(s: &mut DedupState, feed: Feed, subject: &str, payload: &[u8], sequence: u64) {
    match feed {
        Feed::Claims => {
            if let Ok(t) = serde_json::from_slice::<OpenTicket>(payload) {
                s.index.open(t);
            }
            let last = s.last_claim.entry(subject.to_owned()).or_default();
            *last = (*last).max(sequence);
        }
        Feed::Tickets => {
            let kind = subject.rsplit('.').next().unwrap_or_default();
            let ok = match kind {
                _ if !civicprobe_model::nats::is_ticket_subject(subject) => true,
                "opened" => serde_json::from_slice::<TicketOpened>(payload)
                    .map(|e| s.index.opened(&e))
                    .is_ok(),
                "merged" => serde_json::from_slice::<TicketMerged>(payload)
                    .map(|e| s.index.merged(&e))
                    .is_ok(),
                _ => serde_json::from_slice::<TicketChanged>(payload)
                    .map(|e| s.index.changed(&e))
                    .is_ok(),
            };
            if !ok {
                debug!(subject, sequence, "skipping an undecodable ticket event");
            }
        }
    }
}
