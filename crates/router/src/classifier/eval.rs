//! How well a [`Classifier`] does on a labelled set: per-category precision
//! and recall, the confusion matrix, urgent recall and the false-urgent
//! rate, and the worst misses with their text.

use civicprobe_model::Category;
use serde::Serialize;
use std::collections::BTreeMap;

use super::{class_of, corpus::Labelled, Classifier};

/// How many worst misses an [`Evaluation`] keeps.
pub const WORST_MISSES: usize = 15;

/// Precision and recall of one category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PerCategory {
    /// Reports labelled with the category.
    pub support: usize,
    /// Reports classified as the category.
    pub predicted: usize,
    /// Reports both.
    pub correct: usize,
    /// `correct / predicted` (1 when nothing was predicted).
    pub precision: f64,
    /// `correct / support` (1 when there is no support).
    pub recall: f64,
}

/// One report the classifier got wrong.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Miss {
    /// The courier's note.
    pub text: String,
    /// The true category and urgency.
    pub category: Category,
    /// True urgency.
    pub urgent: bool,
    /// What the classifier said.
    pub said_category: Category,
    /// What it said of urgency.
    pub said_urgent: bool,
    /// Its calibrated urgency probability.
    pub urgency: f64,
    /// How bad: a missed urgent report costs [`super::calibrate::COST_RATIO`],
    /// a false alarm 1, a wrong category 1 (plus the confidence it had).
    pub cost: f64,
}

/// The figures `civicprobe classify --eval` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Labelled reports evaluated.
    pub reports: usize,
    /// Share with the right category.
    pub accuracy: f64,
    /// Per category, by wire name.
    pub categories: BTreeMap<String, PerCategory>,
    /// `confusion[truth][said]`, indices as in [`Category::ALL`].
    pub confusion: Vec<Vec<usize>>,
    /// Share of truly urgent reports classified urgent.
    pub urgent_recall: f64,
    /// Share of reports classified urgent that truly are.
    pub urgent_precision: f64,
    /// Share of truly non-urgent reports classified urgent.
    pub false_urgent_rate: f64,
    /// Reports sent to supervisors for triage.
    pub needs_triage: usize,
    /// The costliest misses, worst first.
    pub worst: Vec<Miss>,
}

/// Classifies every labelled report and scores the answers.
pub fn evaluate(classifier: &Classifier, set: &[Labelled]) -> Evaluation {
    let n = Category::ALL.len();
    let mut confusion = vec![vec![0; n]; n];
    let (mut urgent_hit, mut urgent_true, mut urgent_said, mut false_alarms, mut triage) =
        (0, 0, 0, 0, 0);
    let mut misses = Vec::new();
    for r in set {
        let c = classifier.classify(r.hint, Some(&r.text));
        confusion[class_of(r.category)][class_of(c.category)] += 1;
        urgent_true += usize::from(r.urgent);
        urgent_said += usize::from(c.urgent);
        urgent_hit += usize::from(r.urgent && c.urgent);
        false_alarms += usize::from(!r.urgent && c.urgent);
        triage += usize::from(c.needs_triage);
        let cost = if r.urgent && !c.urgent {
            super::calibrate::COST_RATIO
        } else {
            f64::from(u8::from(!r.urgent && c.urgent))
        } + if c.category == r.category {
            0.0
        } else {
            1.0 + c.confidence
        };
        if cost > 0.0 {
            misses.push(Miss {
                text: r.text.clone(),
                category: r.category,
                urgent: r.urgent,
                said_category: c.category,
                said_urgent: c.urgent,
                urgency: c.urgency,
                cost,
            });
        }
    }
    misses.sort_by(|a, b| b.cost.total_cmp(&a.cost).then_with(|| a.text.cmp(&b.text)));
    misses.truncate(WORST_MISSES);
    let correct: usize = (0..n).map(|i| confusion[i][i]).sum();
    let categories = Category::ALL
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let support: usize = confusion[i].iter().sum();
            let predicted: usize = confusion.iter().map(|row| row[i]).sum();
            let ok = confusion[i][i];
            let p = PerCategory {
                support,
                predicted,
                correct: ok,
                precision: ratio(ok, predicted),
                recall: ratio(ok, support),
            };
            (c.to_string(), p)
        })
        .collect();
    Evaluation {
        reports: set.len(),
        accuracy: ratio(correct, set.len()),
        categories,
        confusion,
        urgent_recall: ratio(urgent_hit, urgent_true),
        urgent_precision: ratio(urgent_hit, urgent_said),
        false_urgent_rate: if set.len() == urgent_true {
            0.0
        } else {
            false_alarms as f64 / (set.len() - urgent_true) as f64
        },
        needs_triage: triage,
        worst: misses,
    }
}

/// `a / b`, 1 for `0 / 0`.
fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}
