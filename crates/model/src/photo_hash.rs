//! A photo's 64-bit perceptual hash (pHash), as ingest computes it.
//!
//! Two photos of the same thing have hashes a few bits apart, so photo
//! reuse (ingest) and duplicate detection (router) compare them by Hamming
//! distance. The hash is a number inside the services; it is hex (16
//! lower-case digits) only at the edges: in messages, in stored rows and
//! in answers, as it always was.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A 64-bit perceptual hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhotoHash(pub u64);

impl PhotoHash {
    /// How many bits differ between the two hashes.
    pub fn distance(self, other: Self) -> u32 {
        (self.0 ^ other.0).count_ones()
    }

    /// How many bits are set.
    pub fn ones(self) -> u32 {
        self.0.count_ones()
    }
}

/// Text that is not 16 hex digits.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a photo hash is 16 hex digits, not {0:?}")]
pub struct PhotoHashError(String);

impl FromStr for PhotoHash {
    type Err = PhotoHashError;

    fn from_str(hex: &str) -> Result<Self, Self::Err> {
        let digits = hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        digits
            .then(|| u64::from_str_radix(hex, 16).ok())
            .flatten()
            .map(Self)
            .ok_or_else(|| PhotoHashError(hex.chars().take(32).collect()))
    }
}

impl fmt::Display for PhotoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for PhotoHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PhotoHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        hex.parse().map_err(serde::de::Error::custom)
    }
}

/// Hashes as plain numbers, for a message that has always carried them so
/// (the router's claims): `#[serde(with = "photo_hash::numbers")]`.
pub mod numbers {
    use super::PhotoHash;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serialises the hashes as a list of numbers.
    pub fn serialize<S: Serializer>(
        hashes: &[PhotoHash],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let numbers: Vec<u64> = hashes.iter().map(|h| h.0).collect();
        numbers.serialize(serializer)
    }

    /// Reads a list of numbers.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<PhotoHash>, D::Error> {
        Ok(Vec::<u64>::deserialize(deserializer)?
            .into_iter()
            .map(PhotoHash)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_can_keep_the_numbers_it_always_had() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Claim {
            #[serde(with = "numbers")]
            phashes: Vec<PhotoHash>,
        }
        let claim = Claim {
            phashes: vec![PhotoHash(255), PhotoHash(u64::MAX)],
        };
        let json = serde_json::to_string(&claim).unwrap();
        assert_eq!(json, r#"{"phashes":[255,18446744073709551615]}"#);
        assert_eq!(serde_json::from_str::<Claim>(&json).unwrap(), claim);
    }

    #[test]
    fn hex_round_trips_as_sixteen_lower_case_digits() {
        let h = PhotoHash(0x00ff_00ff_00ff_00ff);
        assert_eq!(h.to_string(), "00ff00ff00ff00ff");
        assert_eq!("00ff00ff00ff00ff".parse(), Ok(h));
        assert_eq!("00FF00FF00FF00FF".parse(), Ok(h));
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, "\"00ff00ff00ff00ff\"");
        assert_eq!(serde_json::from_str::<PhotoHash>(&json).unwrap(), h);
    }

    #[test]
    fn anything_but_sixteen_hex_digits_is_refused() {
        for bad in [
            "",
            "zz",
            "ff",
            "00ff00ff00ff00ff0",
            "+0ff00ff00ff00ff",
            "00ff00ff00ff00fg",
        ] {
            assert!(bad.parse::<PhotoHash>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<PhotoHash>("\"abc\"").is_err());
        assert!(serde_json::from_str::<PhotoHash>("12").is_err());
    }

    #[test]
    fn distance_counts_the_differing_bits() {
        let a = PhotoHash(0b1011);
        assert_eq!(a.distance(a), 0);
        assert_eq!(a.distance(PhotoHash(0b0001)), 2);
        assert_eq!(PhotoHash(0).distance(PhotoHash(u64::MAX)), 64);
        assert_eq!(a.ones(), 3);
    }
}
