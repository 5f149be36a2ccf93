//! The services a district runs apart (`civicprobe ingest`, `router`,
//! `tracker`): their flags and how each starts, serves and stops.

use anyhow::Context;
use civicprobe::admin::Storage;
use civicprobe::jetstream_args::JetStreamArgs;
use civicprobe::ops_listener::OpsEndpoints;
use civicprobe::serve::HttpLimits;
use civicprobe::shutdown::Shutdown;
use civicprobe::stack;
use civicprobe::startup::Startup;
use civicprobe::{broker::Broker, gauges, nats_config::NatsConfig, ops};
use civicprobe_model::nats::{
    PHOTOS_STREAM, REPORTS_STREAM, TICKETS_STREAM, TOKENS_STREAM, UPLOADS_STREAM,
};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Timeouts, connection cap, uploads per client.
    #[command(flatten)]
    pub(crate) http: HttpLimits,
}

impl ServiceArgs {
    fn storage(&self) -> Storage {
        Storage {
            data_dir: self.ingest.data_dir.clone(),
            database: self.database.clone(),
        }
    }
}

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
    /// Timeouts, connection cap, uploads per client.
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

#[derive(Debug, Args)]
pub(crate) struct TrackerArgs {
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
    /// Jurisdictions: the pages' office map, and the known offices.
    #[command(flatten)]
    pub(crate) router: civicprobe_router::Config,
    /// The categories' names, for Open311's services.
    #[arg(long, env = "CIVICPROBE_CATEGORIES", default_value = civicprobe_router::categories::DEFAULT_CATEGORIES)]
    pub(crate) categories: PathBuf,
    #[command(flatten)]
    pub(crate) sessions: civicprobe_tracker::SessionConfig,
    /// Whether Open311's public reads serve report photos.
    #[arg(long, env = "CIVICPROBE_OPEN311_PUBLIC_PHOTOS", default_value_t = true, action = clap::ArgAction::Set)]
    pub(crate) open311_public_photos: bool,
    /// The one Open311 `jurisdiction_id` this district serves; a request
    /// naming another is refused (unset: any is accepted).
    #[arg(long, env = "CIVICPROBE_OPEN311_JURISDICTION")]
    pub(crate) open311_jurisdiction: Option<String>,
    /// The public URL every absolute URL starts with and the pages' origin;
    /// unset: `http://<listen address>`.
    #[arg(long, env = "CIVICPROBE_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    #[command(flatten)]
    pub(crate) sla: civicprobe_tracker::SlaConfig,
    /// SLA policy (TOML), the router's file: re-triage, urgent duplicates
    /// and reports routed by hand get their deadlines from it.
    #[arg(long, env = "CIVICPROBE_POLICY", default_value = civicprobe_router::sla::DEFAULT_POLICY)]
    pub(crate) policy: std::path::PathBuf,
    #[command(flatten)]
    pub(crate) alerts: civicprobe_tracker::AlertConfig,
    #[command(flatten)]
    pub(crate) events: civicprobe_tracker::events::EventsConfig,
    #[command(flatten)]
    pub(crate) anchor: civicprobe_tracker::anchor::AnchorConfig,
}

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

pub(crate) async fn ingest(mut args: IngestArgs) -> anyhow::Result<()> {
    civicprobe::http_metrics::set_service("ingest");
    let settings = args.jetstream.settings();
    let broker = Broker::connect_or_wait(&args.nats).await?;
    let js = async_nats::jetstream::new(broker.client.clone());
    let shutdown = Shutdown::new();
    // The outbox publisher, the reuse feed and the credentials' follower
    // retry on their own.
    let photos_on_nats = args.ingest.photo_store == civicprobe_ingest::PhotoBackendKind::Nats;
    let mut startup = Startup::new("ingest", &broker.client).ensure(
        "the REPORTS and UPLOADS streams",
        move |js| async move {
            civicprobe_ingest::ensure_reports_stream(&js, &settings).await?;
            civicprobe_ingest::ensure_uploads_stream(&js, &settings)
                .await
                .map_err(|e| anyhow::anyhow!("creating the UPLOADS stream: {e}"))?;
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
    std::fs::create_dir_all(&args.ingest.data_dir).context("creating the data directory")?;
    let directory = civicprobe_ingest::CredentialDirectory::open(&args.ingest.data_dir);
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
        .with_report_access(Arc::new(access))
        .with_uploads_per_client(args.http.max_uploads_per_client);
    state
        .open_store()
        .await
        .context("opening ingest's local store")?;
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
    state.drain_outbox(state.drain_time()).await?;
    broker.stop().await;
    Ok(())
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

pub(crate) async fn tracker(args: TrackerArgs) -> anyhow::Result<()> {
    civicprobe::http_metrics::set_service("tracker");
    let TrackerArgs {
        service,
        router,
        categories,
        sessions,
        open311_public_photos,
        open311_jurisdiction,
        public_url,
        sla,
        policy,
        mut alerts,
        events,
        anchor,
    } = args;
    let policy = civicprobe_router::sla::load(&policy).context("loading the SLA policy")?;
    let categories =
        civicprobe_router::Categories::load(&categories).context("loading the categories")?;
    let jurisdictions = civicprobe_router::Jurisdictions::load_in(
        &router.jurisdictions,
        router.jurisdictions_datum,
    )
    .context("loading the jurisdictions")?;
    let public = stack::public_url(public_url.as_deref(), service.listen)?;
    alerts.link_base.get_or_insert_with(|| public.url.clone());
    let broker = Broker::connect_or_wait(&service.nats).await?;
    let js = async_nats::jetstream::new(broker.client.clone());
    let settings = service.jetstream.settings();
    let shutdown = Shutdown::new();
    let (gate, startup) = Startup::new("tracker", &broker.client)
        .ensure(
            "the TICKETS, UPLOADS and DEAD_LETTERS streams",
            move |js| async move {
                civicprobe_router::ensure_tickets_stream(&js, &settings).await?;
                civicprobe_ingest::ensure_uploads_stream(&js, &settings)
                    .await
                    .map_err(|e| anyhow::anyhow!("creating the UPLOADS stream: {e}"))?;
                civicprobe_jetstream::ensure_dead_letters(&js, &settings).await?;
                Ok::<(), anyhow::Error>(())
            },
        )
        .ensure("the alerts consumer", |js| async move {
            civicprobe_tracker::alerts::ensure_alerts_consumer(&js)
                .await
                .map(drop)
        })
        .spawn(&shutdown);
    let store = service
        .storage()
        .open()
        .await?
        .with_policy(policy)
        .with_verification(sla.verify)
        .with_uploads(js.clone());
    let store = match anchor.verifying_key().context("reading the anchor key")? {
        Some(key) => store.with_anchor(key, js.clone()),
        None => store,
    };
    stack::seed_offices(&store, &jurisdictions).await?;
    let hub = civicprobe::startup::event_hub(&gate, &js, &store, events).await?;
    let watched = gauges::Watched {
        js: js.clone(),
        consumers: gauges::TRACKER,
        store: Some(store.clone()),
    };
    let gauges = tokio::spawn(gauges::run(watched, shutdown.signalled()));
    let (stop, sla_store) = (shutdown.signalled(), store.clone());
    let stages = [
        gate.then(&shutdown, hub.clone().run(shutdown.signalled())),
        gate.then(
            &shutdown,
            civicprobe_tracker::run_consumer(
                js.clone(),
                store.clone(),
                settings,
                shutdown.signalled(),
            ),
        ),
        gate.then(
            &shutdown,
            civicprobe_tracker::run_outbox(js.clone(), store.clone(), shutdown.signalled()),
        ),
        gate.then(
            &shutdown,
            civicprobe_tracker::alerts::run(
                js.clone(),
                store.clone(),
                alerts,
                settings,
                shutdown.signalled(),
            ),
        ),
        gate.then(
            &shutdown,
            civicprobe_tracker::run_token_feed(
                js.clone(),
                store.clone(),
                settings.replicas,
                shutdown.signalled(),
            ),
        ),
        gate.then(
            &shutdown,
            civicprobe_tracker::run_uploads(js.clone(), store.clone(), shutdown.signalled()),
        ),
        gate.then(
            &shutdown,
            civicprobe_tracker::anchor::stream::run_anchor(
                js.clone(),
                store.clone(),
                anchor,
                settings,
                shutdown.signalled(),
            ),
        ),
        // Ingest's questions before it stores a proof or verification
        // photo: core NATS and the database only.
        tokio::spawn({
            let (client, store, stop) =
                (broker.client.clone(), store.clone(), shutdown.signalled());
            async move {
                civicprobe_tracker::answer_upload_scope(client, store, stop)
                    .await
                    .map_err(anyhow::Error::from)
            }
        }),
        // The SLA clock needs only the database.
        tokio::spawn(async move {
            civicprobe_tracker::run_sla_clock(sla_store, sla, stop)
                .await
                .map_err(anyhow::Error::from)
        }),
        startup,
    ];
    // What it reads (TICKETS, UPLOADS) and what ingest learns from it
    // (TOKENS): without one, /readyz names it.
    let streams = vec![TICKETS_STREAM, TOKENS_STREAM, UPLOADS_STREAM];
    let ops = OpsEndpoints::new(
        "tracker",
        &broker.client,
        &service.ops,
        streams,
        Some(store.clone()),
    );
    let mut ingest_config = service.ingest.clone();
    ingest_config.jetstream = settings;
    let photos = civicprobe::ingest_access::photo_reader(ingest_config, js.clone(), &store);
    let dead_letters = civicprobe_tracker::http::dead_letters::router(store.clone(), js);
    let app = civicprobe::split::tracker_routes(civicprobe::split::TrackerRoutes {
        store,
        photos,
        hub,
        categories,
        open311_public_photos,
        open311_jurisdiction,
        base_url: public.url,
        jurisdictions: &router,
        sessions: sessions.policy(),
    })?
    .merge(dead_letters)
    .merge(ops.public());
    let app = civicprobe::split::with_sessions(app, public.web_origin);
    let app = civicprobe::answers::harden(app);
    serve_with(service.listen, app, &ops, service.http, shutdown).await?;
    for stage in stages {
        stage.await??;
    }
    gauges.await??;
    broker.stop().await;
    Ok(())
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
