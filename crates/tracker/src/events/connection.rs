//! One client's event stream: `ready`, then what it missed (a replay from
//! `TICKETS` after its `Last-Event-ID`), then the hub's live feed, with
//! nothing lost or doubled at the hand-over.
//!
//! The broadcast subscription is taken before anything is read from the
//! stream, so every message after the replay's end is still in it; live
//! messages at or before the connection's [`Connection::position`] (the
//! newest sequence it has dealt with) are dropped. A connection the
//! broadcast left behind (a slow client) catches up the same way, from
//! the stream, or is reset when it is too far behind.

use super::hub::{ordered_from, tickets, Hub};
use super::wire::{self, FeedEvent};
use super::MAX_REPLAY;
use crate::Error;
use async_nats::jetstream::consumer::pull::Ordered;
use axum::response::sse::Event;
use civicprobe_model::{CourierId, OfficeId, Principal, TicketId};
use futures::{Stream, StreamExt};
use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch, OwnedSemaphorePermit};

/// Tickets a courier connection remembers not being a reporter of, at
/// most; the set is forgotten beyond (and asked again).
const NOT_THEIRS_CAP: usize = 4096;

/// Who is listening, and what they may see.
#[derive(Debug)]
enum Viewer {
    /// A street office: its tickets and those rerouted away from it.
    Office(OfficeId),
    /// Everything.
    Supervisor,
    /// The steps of tickets they reported.
    Courier {
        /// Their id.
        courier_id: CourierId,
        /// Tickets they are a reporter of (learnt from opened and merged
        /// events, or asked of the store).
        theirs: HashSet<TicketId>,
        /// Tickets the store said they did not report.
        not_theirs: HashSet<TicketId>,
    },
}

/// One open `GET /v1/events`.
pub struct Connection {
    /// The feed and the store.
    hub: Hub,
    /// The holder's scope.
    viewer: Viewer,
    /// The live feed, subscribed before any replay.
    live: broadcast::Receiver<Arc<FeedEvent>>,
    /// The newest stream sequence this connection has sent or skipped.
    position: u64,
    /// A replay under way: the stream's messages after `position`.
    replay: Option<Ordered>,
    /// `ready`, `reset`: sent before anything else.
    queued: VecDeque<Event>,
    /// Turns `true` when the hub stops.
    closed: watch::Receiver<bool>,
    /// Holds this stream's place under `--max-event-streams`.
    _slot: Slot,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("viewer", &self.viewer)
            .field("position", &self.position)
            .field("replaying", &self.replay.is_some())
            .finish_non_exhaustive()
    }
}

/// A place under the stream cap, counted in the open streams gauge.
#[derive(Debug)]
struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Slot {
    fn new(permit: OwnedSemaphorePermit) -> Slot {
        metrics::gauge!("civicprobe_tracker_event_streams_open").increment(1);
        Slot(permit)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        metrics::gauge!("civicprobe_tracker_event_streams_open").decrement(1);
    }
}

/// How a `Last-Event-ID` (or a lagging connection's position) is met.
enum Resume {
    /// Nothing was missed.
    UpToDate,
    /// Replay from the position + 1.
    Replay,
    /// Cannot be honoured: refetch; the live feed continues after `end`.
    Reset {
        /// The stream's end when decided.
        end: u64,
        /// Why, for the client.
        reason: &'static str,
    },
}

impl Connection {
    /// A stream for `who`, resuming after `resume_from` if given.
    pub(crate) async fn open(
        hub: Hub,
        who: Principal,
        resume_from: Option<u64>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Connection, Error> {
        let viewer = match who {
            Principal::Office { office_id, .. } => Viewer::Office(office_id),
            Principal::Supervisor { .. } => Viewer::Supervisor,
            Principal::Courier { courier_id, .. } => Viewer::Courier {
                courier_id,
                theirs: HashSet::new(),
                not_theirs: HashSet::new(),
            },
        };
        let live = hub.subscribe();
        let closed = hub.closed();
        let mut connection = Connection {
            position: hub.latest(),
            hub,
            viewer,
            live,
            replay: None,
            queued: VecDeque::new(),
            closed,
            _slot: Slot::new(permit),
        };
        let Some(last) = resume_from else {
            connection.queue(wire::ready(connection.position, false));
            return Ok(connection);
        };
        connection.position = last;
        let resumed = connection.catch_up().await?;
        let ready = wire::ready(connection.position, resumed);
        connection.queued.push_front(ready);
        Ok(connection)
    }

    /// The events, until the client leaves, the hub stops, or a failure
    /// (after which the client resumes with its `Last-Event-ID`).
    pub fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
        futures::stream::unfold(self, |mut connection| async move {
            let event = connection.next_event().await?;
            Some((Ok(event), connection))
        })
    }

    fn queue(&mut self, event: Event) {
        self.queued.push_back(event);
    }

    /// Starts replaying after `position` when that is possible; else
    /// queues a reset. `true` when nothing is lost.
    async fn catch_up(&mut self) -> Result<bool, Error> {
        match plan(&self.hub, self.position).await? {
            Resume::UpToDate => Ok(true),
            Resume::Replay => {
                self.replay = Some(ordered_from(self.hub.jetstream(), self.position + 1).await?);
                Ok(true)
            }
            Resume::Reset { end, reason } => {
                metrics::counter!("civicprobe_tracker_event_resets_total").increment(1);
                self.position = end;
                self.queue(wire::reset(end, reason));
                Ok(false)
            }
        }
    }

    /// The next event to write; `None` ends the stream.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queued.pop_front() {
                return Some(self.count(event, "control"));
            }
            let next = if self.replay.is_some() {
                self.replayed().await
            } else {
                self.live().await
            };
            let feed = match next {
                Ok(Some(feed)) => feed,
                Ok(None) => continue,
                Err(Ended) => return None,
            };
            match self.render(&feed).await {
                Ok(Some(event)) => return Some(self.count(event, "feed")),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "event stream: ending after a failure; the client resumes");
                    return None;
                }
            }
        }
    }

    fn count(&self, event: Event, what: &'static str) -> Event {
        metrics::counter!("civicprobe_tracker_events_sent_total", "what" => what).increment(1);
        event
    }

    /// The next replayed message; the replay ends once it reached the
    /// stream's end.
    async fn replayed(&mut self) -> Result<Option<Arc<FeedEvent>>, Ended> {
        let replay = self.replay.as_mut().ok_or(Ended)?;
        let next = tokio::select! {
            _ = self.closed.wait_for(|closed| *closed) => return Err(Ended),
            next = replay.next() => next,
        };
        let msg = match next {
            Some(Ok(msg)) => msg,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "event stream: replay failed; the client resumes");
                return Err(Ended);
            }
            None => return Err(Ended),
        };
        let info = msg.info().map_err(|_| Ended)?;
        let (seq, pending) = (info.stream_sequence, info.pending);
        if pending == 0 {
            self.replay = None;
        }
        if seq <= self.position {
            return Ok(None);
        }
        self.position = seq;
        Ok(FeedEvent::decode(seq, &msg.subject, &msg.payload).map(Arc::new))
    }

    /// The next live message not already sent; a lag turns into a
    /// catch-up from the stream.
    async fn live(&mut self) -> Result<Option<Arc<FeedEvent>>, Ended> {
        let received = tokio::select! {
            _ = self.closed.wait_for(|closed| *closed) => return Err(Ended),
            received = self.live.recv() => received,
        };
        match received {
            Ok(feed) if feed.seq <= self.position => Ok(None),
            Ok(feed) => {
                self.position = feed.seq;
                Ok(Some(feed))
            }
            Err(RecvError::Lagged(missed)) => {
                metrics::counter!("civicprobe_tracker_event_stream_lags_total").increment(1);
                tracing::debug!(missed, "event stream fell behind; catching up from TICKETS");
                match self.catch_up().await {
                    Ok(_) => Ok(None),
                    Err(_) => Err(Ended),
                }
            }
            Err(RecvError::Closed) => Err(Ended),
        }
    }

    /// The event `feed` is for this viewer, if any.
    async fn render(&mut self, feed: &FeedEvent) -> Result<Option<Event>, Error> {
        match &mut self.viewer {
            Viewer::Supervisor => Ok(Some(feed.for_staff())),
            Viewer::Office(office) => Ok(feed.concerns_office(office).then(|| feed.for_staff())),
            Viewer::Courier {
                courier_id,
                theirs,
                not_theirs,
            } => {
                let Some(ticket_id) = feed.ticket_id() else {
                    return Ok(None);
                };
                if feed.reporter() == Some(*courier_id) {
                    theirs.insert(ticket_id);
                    not_theirs.remove(&ticket_id);
                } else if !theirs.contains(&ticket_id) {
                    if not_theirs.contains(&ticket_id) {
                        return Ok(None);
                    }
                    if !self.hub.store().is_reporter(ticket_id, *courier_id).await? {
                        if not_theirs.len() >= NOT_THEIRS_CAP {
                            not_theirs.clear();
                        }
                        not_theirs.insert(ticket_id);
                        return Ok(None);
                    }
                    theirs.insert(ticket_id);
                }
                Ok(feed.for_courier(*courier_id))
            }
        }
    }
}

/// Whether the stream still holds every message after `position`,
/// young enough and few enough to replay.
async fn plan(hub: &Hub, position: u64) -> Result<Resume, Error> {
    let stream = tickets(hub.jetstream()).await?;
    let state = stream.get_info().await.map_err(Error::nats)?.state;
    let (first, end, last) = (state.first_sequence, state.last_sequence, position);
    let reset = |reason| Ok(Resume::Reset { end, reason });
    if last > end {
        return reset("Last-Event-ID is beyond the end of the event stream");
    }
    if last == end {
        return Ok(Resume::UpToDate);
    }
    if last + 1 < first || end - last > MAX_REPLAY {
        return reset("too many events since Last-Event-ID to replay");
    }
    let oldest = stream
        .get_raw_message(last + 1)
        .await
        .map_err(Error::nats)?;
    let window = hub.config().replay_window();
    if oldest.time < time::OffsetDateTime::now_utc() - window {
        return reset("Last-Event-ID is older than the replay window");
    }
    Ok(Resume::Replay)
}

/// The stream is over.
struct Ended;
