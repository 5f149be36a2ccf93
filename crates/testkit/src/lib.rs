//! Test helpers that start the real things, never fakes.
//!
//! # Layout
//!
//! - [`nats`]: a real `nats-server -js` on a free port with a temporary
//!   store, killed on `Drop`; it can be stopped and restarted on the same
//!   port and store to test outages.
//! - [`nats_cluster`]: [`NatsCluster`], `n` routed nats-server nodes (a
//!   JetStream cluster for R3 streams); a node can be killed and restarted.
//! - [`db`]: a fresh database per test: a SQLite file in a temporary folder,
//!   or a new PostgreSQL database (dropped afterwards).
//! - [`nginx`]: a real nginx (Debian's) in front of services under test,
//!   with its own prefix and config in a temporary folder, on a free port,
//!   killed on `Drop`.
//! - [`photos`]: real JPEG and PNG bytes, and broken ones.
//! - [`datums`]: a jurisdictions file converted to GCJ-02 or BD-09.
//! - [`odd_exif`]: the odd-EXIF corpus (`fixtures/photos/odd-exif/`),
//!   photos whose EXIF is written byte by byte the way real phones and
//!   cameras get it wrong, and the small TIFF writer that makes them.
//!
//! [`on_both_databases!`] writes a test once for SQLite and once for
//! PostgreSQL.
//!
//! Call [`init_tracing`] first in a test to see the services' logs with
//! `RUST_LOG=debug`.

#![warn(unreachable_pub, clippy::unwrap_used)]

pub mod datums;
pub mod db;
pub mod nats;
pub mod nats_cluster;
pub mod nginx;
pub mod odd_exif;
mod odd_exif_files;
pub mod photos;

pub use db::TestDb;
pub use nats::NatsServer;
pub use nats_cluster::NatsCluster;
pub use nginx::Nginx;

/// Installs a test-friendly `tracing` subscriber once (output captured by
/// the test harness; level from `RUST_LOG`, default `warn`).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Writes each listed `async fn name(kind: &str)` as two tests, one per
/// database: `sqlite::name` and `postgres::name`. With `fallible:` first,
/// the functions return `anyhow::Result<()>`, and so do the tests.
#[macro_export]
macro_rules! on_both_databases {
    (fallible: $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() -> anyhow::Result<()> {
                    super::$name("sqlite").await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() -> anyhow::Result<()> {
                    super::$name("postgres").await
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name("sqlite").await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name("postgres").await
                }
            )*
        }
    };
}
