//! HTTP intake of courier reports.
//!
//! A courier's phone sends `POST /v1/reports` (multipart: a `report` JSON
//! part and a `photo` part) with a bearer token and an `Idempotency-Key`.
//! Ingest checks who is asking, validates every field, proves the photo is a
//! real JPEG or PNG within the size limits, strips its metadata (EXIF, GPS,
//! comments, text chunks), stores it content-addressed under its sha256, and
//! publishes a [`civicprobe_model::ReportSubmitted`] on the `REPORTS`
//! stream. It answers `202` only after JetStream acknowledged the message,
//! so an accepted report is never lost; a retry under the same key names the
//! same report and JetStream drops the duplicate (`Nats-Msg-Id`).
//!
//! # Layout
//!
//! - [`submit`]: the `POST /v1/reports` handler and [`IngestState`], cut into
//!   named steps (authenticate, read the form, process the photos, store,
//!   publish).
//! - [`courier`]: who a bearer token belongs to ([`CourierDirectory`]) and
//!   the `Idempotency-Key` header.
//! - [`form`]: reading the multipart body within its limits.
//! - [`report`]: validating the `report` JSON part, naming the field at fault.
//! - [`photo`]: format detection from the bytes, dimension and decode checks,
//!   metadata stripping ([`photo::jpeg`], [`photo::png`]) and the
//!   content-addressed store ([`photo::store`]).
//! - [`publish`]: the `REPORTS` stream and the acknowledged publish.
//! - [`error`]: the crate's one [`Error`], answered as
//!   `application/problem+json`.

pub mod courier;
pub mod error;
pub mod form;
pub mod photo;
pub mod publish;
pub mod report;
pub mod submit;

use std::path::PathBuf;

pub use courier::{BoxError, CourierDirectory};
pub use error::Error;
pub use publish::ensure_reports_stream;
pub use submit::{app, IngestState};

/// The default photo size limit: 16 MiB.
pub const DEFAULT_MAX_PHOTO_BYTES: usize = 16 * 1024 * 1024;

/// The default photo pixel limit: 50 megapixels.
pub const DEFAULT_MAX_PHOTO_PIXELS: u64 = 50_000_000;

/// Ingest's settings; the CLI flattens them into its own parser.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "ingest_config")]
pub struct Config {
    /// Where photos are stored: `<data_dir>/photos/<sha[0..2]>/<sha256>`.
    #[arg(long, env = "CIVICPROBE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The largest photo accepted, in bytes (each photo part).
    #[arg(long, env = "CIVICPROBE_MAX_PHOTO_BYTES", default_value_t = DEFAULT_MAX_PHOTO_BYTES)]
    pub max_photo_bytes: usize,
    /// The largest photo accepted, in pixels (width × height), checked from
    /// the header before any decoding.
    #[arg(
        long,
        env = "CIVICPROBE_MAX_PHOTO_PIXELS",
        default_value_t = 50_000_000
    )]
    pub max_photo_pixels: u64,
}

impl Default for Config {
    /// The same defaults as the command line: `./data`, 16 MiB, 50 MP.
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            max_photo_bytes: DEFAULT_MAX_PHOTO_BYTES,
            max_photo_pixels: DEFAULT_MAX_PHOTO_PIXELS,
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
        assert_eq!(parsed.data_dir, default.data_dir);
        assert_eq!(parsed.max_photo_bytes, default.max_photo_bytes);
        assert_eq!(parsed.max_photo_pixels, default.max_photo_pixels);
    }
}
