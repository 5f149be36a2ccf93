//! Hazard categories (also the Open311 `service_code`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of hazard a report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A missing, broken or sunken manhole cover.
    Manhole,
    /// An elevator fault, people trapped.
    Elevator,
    /// An electrical box: fire, smoke, sparks, open door.
    ElectricalBox,
    /// Anything else a courier thinks an office should see.
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 4] = [
        Category::Manhole,
        Category::Elevator,
        Category::ElectricalBox,
        Category::Other,
    ];

    /// The wire name, also used as a NATS subject token.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Manhole => "manhole",
            Category::Elevator => "elevator",
            Category::ElectricalBox => "electrical_box",
            Category::Other => "other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`Category::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
/// (The message does not repeat the name: it is client input.)
#[error("unknown category: expected one of manhole, elevator, electrical_box, other")]
pub struct UnknownCategory(pub String);

impl std::str::FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCategory(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), c);
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
        }
        assert!("Manhole".parse::<Category>().is_err());
        assert!("".parse::<Category>().is_err());
    }
}
