//! `civicprobe audit` (the response-time table) and `civicprobe audit
//! verify` (walk the event hash chain), for the `civicprobe` binary.
//!
//! Wiring: an `Audit(civicprobe_tracker::cli::AuditArgs)` subcommand whose
//! arm calls `civicprobe_tracker::cli::run(args).await?`.

use crate::audit::{render, Dimension};
use crate::{Config, Error, Store};
use std::io::Write;
use std::path::PathBuf;

/// `civicprobe audit [verify]`.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// What to do; without one, print the response-time table.
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Group by these, comma-separated: office, category, urgent, week.
    #[arg(long, default_value = "office")]
    pub group_by: String,
    /// Print CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
    /// Folder of the default SQLite database.
    #[arg(long, env = "CIVICPROBE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The database.
    #[command(flatten)]
    pub database: Config,
}

/// The audit's subcommands.
#[derive(clap::Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditCommand {
    /// Walk the tamper-evident event chain; name the first altered row.
    Verify,
}

/// Opens the database and runs the command, printing to stdout. A broken
/// chain is an [`Error::ChainBroken`] (non-zero exit) after its report.
pub async fn run(args: AuditArgs) -> Result<(), Error> {
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
    match args.command {
        Some(AuditCommand::Verify) => {
            let report = store.verify_chain().await?;
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
                    return Err(Error::ChainBroken(b.event_id.clone()));
                }
            }
        }
        None => {
            let dims = Dimension::parse_list(&args.group_by).map_err(Error::BadArgument)?;
            let report = store.response_times(&dims).await?;
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
