//! `TICKETS` messages, decoded once by the hub, and the `text/event-stream`
//! events a connection writes for them.
//!
//! - `event: ticket`, `data:` one [`TicketWire`]: for an office or a
//!   supervisor every field the message has; for a courier
//!   ([`FeedEvent::for_courier`]) only `seq, kind, ticket_id, state, at,
//!   category, urgent`, plus `report_id` and `text` when the report is
//!   their own and the note of a staff step (what the courier view of a
//!   ticket shows: never another reporter's text, ids or place).
//! - `event: unrouted` (supervisors), `data:` one [`UnroutedWire`].
//! - `event: ready` and `event: reset`: [`ready`], [`reset`].
//!
//! Every event's `id:` is its `TICKETS` stream sequence.

use crate::consumer::{kind_of, Kind};
use crate::tickets::merge::reason_name;
use axum::response::sse::Event;
use civicprobe_model::EventKind;
use civicprobe_model::{
    Category, CourierId, Deadlines, OfficeId, ReportId, ReportUnrouted, TicketChanged, TicketId,
    TicketMerged, TicketOpened, TicketState,
};
use serde::Serialize;
use time::OffsetDateTime;

/// One `TICKETS` message the hub broadcast.
#[derive(Debug)]
pub struct FeedEvent {
    /// Its stream sequence (the event's `id:`).
    pub seq: u64,
    /// What it says.
    pub item: Item,
}

/// The four kinds of message on `TICKETS`.
#[derive(Debug)]
pub enum Item {
    /// The router opened a ticket.
    Opened(Box<TicketOpened>),
    /// The router merged a duplicate into one.
    Merged(Box<TicketMerged>),
    /// A step the tracker recorded.
    Changed(Box<TicketChanged>),
    /// A report outside every area.
    Unrouted(Box<ReportUnrouted>),
}

/// The `data:` of an `event: ticket`. Fields a message lacks, or the
/// holder may not see, are left out.
#[derive(Debug, Default, Serialize)]
pub struct TicketWire<'a> {
    /// The stream sequence.
    pub seq: u64,
    /// `opened`, `merged`, `acknowledged`, … `rerouted`, `triaged`.
    pub kind: &'a str,
    /// The ticket.
    pub ticket_id: Option<TicketId>,
    /// The office responsible after the step (not for couriers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office_id: Option<&'a OfficeId>,
    /// For `rerouted`: the office it left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_office: Option<&'a OfficeId>,
    /// The ticket's category.
    pub category: Option<Category>,
    /// Urgent after the step (for `merged`: the duplicate's own).
    pub urgent: bool,
    /// The state after the step (`merged` has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TicketState>,
    /// When.
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
    /// Who (for a step the tracker recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<&'a str>,
    /// A reject reason, a breached step, `nearby` / `same_photo` …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// Free text of the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
    /// The deadlines, when the step set them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<Deadlines>,
    /// The report of an `opened` or `merged`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_id: Option<ReportId>,
    /// That report's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
}

/// The `data:` of an `event: unrouted`.
#[derive(Debug, Serialize)]
pub struct UnroutedWire<'a> {
    /// The stream sequence.
    pub seq: u64,
    /// The report.
    pub report_id: ReportId,
    /// The router's category.
    pub category: Category,
    /// Life-safety now.
    pub urgent: bool,
    /// When the router gave up on it.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The courier's text.
    pub text: Option<&'a str>,
}

impl FeedEvent {
    /// The message at `seq`, or `None` for one that is not a civicprobe
    /// event (logged).
    pub fn decode(seq: u64, subject: &str, payload: &[u8]) -> Option<FeedEvent> {
        let item = match kind_of(subject) {
            Kind::Opened => serde_json::from_slice(payload).map(|e| Item::Opened(Box::new(e))),
            Kind::Merged => serde_json::from_slice(payload).map(|e| Item::Merged(Box::new(e))),
            Kind::OtherTicketEvent => {
                serde_json::from_slice(payload).map(|e| Item::Changed(Box::new(e)))
            }
            Kind::Unrouted => serde_json::from_slice(payload).map(|e| Item::Unrouted(Box::new(e))),
            Kind::Unknown => return None,
        };
        match item {
            Ok(item) => Some(FeedEvent { seq, item }),
            Err(e) => {
                tracing::warn!(seq, subject, error = %e, "event hub: malformed message skipped");
                None
            }
        }
    }

    /// The ticket it is about (none for an unrouted report).
    pub fn ticket_id(&self) -> Option<TicketId> {
        match &self.item {
            Item::Opened(e) => Some(e.ticket_id),
            Item::Merged(e) => Some(e.ticket_id),
            Item::Changed(e) => Some(e.ticket_id),
            Item::Unrouted(_) => None,
        }
    }

    /// Whether an office sees it: its own ticket, or one rerouted away
    /// from it.
    pub fn concerns_office(&self, office: &OfficeId) -> bool {
        match &self.item {
            Item::Opened(e) => &e.office_id == office,
            Item::Merged(e) => &e.office_id == office,
            Item::Changed(e) => {
                &e.office_id == office
                    || (e.kind == EventKind::Rerouted && e.from_office.as_ref() == Some(office))
            }
            Item::Unrouted(_) => false,
        }
    }

    /// The courier whose report this message carries (opened, merged).
    pub fn reporter(&self) -> Option<CourierId> {
        match &self.item {
            Item::Opened(e) => Some(e.report.courier_id),
            Item::Merged(e) => Some(e.report.courier_id),
            Item::Changed(_) | Item::Unrouted(_) => None,
        }
    }

    /// Everything, for an office or a supervisor.
    pub fn for_staff(&self) -> Event {
        match &self.item {
            Item::Unrouted(e) => data(
                self.seq,
                "unrouted",
                &UnroutedWire {
                    seq: self.seq,
                    report_id: e.report.report_id,
                    category: e.category,
                    urgent: e.urgent,
                    at: e.at,
                    text: e.report.text.as_deref(),
                },
            ),
            _ => data(self.seq, "ticket", &self.ticket_wire()),
        }
    }

    /// What a reporting courier may see; `None` for an unrouted report.
    pub fn for_courier(&self, courier: CourierId) -> Option<Event> {
        let full = self.ticket_wire();
        let own = self.reporter() == Some(courier);
        let staff_note = match &self.item {
            Item::Changed(e) => ["office:", "supervisor:"]
                .iter()
                .any(|p| e.actor.starts_with(p)),
            _ => false,
        };
        let seen = TicketWire {
            seq: full.seq,
            kind: full.kind,
            ticket_id: Some(full.ticket_id?),
            category: full.category,
            urgent: full.urgent,
            state: full.state,
            at: full.at,
            note: full.note.filter(|_| staff_note),
            report_id: full.report_id.filter(|_| own),
            text: full.text.filter(|_| own),
            ..Default::default()
        };
        Some(data(self.seq, "ticket", &seen))
    }

    fn ticket_wire(&self) -> TicketWire<'_> {
        let seq = self.seq;
        match &self.item {
            Item::Opened(e) => TicketWire {
                seq,
                kind: EventKind::Opened.as_str(),
                ticket_id: Some(e.ticket_id),
                office_id: Some(&e.office_id),
                category: Some(e.category),
                urgent: e.urgent,
                state: Some(TicketState::Open),
                at: Some(e.opened_at),
                deadlines: Some(e.deadlines),
                report_id: Some(e.report.report_id),
                text: e.report.text.as_deref(),
                ..Default::default()
            },
            Item::Merged(e) => TicketWire {
                seq,
                kind: EventKind::Merged.as_str(),
                ticket_id: Some(e.ticket_id),
                office_id: Some(&e.office_id),
                category: Some(e.category),
                urgent: e.urgent,
                at: Some(e.at),
                reason: Some(reason_name(&e.reason)),
                report_id: Some(e.report.report_id),
                text: e.report.text.as_deref(),
                ..Default::default()
            },
            Item::Changed(e) => changed_wire(seq, e),
            Item::Unrouted(_) => TicketWire::default(),
        }
    }
}

fn changed_wire(seq: u64, e: &TicketChanged) -> TicketWire<'_> {
    TicketWire {
        seq,
        kind: e.kind.as_str(),
        ticket_id: Some(e.ticket_id),
        office_id: Some(&e.office_id),
        from_office: e.from_office.as_ref(),
        category: Some(e.category),
        urgent: e.urgent,
        state: Some(e.state),
        at: Some(e.at),
        actor: Some(&e.actor),
        reason: e.reason.as_deref(),
        note: e.note.as_deref(),
        deadlines: e.deadlines,
        ..Default::default()
    }
}

/// `id: seq`, `event: name`, `data: <json>`.
fn data(seq: u64, name: &'static str, body: &impl Serialize) -> Event {
    let json = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    Event::default().id(seq.to_string()).event(name).data(json)
}

/// `event: ready` with `id:` = where the client stands.
pub fn ready(id: u64, resumed: bool) -> Event {
    let json = serde_json::json!({ "resumed": resumed }).to_string();
    Event::default()
        .id(id.to_string())
        .event("ready")
        .data(json)
}

/// `event: reset`: the client must refetch its state; `id:` = the stream
/// position the live feed continues after.
pub fn reset(id: u64, reason: &str) -> Event {
    let json = serde_json::json!({ "reason": reason }).to_string();
    Event::default()
        .id(id.to_string())
        .event("reset")
        .data(json)
}
