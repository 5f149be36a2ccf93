//! Which listener answers the operations endpoints. Without
//! `--ops-listen` the main listener serves `/healthz`, `/readyz` and
//! `/metrics` (behind `CIVICPROBE_METRICS_TOKEN`), as before. With it, a
//! second listener on that address (a private network's) serves all three,
//! `/metrics` without a token unless one is set; the main listener keeps
//! `/healthz` and `/readyz` (load balancers probe it) and no longer has
//! `/metrics` (404), so a public address never exposes the figures.

use crate::ops::{self, Health, MetricsToken, OpsArgs};
use crate::readiness::{self, Readiness};
use crate::serve::{serve, HttpLimits};
use crate::shutdown::Shutdown;
use anyhow::Context;
use axum::Router;
use civicprobe_tracker::Store;
use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// What a process's operations endpoints report on, and where.
#[derive(Clone, Debug)]
pub struct OpsEndpoints {
    /// What `/readyz` checks (and the service's name, NATS connection).
    readiness: Readiness,
    /// What `/metrics` asks for.
    metrics_token: Option<MetricsToken>,
    /// The ops listener's address, if any.
    ops_listen: Option<SocketAddr>,
}

impl OpsEndpoints {
    /// The endpoints of `service` (`ingest`, `router`, `tracker`, `up`),
    /// which needs `streams` and `database`, as its operations flags
    /// configure them.
    pub fn new(
        service: &'static str,
        nats: &async_nats::Client,
        args: &OpsArgs,
        streams: Vec<&'static str>,
        database: Option<Store>,
    ) -> Self {
        Self {
            readiness: Readiness {
                service,
                nats: nats.clone(),
                streams,
                database,
            },
            metrics_token: args.metrics_token.clone(),
            ops_listen: args.ops_listen,
        }
    }

    fn health(&self) -> Health {
        Health {
            service: self.readiness.service,
            nats: self.readiness.nats.clone(),
            metrics_token: self.metrics_token.clone(),
        }
    }

    fn readiness(&self) -> Router {
        readiness::router(self.readiness.clone())
    }

    /// The main listener's: `/healthz`, `/readyz`, and `/metrics` (behind
    /// the token) unless an ops listener serves it.
    pub fn public(&self) -> Router {
        let health = match self.ops_listen {
            Some(_) => ops::liveness_router(self.health()),
            None => ops::router(self.health()),
        };
        health.merge(self.readiness())
    }

    /// The ops listener's: `/healthz`, `/readyz`, `/metrics`.
    pub fn private(&self) -> Router {
        ops::private_router(self.health()).merge(self.readiness())
    }

    /// Binds the ops listener, if configured, and serves [`Self::private`]
    /// on it until `shutdown`; its address and task.
    pub async fn serve(
        &self,
        limits: &HttpLimits,
        shutdown: &Shutdown,
    ) -> anyhow::Result<Option<(SocketAddr, JoinHandle<anyhow::Result<()>>)>> {
        let Some(addr) = self.ops_listen else {
            return Ok(None);
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on --ops-listen {addr}"))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, service = self.readiness.service, "ops listener: /metrics, /healthz, /readyz");
        let app = crate::answers::harden(self.private());
        let task = tokio::spawn(serve(listener, app, limits.clone(), shutdown.clone()));
        Ok(Some((addr, task)))
    }
}
