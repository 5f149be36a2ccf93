//! The civicprobe router: turns each accepted report into a ticket for the
//! street office that must act on it — or into a merge with the open ticket
//! it duplicates.
//!
//! It reads `ReportSubmitted` messages from the `REPORTS` stream through a
//! shared durable pull consumer, classifies them with a model learned from
//! a labelled corpus, finds the street office whose polygon holds the point
//! (or, just outside the district, the nearest one), computes the SLA
//! deadlines from `received_at` and a policy file, and publishes a
//! `TicketOpened`, a `TicketMerged` or a `ReportUnrouted` on the `TICKETS`
//! stream. Every id is derived from the report id and every publish carries
//! a `Nats-Msg-Id`, so a redelivered report opens nothing twice; a report is
//! acked only after its event is stored by JetStream.
//!
//! # Duplicates
//!
//! A report of the same category within [`DuplicateRules::radius_m`]
//! (30 m) and [`DuplicateRules::window`] (72 h) of an open ticket, or of the
//! same category and window whose photo's perceptual hash is within
//! [`DuplicateRules::phash_bits`] of one of the ticket's photos, when the
//! ticket is of the report's office and within
//! [`DuplicateRules::photo_radius_m`] (1 km) (near-uniform pictures, whose
//! hashes have almost no bits set, never match), is merged
//! (`civic.ticket.<office>.<category>.merged`).
//! Each router keeps an in-memory index of open tickets ([`OpenTickets`])
//! fed by two ordered consumers that replay from the start on every router
//! start: `TICKETS` (`opened` adds, `merged` adds photo hashes,
//! `resolved`/`closed`/`rejected` remove, `reopened` restores, `rerouted`
//! moves, `triaged` changes the category) and the router's own
//! `ROUTER_CLAIMS` stream. Routing waits until both are replayed, so
//! restarts keep merging. Two routers racing on near-identical reports are serialised by a *claim*: before opening a
//! ticket a router publishes the candidate on
//! `civic.claim.<office>.<category>` with `Nats-Expected-Last-Subject-Sequence`
//! set to the last claim it has seen there. Only one of two racing claims
//! is stored; the loser waits until its index holds the winner's claim,
//! looks again, and merges. A claim whose ticket was never published (the
//! router died in between) belongs to the report's own derived ticket id,
//! so the redelivered report opens exactly that ticket.
//!
//! # Layout
//!
//! - [`jurisdiction`]: the street offices and their areas, loaded from
//!   GeoJSON, in an R-tree; [`Jurisdictions::locate`] answers "whose point
//!   is this", with the boundary tolerance; files in GCJ-02 or BD-09 are
//!   converted to WGS-84 as they are read; [`Jurisdictions::check`] and
//!   [`check_datum`] find what is wrong with a file.
//! - [`classifier`]: the learned classifier (a category model and a
//!   calibrated urgency model over character n-grams and negation-aware
//!   urgency cues), its versioned model file, the live swap when that
//!   file changes (`--model`), and its evaluation.
//! - [`categories`]: the categories' zh/en names (`fixtures/categories.toml`).
//! - [`sla`]: reading the deadline policy file (`fixtures/policy.toml`);
//!   the policy itself ([`SlaPolicy::deadlines`]) is the model crate's.
//! - [`route`]: [`Router::route`], the pure step from a report to the event.
//! - [`dedup`]: the open-ticket index, its feeds and the claims.
//! - [`consumer`]: the NATS side: [`run`], the consume → route → (claim |
//!   merge) → publish → ack loop (it creates `TICKETS` as
//!   `civicprobe_jetstream::pipeline` defines it).
//! - [`cli`]: `civicprobe classify`, `classify --eval`, `classify --train`
//!   and `route`.
//! - [`error`]: the crate's one [`Error`] enum.
//!
//! The binary builds a [`Router`] from a [`Config`] and [`Options`] and
//! calls [`run`] with a shutdown future:
//!
//! ```no_run
//! # async fn demo(config: civicprobe_router::Config, options: civicprobe_router::Options,
//! #     js: async_nats::jetstream::Context) -> Result<(), civicprobe_router::Error> {
//! use std::sync::Arc;
//! let router = Arc::new(civicprobe_router::Router::from_options(&config, &options)?);
//! let settings = civicprobe_model::nats::JetStreamSettings::default();
//! civicprobe_router::run(js, router, settings, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

#![warn(unreachable_pub, clippy::unwrap_used)]

pub mod categories;
pub mod classifier;
pub mod cli;
pub mod consumer;
pub mod dedup;
pub mod error;
pub mod jurisdiction;
pub mod route;
pub mod sla;

pub use categories::Categories;
pub use classifier::{Classification, Classifier};
pub use consumer::run;
pub use dedup::{DuplicateRules, OpenTickets};
pub use error::Error;
pub use jurisdiction::{check_datum, Finding, Jurisdictions, Located, Office, Tolerances};
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
    /// The datum of the file's coordinates (`wgs84`, `gcj02`, `bd09`),
    /// overriding the file's top-level `"datum"`; without either, WGS-84.
    #[arg(long, env = "CIVICPROBE_JURISDICTIONS_DATUM", value_name = "DATUM")]
    pub jurisdictions_datum: Option<civicprobe_model::Datum>,
}

/// The bundled Xian'an jurisdictions, relative to the working directory.
pub const DEFAULT_JURISDICTIONS: &str = "fixtures/jurisdictions.geojson";

impl Default for Config {
    /// The same defaults as the command line without flags or environment.
    fn default() -> Self {
        Self {
            jurisdictions: PathBuf::from(DEFAULT_JURISDICTIONS),
            jurisdictions_datum: None,
        }
    }
}

/// The rest of the router's settings (files loaded at start, distances).
#[derive(clap::Args, Debug, Clone, PartialEq)]
#[group(id = "router_options")]
pub struct Options {
    /// Labelled JSON Lines the classifier is trained on at start (when no
    /// `--model` is given).
    #[arg(long, env = "CIVICPROBE_CLASSIFIER_CORPUS", default_value = DEFAULT_CORPUS)]
    pub classifier_corpus: PathBuf,
    /// A model file written by `civicprobe classify --train`; reloaded
    /// without a restart when it changes.
    #[arg(long = "model", env = "CIVICPROBE_MODEL", value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// SLA policy (TOML): deadlines per category × urgency.
    #[arg(long, env = "CIVICPROBE_POLICY", default_value = sla::DEFAULT_POLICY)]
    pub policy: PathBuf,
    /// Category names (TOML).
    #[arg(long, env = "CIVICPROBE_CATEGORIES", default_value = categories::DEFAULT_CATEGORIES)]
    pub categories: PathBuf,
    /// A point in no area but this close to one (metres) goes to it, flagged.
    #[arg(long, env = "CIVICPROBE_BOUNDARY_M", default_value_t = DEFAULT_BOUNDARY_M)]
    pub boundary_m: f64,
    /// Same-category reports this close (metres) to an open ticket merge.
    #[arg(long, env = "CIVICPROBE_DUPLICATE_RADIUS_M", default_value_t = 30.0)]
    pub duplicate_radius_m: f64,
    /// ... and this close in time (hours).
    #[arg(long, env = "CIVICPROBE_DUPLICATE_HOURS", default_value_t = 72)]
    pub duplicate_hours: u32,
    /// Photos whose perceptual hashes differ in at most this many bits merge.
    #[arg(long, env = "CIVICPROBE_DUPLICATE_PHASH_BITS", default_value_t = 4)]
    pub duplicate_phash_bits: u32,
    /// ... when the ticket is of the same office and this close (metres).
    #[arg(long, env = "CIVICPROBE_DUPLICATE_PHOTO_RADIUS_M", default_value_t = dedup::DEFAULT_PHOTO_RADIUS_M)]
    pub duplicate_photo_radius_m: f64,
}

/// The bundled training corpus, relative to the working directory.
pub const DEFAULT_CORPUS: &str = "fixtures/reports/train.jsonl";

/// Default boundary tolerance, metres.
pub const DEFAULT_BOUNDARY_M: f64 = 200.0;

impl Default for Options {
    /// The same defaults as the command line without flags or environment.
    fn default() -> Self {
        Self {
            classifier_corpus: PathBuf::from(DEFAULT_CORPUS),
            model: None,
            policy: PathBuf::from(sla::DEFAULT_POLICY),
            categories: PathBuf::from(categories::DEFAULT_CATEGORIES),
            boundary_m: DEFAULT_BOUNDARY_M,
            duplicate_radius_m: 30.0,
            duplicate_hours: 72,
            duplicate_phash_bits: 4,
            duplicate_photo_radius_m: dedup::DEFAULT_PHOTO_RADIUS_M,
        }
    }
}

impl Options {
    /// The duplicate rules these options describe.
    pub fn duplicate_rules(&self) -> DuplicateRules {
        DuplicateRules {
            radius_m: self.duplicate_radius_m,
            window: time::Duration::hours(i64::from(self.duplicate_hours)),
            phash_bits: self.duplicate_phash_bits,
            photo_radius_m: self.duplicate_photo_radius_m,
        }
    }
}
