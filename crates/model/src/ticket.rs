//! The ticket life cycle as data.
//!
//! ```text
//! open ──acknowledge──► acknowledged ──start / make_safe──► in_progress
//!   │                      │    │                              │  make_safe
//!   │                      │    └────────resolve───────┐       │  resolve
//!   └──reject──► rejected ◄┘                           ▼       ▼
//!                                     reopened ◄─reopen─ resolved ──close──► closed
//!                                        └──acknowledge──► acknowledged
//! ```
//!
//! `escalated`, `rerouted` and `merged` are events, not states.

use crate::EventKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a ticket stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Open,
    Acknowledged,
    InProgress,
    Resolved,
    Closed,
    Reopened,
    Rejected,
}

/// Why an office refuses a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Another ticket covers it.
    Duplicate,
    /// Nothing dangerous there.
    NotAHazard,
    /// The point is in another office's area.
    NotOurArea,
}

/// What an actor does to a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketAction {
    Acknowledge,
    MakeSafe,
    Start,
    Resolve,
    Reject,
    Reopen,
    /// Confirms a resolved ticket fixed (核查): by its reporter, a nearby
    /// courier, a supervisor or automatically; it closes the ticket.
    Verify,
}

/// An action that the ticket's state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a ticket that is {from}")]
pub struct IllegalTransition {
    /// The state the ticket was in.
    pub from: TicketState,
    /// The refused action.
    pub action: TicketAction,
}

impl TicketState {
    /// Every state.
    pub const ALL: [TicketState; 7] = [
        TicketState::Open,
        TicketState::Acknowledged,
        TicketState::InProgress,
        TicketState::Resolved,
        TicketState::Closed,
        TicketState::Reopened,
        TicketState::Rejected,
    ];

    /// The state after `action`, or why the action is refused. There are no
    /// silent no-ops: every pair not listed here is an error.
    pub fn apply(self, action: TicketAction) -> Result<TicketState, IllegalTransition> {
        use TicketAction as A;
        use TicketState as S;
        let next = match (self, action) {
            (S::Open | S::Reopened, A::Acknowledge) => S::Acknowledged,
            (S::Acknowledged | S::InProgress, A::MakeSafe) => S::InProgress,
            (S::Acknowledged, A::Start) => S::InProgress,
            (S::Acknowledged | S::InProgress, A::Resolve) => S::Resolved,
            (S::Open | S::Acknowledged, A::Reject) => S::Rejected,
            (S::Resolved, A::Reopen) => S::Reopened,
            (S::Resolved, A::Verify) => S::Closed,
            (from, action) => return Err(IllegalTransition { from, action }),
        };
        Ok(next)
    }

    /// Whether an office still has work to do on it.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            TicketState::Open
                | TicketState::Acknowledged
                | TicketState::InProgress
                | TicketState::Reopened
        )
    }

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Open => "open",
            TicketState::Acknowledged => "acknowledged",
            TicketState::InProgress => "in_progress",
            TicketState::Resolved => "resolved",
            TicketState::Closed => "closed",
            TicketState::Reopened => "reopened",
            TicketState::Rejected => "rejected",
        }
    }
}

impl fmt::Display for TicketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TicketState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TicketState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| "unknown ticket state: expected open, acknowledged, in_progress, resolved, closed, reopened or rejected".to_owned())
    }
}

impl TicketAction {
    /// Every action.
    pub const ALL: [TicketAction; 7] = [
        TicketAction::Acknowledge,
        TicketAction::MakeSafe,
        TicketAction::Start,
        TicketAction::Resolve,
        TicketAction::Reject,
        TicketAction::Reopen,
        TicketAction::Verify,
    ];

    /// The wire name, also the event kind it records (`acknowledge` →
    /// `acknowledged`, see [`TicketAction::event_kind`]).
    pub fn as_str(self) -> &'static str {
        match self {
            TicketAction::Acknowledge => "acknowledge",
            TicketAction::MakeSafe => "make_safe",
            TicketAction::Start => "start",
            TicketAction::Resolve => "resolve",
            TicketAction::Reject => "reject",
            TicketAction::Reopen => "reopen",
            TicketAction::Verify => "verify",
        }
    }

    /// The past-tense event name, used in subjects and the event table.
    pub fn event_kind(self) -> EventKind {
        match self {
            TicketAction::Acknowledge => EventKind::Acknowledged,
            TicketAction::MakeSafe => EventKind::MadeSafe,
            TicketAction::Start => EventKind::Started,
            TicketAction::Resolve => EventKind::Resolved,
            TicketAction::Reject => EventKind::Rejected,
            TicketAction::Reopen => EventKind::Reopened,
            TicketAction::Verify => EventKind::Verified,
        }
    }
}

impl fmt::Display for TicketAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RejectReason {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Duplicate => "duplicate",
            RejectReason::NotAHazard => "not_a_hazard",
            RejectReason::NotOurArea => "not_our_area",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketAction as A;
    use TicketState as S;

    /// The whole table: every (state, action) pair, legal ones with their
    /// target. Anything missing here must be refused.
    const LEGAL: [(S, A, S); 11] = [
        (S::Open, A::Acknowledge, S::Acknowledged),
        (S::Open, A::Reject, S::Rejected),
        (S::Acknowledged, A::MakeSafe, S::InProgress),
        (S::Acknowledged, A::Start, S::InProgress),
        (S::Acknowledged, A::Resolve, S::Resolved),
        (S::Acknowledged, A::Reject, S::Rejected),
        (S::InProgress, A::MakeSafe, S::InProgress),
        (S::InProgress, A::Resolve, S::Resolved),
        (S::Resolved, A::Reopen, S::Reopened),
        (S::Resolved, A::Verify, S::Closed),
        (S::Reopened, A::Acknowledge, S::Acknowledged),
    ];

    #[test]
    fn every_pair_is_either_in_the_table_or_refused() {
        let mut legal_seen = 0;
        for from in S::ALL {
            for action in A::ALL {
                let expected = LEGAL
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (from.apply(action), expected) {
                    (Ok(to), Some(want)) => {
                        assert_eq!(to, want, "{from} --{action}-->");
                        legal_seen += 1;
                    }
                    (Err(e), None) => {
                        assert_eq!(e, IllegalTransition { from, action });
                        assert!(e.to_string().contains(from.as_str()));
                    }
                    (got, want) => panic!("{from} --{action}--> got {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(legal_seen, 11);
    }

    #[test]
    fn terminal_states_allow_nothing_but_reopen_of_resolved() {
        for action in A::ALL {
            assert!(S::Closed.apply(action).is_err());
            assert!(S::Rejected.apply(action).is_err());
        }
    }

    #[test]
    fn a_full_life_reaches_closed() {
        let end = [
            A::Acknowledge,
            A::MakeSafe,
            A::Resolve,
            A::Reopen,
            A::Acknowledge,
            A::Resolve,
            A::Verify,
        ]
        .into_iter()
        .try_fold(S::Open, S::apply)
        .unwrap();
        assert_eq!(end, S::Closed);
    }

    #[test]
    fn names_round_trip() {
        for st in S::ALL {
            assert_eq!(st.as_str().parse::<S>().unwrap(), st);
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{st}\""));
        }
        assert!(S::Open.is_active() && !S::Closed.is_active() && !S::Rejected.is_active());
    }
}
