//! civicprobe's JetStream plumbing, shared by ingest, router and tracker,
//! so that every stream and every durable consumer is made the same way.
//!
//! - Streams and object stores get their replicas from configuration
//!   ([`JetStreamSettings`], `--stream-replicas`), and an existing one is
//!   updated to them ([`ensure_stream`], [`ensure_object_store`]).
//! - Durable pull consumers get a short ack wait and no server-side
//!   delivery limit ([`ensure_durable`]); [`drive`] hands their messages
//!   to a handler one at a time, sends progress heartbeats while a message
//!   is slow, and on shutdown naks the messages it holds so that another
//!   instance gets them at once.
//! - A message its handler rejects [`JetStreamSettings::max_deliveries`]
//!   times is copied to `DEAD_LETTERS` and terminated ([`Rejections`]);
//!   outages never count. Supervisors list them ([`dead_letter::list`]).
//!
//! # Layout
//!
//! - [`streams`]: [`ensure_stream`], [`ensure_object_store`].
//! - [`pipeline`]: the shared `REPORTS`, `TICKETS` and `UPLOADS` streams,
//!   defined once.
//! - [`durable`]: [`ensure_durable`], [`subscribe`], [`drive`].
//! - [`dead_letter`]: [`ensure_dead_letters`], [`Rejections`], the listing.
//! - [`requests`]: [`answer_requests`], core NATS requests answered until
//!   shutdown.

#![warn(unreachable_pub, clippy::unwrap_used)]

pub mod dead_letter;
pub mod durable;
pub mod pipeline;
pub mod requests;
pub mod streams;

pub use civicprobe_model::nats::JetStreamSettings;
pub use dead_letter::{ensure_dead_letters, Rejections, DEAD_LETTERS_TOTAL};
pub use durable::{drive, ensure_durable, subscribe, Backoff, Pace, Stop};
pub use pipeline::{ensure_reports_stream, ensure_tickets_stream, ensure_uploads_stream};
pub use requests::answer_requests;
pub use streams::{ensure_object_store, ensure_stream};

/// A boxed error of the NATS client.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong making streams and consumers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A JetStream request failed (NATS away, or the server refused it).
    #[error("JetStream: {what}: {source}")]
    Nats {
        /// What was being done, naming the stream or consumer.
        what: String,
        /// The client's error.
        #[source]
        source: BoxError,
    },
    /// A stream could not be given the configured replicas (on a single
    /// server, anything above 1).
    #[error(
        "stream {stream}: cannot have {replicas} replicas (CIVICPROBE_STREAM_REPLICAS): {source}; \
         a single nats-server holds 1, a cluster of n nodes at most n"
    )]
    Replicas {
        /// The stream.
        stream: String,
        /// The replicas asked for.
        replicas: usize,
        /// The server's answer.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Wraps a client error with what was being done.
    pub(crate) fn nats(what: impl Into<String>) -> impl FnOnce(BoxError) -> Error {
        let what = what.into();
        move |source| Error::Nats { what, source }
    }
}
