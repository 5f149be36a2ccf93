//! `GET requests`, `GET requests/{id}`, `tokens/{token}`, and how a
//! ticket becomes a service request.

use crate::dates::{self, Bound};
use crate::format::{self, Format};
use crate::services::service;
use crate::wire::{ServiceRequest, TokenAnswer};
use crate::words::{self, Lang};
use crate::{Error, Open311State};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use civicprobe_model::{Category, ReportId, TicketState};
use civicprobe_tracker::Ticket;
use std::collections::HashSet;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The default window of `GET requests`: the last 90 days.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;

/// The most requests one `GET requests` answers.
pub const MAX_REQUESTS: i64 = 1000;

/// The states Open311 calls `open`; every other one is `closed`.
const OPEN: [TicketState; 4] = [
    TicketState::Open,
    TicketState::Acknowledged,
    TicketState::InProgress,
    TicketState::Reopened,
];
const CLOSED: [TicketState; 3] = [
    TicketState::Resolved,
    TicketState::Closed,
    TicketState::Rejected,
];

/// An ISO 8601 timestamp with its offset.
pub fn iso(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// `scheme://host` for absolute URLs.
pub fn origin(state: &Open311State, headers: &HeaderMap) -> String {
    if let Some(base) = &state.base_url {
        return base.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The service request a ticket is, under the report id `asked`; its
/// `media_url` names the first photo the public may see
/// ([`crate::media::visible`]), if any. No field carries a courier id.
pub fn to_request(
    state: &Open311State,
    origin: &str,
    asked: ReportId,
    t: &Ticket,
    hidden: &HashSet<u32>,
) -> ServiceRequest {
    // Every step is an event, reroutes and reopens included.
    let updated = t.updated_at;
    let (address, description) = crate::post::split_address(t.text.as_deref());
    let media_url = crate::media::visible(state, t, hidden)
        .first()
        .map(|n| format!("{origin}{}", crate::media::path(asked, *n)));
    ServiceRequest {
        service_request_id: asked.to_string(),
        status: if t.state.is_active() {
            "open"
        } else {
            "closed"
        },
        status_notes: Some(status_note(t.state).to_owned()),
        service_name: service(state, t.category).service_name,
        service_code: t.category.as_str().to_owned(),
        description,
        agency_responsible: t.office_name.clone(),
        service_notice: None,
        requested_datetime: iso(t.received_at),
        updated_datetime: iso(updated),
        expected_datetime: Some(iso(t.deadlines.resolve_by)),
        address,
        lat: t.location.lat(),
        long: t.location.lon(),
        media_url,
    }
}

fn status_note(state: TicketState) -> &'static str {
    match state {
        TicketState::Open => "received by the street office",
        TicketState::Acknowledged => "acknowledged by the street office",
        TicketState::InProgress => "work in progress",
        TicketState::Resolved => "resolved by the street office",
        TicketState::Closed => "closed",
        TicketState::Reopened => "reopened: reported not fixed",
        TicketState::Rejected => "rejected by the street office",
    }
}

/// The `GET requests` filters, parsed.
#[derive(Debug, Default)]
struct Filters {
    ids: Vec<ReportId>,
    categories: Vec<Category>,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    states: Vec<TicketState>,
    jurisdiction: Option<String>,
}

/// A comma list of request ids (`service_request_id=a,b`).
pub(crate) fn id_list(v: &str) -> Result<Vec<ReportId>, Error> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| {
            id.parse()
                .map_err(|_| Error::bad("service_request_id is not a list of request ids"))
        })
        .collect()
}

/// A comma list of service codes (`service_code=manhole,elevator`).
pub(crate) fn code_list(v: &str) -> Result<Vec<Category>, Error> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|c| {
            c.parse()
                .map_err(|_| Error::bad("service_code is not a list of service codes"))
        })
        .collect()
}

fn filters(query: &str) -> Result<Filters, Error> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded_pairs(query).ok_or_else(|| Error::bad("malformed query string"))?;
    let mut f = Filters::default();
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        match k.as_str() {
            "service_request_id" => f.ids.extend(id_list(v)?),
            "service_code" => f.categories.extend(code_list(v)?),
            "start_date" => f.start = Some(dates::parse("start_date", v, Bound::Start)?),
            "end_date" => f.end = Some(dates::parse("end_date", v, Bound::End)?),
            "jurisdiction_id" => f.jurisdiction = Some(v.clone()),
            "status" => {
                for s in v.split(',').map(str::trim) {
                    match s {
                        "open" => f.states.extend(OPEN),
                        "closed" => f.states.extend(CLOSED),
                        _ => return Err(Error::bad("status must be open, closed or both")),
                    }
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

/// The query's `key=value` pairs, percent-decoded.
pub(crate) fn serde_urlencoded_pairs(query: &str) -> Option<Vec<(String, String)>> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&format!("/?{query}").parse().ok()?)
        .ok()
        .map(|q| q.0)
}

/// The window: both given, or 90 days before `end` (default now), or 90
/// days after `start`.
pub(crate) fn window(
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime), Error> {
    let days = Duration::days(DEFAULT_WINDOW_DAYS);
    // Checked: a window at either end of time is a 400, not an overflow.
    let beyond = || Error::bad("the date window reaches past the supported range of dates");
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s.checked_add(days).ok_or_else(beyond)?),
        (None, Some(e)) => (e.checked_sub(days).ok_or_else(beyond)?, e),
        (None, None) => (now.checked_sub(days).ok_or_else(beyond)?, now),
    };
    if start > end {
        return Err(Error::bad("start_date must not be after end_date"));
    }
    Ok((start, end))
}

/// `GET requests.(xml|json)`: by `service_request_id` (a comma list; a
/// merged duplicate under its own id, a request outside every area or
/// not yet routed included), or else by window, codes and status.
pub async fn list(
    state: &Open311State,
    headers: &HeaderMap,
    query: &str,
    format: Format,
) -> Result<Response, Error> {
    let f = filters(query)?;
    state.jurisdiction.check(f.jurisdiction.as_deref())?;
    let origin = origin(state, headers);
    let lang = Lang::of(headers);
    let requests = if f.ids.is_empty() {
        let (from, to) = window(f.start, f.end, state.store.now())?;
        let tickets = state
            .store
            .ticket_listing(from, to, &f.categories, &f.states, MAX_REQUESTS)
            .await?;
        let pairs: Vec<(ReportId, Ticket)> =
            tickets.into_iter().map(|t| (t.report_id, t)).collect();
        render_tickets(state, &origin, &pairs).await?
    } else {
        let mut out = Vec::new();
        for id in f.ids.iter().take(MAX_REQUESTS as usize) {
            if let Some(r) = answer(state, &origin, lang, *id).await? {
                out.push(r);
            }
        }
        out
    };
    Ok(format::list(
        format,
        StatusCode::OK,
        "service_requests",
        "request",
        &requests,
    ))
}

/// The requests of `pairs` (the id asked, its ticket), `media_url` among
/// the photos the public may see, else the one the client sent with the
/// request asked.
async fn render_tickets(
    state: &Open311State,
    origin: &str,
    pairs: &[(ReportId, Ticket)],
) -> Result<Vec<ServiceRequest>, Error> {
    let openers: Vec<ReportId> = pairs.iter().map(|(_, t)| t.report_id).collect();
    let asked: Vec<ReportId> = pairs.iter().map(|(id, _)| *id).collect();
    let hidden = state.store.hidden_photos_of(&openers).await?;
    let mut sent = state.store.ticketed_request_details(&asked).await?;
    let none = HashSet::new();
    Ok(pairs
        .iter()
        .map(|(asked, t)| {
            let hidden = hidden.get(&t.report_id).unwrap_or(&none);
            let mut r = to_request(state, origin, *asked, t, hidden);
            if r.media_url.is_none() {
                // No photo of ours to show: the client's own media_url.
                r.media_url = sent.remove(asked).and_then(|d| d.media_url);
            }
            r
        })
        .collect())
}

/// The request `id` wherever it stands: on a ticket (opened or merged),
/// outside every area, or accepted and not yet routed; `None` if unknown.
async fn answer(
    state: &Open311State,
    origin: &str,
    lang: Lang,
    id: ReportId,
) -> Result<Option<ServiceRequest>, Error> {
    if let Some((ticket_id, _)) = state.store.report_ticket(id).await? {
        if let Some(ticket) = state.store.ticket(ticket_id).await? {
            let rendered = render_tickets(state, origin, &[(id, ticket)]).await?;
            return Ok(rendered.into_iter().next());
        }
    }
    if let Some(outside) = state.store.outside_request(id).await? {
        let closed = outside.closed.as_ref();
        let mut r = crate::pending::request(state, &outside.unrouted.report);
        r.service_code = outside.unrouted.category.as_str().to_owned();
        r.service_name = service(state, outside.unrouted.category).service_name;
        r.status = if closed.is_some() { "closed" } else { "open" };
        r.status_notes = Some(words::outside(lang, closed.is_some()).to_owned());
        r.updated_datetime = iso(closed.map_or(outside.unrouted.at, |c| c.at));
        return Ok(Some(r));
    }
    if let Some(report) = state.ingest.accepted_report(id).await? {
        let mut r = crate::pending::request(state, &report);
        r.status_notes = Some(words::being_routed(lang).to_owned());
        return Ok(Some(r));
    }
    Ok(None)
}

/// `GET requests/{service_request_id}.(xml|json)`.
pub async fn get_one(
    State(state): State<Open311State>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let Some((id, format)) = Format::split(&file) else {
        return Error::not_found("no such endpoint").respond(Format::Json);
    };
    one(&state, &headers, id, format)
        .await
        .unwrap_or_else(|e| e.respond(format))
}

async fn one(
    state: &Open311State,
    headers: &HeaderMap,
    id: &str,
    format: Format,
) -> Result<Response, Error> {
    let unknown = || Error::not_found("no such service request");
    let report: ReportId = id.parse().map_err(|_| unknown())?;
    let origin = origin(state, headers);
    let request = answer(state, &origin, Lang::of(headers), report)
        .await?
        .ok_or_else(unknown)?;
    Ok(format::list(
        format,
        StatusCode::OK,
        "service_requests",
        "request",
        &[request],
    ))
}

/// `GET tokens/{token}.(xml|json)`: the token is the request id itself,
/// answered as soon as the request is known (routed or not).
pub async fn token(
    State(state): State<Open311State>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let Some((token, format)) = Format::split(&file) else {
        return Error::not_found("no such endpoint").respond(Format::Json);
    };
    let unknown = || Error::not_found("no service request for this token");
    let Ok(report) = token.parse::<ReportId>() else {
        return unknown().respond(format);
    };
    let origin = origin(&state, &headers);
    match answer(&state, &origin, Lang::Zh, report).await {
        Ok(Some(_)) => {
            let answer = TokenAnswer {
                service_request_id: report.to_string(),
                token: token.to_owned(),
            };
            format::list(
                format,
                StatusCode::OK,
                "service_requests",
                "request",
                &[answer],
            )
        }
        Ok(None) => unknown().respond(format),
        Err(e) => e.respond(format),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_refuse() {
        let f = filters("service_code=manhole&status=open,closed&start_date=2026-01-01T00:00:00Z")
            .unwrap();
        assert_eq!(f.categories, [Category::Manhole]);
        assert_eq!(f.states.len(), 7);
        assert!(f.start.is_some());
        assert!(filters("status=pending").is_err());
        assert!(filters("service_code=fire").is_err());
        assert!(filters("start_date=yesterday").is_err());
        assert!(filters("service_request_id=1,2").is_err());
        assert!(filters("service_code=&jurisdiction_id=x")
            .unwrap()
            .categories
            .is_empty());
        let f = filters("service_code=manhole,elevator&start_date=2026-11-01&end_date=2026-11")
            .unwrap();
        assert_eq!(f.categories, [Category::Manhole, Category::Elevator]);
        assert_eq!(iso(f.start.unwrap()), "2026-11-01T00:00:00Z");
        assert_eq!(iso(f.end.unwrap()), "2026-11-30T23:59:59.999Z");
        assert!(filters("service_code=manhole,fire").is_err());
    }

    #[test]
    fn the_window_defaults_to_90_days() {
        let now = OffsetDateTime::now_utc();
        let (s, e) = window(None, None, now).unwrap();
        assert_eq!((e - s).whole_days(), 90);
        assert!(window(Some(now), Some(now - Duration::days(1)), now).is_err());
        let end_of_time = dates::parse("start_date", "9999-12-31T23:59:59Z", Bound::Start).unwrap();
        assert!(window(Some(end_of_time), None, now).is_err());
        let start_of_time = dates::parse("end_date", "0000-01-01T00:00:00Z", Bound::End).unwrap();
        assert!(window(None, Some(start_of_time), now).is_ok());
        assert!(window(Some(start_of_time), Some(end_of_time), now).is_ok());
    }
}
