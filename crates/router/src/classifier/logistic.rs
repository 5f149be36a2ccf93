//! Multinomial logistic regression over hashed binary features, trained by
//! plain stochastic gradient descent (deterministic: fixed shuffle seed).

use std::collections::HashMap;

/// Training settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Training {
    /// Passes over the corpus.
    pub epochs: usize,
    /// Initial learning rate, decayed as `rate / (1 + 0.2 * epoch)`.
    pub rate: f64,
    /// L2 penalty applied to the weights a sample touches.
    pub l2: f64,
}

impl Default for Training {
    fn default() -> Self {
        Self {
            epochs: 20,
            rate: 0.5,
            l2: 1e-3,
        }
    }
}

/// A trained model: `classes` weights per known feature, plus biases.
#[derive(Clone, Debug)]
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
        let rows: Vec<Vec<usize>> = samples
            .iter()
            .map(|(f, _)| {
                f.iter()
                    .filter_map(|h| model.vocabulary.get(h).copied())
                    .collect()
            })
            .collect();
        let mut order: Vec<usize> = (0..samples.len()).collect();
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        for epoch in 0..t.epochs {
            shuffle(&mut order, &mut rng);
            let eta = t.rate / (1.0 + 0.2 * epoch as f64);
            for &i in &order {
                model.step(&rows[i], samples[i].1, eta, t.l2);
            }
        }
        model
    }

    /// One gradient step on one sample.
    fn step(&mut self, row: &[usize], label: usize, eta: f64, l2: f64) {
        let p = self.probabilities_of_rows(row.iter().copied());
        let z = scale(row.len());
        for (class, p) in p.iter().enumerate() {
            let g = p - if class == label { 1.0 } else { 0.0 };
            self.bias[class] -= eta * g;
            for &r in row {
                let w = &mut self.weights[r * self.classes + class];
                *w -= eta * (g * z + l2 * *w);
            }
        }
    }

    /// Class probabilities for a feature set (unknown features ignored).
    pub(crate) fn probabilities(&self, features: &[u64]) -> Vec<f64> {
        let rows: Vec<usize> = features
            .iter()
            .filter_map(|h| self.vocabulary.get(h).copied())
            .collect();
        // Scale by the full feature count, as in training.
        let mut scores = self.bias.clone();
        let z = scale(features.len());
        for r in rows {
            for (class, s) in scores.iter_mut().enumerate() {
                *s += self.weights[r * self.classes + class] * z;
            }
        }
        softmax(scores)
    }

    /// Probabilities over rows of the vocabulary (training).
    fn probabilities_of_rows(&self, rows: impl Iterator<Item = usize> + Clone) -> Vec<f64> {
        let n = rows.clone().count();
        let z = scale(n);
        let mut scores = self.bias.clone();
        for r in rows {
            for (class, s) in scores.iter_mut().enumerate() {
                *s += self.weights[r * self.classes + class] * z;
            }
        }
        softmax(scores)
    }

    /// How many features the model knows.
    #[cfg(test)]
    pub(crate) fn vocabulary_len(&self) -> usize {
        self.vocabulary.len()
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
    }
}
