//! `civicprobe`: run the pipeline, one service, token admin, or submit.

#![warn(unreachable_pub, clippy::unwrap_used)]

use civicprobe::admin::{self, NameAction, Named, OfficeAction, SupervisorAction, TokenAction};
use civicprobe::logging::LogFormat;
use civicprobe::stack::{Stack, StackConfig};
use civicprobe::{broker::Broker, nats_config::NatsConfig, submit};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

mod services;
use services::{IngestArgs, RouterArgs, ServiceArgs, TrackerArgs};

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
        Command::Ingest(args) => services::ingest(args).await,
        Command::Router(args) => services::router(args).await,
        Command::Tracker(args) => services::tracker(args).await,
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
        assert_eq!(
            args.service.ingest.storage.data_dir,
            PathBuf::from("/tmp/x")
        );
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

    /// Each service takes its own flags: ingest's upload limits and
    /// evidence thresholds mean nothing to a router or a tracker.
    #[test]
    fn a_service_takes_only_its_own_flags() {
        let ingest_only = [
            ["--rate-per-minute", "5"],
            ["--max-uploads-per-client", "3"],
            ["--max-photo-bytes", "1000"],
            ["--flag-reuse-bits", "3"],
        ];
        for service in ["tracker", "router"] {
            for [flag, value] in ingest_only {
                let args = ["civicprobe", service, flag, value];
                assert!(Cli::try_parse_from(args).is_err(), "{args:?} parsed");
            }
        }
        for [flag, value] in ingest_only {
            let args = ["civicprobe", "ingest", flag, value];
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?} refused");
        }
        let photos = [
            "civicprobe",
            "tracker",
            "--photo-store",
            "nats",
            "--data-dir",
            "/d",
        ];
        let Command::Tracker(args) = Cli::try_parse_from(photos).expect("parse").command else {
            panic!("not tracker");
        };
        assert_eq!(
            args.service.storage,
            civicprobe_ingest::Storage {
                data_dir: PathBuf::from("/d"),
                photo_store: civicprobe_ingest::PhotoBackendKind::Nats,
            }
        );
    }
}
