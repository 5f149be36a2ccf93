//! What an alert says: [`Alert`], stored as JSON in each delivery row and
//! sent as is by the `json` format (version 1 of a documented shape); the
//! robot formats render it as short Chinese-then-English text
//! ([`super::render`]).
//!
//! # The JSON shape, version 1
//!
//! ```json
//! {
//!   "version": 1,
//!   "kind": "opened",               // opened, merged, triaged, rerouted, escalated,
//!                                   // rejected, unrouted, digest
//!   "event_id": "…",                // the ticket event (or report, or digest) it is about
//!   "ticket_id": "…", "report_id": "…",   // null when not known
//!   "office_id": "wenquan", "office_name": "温泉街道",
//!   "category": "manhole", "urgent": true, "state": "open",
//!   "at": "2026-12-01T08:00:00Z",   // when the event happened
//!   "text": "井盖整个掉下去了",      // the courier's text, cleaned, at most 200 characters
//!   "location": {"lat": 29.84, "lon": 114.32},
//!   "deadlines": {"acknowledge_by": "…", "make_safe_by": "…", "resolve_by": "…"},
//!   "reason": "acknowledge",        // the escalated step, the reject reason, …
//!   "link": "https://civic.example/office#ticket=…",
//!   "day": "2026-12-01",            // digest only: the local day
//!   "overdue": [ {"ticket_id", "office_id", "category", "urgent", "state", "late_s", "link"} ]
//! }
//! ```
//!
//! Fields are only ever added within a version; a receiver ignores the
//! ones it does not know.

use civicprobe_model::{
    Category, Deadlines, EventId, Location, OfficeId, ReportId, TicketId, TicketState,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The version of [`Alert`]'s JSON shape.
pub const ALERT_VERSION: u32 = 1;
/// The longest courier text an alert carries, in characters.
pub const TEXT_LIMIT: usize = 200;
/// The `kind` of a daily digest.
pub const DIGEST: &str = "digest";
/// The `kind` of an unrouted report.
pub const UNROUTED: &str = "unrouted";

/// One alert, whatever it is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// [`ALERT_VERSION`].
    pub version: u32,
    /// The event kind (see the module doc).
    pub kind: String,
    /// The event it is about.
    pub event_id: EventId,
    /// The ticket, when there is one.
    pub ticket_id: Option<TicketId>,
    /// The report that caused it (the opener's, the duplicate's, the
    /// unrouted one).
    pub report_id: Option<ReportId>,
    /// The office responsible (after the event).
    pub office_id: Option<OfficeId>,
    /// That office's display name, when known.
    pub office_name: Option<String>,
    /// The category.
    pub category: Option<Category>,
    /// Whether the ticket (or report) is urgent.
    pub urgent: bool,
    /// The ticket's state after the event.
    pub state: Option<TicketState>,
    /// When the event happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The courier's text, cleaned by [`clean_text`].
    pub text: Option<String>,
    /// Where the hazard is.
    pub location: Option<Location>,
    /// The SLA deadlines.
    pub deadlines: Option<Deadlines>,
    /// The escalated step, the reject reason, ….
    pub reason: Option<String>,
    /// The ticket on the office page, or the page to look at.
    pub link: Option<String>,
    /// A digest's local day, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    /// A digest's overdue tickets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overdue: Vec<OverdueItem>,
}

/// One overdue ticket in a digest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverdueItem {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its office.
    pub office_id: OfficeId,
    /// Its category.
    pub category: Category,
    /// Life-safety now.
    pub urgent: bool,
    /// Where it stands.
    pub state: TicketState,
    /// The worst breach, seconds.
    pub late_s: i64,
    /// The ticket on the office page.
    pub link: String,
}

impl Alert {
    /// An alert of `kind` about `event_id` at `at`, everything else empty.
    pub fn new(kind: &str, event_id: EventId, at: OffsetDateTime) -> Alert {
        Alert {
            version: ALERT_VERSION,
            kind: kind.to_owned(),
            event_id,
            ticket_id: None,
            report_id: None,
            office_id: None,
            office_name: None,
            category: None,
            urgent: false,
            state: None,
            at,
            text: None,
            location: None,
            deadlines: None,
            reason: None,
            link: None,
            day: None,
            overdue: Vec::new(),
        }
    }
}

/// Where alert links point: `<base>/office#ticket=<id>`, `<base>/audit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Links {
    /// The public URL, no trailing slash.
    base: String,
}

impl Links {
    /// Links under `base` (`https://civic.example`).
    pub fn new(base: &str) -> Links {
        Links {
            base: base.trim().trim_end_matches('/').to_owned(),
        }
    }

    /// The ticket on the office page.
    pub fn ticket(&self, ticket: TicketId) -> String {
        format!("{}/office#ticket={ticket}", self.base)
    }

    /// The office page.
    pub fn office(&self) -> String {
        format!("{}/office", self.base)
    }

    /// The supervisor dashboard.
    pub fn dashboard(&self) -> String {
        format!("{}/audit", self.base)
    }
}

/// A courier's text fit for an alert: control characters (newlines too)
/// become spaces, runs of whitespace one space, at most [`TEXT_LIMIT`]
/// characters (an ellipsis marks a cut). Markdown escaping is the robot
/// renderer's job.
pub fn clean_text(text: &str) -> Option<String> {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.is_empty() {
        return None;
    }
    Some(shorten(&joined, TEXT_LIMIT))
}

/// `s` cut to at most `limit` characters, with `…` when cut.
pub fn shorten(s: &str, limit: usize) -> String {
    if s.chars().count() <= limit {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn courier_text_is_cleaned_and_shortened() {
        assert_eq!(
            clean_text("井盖\n掉了\u{7}  **快**").as_deref(),
            Some("井盖 掉了 **快**")
        );
        assert_eq!(clean_text(" \n\t"), None);
        let long = "坑".repeat(500);
        let short = clean_text(&long).unwrap();
        assert_eq!(short.chars().count(), TEXT_LIMIT);
        assert!(short.ends_with('…'));
    }

    #[test]
    fn links_point_at_the_office_page() {
        let links = Links::new("https://civic.example/");
        let id = TicketId(uuid::Uuid::nil());
        assert_eq!(
            links.ticket(id),
            format!("https://civic.example/office#ticket={}", uuid::Uuid::nil())
        );
        assert_eq!(links.dashboard(), "https://civic.example/audit");
    }
}
