//! Which events alert whom. Rules (issue 12):
//!
//! - an office's channels: a ticket opened urgent; a report merged into an
//!   urgent ticket, or an urgent duplicate ([`TicketMerged::urgent`]); a
//!   `triaged` event that leaves the ticket urgent; a `rerouted` event of
//!   an urgent ticket (to the new office); every `escalated` event; a
//!   `reopened` event (a reporter or supervisor found the fix not done,
//!   核查); a verification dispute: a `report_verified` event with reason
//!   `not_fixed` (a merged reporter) or a `verification_disputed` event
//!   (a courier passing by); a resident's note posted through Open311
//!   (`resident_note`) on an urgent ticket;
//! - the supervisors' channels: every `escalated` event; a `rejected`
//!   event with reason `not_our_area` (a dispute); an urgent unrouted
//!   report.
//!
//! Everything else alerts nobody.

use super::alert::{clean_text, Alert, Links, UNROUTED};
use crate::tickets::lifecycle::NOT_FIXED;
use crate::tickets::rows::Ticket;
use crate::{Error, Store};
use civicprobe_model::nats::TicketsSubject;
use civicprobe_model::EventKind;
use civicprobe_model::{
    OfficeId, RejectReason, ReportUnrouted, TicketChanged, TicketMerged, TicketOpened,
};

/// Whose channels an alert goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One office's.
    Office(OfficeId),
    /// The supervisors'.
    Supervisors,
}

/// What to do with one message.
#[derive(Debug)]
pub enum Decision {
    /// Send these.
    Alerts(Vec<(Target, Alert)>),
    /// The ticket is not in the database yet (the tracker's own consumer
    /// is behind): look again shortly.
    NotYet,
}

/// The last token of a ticket subject, or `unrouted`; `None` for a subject
/// this stream should not hold.
pub fn event_kind(subject: &str) -> Option<&str> {
    match TicketsSubject::parse(subject)? {
        TicketsSubject::Ticket { event, .. } => Some(event),
        TicketsSubject::Unrouted { .. } => Some(UNROUTED),
    }
}

/// Decides the alerts of one message (a malformed payload is an error).
pub async fn decide(
    store: &Store,
    links: &Links,
    kind: &str,
    payload: &[u8],
) -> Result<Decision, Error> {
    let span = tracing::Span::current();
    let alerts = match (kind, kind.parse::<EventKind>()) {
        (_, Ok(EventKind::Opened)) => {
            let ev: TicketOpened = serde_json::from_slice(payload)?;
            span.record("ticket_id", tracing::field::display(ev.ticket_id));
            if !ev.urgent {
                return Ok(Decision::Alerts(Vec::new()));
            }
            vec![(Target::Office(ev.office_id.clone()), opened(&ev, links))]
        }
        (_, Ok(EventKind::Merged)) => {
            let ev: TicketMerged = serde_json::from_slice(payload)?;
            span.record("ticket_id", tracing::field::display(ev.ticket_id));
            return merged(store, links, &ev).await;
        }
        (UNROUTED, _) => {
            let ev: ReportUnrouted = serde_json::from_slice(payload)?;
            if !ev.urgent {
                return Ok(Decision::Alerts(Vec::new()));
            }
            vec![(Target::Supervisors, unrouted(&ev, links))]
        }
        _ => {
            let ev: TicketChanged = serde_json::from_slice(payload)?;
            span.record("ticket_id", tracing::field::display(ev.ticket_id));
            let targets = changed_targets(&ev);
            if targets.is_empty() {
                return Ok(Decision::Alerts(Vec::new()));
            }
            let ticket = store.ticket(ev.ticket_id).await?;
            let office_name = office_name(store, &ev.office_id).await?;
            let alert = changed(&ev, ticket.as_ref(), office_name, links);
            targets.into_iter().map(|t| (t, alert.clone())).collect()
        }
    };
    Ok(Decision::Alerts(alerts))
}

/// Who a tracker step alerts (the rules above).
fn changed_targets(ev: &TicketChanged) -> Vec<Target> {
    let office = || Target::Office(ev.office_id.clone());
    let dispute = ev.reason.as_deref() == Some(RejectReason::NotOurArea.as_str());
    let not_fixed = ev.reason.as_deref() == Some(NOT_FIXED);
    match ev.kind {
        EventKind::Escalated => vec![office(), Target::Supervisors],
        EventKind::Triaged | EventKind::Rerouted | EventKind::ResidentNote if ev.urgent => {
            vec![office()]
        }
        EventKind::Reopened | EventKind::VerificationDisputed => vec![office()],
        EventKind::ReportVerified if not_fixed => vec![office()],
        EventKind::Rejected if dispute => vec![Target::Supervisors],
        _ => Vec::new(),
    }
}

fn opened(ev: &TicketOpened, links: &Links) -> Alert {
    let mut alert = Alert::new(EventKind::Opened.as_str(), ev.event_id, ev.opened_at);
    alert.ticket_id = Some(ev.ticket_id);
    alert.report_id = Some(ev.report.report_id);
    alert.office_id = Some(ev.office_id.clone());
    alert.office_name = Some(ev.office_name.clone());
    alert.category = Some(ev.category);
    alert.urgent = ev.urgent;
    alert.state = Some(civicprobe_model::TicketState::Open);
    alert.text = ev.report.text.as_deref().and_then(clean_text);
    alert.location = Some(ev.report.location);
    alert.deadlines = Some(ev.deadlines);
    alert.link = Some(links.ticket(ev.ticket_id));
    alert
}

/// A merge alerts if the duplicate or the ticket is urgent; it waits for
/// the ticket when the tracker has not stored it yet.
async fn merged(store: &Store, links: &Links, ev: &TicketMerged) -> Result<Decision, Error> {
    let ticket = store.ticket(ev.ticket_id).await?;
    let urgent = ev.urgent || ticket.as_ref().is_some_and(|t| t.urgent);
    if !urgent {
        return Ok(if ticket.is_none() {
            Decision::NotYet
        } else {
            Decision::Alerts(Vec::new())
        });
    }
    let mut alert = match &ticket {
        Some(t) => ticket_alert(EventKind::Merged.as_str(), ev.event_id, ev.at, t, links),
        None => Alert::new(EventKind::Merged.as_str(), ev.event_id, ev.at),
    };
    alert.ticket_id = Some(ev.ticket_id);
    alert.office_id = Some(ev.office_id.clone());
    alert.category = Some(ev.category);
    alert.urgent = true;
    alert.report_id = Some(ev.report.report_id);
    alert.text = ev.report.text.as_deref().and_then(clean_text);
    alert.location = Some(ev.report.location);
    alert.link = Some(links.ticket(ev.ticket_id));
    if alert.office_name.is_none() {
        alert.office_name = office_name(store, &ev.office_id).await?;
    }
    Ok(Decision::Alerts(vec![(
        Target::Office(ev.office_id.clone()),
        alert,
    )]))
}

fn unrouted(ev: &ReportUnrouted, links: &Links) -> Alert {
    let mut alert = Alert::new(UNROUTED, ev.event_id, ev.at);
    alert.report_id = Some(ev.report.report_id);
    alert.category = Some(ev.category);
    alert.urgent = ev.urgent;
    alert.text = ev.report.text.as_deref().and_then(clean_text);
    alert.location = Some(ev.report.location);
    alert.link = Some(links.dashboard());
    alert
}

/// A tracker step's alert: the ticket's details, the event's facts.
fn changed(
    ev: &TicketChanged,
    ticket: Option<&Ticket>,
    office_name: Option<String>,
    links: &Links,
) -> Alert {
    let mut alert = match ticket {
        Some(t) => ticket_alert(ev.kind.as_str(), ev.event_id, ev.at, t, links),
        None => Alert::new(ev.kind.as_str(), ev.event_id, ev.at),
    };
    alert.ticket_id = Some(ev.ticket_id);
    alert.office_id = Some(ev.office_id.clone());
    alert.office_name = office_name.or(alert.office_name);
    alert.category = Some(ev.category);
    alert.urgent = ev.urgent;
    alert.state = Some(ev.state);
    alert.reason = ev.reason.clone();
    alert.deadlines = ev.deadlines.or(alert.deadlines);
    if ev.kind == EventKind::ResidentNote {
        // What the resident wrote is the news, not the report's text.
        alert.text = ev.note.as_deref().and_then(clean_text);
    }
    alert.link = Some(match ev.kind.as_str() {
        "rejected" => links.dashboard(),
        _ => links.ticket(ev.ticket_id),
    });
    alert
}

fn ticket_alert(
    kind: &str,
    event_id: civicprobe_model::EventId,
    at: time::OffsetDateTime,
    t: &Ticket,
    links: &Links,
) -> Alert {
    let mut alert = Alert::new(kind, event_id, at);
    alert.ticket_id = Some(t.ticket_id);
    alert.report_id = Some(t.report_id);
    alert.office_id = Some(t.office_id.clone());
    alert.office_name = Some(t.office_name.clone());
    alert.category = Some(t.category);
    alert.urgent = t.urgent;
    alert.state = Some(t.state);
    alert.text = t.text.as_deref().and_then(clean_text);
    alert.location = Some(t.location);
    alert.deadlines = Some(t.deadlines);
    alert.link = Some(links.ticket(t.ticket_id));
    alert
}

/// The office's display name, when it is a known office.
async fn office_name(store: &Store, office: &OfficeId) -> Result<Option<String>, Error> {
    use sqlx::Row;
    Ok(sqlx::query("SELECT name FROM offices WHERE office_id = $1")
        .bind(office.as_str())
        .fetch_optional(store.pool())
        .await?
        .map(|row| row.try_get("name"))
        .transpose()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_their_kind() {
        use civicprobe_model::nats::{ticket_subject, unrouted_subject, REPORT_SUBMITTED};
        use civicprobe_model::{Category, OfficeId};
        let office = OfficeId::parse("wenquan").unwrap();
        for kind in [EventKind::Opened, EventKind::Escalated] {
            let subject = ticket_subject(&office, Category::Manhole, kind);
            assert_eq!(event_kind(&subject), Some(kind.as_str()));
        }
        let unrouted = unrouted_subject(Category::Manhole);
        assert_eq!(event_kind(&unrouted), Some(UNROUTED));
        assert_eq!(event_kind(REPORT_SUBMITTED), None);
    }
}
