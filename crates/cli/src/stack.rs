//! The whole pipeline in one process.

use crate::broker::Broker;
pub use crate::ingest_access::{couriers, ingest_state};
use crate::ops_listener::OpsEndpoints;
use crate::serve::{serve, HttpLimits};
use crate::shutdown::Shutdown;
use crate::startup::Startup;
use anyhow::Context;
use civicprobe_ingest::IngestState;
use civicprobe_model::nats::{REPORTS_STREAM, TICKETS_STREAM};
use civicprobe_tracker::Store;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Everything `civicprobe up` needs; tests fill it in directly.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// HTTP listen address; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where NATS is and how to authenticate.
    pub nats: crate::nats_config::NatsConfig,
    /// Replicas of the streams and the object store, and rejections before
    /// a dead letter.
    pub jetstream: civicprobe_model::nats::JetStreamSettings,
    /// Start `nats-server` as a child if no server is configured and
    /// nothing answers at the default address.
    pub start_nats: bool,
    /// The database; unset is SQLite in the data directory.
    pub database: civicprobe_tracker::Config,
    /// Ingest settings; its `data_dir` is the stack's data directory.
    pub ingest: civicprobe_ingest::Config,
    /// Router settings (jurisdictions file).
    pub router: civicprobe_router::Config,
    /// Router models and rules: classifier corpus, SLA policy, categories,
    /// boundary and duplicate thresholds.
    pub router_options: civicprobe_router::Options,
    /// Escalation sweep, auto-verify and verification settings.
    pub sla: civicprobe_tracker::SlaConfig,
    /// Alerts: the digest's time, retries, where links point (unset:
    /// `public_url`, else the listen address).
    pub alerts: civicprobe_tracker::AlertConfig,
    /// The live event stream's replay window, cap and heartbeat.
    pub events: civicprobe_tracker::events::EventsConfig,
    /// The district's key and how often the signed chain head goes to
    /// ANCHORS (no key: not anchored).
    pub anchor: civicprobe_tracker::anchor::AnchorConfig,
    /// Named places, so Open311 requests may give `address_string`.
    pub places: PathBuf,
    /// How long web sessions last (idle and at most).
    pub sessions: civicprobe_tracker::SessionConfig,
    /// Whether Open311's public reads serve report photos (`media_url`).
    pub open311_public_photos: bool,
    /// The one Open311 `jurisdiction_id` served (unset: any is accepted).
    pub open311_jurisdiction: Option<String>,
    /// The public URL (`https://civic.example`) every absolute URL starts
    /// with; unset: `http://<the listen address>`. When set, the web
    /// pages' Origin check and cookies follow it too. The `Host` header is
    /// never used for absolute URLs.
    pub public_url: Option<String>,
    /// What `/metrics` requires; unset disables it on the main listener.
    pub metrics_token: Option<crate::ops::MetricsToken>,
    /// A private listen address for `/metrics` (open), `/healthz` and
    /// `/readyz`; `/metrics` then leaves the main listener.
    pub ops_listen: Option<SocketAddr>,
    /// Timeouts, connection cap and uploads per client.
    pub http: HttpLimits,
}

impl StackConfig {
    /// Laptop defaults around a data directory: SQLite, NATS at
    /// `nats_url`, jurisdictions, classifier corpus, categories and SLA
    /// policy from `fixtures` (the repository's `fixtures/` folder).
    pub fn new(data_dir: PathBuf, nats_url: String, fixtures: &Path) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            nats: crate::nats_config::NatsConfig::from_url(nats_url),
            jetstream: Default::default(),
            start_nats: false,
            database: civicprobe_tracker::Config { database_url: None },
            ingest: civicprobe_ingest::Config {
                storage: civicprobe_ingest::Storage {
                    data_dir,
                    ..Default::default()
                },
                ..Default::default()
            },
            router: civicprobe_router::Config {
                jurisdictions: fixtures.join("jurisdictions.geojson"),
                jurisdictions_datum: None,
            },
            router_options: civicprobe_router::Options {
                classifier_corpus: fixtures.join("reports/train.jsonl"),
                policy: fixtures.join("policy.toml"),
                categories: fixtures.join("categories.toml"),
                ..Default::default()
            },
            sla: civicprobe_tracker::SlaConfig::default(),
            alerts: civicprobe_tracker::AlertConfig::default(),
            events: civicprobe_tracker::events::EventsConfig::default(),
            anchor: civicprobe_tracker::anchor::AnchorConfig::default(),
            places: fixtures.join("places.toml"),
            sessions: civicprobe_tracker::SessionConfig::default(),
            open311_public_photos: true,
            open311_jurisdiction: None,
            public_url: None,
            metrics_token: None,
            ops_listen: None,
            http: HttpLimits::default(),
        }
    }
}

/// A running pipeline: ingest, router and tracker, one HTTP address.
#[derive(Debug)]
pub struct Stack {
    /// Where the HTTP API listens.
    pub addr: SocketAddr,
    /// Where the ops listener (`--ops-listen`) listens, if configured.
    pub ops_addr: Option<SocketAddr>,
    /// The tracker's store (tests and admin commands use it directly).
    pub store: Store,
    /// Ingest's state (tests read its upload budget).
    pub ingest: IngestState,
    /// The NATS connection (and server, if started here).
    broker: Broker,
    /// Stops every task below.
    shutdown: Shutdown,
    /// Start-up steps, router consumer, tracker consumer, outbox, gauges,
    /// SLA clock, alerts, event hub, ops listener, HTTP server.
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

impl Stack {
    /// Starts every stage and returns once the HTTP API listens. With NATS
    /// there, the streams and consumers exist by then; with NATS away the
    /// stack starts anyway ([`crate::startup`]): ingest accepts into its
    /// outbox, and the stages that need NATS start once it is there.
    pub async fn start(config: StackConfig) -> anyhow::Result<Self> {
        crate::http_metrics::set_service("up");
        let data_dir = config.ingest.storage.data_dir.clone();
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
        let router =
            civicprobe_router::Router::from_options(&config.router, &config.router_options)
                .context("loading the router's jurisdictions, classifier and policy")?;
        let broker = if config.start_nats {
            Broker::connect_or_start(&config.nats, &data_dir).await?
        } else {
            Broker::connect_or_wait(&config.nats).await?
        };
        let js = async_nats::jetstream::new(broker.client.clone());
        let settings = config.jetstream;
        let shutdown = Shutdown::new();
        let mut tasks = Vec::new();
        let (gate, startup) = Startup::new("up", &broker.client)
            .ensure("the streams", move |js| async move {
                ensure_streams(&js, &settings).await
            })
            // Before anything is published: the consumer starts at new
            // messages (the stages below wait for it).
            .ensure("the alerts consumer", |js| async move {
                civicprobe_tracker::alerts::ensure_alerts_consumer(&js)
                    .await
                    .map(drop)
            })
            .spawn(&shutdown);
        tasks.push(("startup", startup));
        let db_url = config.database.database_url_or_default(&data_dir);
        let store = Store::connect(&db_url)
            .await
            .context("opening the database")?
            .with_policy(router.policy().clone())
            .with_verification(config.sla.verify);
        let store = match config
            .anchor
            .verifying_key()
            .context("reading the anchor key")?
        {
            Some(key) => store.with_anchor(key, js.clone()),
            None => store,
        };
        seed_offices(&store, router.jurisdictions()).await?;
        check_jurisdictions(&store, &config.router).await;

        // Open311 names its services from the categories the router loaded.
        let categories = router.categories().clone();
        let router = Arc::new(router);
        let (js2, stop) = (js.clone(), shutdown.signalled());
        let routing = civicprobe_router::run(js2, router, settings, stop);
        tasks.push(("router", gate.then(&shutdown, routing)));
        let (js2, store2, stop) = (js.clone(), store.clone(), shutdown.signalled());
        let consuming = civicprobe_tracker::run_consumer(js2, store2, settings, stop);
        tasks.push(("tracker", gate.then(&shutdown, consuming)));
        let (js2, store2, stop) = (js.clone(), store.clone(), shutdown.signalled());
        let publishing = civicprobe_tracker::run_outbox(js2, store2, stop);
        tasks.push(("outbox", gate.then(&shutdown, publishing)));
        let watched = crate::gauges::Watched {
            js: js.clone(),
            consumers: crate::gauges::UP,
            store: Some(store.clone()),
        };
        let gauges = crate::gauges::run(watched, shutdown.signalled());
        tasks.push(("gauges", tokio::spawn(gauges)));
        let (store2, stop) = (store.clone(), shutdown.signalled());
        tasks.push((
            "sla",
            spawn(civicprobe_tracker::run_sla_clock(
                store2,
                config.sla.clone(),
                stop,
            )),
        ));

        let hub = crate::startup::event_hub(&gate, &js, &store, config.events.clone()).await?;
        let following = hub.clone().run(shutdown.signalled());
        tasks.push(("events", gate.then(&shutdown, following)));

        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let public = public_url(config.public_url.as_deref(), addr)?;
        let mut alerts = config.alerts.clone();
        alerts.link_base.get_or_insert_with(|| public.url.clone());
        let (js2, store2, stop) = (js.clone(), store.clone(), shutdown.signalled());
        let alerting = civicprobe_tracker::alerts::run(js2, store2, alerts, settings, stop);
        tasks.push(("alerts", gate.then(&shutdown, alerting)));
        // Keeps TOKENS current, so that a separate ingest can join this NATS.
        let (js2, store2, stop) = (js.clone(), store.clone(), shutdown.signalled());
        let feeding = civicprobe_tracker::run_token_feed(js2, store2, settings.replicas, stop);
        tasks.push(("token feed", gate.then(&shutdown, feeding)));
        let (js2, store2, stop) = (js.clone(), store.clone(), shutdown.signalled());
        let anchor = config.anchor.clone();
        let anchoring =
            civicprobe_tracker::anchor::stream::run_anchor(js2, store2, anchor, settings, stop);
        tasks.push(("anchor", gate.then(&shutdown, anchoring)));
        let mut ingest_config = config.ingest.clone();
        ingest_config.jetstream = settings;
        let dead_letters =
            civicprobe_tracker::http::dead_letters::router(store.clone(), js.clone());
        let ingest = ingest_state(ingest_config, js, &store);
        ingest
            .open_store()
            .await
            .context("opening ingest's local store")?;
        let publishing = ingest.clone().run(shutdown.signalled());
        tasks.push((
            "ingest outbox",
            tokio::spawn(async move {
                publishing.await;
                Ok(())
            }),
        ));
        let ops_args = crate::ops::OpsArgs {
            metrics_token: config.metrics_token.clone(),
            ops_listen: config.ops_listen,
        };
        let streams = vec![REPORTS_STREAM, TICKETS_STREAM];
        let ops = OpsEndpoints::new(
            "up",
            &broker.client,
            &ops_args,
            streams,
            Some(store.clone()),
        );
        // One process: the photo reads share ingest's state (its local
        // photo index serves the filesystem photo store).
        let tracker = crate::split::tracker_routes(crate::split::TrackerRoutes {
            store: store.clone(),
            photos: ingest.clone(),
            hub,
            categories,
            open311_public_photos: config.open311_public_photos,
            open311_jurisdiction: config.open311_jurisdiction.clone(),
            base_url: public.url.clone(),
            jurisdictions: &config.router,
            sessions: config.sessions.policy(),
        })?;
        let jurisdiction = config.open311_jurisdiction.clone();
        let app = crate::split::intake_routes(ingest.clone(), &config.places, jurisdiction)?
            .merge(tracker)
            .merge(dead_letters)
            .merge(ops.public());
        let app = crate::split::with_sessions(app, public.web_origin);
        let app = crate::answers::harden(app);
        let ops_addr = match ops.serve(&config.http, &shutdown).await? {
            Some((ops_addr, task)) => {
                tasks.push(("ops", task));
                Some(ops_addr)
            }
            None => None,
        };
        let serving = serve(listener, app, config.http.clone(), shutdown.clone());
        tasks.push(("http", tokio::spawn(serving)));
        tracing::info!(%addr, public_url = %public.url, nats = %broker.url, database = %civicprobe_tracker::mask_password(&db_url), "civicprobe is up");
        Ok(Self {
            addr,
            ops_addr,
            store,
            ingest,
            broker,
            shutdown,
            tasks,
        })
    }

    /// `http://<addr>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shutdown signal (trigger it to stop, or wire it to signals).
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Runs until the shutdown signal, then stops cleanly. A stage that
    /// fails stops the whole stack and its error is returned.
    pub async fn run_until_shutdown(self) -> anyhow::Result<()> {
        self.shutdown.signalled().await;
        self.stop().await
    }

    /// Stops every stage, drains ingest's outbox (for `--drain-secs`) and
    /// NATS, stops a NATS started here.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        let mut first_error = None;
        for (name, task) in self.tasks {
            match tokio::time::timeout(Duration::from_secs(10), task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => {
                    tracing::error!(stage = name, error = %e, "stage failed");
                    first_error.get_or_insert(e.context(name));
                }
                Ok(Err(join)) => {
                    first_error.get_or_insert(anyhow::anyhow!("{name} panicked: {join}"));
                }
                Err(_) => tracing::warn!(stage = name, "did not stop within 10 s"),
            }
        }
        // No request comes in any more: publish what ingest accepted.
        if let Err(e) = self.ingest.drain_outbox(self.ingest.drain_time()).await {
            tracing::error!(error = %e, "outbox: could not be drained on shutdown");
        }
        self.broker.stop().await;
        first_error.map_or(Ok(()), Err)
    }
}

/// Logs what is wrong with the jurisdictions file, its datum held against
/// the district's recent reports.
async fn check_jurisdictions(store: &Store, router: &civicprobe_router::Config) {
    let limit = crate::jurisdictions::RECENT_POSITIONS;
    let positions = store.recent_positions(limit).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "jurisdictions check: no recent positions");
        Vec::new()
    });
    let (path, datum) = (&router.jurisdictions, router.jurisdictions_datum);
    crate::jurisdictions::warn_at_start(path, datum, &positions);
}

/// Makes every office of the jurisdictions file a known office (a
/// reroute or route target), updating their names.
pub async fn seed_offices(
    store: &Store,
    jurisdictions: &civicprobe_router::Jurisdictions,
) -> anyhow::Result<()> {
    let offices = jurisdictions.offices().map(|o| (&o.id, o.name.as_str()));
    let n = store
        .seed_offices(offices)
        .await
        .context("recording the jurisdictions' offices")?;
    tracing::info!(offices = n, "known offices seeded from the jurisdictions");
    Ok(())
}

/// Creates the `REPORTS`, `TICKETS` and `DEAD_LETTERS` streams if they
/// are missing, and updates them to `settings.replicas`.
pub async fn ensure_streams(
    js: &async_nats::jetstream::Context,
    settings: &civicprobe_model::nats::JetStreamSettings,
) -> anyhow::Result<()> {
    civicprobe_jetstream::ensure_reports_stream(js, settings)
        .await
        .context("creating the REPORTS stream")?;
    civicprobe_jetstream::ensure_tickets_stream(js, settings)
        .await
        .context("creating the TICKETS stream")?;
    civicprobe_jetstream::ensure_dead_letters(js, settings)
        .await
        .context("creating the DEAD_LETTERS stream")?;
    Ok(())
}

fn spawn<E>(
    stage: impl std::future::Future<Output = Result<(), E>> + Send + 'static,
) -> JoinHandle<anyhow::Result<()>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    tokio::spawn(async move { stage.await.map_err(anyhow::Error::from) })
}

/// Where absolute URLs point.
#[derive(Debug)]
pub struct PublicUrl {
    /// Open311's base for `media_url` and discovery (no trailing slash).
    pub url: String,
    /// The web pages' origin for CSRF and `Secure`, only when configured.
    pub web_origin: Option<civicprobe_web::PublicOrigin>,
}

/// `--public-url` checked, or `http://<addr>`.
pub fn public_url(configured: Option<&str>, addr: SocketAddr) -> anyhow::Result<PublicUrl> {
    let Some(url) = configured else {
        return Ok(PublicUrl {
            url: format!("http://{addr}"),
            web_origin: None,
        });
    };
    let origin = civicprobe_web::PublicOrigin::of_url(url).with_context(|| {
        format!("--public-url {url:?} must be http:// or https:// and a host, e.g. https://civic.example")
    })?;
    if url.contains(['?', '#']) {
        anyhow::bail!("--public-url {url:?} must not have a query or fragment");
    }
    Ok(PublicUrl {
        url: url.trim().trim_end_matches('/').to_owned(),
        web_origin: Some(origin),
    })
}
