//! `civicprobe audit …` for the `civicprobe` binary: the response-time
//! table, the KPIs, `verify` (chain, figures, anchor), `anchor` (the signed
//! head), `keygen` and `export`. Every option is global, so it may follow
//! any subcommand (`civicprobe audit verify --data-dir D`).
//!
//! Wiring: an `Audit(civicprobe_tracker::cli::AuditArgs)` subcommand whose
//! arm calls `civicprobe_tracker::cli::run(args).await?`.

use crate::anchor::{self, AnchorVerdict};
use crate::audit::export::{ExportFormat, ExportRange};
use crate::audit::{kpi_render, render, Dimension};
use crate::{Config, Error, Store};
use civicprobe_model::nats::JetStreamSettings;
use futures::StreamExt;
use std::io::Write;
use std::path::PathBuf;

/// `civicprobe audit [kpis|verify|anchor|keygen|export]`.
#[derive(clap::Args, Debug, Clone)]
pub struct AuditArgs {
    /// What to do; without one, print the response-time table.
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Group by these, comma-separated: office, category, urgent, week, month.
    #[arg(long, global = true, default_value = "office")]
    pub group_by: String,
    /// Print CSV instead of a table.
    #[arg(long, global = true)]
    pub csv: bool,
    /// Folder of the default SQLite database.
    #[arg(
        long,
        global = true,
        env = "CIVICPROBE_DATA_DIR",
        default_value = "./data"
    )]
    pub data_dir: PathBuf,
    /// The database.
    #[command(flatten)]
    pub database: Config,
    /// The anchor: keys and the NATS it is published on.
    #[command(flatten)]
    pub anchor: AnchorArgs,
}

impl Default for AuditArgs {
    fn default() -> Self {
        AuditArgs {
            command: None,
            group_by: "office".into(),
            csv: false,
            data_dir: "./data".into(),
            database: Config { database_url: None },
            anchor: AnchorArgs::default(),
        }
    }
}

/// Where the signed heads are and which key signs or checks them.
#[derive(clap::Args, Debug, Clone)]
pub struct AnchorArgs {
    /// The district's Ed25519 key file (signs `audit anchor`; its public
    /// key checks `audit verify` when --anchor-public-key is not given).
    #[arg(long, global = true, env = "CIVICPROBE_ANCHOR_KEY")]
    pub anchor_key: Option<PathBuf>,
    /// The district's public key, 64 hex digits (`audit keygen` prints
    /// it): what `audit verify` checks the published heads with.
    #[arg(long, global = true, env = "CIVICPROBE_ANCHOR_PUBLIC_KEY")]
    pub anchor_public_key: Option<String>,
    /// How to reach the NATS holding the ANCHORS stream: the binary
    /// passes its connection (the servers, credentials and TLS every
    /// service takes: `NATS_URL`, `NATS_USER`, `NATS_CREDS`, …).
    #[arg(skip)]
    pub nats: NatsConnect,
    /// Replicas of the ANCHORS stream when `audit anchor --publish`
    /// creates it.
    #[arg(long, global = true, env = "CIVICPROBE_STREAM_REPLICAS", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=5))]
    pub stream_replicas: u8,
}

impl Default for AnchorArgs {
    fn default() -> Self {
        AnchorArgs {
            anchor_key: None,
            anchor_public_key: None,
            nats: NatsConnect::default(),
            stream_replicas: 1,
        }
    }
}

/// The audit's subcommands.
#[derive(clap::Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum AuditCommand {
    /// Response, resolution, rework and satisfaction rates per group.
    Kpis {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Walk the tamper-evident event chain, recompute every ticket's
    /// figures from its events, and hold the chain to the latest signed
    /// head on ANCHORS.
    Verify,
    /// Print the current chain head signed with --anchor-key (JSON), for
    /// the district to file elsewhere; `--publish` also puts it on ANCHORS.
    Anchor {
        /// Publish it on the ANCHORS stream too.
        #[arg(long)]
        publish: bool,
    },
    /// Make a new Ed25519 anchor key file (and `<file>.pub`); prints the
    /// public key.
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the tickets received from --from to --to (days, UTC) as CSV
    /// or GeoJSON to stdout.
    Export {
        /// `csv` or `geojson`.
        #[arg(long, default_value = "csv")]
        format: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day (included), YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// Only this office's tickets.
        #[arg(long)]
        office: Option<String>,
    },
}

/// Opens the database and runs the command, printing to stdout. A broken
/// chain, a figure its events do not give, or a published head the chain
/// does not match is an [`Error::ChainBroken`] (non-zero exit) after its
/// report.
pub async fn run(args: AuditArgs) -> Result<(), Error> {
    if let Some(AuditCommand::Keygen { out }) = &args.command {
        let public = anchor::generate_key_file(out)?;
        println!("{public}");
        return Ok(());
    }
    let url = args.database.database_url_or_default(&args.data_dir);
    let store = Store::connect(&url).await?;
    let outcome = run_with_store(&args, &store, &mut std::io::stdout().lock()).await;
    store.close().await;
    outcome
}

/// [`run`] against an open store, writing to `out`.
pub async fn run_with_store(
    args: &AuditArgs,
    store: &Store,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let dims = || Dimension::parse_list(&args.group_by).map_err(Error::BadArgument);
    match &args.command {
        Some(AuditCommand::Verify) => verify(args, store, out).await?,
        Some(AuditCommand::Kpis { json }) => {
            let report = store.kpis(&dims()?).await?;
            let text = match (json, args.csv) {
                (true, _) => serde_json::to_string_pretty(&report)? + "\n",
                (false, true) => kpi_render::csv(&report),
                (false, false) => kpi_render::table(&report),
            };
            out.write_all(text.as_bytes())?;
        }
        Some(AuditCommand::Anchor { publish }) => anchor_head(args, store, *publish, out).await?,
        Some(AuditCommand::Keygen { .. }) => {
            return Err(Error::BadArgument("keygen needs no database".into()))
        }
        Some(AuditCommand::Export {
            format,
            from,
            to,
            office,
        }) => {
            let format = ExportFormat::parse(format).map_err(Error::BadArgument)?;
            let range = ExportRange::parse(from, to, office.clone())
                .map_err(|(field, why)| Error::BadArgument(format!("--{field}: {why}")))?;
            let mut chunks = store.export_tickets(range, format);
            while let Some(chunk) = chunks.next().await {
                out.write_all(chunk?.as_bytes())?;
            }
        }
        None => {
            let report = store.response_times(&dims()?).await?;
            let text = if args.csv {
                render::csv(&report)
            } else {
                render::table(&report)
            };
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

/// `audit verify`: the chain, the figures, the anchor; every finding
/// printed before the verdict.
async fn verify(args: &AuditArgs, store: &Store, out: &mut dyn Write) -> Result<(), Error> {
    let report = store.verify_chain().await?;
    let mut first_fault: Option<String> = None;
    match &report.broken {
        None => writeln!(
            out,
            "event chain intact: {} rows, head {}",
            report.rows, report.head_hash
        )?,
        Some(b) => {
            writeln!(
                out,
                "event chain BROKEN at row {} (event {}, ticket {}): {}",
                b.chain_seq.map_or("-".into(), |s| s.to_string()),
                b.event_id,
                b.ticket_id,
                b.problem
            )?;
            first_fault = Some(b.event_id.clone());
        }
    }
    let mismatches = store.verify_figures().await?;
    if mismatches.is_empty() {
        writeln!(out, "ticket figures agree with their events")?;
    }
    for m in &mismatches {
        writeln!(
            out,
            "ticket figure DISAGREES: ticket {} {} is {} but its events give {}",
            m.ticket_id,
            m.column,
            m.stored.as_deref().unwrap_or("null"),
            m.from_events.as_deref().unwrap_or("null"),
        )?;
        first_fault.get_or_insert_with(|| format!("ticket {} {}", m.ticket_id, m.column));
    }
    let verdict = anchor_verdict(&args.anchor, store).await?;
    writeln!(out, "{}", verdict.line())?;
    if verdict.is_broken() {
        first_fault.get_or_insert_with(|| "the published chain head".into());
    }
    match first_fault {
        Some(fault) => Err(Error::ChainBroken(fault)),
        None => Ok(()),
    }
}

/// The chain against the latest published head, with the configured key.
pub async fn anchor_verdict(args: &AnchorArgs, store: &Store) -> Result<AnchorVerdict, Error> {
    let key = match (&args.anchor_public_key, &args.anchor_key) {
        (Some(public), _) => anchor::parse_public_key(public)?,
        (None, Some(path)) => anchor::load_signing_key(path)?.verifying_key(),
        (None, None) => {
            return Ok(AnchorVerdict::Unanchored {
                why: "no anchor key is configured (--anchor-public-key or --anchor-key)".into(),
            })
        }
    };
    let js = jetstream(args).await?;
    let head = anchor::stream::latest(&js).await?;
    anchor::check::check(store, head, &key).await
}

/// `audit anchor [--publish]`.
async fn anchor_head(
    args: &AuditArgs,
    store: &Store,
    publish: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let Some(path) = &args.anchor.anchor_key else {
        return Err(Error::BadArgument(
            "audit anchor signs with the district's key: give --anchor-key".into(),
        ));
    };
    let key = anchor::load_signing_key(path)?;
    let head = if publish {
        let settings = JetStreamSettings {
            replicas: usize::from(args.anchor.stream_replicas),
            ..Default::default()
        };
        let js = jetstream(&args.anchor).await?;
        anchor::stream::ensure_if_missing(&js, &settings).await?;
        let head = store.signed_head(&key).await?;
        anchor::stream::publish(&js, &head).await?;
        head
    } else {
        store.signed_head(&key).await?
    };
    writeln!(out, "{}", serde_json::to_string(&head)?)?;
    Ok(())
}

async fn jetstream(args: &AnchorArgs) -> Result<async_nats::jetstream::Context, Error> {
    let Some(connect) = &args.nats.0 else {
        return Err(Error::Nats("no NATS connection is configured".into()));
    };
    connect().await.map_err(Error::Nats)
}

/// Connects to NATS when `audit` needs the ANCHORS stream (`verify` with a
/// key, `anchor --publish`), and only then.
type Connect = dyn Fn() -> futures::future::BoxFuture<'static, Result<async_nats::jetstream::Context, String>>
    + Send
    + Sync;

/// How `audit` reaches NATS ([`AnchorArgs::nats`]); none by default.
#[derive(Clone, Default)]
pub struct NatsConnect(Option<std::sync::Arc<Connect>>);

impl NatsConnect {
    /// With `connect`, called when the stream is needed.
    pub fn new(
        connect: impl Fn() -> futures::future::BoxFuture<
                'static,
                Result<async_nats::jetstream::Context, String>,
            > + Send
            + Sync
            + 'static,
    ) -> Self {
        Self(Some(std::sync::Arc::new(connect)))
    }

    /// One server at `url`, no credentials (tests).
    pub fn url(url: impl Into<String>) -> Self {
        let url = url.into();
        Self::new(move || {
            let url = url.clone();
            Box::pin(async move {
                let client = async_nats::connect(&url)
                    .await
                    .map_err(|e| format!("connecting to {url}: {e}"))?;
                Ok(async_nats::jetstream::new(client))
            })
        })
    }
}

impl std::fmt::Debug for NatsConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "NatsConnect(configured)"
        } else {
            "NatsConnect(none)"
        })
    }
}
