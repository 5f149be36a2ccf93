//! The services a district runs apart (`civicprobe ingest`, `router`,
//! `tracker`), one module each: its flags (only its own) and how it
//! starts, serves and stops.

mod ingest;
mod router;
mod tracker;

pub(crate) use ingest::{ingest, IngestArgs};
pub(crate) use router::{router, RouterArgs};
pub(crate) use tracker::{tracker, TrackerArgs};

use anyhow::Context;
use civicprobe::jetstream_args::JetStreamArgs;
use civicprobe::ops_listener::OpsEndpoints;
use civicprobe::serve::HttpLimits;
use civicprobe::shutdown::Shutdown;
use civicprobe::{nats_config::NatsConfig, ops};
use clap::Args;
use std::net::SocketAddr;

/// What `up` shares with every service: it runs them all in one process.
#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    /// HTTP listen address.
    #[arg(long, env = "CIVICPROBE_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    #[command(flatten)]
    pub(crate) nats: NatsConfig,
    #[command(flatten)]
    pub(crate) jetstream: JetStreamArgs,
    #[command(flatten)]
    pub(crate) database: civicprobe_tracker::Config,
    /// Data directory and upload limits.
    #[command(flatten)]
    pub(crate) ingest: civicprobe_ingest::Config,
    #[command(flatten)]
    pub(crate) ops: ops::OpsArgs,
    /// Timeouts and connection cap.
    #[command(flatten)]
    pub(crate) http: HttpLimits,
}

/// Serves `app` (and the ops listener, if configured) until Ctrl-C or
/// SIGTERM, which also triggers `shutdown`.
async fn serve_with(
    listen: SocketAddr,
    app: axum::Router,
    ops: &OpsEndpoints,
    limits: HttpLimits,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    let ops_listener = ops.serve(&limits, &shutdown).await?;
    shutdown.on_signals();
    civicprobe::serve::serve(listener, app, limits, shutdown).await?;
    if let Some((_, task)) = ops_listener {
        task.await??;
    }
    Ok(())
}
