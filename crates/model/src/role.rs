//! Who is acting.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The three kinds of token holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Submits reports, sees their own.
    Courier,
    /// Acts on tickets of one street office.
    Office,
    /// Sees everything, audits response times.
    Supervisor,
}

impl Role {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Courier => "courier",
            Role::Office => "office",
            Role::Supervisor => "supervisor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "courier" => Ok(Role::Courier),
            "office" => Ok(Role::Office),
            "supervisor" => Ok(Role::Supervisor),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// The token of an `Authorization` header value `Bearer <token>` (scheme
/// matched case-insensitively, RFC 9110), if there is a non-empty one.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An authenticated token holder: what a bearer token resolves to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Principal {
    /// A courier; reports are theirs.
    Courier {
        /// Their id, on every report they submit.
        courier_id: crate::CourierId,
        /// Display name.
        name: String,
    },
    /// A street office; sees only its own tickets.
    Office {
        /// The office the token is scoped to.
        office_id: crate::OfficeId,
    },
    /// A supervisor; sees everything.
    Supervisor {
        /// Display name.
        name: String,
    },
}

impl Principal {
    /// The holder's role.
    pub fn role(&self) -> Role {
        match self {
            Principal::Courier { .. } => Role::Courier,
            Principal::Office { .. } => Role::Office,
            Principal::Supervisor { .. } => Role::Supervisor,
        }
    }

    /// How the holder is named in ticket events: `courier:<id>`,
    /// `office:<office_id>`, `supervisor:<name>`.
    pub fn actor(&self) -> String {
        match self {
            Principal::Courier { courier_id, .. } => format!("courier:{courier_id}"),
            Principal::Office { office_id } => format!("office:{office_id}"),
            Principal::Supervisor { name } => format!("supervisor:{name}"),
        }
    }

    /// Whether the holder may see and act on a ticket of `office`.
    pub fn may_see_office(&self, office: &crate::OfficeId) -> bool {
        match self {
            Principal::Office { office_id } => office_id == office,
            Principal::Supervisor { .. } => true,
            Principal::Courier { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_parsed_case_insensitively() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
