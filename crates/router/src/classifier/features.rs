//! Text → a sorted, de-duplicated set of hashed features.
//!
//! Features are character 1- to 3-grams of the normalised text (lower case,
//! every run of non-alphanumeric characters one space, a space at each
//! end), whole ASCII words (robust for English), and the courier's hint as
//! one more token. Hashing (FNV-1a, tagged per kind) keeps classification
//! allocation-light; with a few thousand features collisions are negligible.

use civicprobe_model::Category;

/// Longest character n-gram.
const MAX_N: usize = 3;

/// FNV-1a offset basis and prime.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The feature hashes of a report: n-grams, words and the hint.
pub(crate) fn features(text: &str, hint: Option<Category>) -> Vec<u64> {
    let chars = normalise(text);
    let mut out = Vec::with_capacity(chars.len() * MAX_N + 8);
    for n in 1..=MAX_N {
        for window in chars.windows(n) {
            if window.iter().all(|c| *c == ' ') {
                continue;
            }
            out.push(hash(b'g', window.iter().copied()));
        }
    }
    for word in chars
        .split(|c| !c.is_ascii_alphabetic())
        .filter(|w| w.len() > 1)
    {
        out.push(hash(b'w', word.iter().copied()));
    }
    if let Some(hint) = hint {
        out.push(hash(b'h', hint.as_str().chars()));
    }
    out.sort_unstable();
    out.dedup();
    out
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

/// FNV-1a over a kind tag and the characters.
fn hash(kind: u8, chars: impl Iterator<Item = char>) -> u64 {
    let mut h = FNV_OFFSET ^ u64::from(kind);
    h = h.wrapping_mul(FNV_PRIME);
    for c in chars {
        for b in u32::from(c).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    h
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
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        let b = features("电梯困人 lift", Some(Category::Elevator));
        assert_eq!(b.len(), a.len() + 1);
        assert!(features("", None).is_empty());
    }
}
