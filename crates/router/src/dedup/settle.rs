//! The decision for a report that would open a ticket: merge into the open
//! ticket it duplicates, or win the claim and open it.

use async_nats::jetstream;
use civicprobe_model::TicketOpened;
use std::time::Duration;
use time::OffsetDateTime;
use tracing::debug;

use super::{
    claim::{self, Claimed},
    feed::{Feed, Shared},
    DuplicateRules, Match, OpenTicket,
};
use crate::{route::merged, Error, Routed};

/// The metrics counter of claims, labelled `outcome` = `won` | `lost`.
const CLAIMS_TOTAL: &str = "civicprobe_router_claims_total";
/// Claim attempts before giving up (the report is then redelivered).
const MAX_ATTEMPTS: usize = 8;
/// Every this many reports, tickets older than twice the window are
/// forgotten (they can match no report received since).
const PRUNE_EVERY: u32 = 4096;
/// How long a loser waits for the winner's claim to reach its index.
const CLAIM_VISIBLE_WITHIN: Duration = Duration::from_secs(5);

/// The open ticket the report duplicates, and the last claim sequence seen
/// on `subject`; every [`PRUNE_EVERY`] calls old tickets are forgotten.
fn look(
    state: &Shared,
    rules: &DuplicateRules,
    ticket: &TicketOpened,
    subject: &str,
    now: OffsetDateTime,
) -> (Option<Match>, u64) {
    let mut s = state.lock();
    s.settled_since_prune += 1;
    if s.settled_since_prune >= PRUNE_EVERY {
        s.settled_since_prune = 0;
        s.index.forget_before(now - rules.window * 2);
    }
    let found = s
        .index
        .find(rules, &ticket.office_id, ticket.category, &ticket.report);
    (found, s.last_claim.get(subject).copied().unwrap_or(0))
}

/// `Merged` when `ticket`'s report duplicates an open ticket, else `Ticket`
/// once this router holds the claim for its office and category.
pub async fn settle(
    js: &jetstream::Context,
    state: &Shared,
    rules: &DuplicateRules,
    ticket: TicketOpened,
    now: OffsetDateTime,
) -> Result<Routed, Error> {
    let candidate = OpenTicket::of(&ticket);
    let subject = claim::claim_subject(&ticket.office_id, ticket.category);
    for attempt in 0..MAX_ATTEMPTS {
        let (found, expected) = look(state, rules, &ticket, &subject, now);
        match found {
            // Our own claim, from before a crash or redelivery: open it.
            Some(m) if m.ticket.ticket_id == ticket.ticket_id => return Ok(Routed::Ticket(ticket)),
            Some(m) => {
                return Ok(Routed::Merged(merged(
                    &ticket.report,
                    &m.ticket,
                    m.reason,
                    ticket.urgent,
                    now,
                )))
            }
            None => {}
        }
        match claim::claim(js, &candidate, expected).await? {
            Claimed::Won(sequence) => {
                metrics::counter!(CLAIMS_TOTAL, "outcome" => "won").increment(1);
                let mut s = state.lock();
                s.index.open(candidate);
                let last = s.last_claim.entry(subject).or_default();
                *last = (*last).max(sequence);
                return Ok(Routed::Ticket(ticket));
            }
            Claimed::Lost(last) => {
                metrics::counter!(CLAIMS_TOTAL, "outcome" => "lost").increment(1);
                debug!(attempt, last, "claim lost to another router; looking again");
                state
                    .wait_for(Feed::Claims, last, CLAIM_VISIBLE_WITHIN)
                    .await;
            }
        }
    }
    Err(Error::Dedup(format!(
        "no claim on {subject} after {MAX_ATTEMPTS} attempts"
    )))
}
