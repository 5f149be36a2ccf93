//! The learned classifier: category, confidence and urgency from the
//! courier's text and optional hint.
//!
//! Two multinomial logistic regressions ([`logistic`]) over hashed
//! character 1–3-grams, ASCII words and the hint token ([`features`]), both
//! trained when the router starts from a labelled corpus ([`corpus`],
//! `fixtures/reports/train.jsonl` by default; training takes milliseconds).
//! The hint is only a feature: a text that points clearly elsewhere
//! outweighs a wrong hint.
//!
//! - **Category**: the most probable category when its probability is at
//!   least [`Thresholds::confident`]; otherwise the courier's hint; without
//!   a hint `other` with `needs_triage` so a supervisor looks.
//! - **Urgency** is biased towards urgent (a missed fire is worse than a
//!   false alarm): urgent when the urgency model gives at least
//!   [`Thresholds::urgent`] *or* the text has an [`urgent`] keyword.

pub mod corpus;
pub mod eval;
mod features;
mod logistic;
pub mod urgent;

use civicprobe_model::Category;
use std::{
    path::Path,
    sync::{Arc, OnceLock},
};

use crate::Error;
use corpus::Labelled;
use logistic::{Logistic, Training};

/// The training split bundled at build time, for [`Classifier::builtin`].
const BUILTIN_CORPUS: &str = include_str!("../../../../fixtures/reports/train.jsonl");

/// What the router settled on for a report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Classification {
    /// The hazard category.
    pub category: Category,
    /// The model's probability for `category`, 0 to 1.
    pub confidence: f64,
    /// Life-safety now: fire, smoke, sparks, people trapped, an open hole.
    pub urgent: bool,
    /// Neither the text nor a hint settled the category.
    pub needs_triage: bool,
}

/// Decision thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Below this probability the text does not decide the category.
    pub confident: f64,
    /// From this urgency probability on a report is urgent.
    pub urgent: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            confident: 0.5,
            urgent: 0.5,
        }
    }
}

/// The two trained models and the thresholds.
#[derive(Clone, Debug)]
pub struct Classifier {
    /// Over [`Category::ALL`], in that order.
    category: Logistic,
    /// Class 0 urgent, class 1 not.
    urgent: Logistic,
    /// Decision thresholds.
    thresholds: Thresholds,
    /// How many reports it learned from.
    trained_on: usize,
}

impl Classifier {
    /// Trains both models on `corpus` (refused when empty).
    pub fn train(corpus: &[Labelled]) -> Result<Self, Error> {
        if corpus.is_empty() {
            return Err(Error::EmptyCorpus);
        }
        let features: Vec<Vec<u64>> = corpus
            .iter()
            .map(|r| features::features(&r.text, r.hint))
            .collect();
        let by_category: Vec<(Vec<u64>, usize)> = features
            .iter()
            .zip(corpus)
            .map(|(f, r)| (f.clone(), class_of(r.category)))
            .collect();
        let by_urgency: Vec<(Vec<u64>, usize)> = features
            .into_iter()
            .zip(corpus)
            .map(|(f, r)| (f, usize::from(!r.urgent)))
            .collect();
        let t = Training::default();
        Ok(Self {
            category: Logistic::train(&by_category, Category::ALL.len(), t),
            urgent: Logistic::train(&by_urgency, 2, t),
            thresholds: Thresholds::default(),
            trained_on: corpus.len(),
        })
    }

    /// Trains on a JSON Lines corpus file.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        Self::train(&corpus::load(path)?)
    }

    /// Trained once per process on the bundled `fixtures/reports/train.jsonl`.
    pub fn builtin() -> Arc<Self> {
        static BUILTIN: OnceLock<Arc<Classifier>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let corpus = corpus::parse(BUILTIN_CORPUS.as_bytes(), "bundled train.jsonl")
                    .unwrap_or_default();
                // The bundled corpus is tested to parse; an empty model
                // would only ever answer by hint or triage.
                Arc::new(Self::train(&corpus).unwrap_or_else(|_| Self::untrained()))
            })
            .clone()
    }

    /// A model that knows nothing: hint or triage, urgency by keyword.
    fn untrained() -> Self {
        let t = Training::default();
        Self {
            category: Logistic::train(&[], Category::ALL.len(), t),
            urgent: Logistic::train(&[], 2, t),
            thresholds: Thresholds::default(),
            trained_on: 0,
        }
    }

    /// The same models with other thresholds.
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// How many labelled reports it was trained on.
    pub fn trained_on(&self) -> usize {
        self.trained_on
    }

    /// Category, confidence and urgency for a report.
    pub fn classify(&self, hint: Option<Category>, text: Option<&str>) -> Classification {
        let text = text.unwrap_or_default();
        let f = features::features(text, hint);
        let p = self.category.probabilities(&f);
        let (best, p_best) = p
            .iter()
            .copied()
            .enumerate()
            .fold((3, f64::MIN), |a, (i, q)| if q > a.1 { (i, q) } else { a });
        let text_decides = !text.trim().is_empty() && p_best >= self.thresholds.confident;
        let (category, needs_triage) = match (text_decides, hint) {
            (true, _) => (Category::ALL[best], false),
            (false, Some(hint)) => (hint, false),
            (false, None) => (Category::Other, true),
        };
        let confidence = p[class_of(category)];
        let p_urgent = self.urgent.probabilities(&f)[0];
        let urgent = (!text.trim().is_empty() && p_urgent >= self.thresholds.urgent)
            || urgent::urgent_keyword(text).is_some();
        Classification {
            category,
            confidence,
            urgent,
            needs_triage,
        }
    }
}

/// The class index of a category (its position in [`Category::ALL`]).
fn class_of(category: Category) -> usize {
    Category::ALL
        .iter()
        .position(|c| *c == category)
        .unwrap_or(Category::ALL.len() - 1)
}

#[cfg(test)]
mod tests;
