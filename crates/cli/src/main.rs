//! `civicprobe`: run the pipeline, one service, token admin, or submit.

use anyhow::Context;
use civicprobe::admin::{
    self, NameAction, Named, OfficeAction, Storage, SupervisorAction, TokenAction,
};
use civicprobe::jetstream_args::JetStreamArgs;
use civicprobe::logging::LogFormat;
use civicprobe::ops_listener::OpsEndpoints;
use civicprobe::serve::HttpLimits;
use civicprobe::shutdown::Shutdown;
use civicprobe::stack::{self, Stack, StackConfig};
use civicprobe::startup::Startup;
use civicprobe::{broker::Broker, gauges, nats_config::NatsConfig, ops, submit};
use civicprobe_model::nats::{
    PHOTOS_STREAM, REPORTS_STREAM, TICKETS_STREAM, TOKENS_STREAM, UPLOADS_STREAM,
};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Civic-hazard reports from couriers to the street office that must act.
#[derive(Debug, Parser)]
#[command(name = "civicprobe", version, about)]
struct Cli {
    /// How log lines on stderr are written: text (coloured only on a
    /// terminal) or json (one object a line).
    #[arg(
        long,
        global = true,
        env = "CIVICPROBE_LOG_FORMAT",
        value_enum,
        default_value_t
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run ingest, router and tracker in one process on one listen address.
    Up(UpArgs),
    /// Run the ingest service alone: report intake, Open311's POST, proof
    /// and verification photo uploads. No database: tokens come from the
    /// tracker's TOKENS stream.
    Ingest(IngestArgs),
    /// Run the router alone.
    Router(RouterArgs),
    /// Run the tracker alone.
    Tracker(TrackerArgs),
    /// Register a courier and print their token.
    Courier {
        #[command(subcommand)]
        action: NameAction,
    },
    /// Register a person of a street office's staff and print their
    /// token, or add an office's alert channel.
    Office {
        #[command(subcommand)]
        action: OfficeAction,
    },
    /// Register a supervisor and print their token, or add the
    /// supervisors' alert channel.
    Supervisor {
        #[command(subcommand)]
        action: SupervisorAction,
    },
    /// List or remove alert channels.
    Alerts {
        #[command(subcommand)]
        action: civicprobe::alerts::AlertsAction,
    },
    /// Add, list or retire rewards couriers redeem their points for.
    Rewards {
        #[command(subcommand)]
        action: civicprobe::rewards::RewardsAction,
    },
    /// List, revoke or rotate tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Submit a photo report as a courier; prints the report id.
    Submit(SubmitArgs),
    /// Classify JSON Lines reports from stdin, or evaluate on a labelled file.
    Classify(civicprobe_router::cli::ClassifyArgs),
    /// Print the office whose area holds a point.
    Route(civicprobe_router::cli::RouteArgs),
    /// Check a jurisdictions file (overlaps, gaps, self-intersections, datum).
    Jurisdictions {
        #[command(subcommand)]
        action: civicprobe::jurisdictions::JurisdictionsAction,
    },
    /// Response-time audit table, or `audit verify` for the event chain.
    Audit(AuditCli),
    /// Submit photo reports at a fixed rate as many couriers and measure.
    Load(civicprobe::load::LoadArgs),
    /// Internal: runs `up`'s nats-server and stops it when `up` is gone.
    #[command(hide = true)]
    NatsGuard {
        /// The nats-server binary.
        program: PathBuf,
        /// Its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

/// `civicprobe audit …`: the tracker's audit commands, and NATS as every
/// service reaches it (the anchor's stream).
#[derive(clap::Args, Debug)]
struct AuditCli {
    #[command(flatten)]
    audit: civicprobe_tracker::cli::AuditArgs,
    #[command(flatten)]
    nats: NatsConfig,
}

#[derive(Debug, Args)]
struct UpArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// Named places (a local gazetteer) for Open311's `address_string`.
    #[arg(long, env = "CIVICPROBE_PLACES", default_value = civicprobe_open311::places::DEFAULT_PATH)]
    places: PathBuf,
    /// Whether Open311's public reads serve report photos (`media_url`,
    /// `/open311/v2/media/…`): a district's choice. `false` keeps photos
    /// for offices, supervisors and their couriers only.
    #[arg(long, env = "CIVICPROBE_OPEN311_PUBLIC_PHOTOS", default_value_t = true, action = clap::ArgAction::Set)]
    open311_public_photos: bool,
    /// The one Open311 `jurisdiction_id` this district serves; a request
    /// naming another is refused (unset: any is accepted).
    #[arg(long, env = "CIVICPROBE_OPEN311_JURISDICTION")]
    open311_jurisdiction: Option<String>,
    #[command(flatten)]
    sla: civicprobe_tracker::SlaConfig,
    #[command(flatten)]
    alerts: civicprobe_tracker::AlertConfig,
    #[command(flatten)]
    events: civicprobe_tracker::events::EventsConfig,
    #[command(flatten)]
    anchor: civicprobe_tracker::anchor::AnchorConfig,
    #[command(flatten)]
    router: civicprobe_router::Config,
    #[command(flatten)]
    router_options: civicprobe_router::Options,
    #[command(flatten)]
    sessions: civicprobe_tracker::SessionConfig,
    /// The public URL every absolute URL starts with (Open311 `media_url`,
    /// discovery) and the web pages' origin, e.g. `https://civic.example`;
    /// unset: `http://<listen address>`.
    #[arg(long, env = "CIVICPROBE_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Debug, Args)]
struct ServiceArgs {
    /// HTTP listen address.
    #[arg(long, env = "CIVICPROBE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    nats: NatsConfig,
    #[command(flatten)]
    jetstream: JetStreamArgs,
    #[command(flatten)]
    database: civicprobe_tracker::Config,
    /// Data directory and upload limits.
    #[command(flatten)]
    ingest: civicprobe_ingest::Config,
    #[command(flatten)]
    ops: ops::OpsArgs,
    /// Timeouts, connection cap, uploads per client.
    #[command(flatten)]
    http: HttpLimits,
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
struct IngestArgs {
    /// HTTP listen address.
    #[arg(long, env = "CIVICPROBE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    nats: NatsConfig,
    /// Stream replicas and deliveries before a dead letter.
    #[command(flatten)]
    jetstream: JetStreamArgs,
    /// Data directory (outbox, local copy of the tokens) and upload limits.
    #[command(flatten)]
    ingest: civicprobe_ingest::Config,
    #[command(flatten)]
    ops: ops::OpsArgs,
    /// Timeouts, connection cap, uploads per client.
    #[command(flatten)]
    http: HttpLimits,
    /// Named places (a local gazetteer) for Open311's `address_string`.
    #[arg(long, env = "CIVICPROBE_PLACES", default_value = civicprobe_open311::places::DEFAULT_PATH)]
    places: PathBuf,
    /// The one Open311 `jurisdiction_id` this district serves; a request
    /// naming another is refused (unset: any is accepted).
    #[arg(long, env = "CIVICPROBE_OPEN311_JURISDICTION")]
    open311_jurisdiction: Option<String>,
    /// The public URL the pages are served at (their Origin check).
    #[arg(long, env = "CIVICPROBE_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Debug, Args)]
struct TrackerArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// Jurisdictions: the pages' office map, and the known offices.
    #[command(flatten)]
    router: civicprobe_router::Config,
    /// The categories' names, for Open311's services.
    #[arg(long, env = "CIVICPROBE_CATEGORIES", default_value = civicprobe_router::categories::DEFAULT_CATEGORIES)]
    categories: PathBuf,
    #[command(flatten)]
    sessions: civicprobe_tracker::SessionConfig,
    /// Whether Open311's public reads serve report photos.
    #[arg(long, env = "CIVICPROBE_OPEN311_PUBLIC_PHOTOS", default_value_t = true, action = clap::ArgAction::Set)]
    open311_public_photos: bool,
    /// The one Open311 `jurisdiction_id` this district serves; a request
    /// naming another is refused (unset: any is accepted).
    #[arg(long, env = "CIVICPROBE_OPEN311_JURISDICTION")]
    open311_jurisdiction: Option<String>,
    /// The public URL every absolute URL starts with and the pages' origin;
    /// unset: `http://<listen address>`.
    #[arg(long, env = "CIVICPROBE_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    sla: civicprobe_tracker::SlaConfig,
    /// SLA policy (TOML), the router's file: re-triage, urgent duplicates
    /// and reports routed by hand get their deadlines from it.
    #[arg(long, env = "CIVICPROBE_POLICY", default_value = civicprobe_router::sla::DEFAULT_POLICY)]
    policy: std::path::PathBuf,
    #[command(flatten)]
    alerts: civicprobe_tracker::AlertConfig,
    #[command(flatten)]
    events: civicprobe_tracker::events::EventsConfig,
    #[command(flatten)]
    anchor: civicprobe_tracker::anchor::AnchorConfig,
}

#[derive(Debug, Args)]
struct RouterArgs {
    /// HTTP listen address for /healthz, /readyz and /metrics (with a
    /// token, or on --ops-listen).
    #[arg(long, env = "CIVICPROBE_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    #[command(flatten)]
    nats: NatsConfig,
    #[command(flatten)]
    jetstream: JetStreamArgs,
    #[command(flatten)]
    router: civicprobe_router::Config,
    #[command(flatten)]
    router_options: civicprobe_router::Options,
    #[command(flatten)]
    ops: ops::OpsArgs,
    /// Timeouts and connection cap.
    #[command(flatten)]
    http: HttpLimits,
}

#[derive(Debug, Args)]
struct SubmitArgs {
    /// The courier's token.
    #[arg(long, env = "CIVICPROBE_TOKEN", hide_env_values = true)]
    token: String,
    /// The photo (JPEG or PNG).
    #[arg(long)]
    photo: PathBuf,
    /// Latitude, degrees north. Leave out both --lat and --lon to take the
    /// position from the photo's EXIF GPS (the report is then flagged
    /// `position_from_exif`).
    #[arg(long, allow_negative_numbers = true, requires = "lon")]
    lat: Option<f64>,
    /// Longitude, degrees east.
    #[arg(long, allow_negative_numbers = true, requires = "lat")]
    lon: Option<f64>,
    /// What is wrong, in Chinese or English.
    #[arg(long)]
    text: Option<String>,
    /// Category: manhole, elevator, electrical_box, other.
    #[arg(long)]
    hint: Option<String>,
    /// The ingest service.
    #[arg(long, env = "CIVICPROBE_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Reuse a key to retry a submission safely; a new one by default.
    #[arg(long)]
    idempotency_key: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    civicprobe::logging::init(cli.log_format);
    match cli.command {
        Command::Up(args) => up(args).await,
        Command::Ingest(args) => ingest(args).await,
        Command::Router(args) => router(args).await,
        Command::Tracker(args) => tracker(args).await,
        Command::Courier { action } => admin::add_named(Named::Courier, action).await,
        Command::Office { action } => admin::office(action).await,
        Command::Supervisor { action } => admin::supervisor(action).await,
        Command::Alerts { action } => civicprobe::alerts::alerts(action).await,
        Command::Rewards { action } => civicprobe::rewards::rewards(action).await,
        Command::Token { action } => admin::token(action).await,
        Command::Submit(args) => {
            let submission = submit::Submission {
                url: args.url,
                token: args.token,
                photo: args.photo,
                position: args.lat.zip(args.lon),
                text: args.text,
                hint: args.hint,
                idempotency_key: args
                    .idempotency_key
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            };
            println!("{}", submit::submit(&submission).await?);
            Ok(())
        }
        Command::Classify(args) => civicprobe::corrections::classify(args).await,
        Command::Route(args) => Ok(civicprobe_router::cli::route(args).await?),
        Command::Jurisdictions { action } => civicprobe::jurisdictions::run(action).await,
        Command::Audit(AuditCli { mut audit, nats }) => {
            // The ANCHORS stream through the services' own connection.
            audit.anchor.nats = civicprobe_tracker::cli::NatsConnect::new(move || {
                let nats = nats.clone();
                Box::pin(async move {
                    let broker = Broker::connect(&nats).await.map_err(|e| format!("{e:#}"))?;
                    Ok(async_nats::jetstream::new(broker.client.clone()))
                })
            });
            Ok(civicprobe_tracker::cli::run(audit).await?)
        }
        Command::Load(args) => civicprobe::load::run(args).await,
        Command::NatsGuard { program, args } => {
            std::process::exit(civicprobe::nats_child::guard(program, args).await?)
        }
    }
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    let config = StackConfig {
        listen: args.service.listen,
        nats: args.service.nats,
        jetstream: args.service.jetstream.settings(),
        start_nats: true,
        database: args.service.database,
        ingest: args.service.ingest,
        router: args.router,
        router_options: args.router_options,
        sla: args.sla,
        alerts: args.alerts,
        events: args.events,
        anchor: args.anchor,
        places: args.places,
        sessions: args.sessions,
        open311_public_photos: args.open311_public_photos,
        open311_jurisdiction: args.open311_jurisdiction,
        public_url: args.public_url,
        metrics_token: args.service.ops.metrics_token,
        ops_listen: args.service.ops.ops_listen,
        http: args.service.http,
    };
    let stack = Stack::start(config).await?;
    stack.shutdown().on_signals();
    println!("civicprobe is up at {}", stack.base_url());
    stack.run_until_shutdown().await
}

async fn ingest(mut args: IngestArgs) -> anyhow::Result<()> {
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

async fn router(args: RouterArgs) -> anyhow::Result<()> {
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

async fn tracker(args: TrackerArgs) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Every environment variable of every command, recursively.
    fn env_names(cmd: &clap::Command, out: &mut std::collections::BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                out.insert(env.to_string_lossy().into_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            env_names(sub, out);
        }
    }

    #[test]
    fn every_environment_variable_is_in_the_deploy_example() {
        let example = include_str!("../../../deploy/civicprobe.env.example");
        let mut names = std::collections::BTreeSet::new();
        env_names(&Cli::command(), &mut names);
        assert!(names.len() > 10, "{names:?}");
        let missing: Vec<_> = names
            .iter()
            .filter(|name| !example.contains(&format!("{name}=")))
            .collect();
        assert!(
            missing.is_empty(),
            "not in deploy/civicprobe.env.example: {missing:?}"
        );
    }

    #[test]
    fn up_parses_with_defaults_and_flags() {
        let cli = Cli::try_parse_from([
            "civicprobe",
            "up",
            "--listen",
            "0.0.0.0:9000",
            "--data-dir",
            "/tmp/x",
        ])
        .expect("parse");
        let Command::Up(args) = cli.command else {
            panic!("not up");
        };
        assert_eq!(args.service.listen.port(), 9000);
        assert_eq!(args.service.ingest.data_dir, PathBuf::from("/tmp/x"));
        assert!(Cli::try_parse_from(["civicprobe", "office", "add", "Not.Valid"]).is_err());
        // An office token names the person who holds it.
        assert!(Cli::try_parse_from(["civicprobe", "office", "add", "wenquan"]).is_err());
        let args = [
            "civicprobe",
            "office",
            "add",
            "wenquan",
            "--person",
            "Wang Fang",
        ];
        assert!(Cli::try_parse_from(args).is_ok());
        let days = [
            "civicprobe",
            "courier",
            "add",
            "Li",
            "--expires-in-days",
            "0",
        ];
        assert!(Cli::try_parse_from(days).is_err());
    }
}
