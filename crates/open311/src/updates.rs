//! The `servicerequestupdates` extension, as FixMyStreet's Open311 client
//! reads it: `GET servicerequestupdates.(xml|json)?start_date&end_date`
//! answers each public step in the window as a `<request_update>` under
//! `<service_request_updates>`.
//!
//! - Each request follows its ticket: the report that opened it, and
//!   every report merged into it (from the merge on, under its own id; its
//!   first update is `DUPLICATE`, and the ticket's later steps, `FIXED`
//!   included, reach it too, each with its own `update_id`).
//! - A report outside every area that a supervisor closed is
//!   `NOT_COUNCILS_RESPONSIBILITY`.
//! - `status` is FixMyStreet's extended state; `external_status_code` the
//!   ticket's own state after the step; `updated_datetime` the step's own
//!   time; `description` a sentence for residents ([`crate::words`]).
//! - Escalations and reroutes are updates; re-triage, resident notes
//!   (the resident wrote them) and verification bookkeeping are not.

use crate::dates::{self, Bound};
use crate::format::{self, Format};
use crate::requests::{iso, serde_urlencoded_pairs, window, MAX_REQUESTS};
use crate::wire::RequestUpdate;
use crate::words::{self, Lang, Step};
use crate::{Error, Open311State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use civicprobe_model::{
    EventId, EventKind, OfficeId, ReportId, TicketAction, TicketId, TicketState,
};
use civicprobe_tracker::TicketEvent;
use std::collections::HashMap;
use time::OffsetDateTime;

/// FixMyStreet's status of a ticket in `state`.
fn status_in(state: TicketState) -> &'static str {
    match state {
        TicketState::Open | TicketState::Reopened => "OPEN",
        TicketState::Acknowledged => "INVESTIGATING",
        TicketState::InProgress => "IN_PROGRESS",
        TicketState::Resolved => "FIXED",
        TicketState::Closed => "CLOSED",
        TicketState::Rejected => "NO_FURTHER_ACTION",
    }
}

/// The FixMyStreet status a step announces (`after`: the ticket's state
/// after it); `None` for steps a follower does not see.
pub fn status_of(event: &TicketEvent, after: TicketState) -> Option<&'static str> {
    Some(match event.kind.as_str() {
        "opened" | "reopened" => "OPEN",
        "acknowledged" => "INVESTIGATING",
        "made_safe" => "ACTION_SCHEDULED",
        "started" => "IN_PROGRESS",
        "resolved" => "FIXED",
        "verified" | "closed" => "CLOSED",
        "rerouted" => "INTERNAL_REFERRAL",
        "escalated" => status_in(after),
        "dispute_upheld" => "NOT_COUNCILS_RESPONSIBILITY",
        "rejected" => match event.reason.as_deref() {
            Some("duplicate") => "DUPLICATE",
            Some("not_our_area") => "NOT_COUNCILS_RESPONSIBILITY",
            _ => "NO_FURTHER_ACTION",
        },
        _ => return None,
    })
}

/// The ticket's state after `event`, from the state before it.
fn state_after(before: TicketState, event: &TicketEvent) -> TicketState {
    let action = match event.kind.as_str() {
        "opened" | "rerouted" => return TicketState::Open,
        "acknowledged" => TicketAction::Acknowledge,
        "made_safe" => TicketAction::MakeSafe,
        "started" => TicketAction::Start,
        "resolved" => TicketAction::Resolve,
        "rejected" => TicketAction::Reject,
        "reopened" => TicketAction::Reopen,
        "verified" | "closed" => TicketAction::Verify,
        _ => return before,
    };
    before.apply(action).unwrap_or(before)
}

/// What every update of one listing shares.
struct Context<'a> {
    lang: Lang,
    offices: &'a HashMap<String, String>,
}

impl Context<'_> {
    /// The update of `event` for `request`, announcing `status`.
    fn update(
        &self,
        request: ReportId,
        update_id: String,
        event: &TicketEvent,
        status: &'static str,
        after: TicketState,
    ) -> RequestUpdate {
        let staff = matches!(event.role.as_str(), "office" | "supervisor");
        let office_id = event.office_id.as_ref().map_or("", OfficeId::as_str);
        let office = self
            .offices
            .get(office_id)
            .map_or(office_id, String::as_str);
        let step = Step {
            kind: event.kind.as_str(),
            reason: event.reason.as_deref(),
            office,
            note: event.note.as_deref().filter(|_| staff),
        };
        RequestUpdate {
            update_id,
            service_request_id: request.to_string(),
            status,
            updated_datetime: iso(event.at),
            description: words::describe(&step, self.lang),
            external_status_code: after.as_str().to_owned(),
            at: event.at,
        }
    }
}

/// The updates of one ticket's history (`events`, in order) that fall in
/// `[from, to]`, for its opener and every report merged into it.
fn ticket_updates(
    cx: &Context<'_>,
    opener: ReportId,
    events: &[TicketEvent],
    merged: &[(ReportId, OffsetDateTime)],
    (from, to): (OffsetDateTime, OffsetDateTime),
) -> Vec<RequestUpdate> {
    let mut out = Vec::new();
    let mut state = TicketState::Open;
    for event in events {
        state = state_after(state, event);
        if event.at < from || event.at > to {
            continue;
        }
        if event.kind == EventKind::Merged {
            let joined = event
                .note
                .as_deref()
                .and_then(|n| n.strip_prefix("report "));
            if let Some(report) = joined.and_then(|r| r.parse::<ReportId>().ok()) {
                let id = event.event_id.to_string();
                out.push(cx.update(report, id, event, "DUPLICATE", state));
            }
            continue;
        }
        let Some(status) = status_of(event, state) else {
            continue;
        };
        out.push(cx.update(opener, event.event_id.to_string(), event, status, state));
        for (report, _) in merged.iter().filter(|(_, j)| *j <= event.at) {
            let id = copy_id(event.event_id, *report);
            out.push(cx.update(*report, id, event, status, state));
        }
    }
    out
}

/// The `update_id` of a ticket step as a merged report's update.
fn copy_id(event_id: EventId, report: ReportId) -> String {
    EventId::derived(event_id.0, &report.to_string()).to_string()
}

/// `GET servicerequestupdates.(xml|json)`; `service_request_id` (a comma
/// list) narrows it to those requests.
pub async fn list(
    state: &Open311State,
    headers: &HeaderMap,
    query: &str,
    format: Format,
) -> Result<Response, Error> {
    let pairs =
        serde_urlencoded_pairs(query).ok_or_else(|| Error::bad("malformed query string"))?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, v)| n == k && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    state.jurisdiction.check(get("jurisdiction_id"))?;
    let start = get("start_date")
        .map(|v| dates::parse("start_date", v, Bound::Start))
        .transpose()?;
    let end = get("end_date")
        .map(|v| dates::parse("end_date", v, Bound::End))
        .transpose()?;
    let only = get("service_request_id")
        .map(crate::requests::id_list)
        .transpose()?;
    let (from, to) = window(start, end, state.store.now())?;
    let cx = Context {
        lang: Lang::of(headers),
        offices: &state.store.office_names().await?,
    };
    let mut updates = window_updates(state, &cx, (from, to)).await?;
    if let Some(only) = only {
        updates.retain(|u| only.iter().any(|o| o.to_string() == u.service_request_id));
    }
    updates.sort_by_key(|u| u.at);
    Ok(format::list(
        format,
        StatusCode::OK,
        "service_request_updates",
        "request_update",
        &updates,
    ))
}

/// Every update in `[from, to]`: ticket steps and closed outside reports.
async fn window_updates(
    state: &Open311State,
    cx: &Context<'_>,
    (from, to): (OffsetDateTime, OffsetDateTime),
) -> Result<Vec<RequestUpdate>, Error> {
    let histories = state
        .store
        .histories_between(from, to, MAX_REQUESTS)
        .await?;
    let tickets: Vec<TicketId> = histories
        .iter()
        .map(|(r, _)| TicketId::for_report(*r))
        .collect();
    let reporters = state.store.reports_of_tickets(&tickets).await?;
    let mut updates = Vec::new();
    for (opener, events) in &histories {
        let ticket = TicketId::for_report(*opener);
        let merged: Vec<(ReportId, OffsetDateTime)> = reporters
            .iter()
            .filter(|(r, t, _)| *t == ticket && r != opener)
            .map(|(r, _, j)| (*r, *j))
            .collect();
        updates.extend(ticket_updates(cx, *opener, events, &merged, (from, to)));
    }
    for outside in state
        .store
        .outside_closed_between(from, to, MAX_REQUESTS)
        .await?
    {
        let Some(closed) = outside.closed else {
            continue;
        };
        let step = Step {
            kind: words::OUTSIDE_CLOSED,
            reason: None,
            office: "",
            note: closed.note.as_deref(),
        };
        updates.push(RequestUpdate {
            update_id: closed.event_id.to_string(),
            service_request_id: outside.unrouted.report.report_id.to_string(),
            status: "NOT_COUNCILS_RESPONSIBILITY",
            updated_datetime: iso(closed.at),
            description: words::describe(&step, cx.lang),
            external_status_code: "closed_outside".to_owned(),
            at: closed.at,
        });
    }
    Ok(updates)
}
