//! A SHA-256 digest: of a stored photo (its name in the photo store), of a
//! request (idempotency), of an event in the audit chain.
//!
//! Inside the services it is 32 bytes; it is hex (64 lower-case digits)
//! only at the edges: in messages, in stored rows, in paths and in
//! answers, as it always was. Parsing takes lower case only, the one form
//! ever written, so that a digest has one spelling.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest;
use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256([u8; 32]);

impl Sha256 {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(sha2::Sha256::digest(bytes).into())
    }

    /// The digest a hasher has computed.
    pub fn from_hasher(hasher: sha2::Sha256) -> Self {
        Self(hasher.finalize().into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for Sha256 {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// Text that is not 64 lower-case hex digits.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a sha256 is 64 lower-case hex digits, not {0:?}")]
pub struct Sha256Error(String);

impl FromStr for Sha256 {
    type Err = Sha256Error;

    fn from_str(hex: &str) -> Result<Self, Self::Err> {
        let digit = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        };
        let bad = || Sha256Error(hex.chars().take(80).collect());
        let raw = hex.as_bytes();
        if raw.len() != 64 {
            return Err(bad());
        }
        let mut bytes = [0_u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(raw.chunks_exact(2)) {
            let (Some(hi), Some(lo)) = (digit(pair[0]), digit(pair[1])) else {
                return Err(bad());
            };
            *byte = hi << 4 | lo;
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        hex.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_as_sixty_four_lower_case_digits() {
        let empty = Sha256::of(b"");
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(empty.to_string(), hex);
        assert_eq!(hex.parse(), Ok(empty));
        let json = serde_json::to_string(&empty).unwrap();
        assert_eq!(json, format!("\"{hex}\""));
        assert_eq!(serde_json::from_str::<Sha256>(&json).unwrap(), empty);
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"");
        assert_eq!(Sha256::from_hasher(hasher), empty);
    }

    #[test]
    fn anything_else_is_refused() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        for bad in [
            "",
            &hex[1..],
            &format!("{hex}0"),
            &hex.to_uppercase(),
            &hex.replace('e', "g"),
            &format!("{}é", &hex[..62]),
        ] {
            assert!(bad.parse::<Sha256>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<Sha256>("\"abc\"").is_err());
    }
}
