//! Multinomial logistic regression over hashed binary features, trained by
//! plain stochastic gradient descent (deterministic: fixed shuffle seed).
//! It serialises as rows sorted by feature hash, so the same model always
//! writes the same bytes (the model file's version is a hash of them).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::features::UNSCALED;

/// Training settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Training {
    /// Passes over the corpus.
    pub epochs: usize,
    /// Initial learning rate, decayed as `rate / (1 + 0.2 * epoch)`.
    pub rate: f64,
    /// L2 penalty applied to the weights a sample touches.
    pub l2: f64,
    /// How much a sample of class 0 counts against one of any other class
    /// (the urgency model's class 0 is urgent: a miss costs more).
    pub class0_weight: f64,
}

impl Default for Training {
    fn default() -> Self {
        Self {
            epochs: 20,
            rate: 0.5,
            l2: 1e-3,
            class0_weight: 1.0,
        }
    }
}

/// A trained model: `classes` weights per known feature, plus biases.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(into = "Stored", try_from = "Stored")]
pub(crate) struct Logistic {
    /// Number of classes.
    classes: usize,
    /// Feature hash → row in `weights`.
    vocabulary: HashMap<u64, usize>,
    /// Row-major `vocabulary.len() × classes`.
    weights: Vec<f64>,
    /// One bias per class.
    bias: Vec<f64>,
}

impl Logistic {
    /// Trains on `(features, class index)` samples; every class index must
    /// be below `classes`.
    pub(crate) fn train(samples: &[(Vec<u64>, usize)], classes: usize, t: Training) -> Self {
        let mut vocabulary = HashMap::new();
        for (features, _) in samples {
            for f in features {
                let next = vocabulary.len();
                vocabulary.entry(*f).or_insert(next);
            }
        }
        let mut model = Self {
            classes,
            weights: vec![0.0; vocabulary.len() * classes],
            vocabulary,
            bias: vec![0.0; classes],
        };
        let rows: Vec<Vec<(usize, f64)>> = samples.iter().map(|(f, _)| model.row(f)).collect();
        let mut order: Vec<usize> = (0..samples.len()).collect();
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        for epoch in 0..t.epochs {
            shuffle(&mut order, &mut rng);
            let eta = t.rate / (1.0 + 0.2 * epoch as f64);
            for &i in &order {
                let label = samples[i].1;
                let weight = if label == 0 { t.class0_weight } else { 1.0 };
                model.step(&rows[i], label, eta * weight, t.l2);
            }
        }
        model
    }

    /// One gradient step on one sample.
    fn step(&mut self, row: &[(usize, f64)], label: usize, eta: f64, l2: f64) {
        let p = softmax(self.scores_of_row(row));
        for (class, p) in p.iter().enumerate() {
            let g = p - if class == label { 1.0 } else { 0.0 };
            self.bias[class] -= eta * g;
            for &(r, x) in row {
                let w = &mut self.weights[r * self.classes + class];
                *w -= eta * (g * x + l2 * *w);
            }
        }
    }

    /// The known features of a set with their values: `1 / sqrt(n)` for
    /// the `n` ordinary features (long texts do not get more confident
    /// just by length), 1 for those marked [`UNSCALED`].
    fn row(&self, features: &[u64]) -> Vec<(usize, f64)> {
        let z = scale(features.iter().filter(|h| *h & UNSCALED == 0).count());
        features
            .iter()
            .filter_map(|h| {
                let x = if h & UNSCALED == 0 { z } else { 1.0 };
                self.vocabulary.get(h).map(|r| (*r, x))
            })
            .collect()
    }

    /// Class probabilities for a feature set (unknown features ignored).
    pub(crate) fn probabilities(&self, features: &[u64]) -> Vec<f64> {
        softmax(self.scores(features))
    }

    /// Class scores before the softmax (the urgency model's calibration
    /// works on the difference of its two).
    pub(crate) fn scores(&self, features: &[u64]) -> Vec<f64> {
        self.scores_of_row(&self.row(features))
    }

    /// Scores of a row of the vocabulary.
    fn scores_of_row(&self, row: &[(usize, f64)]) -> Vec<f64> {
        let mut scores = self.bias.clone();
        for &(r, x) in row {
            for (class, s) in scores.iter_mut().enumerate() {
                *s += self.weights[r * self.classes + class] * x;
            }
        }
        scores
    }

    /// How many classes it tells apart.
    pub(crate) fn classes(&self) -> usize {
        self.classes
    }

    /// How many features the model knows.
    #[cfg(test)]
    pub(crate) fn vocabulary_len(&self) -> usize {
        self.vocabulary.len()
    }
}

/// The file form: rows sorted by feature hash.
#[derive(Serialize, Deserialize)]
struct Stored {
    /// Number of classes.
    classes: usize,
    /// One bias per class.
    bias: Vec<f64>,
    /// `(feature hash, one weight per class)`, by hash.
    rows: Vec<(u64, Vec<f64>)>,
}

impl From<Logistic> for Stored {
    fn from(m: Logistic) -> Self {
        let mut rows: Vec<(u64, Vec<f64>)> = m
            .vocabulary
            .iter()
            .map(|(h, r)| (*h, m.weights[r * m.classes..(r + 1) * m.classes].to_vec()))
            .collect();
        rows.sort_unstable_by_key(|(h, _)| *h);
        Self {
            classes: m.classes,
            bias: m.bias,
            rows,
        }
    }
}

impl TryFrom<Stored> for Logistic {
    type Error = String;

    fn try_from(s: Stored) -> Result<Self, String> {
        if s.bias.len() != s.classes {
            return Err(format!("{} biases for {} classes", s.bias.len(), s.classes));
        }
        let mut vocabulary = HashMap::with_capacity(s.rows.len());
        let mut weights = Vec::with_capacity(s.rows.len() * s.classes);
        for (h, w) in s.rows {
            if w.len() != s.classes {
                return Err(format!(
                    "feature {h}: {} weights for {} classes",
                    w.len(),
                    s.classes
                ));
            }
            if vocabulary.insert(h, vocabulary.len()).is_some() {
                return Err(format!("feature {h} twice"));
            }
            weights.extend(w);
        }
        Ok(Self {
            classes: s.classes,
            vocabulary,
            weights,
            bias: s.bias,
        })
    }
}

/// `1 / sqrt(n)`: long texts do not get more confident just by length.
fn scale(n: usize) -> f64 {
    if n == 0 {
        1.0
    } else {
        1.0 / (n as f64).sqrt()
    }
}

/// Numerically stable softmax.
fn softmax(mut scores: Vec<f64>) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for s in &mut scores {
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in &mut scores {
        *s /= sum;
    }
    scores
}

/// Fisher–Yates with xorshift64: deterministic, no dependency.
fn shuffle(order: &mut [usize], state: &mut u64) {
    for i in (1..order.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let j = (*state % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_toy_problem() {
        let samples = vec![
            (vec![1, 2], 0),
            (vec![1, 3], 0),
            (vec![4, 5], 1),
            (vec![4, 6], 1),
        ];
        let m = Logistic::train(&samples, 2, Training::default());
        assert!(m.probabilities(&[1])[0] > 0.8);
        assert!(m.probabilities(&[4, 99])[1] > 0.8);
        let p = m.probabilities(&[]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(m.vocabulary_len(), 6);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            serde_json::to_string(&m.clone()).unwrap(),
            "stable bytes"
        );
        let back: Logistic = serde_json::from_str(&json).unwrap();
        assert_eq!(back.probabilities(&[1, 5]), m.probabilities(&[1, 5]));
        let bad = r#"{"classes":2,"bias":[0.0],"rows":[]}"#;
        assert!(serde_json::from_str::<Logistic>(bad).is_err());
    }
}
