//! Text → a sorted, de-duplicated set of hashed features.
//!
//! Features are character 1- to 4-grams of the normalised text (lower case,
//! every run of non-alphanumeric characters one space, a space at each
//! end; 4-grams carry misspelled English words through: "manhoel" still
//! shares " man", "manh", "hoel"), whole ASCII words, the urgency cues of
//! [`super::urgent`] (a hazard word asserted or negated, a hedge, a
//! context), and the
//! courier's hint as one more token. Hashing (FNV-1a, tagged per kind) keeps classification
//! allocation-light; with a few thousand features collisions are negligible.

use super::urgent::Cue;
use civicprobe_model::Category;

/// Set on the hash of a feature the model must not scale down by the text's
/// length: the urgency cues and the hint are one token each among a hundred
/// n-grams, and scaled like them they would be drowned out.
pub(crate) const UNSCALED: u64 = 1 << 63;

/// Longest character n-gram.
const MAX_N: usize = 4;

/// FNV-1a offset basis and prime.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The feature hashes of a report for each model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Features {
    /// n-grams, words, cues and hint, all scaled by length.
    pub category: Vec<u64>,
    /// The same with the cues [`UNSCALED`]: urgency turns on them.
    pub urgency: Vec<u64>,
    /// The cues alone, for [`Features::urgency_given`].
    cues: Vec<u64>,
}

impl Features {
    /// The urgency features plus each cue paired with the category: a
    /// missing cover is urgent, a missing box lid is not; an open lift
    /// door that moves is, an open cabinet door is not.
    pub(crate) fn urgency_given(&self, category: Category) -> Vec<u64> {
        let mut out = self.urgency.clone();
        for cue in &self.cues {
            let pair = cue.to_le_bytes().into_iter().map(char::from);
            out.push(hash(b'p', pair.chain(category.as_str().chars())) | UNSCALED);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The features of a report: n-grams, words, cues and the hint.
pub(crate) fn features(text: &str, hint: Option<Category>) -> Features {
    let chars = normalise(text);
    let mut base = Vec::with_capacity(chars.len() * MAX_N + 8);
    for n in 1..=MAX_N {
        for window in chars.windows(n) {
            if window.iter().all(|c| *c == ' ') {
                continue;
            }
            base.push(hash(b'g', window.iter().copied()));
        }
    }
    for word in chars
        .split(|c| !c.is_ascii_alphabetic())
        .filter(|w| w.len() > 1)
    {
        base.push(hash(b'w', word.iter().copied()));
    }
    if let Some(hint) = hint {
        base.push(hash(b'h', hint.as_str().chars()));
    }
    let cues: Vec<u64> = super::urgent::cues(text)
        .into_iter()
        .map(|cue| match cue {
            Cue::Asserted(group) => hash(b'c', group.chars()),
            Cue::Negated(group) => hash(b'n', group.chars()),
            Cue::Hedge => hash(b'e', "hedge".chars()),
            Cue::Context(group) => hash(b'x', group.chars()),
        })
        .collect();
    let mut category = base.clone();
    category.extend(&cues);
    let mut urgency = base;
    urgency.extend(cues.iter().map(|h| h | UNSCALED));
    for f in [&mut category, &mut urgency] {
        f.sort_unstable();
        f.dedup();
    }
    Features {
        category,
        urgency,
        cues,
    }
}

/// Lower case, non-alphanumeric runs collapsed to one space, padded.
fn normalise(text: &str) -> Vec<char> {
    let mut out = vec![' '];
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = if c.is_alphanumeric() { c } else { ' ' };
        if c != ' ' || out.last() != Some(&' ') {
            out.push(c);
        }
    }
    if out.last() != Some(&' ') {
        out.push(' ');
    }
    out
}

/// FNV-1a over a kind tag and the characters, without the [`UNSCALED`] bit.
fn hash(kind: u8, chars: impl Iterator<Item = char>) -> u64 {
    let mut h = FNV_OFFSET ^ u64::from(kind);
    h = h.wrapping_mul(FNV_PRIME);
    for c in chars {
        for b in u32::from(c).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    h & !UNSCALED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_collapses_punctuation_and_case() {
        let s: String = normalise("井盖!!  Missing,cover").into_iter().collect();
        assert_eq!(s, " 井盖 missing cover ");
        let s: String = normalise("").into_iter().collect();
        assert_eq!(s, " ");
    }

    #[test]
    fn features_are_deterministic_sorted_and_hint_aware() {
        let a = features("电梯困人 lift", None);
        assert_eq!(a, features("电梯困人   LIFT!", None));
        assert!(a.category.windows(2).all(|w| w[0] < w[1]));
        let b = features("电梯困人 lift", Some(Category::Elevator));
        assert_eq!(b.category.len(), a.category.len() + 1);
        // An empty note has one feature: no hazard word.
        let nothing = hash(b'x', "no_hazard_word".chars());
        assert_eq!(features("", None).category, vec![nothing]);
        // The trapped cue: scaled for the category, not for urgency.
        let cue = hash(b'c', "trapped".chars());
        assert!(a.category.contains(&cue));
        assert!(a.urgency.contains(&(cue | UNSCALED)));
    }
}
