//! `civicprobe ingest`: report intake, Open311's POST, proof and
//! verification photo uploads; no database.

use super::serve_with;
use anyhow::Context;
use civicprobe::jetstream_args::JetStreamArgs;
use civicprobe::ops_listener::OpsEndpoints;
use civicprobe::serve::HttpLimits;
use civicprobe::shutdown::Shutdown;
use civicprobe::stack;
use civicprobe::startup::Startup;
use civicprobe::{broker::Broker, nats_config::NatsConfig, ops};
use civicprobe_model::nats::{PHOTOS_STREAM, REPORTS_STREAM};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// HTTP listen address.
    #[arg(long, env = "CIVICPROBE_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    #[command(flatten)]
    pub(crate) nats: NatsConfig,
    /// Stream replicas and deliveries before a dead letter.
    #[command(flatten)]
    pub(crate) jetstream: JetStreamArgs,
    /// Data directory (outbox, local copy of the tokens) and upload limits.
    #[command(flatten)]
    pub(crate) ingest: civicprobe_ingest::Config,
    #[command(flatten)]
    pub(crate) ops: ops::OpsArgs,
    /// Timeouts and connection cap.
    #[command(flatten)]
    pub(crate) http: HttpLimits,
    /// Named places (a local gazetteer) for Open311's `address_string`.
    #[arg(long, env = "CIVICPROBE_PLACES", default_value = civicprobe_open311::places::DEFAULT_PATH)]
    pub(crate) places: PathBuf,
    /// The one Open311 `jurisdiction_id` this district serves; a request
    /// naming another is refused (unset: any is accepted).
    #[arg(long, env = "CIVICPROBE_OPEN311_JURISDICTION")]
    pub(crate) open311_jurisdiction: Option<String>,
    /// The public URL the pages are served at (their Origin check).
    #[arg(long, env = "CIVICPROBE_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
}

pub(crate) async fn ingest(mut args: IngestArgs) -> anyhow::Result<()> {
    civicprobe::http_metrics::set_service("ingest");
    let settings = args.jetstream.settings();
    let broker = Broker::connect_or_wait(&args.nats).await?;
    let js = async_nats::jetstream::new(broker.client.clone());
    let shutdown = Shutdown::new();
    // The outbox publisher, the reuse feed and the credentials' follower
    // retry on their own.
    let photos_on_nats =
        args.ingest.storage.photo_store == civicprobe_ingest::PhotoBackendKind::Nats;
    let mut startup = Startup::new("ingest", &broker.client).ensure(
        "the REPORTS and UPLOADS streams",
        move |js| async move {
            civicprobe_jetstream::ensure_reports_stream(&js, &settings).await?;
            civicprobe_jetstream::ensure_uploads_stream(&js, &settings).await?;
            Ok::<(), anyhow::Error>(())
        },
    );
    if photos_on_nats {
        startup = startup.ensure("the PHOTOS bucket", move |js| async move {
            civicprobe_ingest::photo::store::ensure_photos_bucket(&js, &settings)
                .await
                .map(drop)
        });
    }
    let (_, startup) = startup.spawn(&shutdown);
    std::fs::create_dir_all(&args.ingest.storage.data_dir)
        .context("creating the data directory")?;
    let directory = civicprobe_ingest::CredentialDirectory::open(&args.ingest.storage.data_dir);
    let follow = tokio::spawn(civicprobe_ingest::credentials::follow(
        directory.clone(),
        js.clone(),
        shutdown.signalled(),
    ));
    let access = civicprobe_ingest::StreamAccess {
        directory: directory.clone(),
        js: js.clone(),
    };
    args.ingest.jetstream = settings;
    let state = civicprobe_ingest::IngestState::new(args.ingest, js, directory)
        .with_report_access(Arc::new(access));
    state
        .open_store()
        .await
        .context("opening ingest's local store")?;
    let background = tokio::spawn(state.clone().run(shutdown.signalled()));
    // A split tracker's question for a report not routed yet.
    let lookups = tokio::spawn(civicprobe_ingest::lookup::answer(
        state.clone(),
        broker.client.clone(),
        shutdown.signalled(),
    ));
    let public = stack::public_url(args.public_url.as_deref(), args.listen)?;
    let mut streams = vec![REPORTS_STREAM];
    if photos_on_nats {
        streams.push(PHOTOS_STREAM);
    }
    let ops = OpsEndpoints::new("ingest", &broker.client, &args.ops, streams, None);
    let jurisdiction = args.open311_jurisdiction.clone();
    let app = civicprobe::split::intake_routes(state.clone(), &args.places, jurisdiction)?
        .merge(ops.public());
    let app = civicprobe::split::with_sessions(app, public.web_origin);
    let app = civicprobe::answers::harden(app);
    serve_with(args.listen, app, &ops, args.http, shutdown).await?;
    follow.await?;
    lookups
        .await?
        .map_err(|e| anyhow::anyhow!("answering report lookups: {e}"))?;
    startup.await??;
    background.await?;
    state.drain_outbox(state.drain_time()).await?;
    broker.stop().await;
    Ok(())
}
