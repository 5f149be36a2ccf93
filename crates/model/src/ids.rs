//! Identifiers. All are UUIDs; the newtypes keep a ticket id from being
//! passed where a report id is meant.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Namespace for ids derived with UUID v5, so that a redelivered message
/// yields the same id and the consumer does nothing twice.
const NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_5e0a_9b2d_4c7e_8f31_a4d2_0b6e_c915);

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A courier's report, one per accepted submission.
    ReportId
);
id_type!(
    /// A routed ticket in a street office's queue.
    TicketId
);
id_type!(
    /// One step of a ticket's life (opened, acknowledged, …).
    EventId
);
id_type!(
    /// A registered courier.
    CourierId
);
id_type!(
    /// A person of a street office's staff, or a supervisor: who acted,
    /// whatever token they used.
    PersonId
);

impl ReportId {
    /// The report id for a courier's submission under an `Idempotency-Key`:
    /// a retry with the same key names the same report.
    pub fn for_submission(courier: CourierId, idempotency_key: &str) -> Self {
        let mut name = courier.0.as_bytes().to_vec();
        name.extend_from_slice(idempotency_key.as_bytes());
        Self(Uuid::new_v5(&NAMESPACE, &name))
    }
}

impl TicketId {
    /// The ticket a report opens: deterministic, so that the router and the
    /// tracker are idempotent under redelivery.
    pub fn for_report(report: ReportId) -> Self {
        Self(Uuid::new_v5(&NAMESPACE, report.0.as_bytes()))
    }
}

impl EventId {
    /// The id of the `kind` event caused by `cause` (a report or ticket id).
    pub fn derived(cause: Uuid, kind: &str) -> Self {
        let mut name = cause.as_bytes().to_vec();
        name.extend_from_slice(kind.as_bytes());
        Self(Uuid::new_v5(&NAMESPACE, &name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_ids_are_deterministic_per_courier_and_key() {
        let a = CourierId::new();
        let b = CourierId::new();
        assert_eq!(
            ReportId::for_submission(a, "k1"),
            ReportId::for_submission(a, "k1")
        );
        assert_ne!(
            ReportId::for_submission(a, "k1"),
            ReportId::for_submission(a, "k2")
        );
        assert_ne!(
            ReportId::for_submission(a, "k1"),
            ReportId::for_submission(b, "k1")
        );
    }

    #[test]
    fn ticket_id_follows_report_id() {
        let r = ReportId::new();
        assert_eq!(TicketId::for_report(r), TicketId::for_report(r));
        assert_ne!(
            TicketId::for_report(r),
            TicketId::for_report(ReportId::new())
        );
    }

    #[test]
    fn ids_round_trip_as_plain_strings() {
        let id = TicketId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(id.to_string().parse::<TicketId>().unwrap(), id);
    }
}
