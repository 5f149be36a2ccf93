//! HTTP intake of courier reports.
//!
//! A courier's phone sends `POST /v1/reports` (multipart: a `report` JSON
//! part and one to three `photo` parts) with a bearer token and an
//! `Idempotency-Key` (a UUID). Ingest checks who is asking and their rate,
//! validates every field, proves each photo is a real JPEG, PNG or WebP
//! within the limits (checked from the header before any decoding), reads
//! its EXIF evidence (odd EXIF is dropped and flagged, never refused; a
//! report without lat/lon takes a photo's EXIF GPS), strips all metadata, derives a thumbnail and a
//! perceptual hash from one (DCT-scaled, for JPEG) decode, raises evidence
//! flags, stores the photos content-addressed, and commits the
//! [`civicprobe_model::ReportSubmitted`] to a local durable outbox
//! (`<data_dir>/ingest.db`) before it answers `202`. A publisher task drains
//! the outbox to the `REPORTS` stream (`Nats-Msg-Id` = report id), so
//! ingest keeps accepting while NATS is down and loses nothing it accepted,
//! even if the process is killed.
//!
//! # Layout
//!
//! - [`submit`]: the `POST /v1/reports` handler and [`app`], cut into named
//!   steps; [`state`]: [`IngestState`], which also runs the publisher;
//!   [`intake`]: the same pipeline for reports that arrive another way
//!   (Open311).
//! - [`courier`]: who a bearer token belongs to ([`CourierDirectory`]) and
//!   the `Idempotency-Key` header; [`credentials`]: the tracker's tokens
//!   and sessions followed from the `TOKENS` stream, with a local copy
//!   ([`CredentialDirectory`]), so ingest needs no database.
//! - [`limit`]: per-courier rate limit, upload memory budget (the memory
//!   bound is stated there), uploads in flight per client; [`metered`]: a
//!   body that takes from the budget as its bytes arrive.
//! - [`form`]: reading the multipart body within its limits.
//! - [`report`]: validating the `report` JSON part, naming the field at fault.
//! - [`photo`]: format detection, header checks, metadata stripping
//!   ([`photo::jpeg`], [`photo::png`], [`photo::webp`]), EXIF evidence
//!   ([`photo::exif`], which never refuses a photo: what is unsound is
//!   dropped and said why, over the bounded TIFF walker [`photo::tiff`];
//!   [`photo::exif_write`] writes test payloads), thumbnail and hash
//!   ([`photo::derive`]), and the content-addressed store
//!   ([`photo::store`], filesystem or JetStream object store, with the
//!   local [`photo::spool`] for while the bucket is away).
//! - [`evidence`]: the report's position (sent, or a photo's EXIF GPS),
//!   flags with measured values and thresholds, and the photo-reuse index.
//! - [`local`]: the SQLite outbox, idempotency answers and photo index;
//!   [`outbox`]: the publisher; [`publish`]: the `REPORTS` stream.
//! - [`access`]: `GET /v1/reports/{id}/photos/{n}`, scoped by
//!   [`ReportAccess`]; [`proof`]: an office's proof photo for a ticket;
//!   [`verification_photo`]: a courier's photo checking a resolved ticket
//!   (its EXIF time, GPS and perceptual hash told to the ticket store).
//! - [`announce`]: upload scope without a ticket store ([`StreamAccess`]):
//!   by role and a tracker's answer, each stored proof or verification
//!   photo announced on `UPLOADS` for the tracker to record in scope.
//! - [`lookup`]: an accepted report found across instances (a split
//!   tracker asks the ingests for one the router has not routed yet).
//! - [`error`]: the crate's one [`Error`], answered as
//!   `application/problem+json`.

#![warn(unreachable_pub, clippy::unwrap_used)]

pub mod access;
pub mod announce;
pub mod courier;
pub mod credentials;
pub mod error;
pub mod evidence;
pub mod form;
pub mod intake;
pub mod limit;
pub mod local;
pub mod lookup;
pub mod metered;
pub mod outbox;
pub mod photo;
pub mod proof;
pub mod publish;
pub mod report;
pub mod reuse_feed;
pub mod state;
pub mod submit;
pub mod verification_photo;

use std::path::PathBuf;

pub use access::{ReportAccess, Viewer};
pub use announce::StreamAccess;
pub use courier::{BoxError, CourierDirectory};
pub use credentials::CredentialDirectory;
pub use error::Error;
pub use state::IngestState;
pub use submit::{app, intake_app, photo_app};

/// The default photo size limit: 16 MiB.
pub const DEFAULT_MAX_PHOTO_BYTES: usize = 16 * 1024 * 1024;

/// The default photo pixel limit: 50 megapixels.
pub const DEFAULT_MAX_PHOTO_PIXELS: u64 = 50_000_000;

/// Where photos and thumbnails are kept.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhotoBackendKind {
    /// `<data_dir>/photos/<sha[0..2]>/<sha256>` (one ingest instance).
    #[default]
    Fs,
    /// The JetStream object store bucket `PHOTOS` (several instances).
    Nats,
}

/// Where the data directory is and where photos are kept: what a process
/// that only reads photos (the tracker) shares with ingest.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
#[group(id = "photo_storage")]
pub struct Storage {
    /// The data directory: photos (`photos/`) and ingest's local store
    /// (`ingest.db`: the outbox, idempotency answers, photo hashes).
    #[arg(long, env = "CIVICPROBE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Where photos are stored.
    #[arg(long, env = "CIVICPROBE_PHOTO_STORE", value_enum, default_value_t = PhotoBackendKind::Fs)]
    pub photo_store: PhotoBackendKind,
}

impl Default for Storage {
    /// The same defaults as the command line.
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            photo_store: PhotoBackendKind::Fs,
        }
    }
}

/// Ingest's settings; the CLI flattens them into its own parser.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "ingest_config")]
pub struct Config {
    /// The data directory and the photo store.
    #[command(flatten)]
    pub storage: Storage,
    /// The largest photo accepted, in bytes (each photo part).
    #[arg(long, env = "CIVICPROBE_MAX_PHOTO_BYTES", default_value_t = DEFAULT_MAX_PHOTO_BYTES)]
    pub max_photo_bytes: usize,
    /// The largest photo accepted, in pixels (width × height), checked from
    /// the header before any decoding.
    #[arg(long, env = "CIVICPROBE_MAX_PHOTO_PIXELS", default_value_t = DEFAULT_MAX_PHOTO_PIXELS)]
    pub max_photo_pixels: u64,
    /// The largest width or height accepted, in pixels (from the header).
    #[arg(long, env = "CIVICPROBE_MAX_PHOTO_SIDE", default_value_t = 16_384)]
    pub max_photo_side: u32,
    /// Request bodies held in memory at once, in bytes, across all
    /// uploads; a request waits for its share (at least one full body).
    #[arg(long, env = "CIVICPROBE_UPLOAD_BUDGET_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub upload_budget_bytes: usize,
    /// Uploads one client (a courier, or a token's holder) may have in
    /// flight at once; more are answered `429`.
    #[arg(long, env = "CIVICPROBE_MAX_UPLOADS_PER_CLIENT", default_value_t = limit::DEFAULT_UPLOADS_PER_CLIENT)]
    pub max_uploads_per_client: usize,
    /// Reports per minute each courier may submit, sustained.
    #[arg(long, env = "CIVICPROBE_RATE_PER_MINUTE", default_value_t = 30.0)]
    pub rate_per_minute: f64,
    /// Reports a courier may submit in a burst.
    #[arg(long, env = "CIVICPROBE_RATE_BURST", default_value_t = 10)]
    pub rate_burst: u32,
    /// Flag a photo taken more than this many seconds before submission.
    #[arg(long, env = "CIVICPROBE_FLAG_AGE_S", default_value_t = 24 * 3600)]
    pub flag_age_s: i64,
    /// Flag a photo whose EXIF position is farther than this from the
    /// reported one, in metres.
    #[arg(long, env = "CIVICPROBE_FLAG_DISTANCE_M", default_value_t = 500.0)]
    pub flag_distance_m: f64,
    /// Flag a photo whose perceptual hash is within this many bits of one
    /// in an earlier report.
    #[arg(long, env = "CIVICPROBE_FLAG_REUSE_BITS", default_value_t = 6)]
    pub flag_reuse_bits: u32,
    /// On shutdown, how many seconds ingest keeps publishing its outbox
    /// (accepted reports not yet on `REPORTS`) before it exits anyway;
    /// what remains is published at the next start.
    #[arg(long, env = "CIVICPROBE_DRAIN_SECS", default_value_t = 10)]
    pub drain_secs: u64,
    /// Replicas of the photo bucket (and `REPORTS`): the process-wide
    /// `--stream-replicas`, which the CLI sets here.
    #[arg(skip)]
    pub jetstream: civicprobe_model::nats::JetStreamSettings,
}

impl Default for Config {
    /// The same defaults as the command line.
    fn default() -> Self {
        Self {
            storage: Storage::default(),
            max_photo_bytes: DEFAULT_MAX_PHOTO_BYTES,
            max_photo_pixels: DEFAULT_MAX_PHOTO_PIXELS,
            max_photo_side: 16_384,
            upload_budget_bytes: 256 * 1024 * 1024,
            max_uploads_per_client: limit::DEFAULT_UPLOADS_PER_CLIENT,
            rate_per_minute: 30.0,
            rate_burst: 10,
            flag_age_s: 24 * 3600,
            flag_distance_m: 500.0,
            flag_reuse_bits: 6,
            drain_secs: 10,
            jetstream: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        ingest: Config,
    }

    #[test]
    fn command_line_defaults_match_default() {
        let parsed = Cli::parse_from(["civicprobe"]).ingest;
        let default = Config::default();
        assert_eq!(parsed.storage, default.storage);
        assert_eq!(parsed.max_photo_bytes, default.max_photo_bytes);
        assert_eq!(parsed.max_photo_pixels, default.max_photo_pixels);
        assert_eq!(parsed.max_photo_side, default.max_photo_side);
        assert_eq!(parsed.upload_budget_bytes, default.upload_budget_bytes);
        assert_eq!(
            parsed.max_uploads_per_client,
            default.max_uploads_per_client
        );
        assert_eq!(parsed.rate_per_minute, default.rate_per_minute);
        assert_eq!(parsed.rate_burst, default.rate_burst);
        assert_eq!(parsed.flag_age_s, default.flag_age_s);
        assert_eq!(parsed.flag_distance_m, default.flag_distance_m);
        assert_eq!(parsed.flag_reuse_bits, default.flag_reuse_bits);
        assert_eq!(parsed.drain_secs, default.drain_secs);
    }
}
