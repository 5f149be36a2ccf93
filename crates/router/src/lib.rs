//! The civicprobe router: turns each accepted report into a ticket for the
//! street office that must act on it.
//!
//! It reads `ReportSubmitted` messages from the `REPORTS` stream through a
//! shared durable pull consumer, settles on a category and an urgency flag,
//! finds the street office whose polygon holds the point, computes the SLA
//! deadlines from `received_at`, and publishes a `TicketOpened` (or, for a
//! point in no office's area, a `ReportUnrouted`) on the `TICKETS` stream.
//! Every id is derived from the report id and every publish carries a
//! `Nats-Msg-Id`, so a redelivered report opens nothing twice; a report is
//! acked only after its ticket is stored by JetStream.
//!
//! # Layout
//!
//! - [`jurisdiction`]: the street offices and their areas, loaded from
//!   GeoJSON; [`Jurisdictions::office_for`] answers "whose point is this".
//! - [`classify`]: a small table of Chinese and English keywords that
//!   picks the category and the urgency (the learned classifier comes later).
//! - [`sla`]: the deadline policy, [`SlaPolicy::deadlines`].
//! - [`route`]: [`Router::route`], the pure step from a report to the event
//!   to publish.
//! - [`consumer`]: the NATS side: [`ensure_tickets_stream`] and [`run`], the
//!   consume → route → publish → ack loop.
//! - [`error`]: the crate's one [`Error`] enum.
//!
//! The binary builds a [`Router`] from a [`Config`] and calls [`run`] with a
//! shutdown future:
//!
//! ```no_run
//! # async fn demo(config: civicprobe_router::Config, js: async_nats::jetstream::Context)
//! # -> Result<(), civicprobe_router::Error> {
//! use std::sync::Arc;
//! let router = Arc::new(civicprobe_router::Router::from_config(&config)?);
//! civicprobe_router::ensure_tickets_stream(&js).await?;
//! civicprobe_router::run(js, router, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

pub mod classify;
pub mod consumer;
pub mod error;
pub mod jurisdiction;
pub mod route;
pub mod sla;

pub use classify::{classify, Classification};
pub use consumer::{ensure_tickets_stream, run};
pub use error::Error;
pub use jurisdiction::{Jurisdictions, Office};
pub use route::{Routed, Router};
pub use sla::{SlaPolicy, StepDurations};

use std::path::PathBuf;

/// The router's settings, part of the `civicprobe` command line.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "router_config")]
pub struct Config {
    /// The GeoJSON FeatureCollection of street-office areas (properties
    /// `office_id`, `name`, optional `name_en`).
    #[arg(long, env = "CIVICPROBE_JURISDICTIONS", default_value = DEFAULT_JURISDICTIONS)]
    pub jurisdictions: PathBuf,
}

/// The bundled Xian'an jurisdictions, relative to the working directory.
pub const DEFAULT_JURISDICTIONS: &str = "fixtures/jurisdictions.geojson";

impl Default for Config {
    /// The same defaults as the command line without flags or environment.
    fn default() -> Self {
        Self {
            jurisdictions: PathBuf::from(DEFAULT_JURISDICTIONS),
        }
    }
}
