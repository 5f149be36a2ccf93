//! `civicprobe classify --train --out DIR [--corrections-from SOURCE]`:
//! retrains from the corpus plus the offices' corrections, writes a
//! versioned model file and prints how it compares with the current model
//! on the untouched test split.
//!
//! A correction is a person's judgement on a real report, so it replaces
//! any corpus line with the same text and counts [`CORRECTION_WEIGHT`]
//! times; of several corrections of one text the latest wins. Urgency is
//! calibrated on the bundled heldout and validation splits, never on the
//! test split, which is only reported on.

use std::{collections::HashMap, io::Write, path::PathBuf};

use super::{current_model, ClassifyArgs};
use crate::{
    classifier::{
        builtin_calibration, calibrate,
        corpus::{self, Labelled},
        eval::{evaluate, Evaluation},
        file,
    },
    Classifier, Error,
};

/// The untouched test split, relative to the working directory.
pub const DEFAULT_TEST_SPLIT: &str = "fixtures/reports/test2.jsonl";

/// How many corpus lines one correction is worth.
pub const CORRECTION_WEIGHT: usize = 3;

/// What `--train` produced.
#[derive(Debug)]
pub struct Trained {
    /// The model file written.
    pub path: PathBuf,
    /// The new model.
    pub model: Classifier,
    /// The current model on the test split.
    pub before: Evaluation,
    /// The new model on the test split.
    pub after: Evaluation,
}

/// The corpus with the corrections in: see the module docs.
pub fn training_set(corpus: Vec<Labelled>, corrections: &[Labelled]) -> Vec<Labelled> {
    let key = |text: &str| {
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let mut latest: HashMap<String, &Labelled> = HashMap::new();
    let mut order = Vec::new();
    for c in corrections.iter().filter(|c| !c.text.trim().is_empty()) {
        if latest.insert(key(&c.text), c).is_none() {
            order.push(key(&c.text));
        }
    }
    let mut set: Vec<Labelled> = corpus
        .into_iter()
        .filter(|l| !latest.contains_key(&key(&l.text)))
        .collect();
    for k in &order {
        for _ in 0..CORRECTION_WEIGHT {
            set.push(latest[k].clone());
        }
    }
    set
}

/// Trains, writes the model file, prints the comparison.
pub fn train(
    args: &ClassifyArgs,
    corrections: &[Labelled],
    mut out: impl Write,
) -> Result<Trained, Error> {
    let dir = args.out.as_ref().ok_or_else(|| Error::Settings {
        file: "command line".into(),
        key: "out".into(),
        reason: "--train needs --out DIR".into(),
    })?;
    let set = training_set(corpus::load(&args.classifier_corpus)?, corrections);
    let model = Classifier::train_calibrated(&set, &builtin_calibration(), calibrate::COST_RATIO)?;
    let current = current_model(args)?;
    let test = corpus::load(&args.test_split)?;
    let before = evaluate(&current, &test);
    let after = evaluate(&model, &test);
    let path = file::save(&model, dir)?;
    let io = |source| Error::Io {
        what: "writing stdout",
        source,
    };
    writeln!(
        out,
        "trained {} on {} reports ({} corrections); urgent from p ≥ {:.3} (a miss costs as much as {} false alarms)",
        model.version(),
        model.trained_on(),
        corrections.len(),
        model.thresholds().urgent,
        calibrate::COST_RATIO
    )
    .map_err(io)?;
    writeln!(out, "wrote {}", path.display()).map_err(io)?;
    writeln!(
        out,
        "on {} ({} reports): {:<18} {:>20} {:>20}",
        args.test_split.display(),
        after.reports,
        "",
        current.version(),
        model.version()
    )
    .map_err(io)?;
    let figures = |e: &Evaluation| {
        [
            e.accuracy,
            e.urgent_recall,
            e.false_urgent_rate,
            e.urgent_precision,
        ]
    };
    let labels = [
        "accuracy",
        "urgent recall",
        "false-urgent rate",
        "urgent precision",
    ];
    for ((label, b), a) in labels.iter().zip(figures(&before)).zip(figures(&after)) {
        writeln!(out, "  {label:<18} {b:>20.3} {a:>20.3}").map_err(io)?;
    }
    Ok(Trained {
        path,
        model,
        before,
        after,
    })
}
