//! The `servicerequestupdates` extension, as FixMyStreet's Open311 client
//! reads it: `GET servicerequestupdates.(xml|json)?start_date&end_date`
//! answers each ticket step in the window as a `<request_update>`.

use crate::format::{self, Format};
use crate::requests::{iso, parse_date, serde_urlencoded_pairs, window, MAX_REQUESTS};
use crate::wire::RequestUpdate;
use crate::{Error, Open311State};
use axum::http::StatusCode;
use axum::response::Response;
use civicprobe_model::ReportId;
use civicprobe_tracker::TicketEvent;

/// The FixMyStreet status of a ticket step; `None` for internal steps
/// (escalations) that a follower does not see.
pub fn status_of(event: &TicketEvent) -> Option<&'static str> {
    Some(match event.kind.as_str() {
        "opened" | "reopened" => "OPEN",
        "acknowledged" => "INVESTIGATING",
        "made_safe" => "ACTION_SCHEDULED",
        "started" => "IN_PROGRESS",
        "resolved" => "FIXED",
        "verified" | "closed" => "CLOSED",
        "rerouted" => "INTERNAL_REFERRAL",
        "rejected" => match event.reason.as_deref() {
            Some("duplicate") => "DUPLICATE",
            Some("not_our_area") => "NOT_COUNCILS_RESPONSIBILITY",
            _ => "NO_FURTHER_ACTION",
        },
        _ => return None,
    })
}

/// The update for one step. Its description is the note of an office or a
/// supervisor, or else the step in words: a courier's note (which may be
/// a merged duplicate's reporter writing) and system notes are never
/// published, and no field names the actor.
pub fn to_update(report: ReportId, event: &TicketEvent) -> Option<RequestUpdate> {
    let status = status_of(event)?;
    let staff = matches!(event.role.as_str(), "office" | "supervisor");
    let description = event
        .note
        .clone()
        .filter(|_| staff)
        .unwrap_or_else(|| event.kind.replace('_', " "));
    Some(RequestUpdate {
        update_id: event.event_id.clone(),
        service_request_id: report.to_string(),
        status,
        updated_datetime: iso(event.at),
        description,
    })
}

/// `GET servicerequestupdates.(xml|json)`; `service_request_id` narrows
/// it to one request.
pub async fn list(state: &Open311State, query: &str, format: Format) -> Result<Response, Error> {
    let pairs =
        serde_urlencoded_pairs(query).ok_or_else(|| Error::bad("malformed query string"))?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, v)| n == k && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    let start = get("start_date")
        .map(|v| parse_date("start_date", v))
        .transpose()?;
    let end = get("end_date")
        .map(|v| parse_date("end_date", v))
        .transpose()?;
    let only: Option<ReportId> = get("service_request_id")
        .map(|v| {
            v.parse()
                .map_err(|_| Error::bad("service_request_id is not a request id"))
        })
        .transpose()?;
    let (from, to) = window(start, end, state.store.now())?;
    let events = state.store.events_between(from, to, MAX_REQUESTS).await?;
    let updates: Vec<RequestUpdate> = events
        .iter()
        .filter(|(r, _)| only.is_none_or(|o| o == *r))
        .filter_map(|(r, e)| to_update(*r, e))
        .collect();
    Ok(format::list(
        format,
        StatusCode::OK,
        "service_requests_updates",
        "request_update",
        &updates,
    ))
}
