//! Street-office ids.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A street office's id, e.g. `wenquan`. Lower-case ASCII letters, digits,
/// `_` and `-`, 1 to 64 characters: safe as a NATS subject token, a URL path
/// segment and a file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OfficeId(String);

/// Why a string is not an [`OfficeId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
/// (The message does not repeat the id: it is client input.)
#[error("an office id must be 1 to 64 characters of a-z, 0-9, '_' or '-'")]
pub struct OfficeIdError(pub String);

impl OfficeId {
    /// Validates an office id.
    pub fn parse(s: &str) -> Result<Self, OfficeIdError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(OfficeIdError(s.to_owned()))
        }
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OfficeId {
    type Error = OfficeIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        OfficeId::parse(&s)
    }
}

impl From<OfficeId> for String {
    fn from(id: OfficeId) -> Self {
        id.0
    }
}

impl std::str::FromStr for OfficeId {
    type Err = OfficeIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OfficeId::parse(s)
    }
}

impl fmt::Display for OfficeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_subject_safe_ids_only() {
        for ok in ["wenquan", "yong-an", "office_7"] {
            assert_eq!(OfficeId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "Wenquan",
            "a.b",
            "a*",
            ">",
            "a b",
            "温泉",
            &"x".repeat(65),
        ] {
            assert!(OfficeId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<OfficeId>("\"a.b\"").is_err());
    }
}
