//! `civicprobe classify`, `civicprobe classify --eval FILE`,
//! `civicprobe classify --train --out DIR` ([`train`]) and
//! `civicprobe route`: argument structs for the binary and functions that
//! do the work over any reader and writer (the tests use memory).

use civicprobe_model::{Category, Datum};
use serde::{Deserialize, Serialize};
use std::{
    io::{BufRead, Write},
    path::PathBuf,
};

use crate::{
    classifier::{corpus, eval},
    Classifier, Error, Jurisdictions, DEFAULT_BOUNDARY_M, DEFAULT_CORPUS, DEFAULT_JURISDICTIONS,
};

/// `civicprobe classify [--model PATH] [--eval FILE | --train --out DIR
/// [--corrections-from SOURCE]]`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct ClassifyArgs {
    /// Print accuracy, per-category precision/recall, the confusion matrix,
    /// urgent recall, the false-urgent rate and the worst misses on this
    /// labelled JSON Lines file instead of classifying stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "train")]
    pub eval: Option<PathBuf>,
    /// Retrain from the corpus plus corrections, write a versioned model
    /// file into `--out` and compare it with the current model on the
    /// untouched test split.
    #[arg(long, requires = "out")]
    pub train: bool,
    /// Where `--train` writes `model-<version>.json`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Offices' re-triages to learn from: a database URL (`sqlite:…`,
    /// `postgres://…`), a data directory holding the SQLite database, or a
    /// labelled JSON Lines file.
    #[arg(long, value_name = "SOURCE", requires = "train")]
    pub corrections_from: Option<String>,
    /// The current model: a model file; without it, the one trained from
    /// `--classifier-corpus`.
    #[arg(long = "model", env = "CIVICPROBE_MODEL", value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// The untouched test split `--train` reports on.
    #[arg(long, value_name = "FILE", default_value = train::DEFAULT_TEST_SPLIT)]
    pub test_split: PathBuf,
    /// Labelled JSON Lines the classifier is trained on.
    #[arg(long, env = "CIVICPROBE_CLASSIFIER_CORPUS", default_value = DEFAULT_CORPUS)]
    pub classifier_corpus: PathBuf,
}

/// `civicprobe route --jurisdictions FILE --lat X --lon Y [--datum D]`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct RouteArgs {
    /// The GeoJSON FeatureCollection of street-office areas.
    #[arg(long, env = "CIVICPROBE_JURISDICTIONS", default_value = DEFAULT_JURISDICTIONS)]
    pub jurisdictions: PathBuf,
    /// The datum of the file's coordinates, overriding its own `"datum"`.
    #[arg(long, env = "CIVICPROBE_JURISDICTIONS_DATUM", value_name = "DATUM")]
    pub jurisdictions_datum: Option<Datum>,
    /// Latitude, in `--datum`.
    #[arg(long, allow_negative_numbers = true)]
    pub lat: f64,
    /// Longitude, in `--datum`.
    #[arg(long, allow_negative_numbers = true)]
    pub lon: f64,
    /// The datum of `--lat`/`--lon`: `wgs84` (GPS), `gcj02` (Amap,
    /// Tencent, WeChat) or `bd09` (Baidu).
    #[arg(long, value_name = "DATUM", default_value_t = Datum::Wgs84)]
    pub datum: Datum,
    /// A point in no area but this close to one (metres) goes to it.
    #[arg(long, default_value_t = DEFAULT_BOUNDARY_M)]
    pub boundary_m: f64,
}

/// One input line of `classify`.
#[derive(Debug, Deserialize)]
struct Input {
    /// The courier's note.
    #[serde(default)]
    text: Option<String>,
    /// The courier's category, if any.
    #[serde(default)]
    hint: Option<Category>,
}

/// One output line of `classify`.
#[derive(Debug, Serialize)]
struct Output {
    /// The category settled on.
    category: Category,
    /// The model's probability for it.
    confidence: f64,
    /// Life-safety now.
    urgent: bool,
    /// A supervisor should look.
    needs_triage: bool,
}

/// Runs `civicprobe classify` on stdin and stdout; `corrections` are the
/// labelled re-triages `--corrections-from` named (the binary reads the
/// database, which this crate does not know).
pub async fn classify(args: ClassifyArgs, corrections: Vec<corpus::Labelled>) -> Result<(), Error> {
    tokio::task::spawn_blocking(move || {
        let stdout = std::io::stdout();
        if args.train {
            return train::train(&args, &corrections, stdout.lock()).map(|_| ());
        }
        let classifier = current_model(&args)?;
        match &args.eval {
            Some(path) => evaluate_file(&classifier, path, stdout.lock()),
            None => classify_lines(&classifier, std::io::stdin().lock(), stdout.lock()),
        }
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?
}

/// The model `--model` names, else the one trained on the corpus.
pub fn current_model(args: &ClassifyArgs) -> Result<Classifier, Error> {
    match &args.model {
        Some(path) => crate::classifier::file::load(path),
        None => Classifier::from_file(&args.classifier_corpus),
    }
}

/// One JSON line out per line in; a line that is not valid input gets
/// `{"error": "..."}` and the rest go on. Blank lines are skipped.
pub fn classify_lines(
    classifier: &Classifier,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<(), Error> {
    let io = |what| move |source| Error::Io { what, source };
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(io("reading stdin"))?;
        if line.trim().is_empty() {
            continue;
        }
        let json = match serde_json::from_str::<Input>(&line) {
            Ok(input) => {
                let c = classifier.classify(input.hint, input.text.as_deref());
                serde_json::to_string(&Output {
                    category: c.category,
                    confidence: c.confidence,
                    urgent: c.urgent,
                    needs_triage: c.needs_triage,
                })
            }
            Err(e) => serde_json::to_string(&serde_json::json!({
                "error": format!("line {}: {e}", i + 1)
            })),
        }
        .map_err(Error::Encode)?;
        writeln!(output, "{json}").map_err(io("writing stdout"))?;
    }
    output.flush().map_err(io("writing stdout"))
}

/// Evaluates on a labelled file and prints the figures.
pub fn evaluate_file(
    classifier: &Classifier,
    path: &std::path::Path,
    output: impl Write,
) -> Result<(), Error> {
    let set = corpus::load(path)?;
    let e = eval::evaluate(classifier, &set);
    print_evaluation(&e, output)
}

/// The figures as text: totals, per category, the confusion matrix and
/// the worst misses.
pub fn print_evaluation(e: &eval::Evaluation, mut out: impl Write) -> Result<(), Error> {
    let io = |source| Error::Io {
        what: "writing stdout",
        source,
    };
    writeln!(out, "reports           {}", e.reports).map_err(io)?;
    writeln!(out, "accuracy          {:.3}", e.accuracy).map_err(io)?;
    writeln!(out, "urgent recall     {:.3}", e.urgent_recall).map_err(io)?;
    writeln!(out, "urgent precision  {:.3}", e.urgent_precision).map_err(io)?;
    writeln!(out, "false-urgent rate {:.3}", e.false_urgent_rate).map_err(io)?;
    writeln!(out, "needs triage      {}", e.needs_triage).map_err(io)?;
    writeln!(
        out,
        "{:<16} {:>9} {:>7} {:>8}",
        "category", "precision", "recall", "support"
    )
    .map_err(io)?;
    for c in Category::ALL {
        if let Some(p) = e.categories.get(c.as_str()) {
            writeln!(
                out,
                "{:<16} {:>9.3} {:>7.3} {:>8}",
                c.as_str(),
                p.precision,
                p.recall,
                p.support
            )
            .map_err(io)?;
        }
    }
    writeln!(out, "confusion (rows: truth, columns: classified)").map_err(io)?;
    write!(out, "{:<16}", "").map_err(io)?;
    for c in Category::ALL {
        write!(out, " {:>14}", c.as_str()).map_err(io)?;
    }
    writeln!(out).map_err(io)?;
    for (c, row) in Category::ALL.iter().zip(&e.confusion) {
        write!(out, "{:<16}", c.as_str()).map_err(io)?;
        for n in row {
            write!(out, " {n:>14}").map_err(io)?;
        }
        writeln!(out).map_err(io)?;
    }
    writeln!(
        out,
        "worst misses (truth → classified, urgency probability)"
    )
    .map_err(io)?;
    for m in &e.worst {
        writeln!(
            out,
            "  {}{} → {}{} ({:.2}): {}",
            m.category,
            if m.urgent { " urgent" } else { "" },
            m.said_category,
            if m.said_urgent { " urgent" } else { "" },
            m.urgency,
            m.text
        )
        .map_err(io)?;
    }
    Ok(())
}

/// Runs `civicprobe route`, printing one JSON line on stdout.
pub async fn route(args: RouteArgs) -> Result<(), Error> {
    route_to(&args, std::io::stdout().lock())
}

/// `{"office_id": "...", "office_name": "...", "boundary": bool,
/// "distance_m": f64, "wgs84": {"lat", "lon"}}` or `{"office_id": null,
/// "wgs84": …}`: the point is located in WGS-84 (`wgs84`), whatever the
/// datums of the point and of the file.
pub fn route_to(args: &RouteArgs, mut output: impl Write) -> Result<(), Error> {
    let jurisdictions = Jurisdictions::load_in(&args.jurisdictions, args.jurisdictions_datum)?;
    let at = args
        .datum
        .to_wgs84(args.lat, args.lon)
        .map_err(|e| Error::Settings {
            file: "command line".into(),
            key: e.field().into(),
            reason: e.to_string(),
        })?;
    let json = match jurisdictions.locate(&at, args.boundary_m) {
        Some(l) => serde_json::json!({
            "office_id": l.office.id.as_str(),
            "office_name": l.office.name,
            "boundary": l.boundary,
            "distance_m": (l.distance_m * 10.0).round() / 10.0,
            "wgs84": { "lat": at.lat(), "lon": at.lon() },
        }),
        None => serde_json::json!({
            "office_id": null,
            "wgs84": { "lat": at.lat(), "lon": at.lon() },
        }),
    };
    writeln!(output, "{json}").map_err(|source| Error::Io {
        what: "writing stdout",
        source,
    })
}

pub mod train;

#[cfg(test)]
mod tests;
