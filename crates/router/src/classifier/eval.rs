//! Accuracy of a [`Classifier`] on a labelled set.

use civicprobe_model::Category;
use serde::Serialize;
use std::collections::BTreeMap;

use super::{corpus::Labelled, Classifier};

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

/// The figures `civicprobe classify --eval` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Labelled reports evaluated.
    pub reports: usize,
    /// Share with the right category.
    pub accuracy: f64,
    /// Per category, by wire name.
    pub categories: BTreeMap<String, PerCategory>,
    /// Share of truly urgent reports classified urgent.
    pub urgent_recall: f64,
    /// Share of reports classified urgent that truly are.
    pub urgent_precision: f64,
    /// Reports sent to supervisors for triage.
    pub needs_triage: usize,
}

/// Classifies every labelled report and scores the answers.
pub fn evaluate(classifier: &Classifier, set: &[Labelled]) -> Evaluation {
    let mut per: BTreeMap<Category, PerCategory> = Category::ALL
        .iter()
        .map(|c| (*c, PerCategory::default()))
        .collect();
    let (mut correct, mut urgent_hit, mut urgent_true, mut urgent_said, mut triage) =
        (0, 0, 0, 0, 0);
    for r in set {
        let c = classifier.classify(r.hint, Some(&r.text));
        per.entry(r.category).or_default().support += 1;
        per.entry(c.category).or_default().predicted += 1;
        if c.category == r.category {
            correct += 1;
            per.entry(c.category).or_default().correct += 1;
        }
        urgent_true += usize::from(r.urgent);
        urgent_said += usize::from(c.urgent);
        urgent_hit += usize::from(r.urgent && c.urgent);
        triage += usize::from(c.needs_triage);
    }
    for p in per.values_mut() {
        p.precision = ratio(p.correct, p.predicted);
        p.recall = ratio(p.correct, p.support);
    }
    Evaluation {
        reports: set.len(),
        accuracy: ratio(correct, set.len()),
        categories: per.into_iter().map(|(c, p)| (c.to_string(), p)).collect(),
        urgent_recall: ratio(urgent_hit, urgent_true),
        urgent_precision: ratio(urgent_hit, urgent_said),
        needs_triage: triage,
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
