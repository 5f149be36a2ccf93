//! Where a ticket stands in verification (核查), as every view of it shows:
//! `{"state": "awaiting"|"verified"|"failed"|"disputed"|null,
//! "verified_by": "reporter"|"courier"|"supervisor"|"auto"|null,
//! "verified_at"?, "can_verify"}`.

use crate::store::Store;
use crate::time_ms::to_ms;
use crate::Error;
use civicprobe_model::{CourierId, TicketState};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

/// The SQL condition body "an open verification dispute of the ticket's
/// latest resolution" (a not-fixed from a merged reporter or a courier
/// passing by, not yet settled), for the tickets row aliased `$t`: it
/// decides `disputed`, holds off auto-verification, and is written once.
macro_rules! open_dispute {
    ($t:literal) => {
        concat!(
            "SELECT 1 FROM verifications v WHERE v.ticket_id = ",
            $t,
            ".ticket_id AND v.resolved_at = ",
            $t,
            ".resolved_at AND v.disputed = 1 AND v.settled_at IS NULL"
        )
    };
}
pub(crate) use open_dispute;

/// A ticket's verification, as shown with it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerificationStatus {
    /// `awaiting` (resolved, no verdict yet), `disputed` (resolved, a
    /// courier says it is not fixed), `verified` (closed), `failed`
    /// (reopened as not fixed); `null` before a resolution.
    pub state: Option<&'static str>,
    /// Who verified a closed ticket: `reporter`, `courier`, `supervisor`
    /// or `auto`; `null` otherwise (and for tickets closed before
    /// verification existed).
    pub verified_by: Option<String>,
    /// When it was verified.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub verified_at: Option<OffsetDateTime>,
    /// Whether the caller may verify it now (set per caller: the store
    /// reads it as `false`).
    pub can_verify: bool,
}

impl VerificationStatus {
    /// From a row with `verified_by` and `verification_disputes` (1 when
    /// [`open_dispute`] holds, else 0).
    pub(crate) fn of_row(
        row: &AnyRow,
        state: TicketState,
        closed_at: Option<OffsetDateTime>,
    ) -> Result<Self, Error> {
        let disputes: i64 = row.try_get("verification_disputes")?;
        let verified_by: Option<String> = row.try_get("verified_by")?;
        Ok(Self::of(state, closed_at, verified_by, disputes > 0))
    }

    /// From its parts.
    pub(crate) fn of(
        state: TicketState,
        closed_at: Option<OffsetDateTime>,
        verified_by: Option<String>,
        disputed: bool,
    ) -> Self {
        let (state, verified_at) = match state {
            TicketState::Resolved if disputed => (Some("disputed"), None),
            TicketState::Resolved => (Some("awaiting"), None),
            TicketState::Closed => (Some("verified"), closed_at),
            TicketState::Reopened => (Some("failed"), None),
            _ => (None, None),
        };
        VerificationStatus {
            state,
            verified_by: verified_by.filter(|_| verified_at.is_some()),
            verified_at,
            can_verify: false,
        }
    }
}

impl Store {
    /// Whether `courier` may verify the ticket resolved at `resolved_at`
    /// now, as one of its reporters (`opened_it`: the opener, who may
    /// until it is closed or reopened; a merged reporter once per
    /// resolution).
    pub async fn reporter_may_verify(
        &self,
        ticket: &crate::tickets::rows::Ticket,
        courier: CourierId,
        opened_it: bool,
    ) -> Result<bool, Error> {
        let (TicketState::Resolved, Some(resolved_at)) = (ticket.state, ticket.resolved_at) else {
            return Ok(false);
        };
        if opened_it {
            return Ok(true);
        }
        let checked = sqlx::query(
            "SELECT 1 FROM verifications WHERE ticket_id = $1 AND resolved_at = $2 \
             AND courier_id = $3",
        )
        .bind(ticket.ticket_id.to_string())
        .bind(to_ms(resolved_at))
        .bind(courier.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(checked.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_the_ticket() {
        let at = Some(OffsetDateTime::UNIX_EPOCH);
        let by = || Some("auto".to_owned());
        let s = VerificationStatus::of(TicketState::Closed, at, by(), false);
        assert_eq!(
            (s.state, s.verified_by.as_deref()),
            (Some("verified"), Some("auto"))
        );
        assert_eq!(s.verified_at, at);
        let s = VerificationStatus::of(TicketState::Resolved, None, None, true);
        assert_eq!(s.state, Some("disputed"));
        let s = VerificationStatus::of(TicketState::Resolved, None, None, false);
        assert_eq!(s.state, Some("awaiting"));
        let s = VerificationStatus::of(TicketState::Reopened, None, by(), false);
        assert_eq!((s.state, s.verified_by), (Some("failed"), None));
        assert_eq!(
            VerificationStatus::of(TicketState::Open, None, None, false).state,
            None
        );
    }
}
