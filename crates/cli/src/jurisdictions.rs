//! `civicprobe jurisdictions check FILE`: is a jurisdictions file fit to
//! route by? Prints one line per problem (self-intersections, overlaps,
//! gaps between neighbours, areas nobody covers, and, held against the
//! district's recent report positions, a wrongly declared datum) and exits
//! non-zero when there is any. [`warn_at_start`] logs the same at start.

use anyhow::{bail, Context};
use civicprobe_model::{Datum, Location};
use civicprobe_router::{check_datum, Finding, Jurisdictions, Tolerances};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How many recent reports the datum check looks at.
pub const RECENT_POSITIONS: u32 = 2000;

/// `civicprobe jurisdictions …`.
#[derive(Debug, Subcommand)]
pub enum JurisdictionsAction {
    /// Check a jurisdictions file; exits 1 naming each problem.
    Check(CheckArgs),
}

/// `civicprobe jurisdictions check FILE`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The GeoJSON FeatureCollection to check.
    pub file: PathBuf,
    /// Read the file in this datum, whatever it declares.
    #[arg(long, env = "CIVICPROBE_JURISDICTIONS_DATUM", value_name = "DATUM")]
    pub datum: Option<Datum>,
    /// The district's database: its latest tickets' and unrouted reports'
    /// positions are what the datum is checked against.
    #[arg(long = "database-url", env = "DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Report positions to check the datum against instead: JSON Lines of
    /// `{"lat": …, "lon": …}` (WGS-84).
    #[arg(long, value_name = "FILE")]
    pub positions: Option<PathBuf>,
}

/// Runs `civicprobe jurisdictions …`.
pub async fn run(action: JurisdictionsAction) -> anyhow::Result<()> {
    let JurisdictionsAction::Check(args) = action;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let j = Jurisdictions::from_geojson_in(&text, args.datum)?;
    let positions = match (&args.positions, &args.database_url) {
        (Some(file), _) => positions_file(file)?,
        (None, Some(url)) => {
            civicprobe_tracker::Store::connect(url)
                .await
                .context("opening the database")?
                .recent_positions(RECENT_POSITIONS)
                .await?
        }
        (None, None) => Vec::new(),
    };
    let findings = findings(&text, &j, &positions);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {} offices, read as {}, checked against {} report positions",
        args.file.display(),
        j.offices().count(),
        j.datum(),
        positions.len()
    )?;
    for finding in &findings {
        writeln!(out, "{finding}")?;
    }
    if !findings.is_empty() {
        bail!("{} problems in {}", findings.len(), args.file.display());
    }
    writeln!(out, "no problems")?;
    Ok(())
}

/// Every problem of the file `text`, read into `j`, against `positions`.
pub fn findings(text: &str, j: &Jurisdictions, positions: &[Location]) -> Vec<Finding> {
    let mut findings = j.check(Tolerances::default());
    findings.extend(check_datum(text, j, positions));
    findings
}

/// Logs each problem of the jurisdictions file at `path` as a warning.
pub fn warn_at_start(path: &Path, datum: Option<Datum>, positions: &[Location]) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return; // Loading it proper says why.
    };
    let Ok(j) = Jurisdictions::from_geojson_in(&text, datum) else {
        return;
    };
    for finding in findings(&text, &j, positions) {
        tracing::warn!(file = %path.display(), problem = %finding, "jurisdictions check");
    }
}

/// JSON Lines of `{"lat", "lon"}`; a bad line is an error naming it.
fn positions_file(path: &Path) -> anyhow::Result<Vec<Location>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str::<Location>(line)
                .with_context(|| format!("{} line {}", path.display(), n + 1))
        })
        .collect()
}
