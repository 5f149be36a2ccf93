//! `civicprobe router`: the REPORTS consumer that opens tickets.

use super::serve_with;
use anyhow::Context;
use civicprobe::jetstream_args::JetStreamArgs;
use civicprobe::ops_listener::OpsEndpoints;
use civicprobe::serve::HttpLimits;
use civicprobe::shutdown::Shutdown;
use civicprobe::stack;
use civicprobe::startup::Startup;
use civicprobe::{broker::Broker, gauges, nats_config::NatsConfig, ops};
use civicprobe_model::nats::{REPORTS_STREAM, TICKETS_STREAM};
use clap::Args;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, Args)]
pub(crate) struct RouterArgs {
    /// HTTP listen address for /healthz, /readyz and /metrics (with a
    /// token, or on --ops-listen).
    #[arg(long, env = "CIVICPROBE_LISTEN", default_value = "127.0.0.1:8081")]
    pub(crate) listen: SocketAddr,
    #[command(flatten)]
    pub(crate) nats: NatsConfig,
    #[command(flatten)]
    pub(crate) jetstream: JetStreamArgs,
    #[command(flatten)]
    pub(crate) router: civicprobe_router::Config,
    #[command(flatten)]
    pub(crate) router_options: civicprobe_router::Options,
    #[command(flatten)]
    pub(crate) ops: ops::OpsArgs,
    /// Timeouts and connection cap.
    #[command(flatten)]
    pub(crate) http: HttpLimits,
}

pub(crate) async fn router(args: RouterArgs) -> anyhow::Result<()> {
    civicprobe::http_metrics::set_service("router");
    let router = civicprobe_router::Router::from_options(&args.router, &args.router_options)
        .context("loading the router's jurisdictions, classifier and policy")?;
    let jurisdictions = &args.router;
    // No database here: the datum is checked where reports are (`up`,
    // `civicprobe jurisdictions check --database-url`).
    civicprobe::jurisdictions::warn_at_start(
        &jurisdictions.jurisdictions,
        jurisdictions.jurisdictions_datum,
        &[],
    );
    let broker = Broker::connect_or_wait(&args.nats).await?;
    let js = async_nats::jetstream::new(broker.client.clone());
    let settings = args.jetstream.settings();
    let router = Arc::new(router);
    let shutdown = Shutdown::new();
    let (gate, startup) = Startup::new("router", &broker.client)
        .ensure("the REPORTS and TICKETS streams", move |js| async move {
            stack::ensure_streams(&js, &settings).await
        })
        .spawn(&shutdown);
    let watched = gauges::Watched {
        js: js.clone(),
        consumers: gauges::ROUTER,
        store: None,
    };
    let gauges = tokio::spawn(gauges::run(watched, shutdown.signalled()));
    let routing = civicprobe_router::run(js, router, settings, shutdown.signalled());
    let consumer = gate.then(&shutdown, routing);
    let streams = vec![REPORTS_STREAM, TICKETS_STREAM];
    let ops = OpsEndpoints::new("router", &broker.client, &args.ops, streams, None);
    let app = civicprobe::answers::harden(ops.public());
    serve_with(args.listen, app, &ops, args.http, shutdown).await?;
    consumer.await??;
    gauges.await??;
    startup.await??;
    broker.stop().await;
    Ok(())
}
