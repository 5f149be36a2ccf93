//! `civicprobe tracker`: the system of record, its pages and API.

use super::serve_with;
use anyhow::Context;
use civicprobe::admin::Storage;
use civicprobe::jetstream_args::JetStreamArgs;
use civicprobe::ops_listener::OpsEndpoints;
use civicprobe::serve::HttpLimits;
use civicprobe::shutdown::Shutdown;
use civicprobe::stack;
use civicprobe::startup::Startup;
use civicprobe::{broker::Broker, gauges, nats_config::NatsConfig, ops};
use civicprobe_model::nats::{TICKETS_STREAM, TOKENS_STREAM, UPLOADS_STREAM};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What a separate tracker shares with every service: no upload limits or
/// evidence thresholds (ingest's), only where the photos it serves are.
#[derive(Debug, Args)]
pub(crate) struct TrackerServiceArgs {
    /// HTTP listen address.
    #[arg(long, env = "CIVICPROBE_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    #[command(flatten)]
    pub(crate) nats: NatsConfig,
    #[command(flatten)]
    pub(crate) jetstream: JetStreamArgs,
    #[command(flatten)]
    pub(crate) database: civicprobe_tracker::Config,
    /// The data directory (the default SQLite database) and the photo
    /// store it serves photos from.
    #[command(flatten)]
    pub(crate) storage: civicprobe_ingest::Storage,
    #[command(flatten)]
    pub(crate) ops: ops::OpsArgs,
    /// Timeouts and connection cap.
    #[command(flatten)]
    pub(crate) http: HttpLimits,
}

impl TrackerServiceArgs {
    fn storage(&self) -> Storage {
        Storage {
            data_dir: self.storage.data_dir.clone(),
            database: self.database.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct TrackerArgs {
    #[command(flatten)]
    pub(crate) service: TrackerServiceArgs,
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
                civicprobe_jetstream::ensure_tickets_stream(&js, &settings).await?;
                civicprobe_jetstream::ensure_uploads_stream(&js, &settings).await?;
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
    let ingest_config = civicprobe_ingest::Config {
        storage: service.storage.clone(),
        jetstream: settings,
        ..Default::default()
    };
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
