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

/// A named person behind a staff or supervisor token. Several tokens (a
/// rotation, a second device) may name the same person.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Stable id, in the actor of every event they cause.
    pub person_id: crate::PersonId,
    /// Display name; empty for the unnamed person a pre-0006 shared office
    /// token became.
    pub name: String,
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
    /// A person of a street office's staff; sees only the office's tickets.
    Office {
        /// The office the token is scoped to.
        office_id: crate::OfficeId,
        /// Who holds the token.
        person: Person,
    },
    /// A supervisor; sees everything.
    Supervisor {
        /// Who holds the token.
        person: Person,
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

    /// How the holder is named in ticket events: `courier:<courier id>`,
    /// `office:<office_id>/<person id>`, `supervisor:<person id>`. Ids only,
    /// so a name with `:` or `/` in it cannot make two actors look alike;
    /// [`Actor::parse`] reads it back.
    pub fn actor(&self) -> String {
        match self {
            Principal::Courier { courier_id, .. } => format!("courier:{courier_id}"),
            Principal::Office { office_id, person } => {
                format!("office:{office_id}/{}", person.person_id)
            }
            Principal::Supervisor { person } => format!("supervisor:{}", person.person_id),
        }
    }

    /// The person behind a staff or supervisor token.
    pub fn person(&self) -> Option<&Person> {
        match self {
            Principal::Office { person, .. } | Principal::Supervisor { person } => Some(person),
            Principal::Courier { .. } => None,
        }
    }

    /// Whether the holder may see and act on a ticket of `office`.
    pub fn may_see_office(&self, office: &crate::OfficeId) -> bool {
        match self {
            Principal::Office { office_id, .. } => office_id == office,
            Principal::Supervisor { .. } => true,
            Principal::Courier { .. } => false,
        }
    }
}

/// An event's actor string, read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// `courier:<courier id>`.
    Courier(crate::CourierId),
    /// `office:<office_id>/<person id>`, or `office:<office_id>` as written
    /// before offices had persons.
    Office {
        /// The office acting.
        office_id: crate::OfficeId,
        /// The person; `None` in events older than persons.
        person_id: Option<crate::PersonId>,
    },
    /// `supervisor:<person id>`.
    Supervisor(crate::PersonId),
    /// Anything else: `router`, `system`, or `supervisor:<name>` as written
    /// before supervisors had person ids.
    Other(String),
}

impl Actor {
    /// Reads what [`Principal::actor`] wrote.
    pub fn parse(actor: &str) -> Actor {
        let parsed = match actor.split_once(':') {
            Some(("courier", id)) => id.parse().ok().map(Actor::Courier),
            Some(("supervisor", id)) => id.parse().ok().map(Actor::Supervisor),
            Some(("office", rest)) => {
                let (office, person) = match rest.split_once('/') {
                    Some((office, person)) => (office, Some(person.parse().ok())),
                    None => (rest, None),
                };
                match (office.parse(), person) {
                    (Ok(office_id), Some(Some(person_id))) => Some(Actor::Office {
                        office_id,
                        person_id: Some(person_id),
                    }),
                    (Ok(office_id), None) => Some(Actor::Office {
                        office_id,
                        person_id: None,
                    }),
                    _ => None,
                }
            }
            _ => None,
        };
        parsed.unwrap_or_else(|| Actor::Other(actor.to_owned()))
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

    #[test]
    fn actors_name_the_person_and_parse_back() {
        let person = Person {
            person_id: crate::PersonId::new(),
            name: "Wang: Fang/2".into(),
        };
        let office: crate::OfficeId = "wenquan".parse().unwrap();
        let staff = Principal::Office {
            office_id: office.clone(),
            person: person.clone(),
        };
        let actor = staff.actor();
        assert_eq!(actor, format!("office:wenquan/{}", person.person_id));
        assert_eq!(
            Actor::parse(&actor),
            Actor::Office {
                office_id: office.clone(),
                person_id: Some(person.person_id)
            }
        );
        let supervisor = Principal::Supervisor {
            person: person.clone(),
        };
        assert_eq!(
            Actor::parse(&supervisor.actor()),
            Actor::Supervisor(person.person_id)
        );
        assert_eq!(
            Actor::parse("office:wenquan"),
            Actor::Office {
                office_id: office,
                person_id: None
            }
        );
        for other in [
            "router",
            "supervisor:Zhang Min",
            "office:wenquan/x",
            "office:A/",
        ] {
            assert_eq!(Actor::parse(other), Actor::Other(other.into()), "{other}");
        }
        let json = serde_json::to_value(&staff).unwrap();
        assert_eq!(json["role"], "office");
        assert_eq!(json["office_id"], "wenquan");
        assert_eq!(json["person"]["name"], "Wang: Fang/2");
    }
}
