//! `POST servicerequestupdates.(xml|json)`: a resident's update as
//! FixMyStreet's Open311 extension sends it, form-encoded:
//! `updated_datetime, service_request_id, status, description,
//! first_name, last_name, email, phone, update_id, api_key` (and
//! optionally `jurisdiction_id`, `media_url`, `title`, `account_id`).
//!
//! - `api_key` (form or query string) is a courier token: the client's.
//! - The description is recorded on the ticket as a `resident_note`
//!   event: the office sees it in the ticket's history, and an urgent
//!   ticket's office is alerted. Names, email and phone are not kept.
//! - `status` is what the resident set, mapped deliberately: `FIXED` or
//!   `CLOSED` is recorded as "the resident reports it fixed", `OPEN` on a
//!   resolved or closed ticket as "reports it not fixed", any other
//!   FixMyStreet status as a comment. A resident never changes a ticket's
//!   state; the office (or the reporter's check) does.
//! - Idempotent by `update_id`: the same update again answers the same
//!   `update_id`; another body under it is a 409.
//! - The answer is `<service_request_updates><request_update><update_id>`.

use crate::dates::{self, Bound};
use crate::format::{self, Format};
use crate::posted::{API_KEY, API_KEY_HEADER, MAX_TEXT_BYTES};
use crate::requests::serde_urlencoded_pairs;
use crate::wire::UpdateAccepted;
use crate::{Error, Open311State};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use civicprobe_model::{CourierId, Principal, ReportId, Sha256, TicketState};
use civicprobe_tracker::open311::requests::{ResidentClaim, ResidentUpdate};

/// The statuses FixMyStreet may send with a resident's update.
const KNOWN_STATUSES: [&str; 11] = [
    "OPEN",
    "CLOSED",
    "FIXED",
    "INVESTIGATING",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY",
    "NO_FURTHER_ACTION",
    "INTERNAL_REFERRAL",
    "UNABLE_TO_FIX",
];

/// The longest `update_id` kept, in characters.
const MAX_UPDATE_ID_CHARS: usize = 128;

/// The handler of `servicerequestupdates.xml` and `.json`.
#[tracing::instrument(name = "open311_update", skip_all, fields(report_id = tracing::field::Empty, ticket_id = tracing::field::Empty))]
pub async fn post_update(
    State(state): State<Open311State>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let format = if uri.path().ends_with(".xml") {
        Format::Xml
    } else {
        Format::Json
    };
    match record(&state, query.as_deref().unwrap_or(""), &headers, &body).await {
        Ok(update_id) => format::list(
            format,
            StatusCode::OK,
            "service_request_updates",
            "request_update",
            &[UpdateAccepted { update_id }],
        ),
        Err(e) => e.respond(format),
    }
}

async fn record(
    state: &Open311State,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, Error> {
    let (form, url) = pairs(query, body)?;
    let get = |name: &str| {
        form.iter()
            .chain(url.iter())
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    };
    let key = get(API_KEY).or_else(|| headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok()));
    let courier_id = courier(state, key).await?;
    state.jurisdiction.check(get("jurisdiction_id"))?;
    let asked = Asked::read(&get)?;
    tracing::Span::current().record("report_id", tracing::field::display(asked.report));
    let claim = claim(state, asked.report, asked.status.as_deref()).await?;
    if asked.description.is_empty() && claim == ResidentClaim::Comment {
        return Err(Error::bad("description is required"));
    }
    let digest = Sha256::of(
        format!(
            "{}\n{:?}\n{}",
            asked.report, asked.status, asked.description
        )
        .as_bytes(),
    );
    let update = ResidentUpdate {
        courier_id,
        update_id: asked.update_id,
        report_id: asked.report,
        note: asked.description,
        claim,
        request_sha256: digest,
    };
    let recorded = state.store.record_resident_update(&update).await?;
    tracing::Span::current().record("ticket_id", tracing::field::display(recorded.ticket_id));
    let outcome = if recorded.repeated {
        "repeated"
    } else {
        "recorded"
    };
    metrics::counter!("civicprobe_open311_updates_total", "outcome" => outcome).increment(1);
    tracing::info!(repeated = recorded.repeated, "resident update recorded");
    Ok(recorded.event_id.to_string())
}

/// The form's and the query string's pairs; every form value free of
/// control characters.
type Pairs = Vec<(String, String)>;

fn pairs(query: &str, body: &[u8]) -> Result<(Pairs, Pairs), Error> {
    if body.len() > MAX_TEXT_BYTES {
        return Err(Error::bad(format!(
            "the body must be at most {MAX_TEXT_BYTES} bytes"
        )));
    }
    let text = std::str::from_utf8(body).map_err(|_| Error::bad("the body must be UTF-8"))?;
    let form =
        serde_urlencoded_pairs(text).ok_or_else(|| Error::bad("the body must be form-encoded"))?;
    let url = serde_urlencoded_pairs(query).ok_or_else(|| Error::bad("malformed query string"))?;
    for (name, value) in &form {
        civicprobe_model::text::check(value)
            .map_err(|e| Error::bad(format!("{} {e}", shown(name))))?;
    }
    Ok((form, url))
}

/// The courier whose token `key` is; `403` for anyone else.
async fn courier(state: &Open311State, key: Option<&str>) -> Result<CourierId, Error> {
    match state
        .store
        .authenticate(key.ok_or(Error::Forbidden)?)
        .await?
    {
        Some(Principal::Courier { courier_id, .. }) => Ok(courier_id),
        _ => Err(Error::Forbidden),
    }
}

/// What the update asks for, checked field by field.
struct Asked {
    /// The request.
    report: ReportId,
    /// The client's id for the update.
    update_id: String,
    /// The status the resident set, upper-cased.
    status: Option<String>,
    /// The resident's words (may be empty when a status says it all).
    description: String,
}

impl Asked {
    fn read<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Asked, Error> {
        let report: ReportId = get("service_request_id")
            .ok_or_else(|| Error::bad("service_request_id is required"))?
            .parse()
            .map_err(|_| Error::not_found("no such service request"))?;
        let update_id = get("update_id").ok_or_else(|| Error::bad("update_id is required"))?;
        if update_id.chars().count() > MAX_UPDATE_ID_CHARS {
            return Err(Error::bad(format!(
                "update_id must be at most {MAX_UPDATE_ID_CHARS} characters"
            )));
        }
        if let Some(at) = get("updated_datetime") {
            dates::parse("updated_datetime", at, Bound::Start)?;
        }
        let description = get("description").unwrap_or_default();
        let most = civicprobe_ingest::report::MAX_TEXT_CHARS;
        if description.chars().count() > most {
            return Err(Error::bad(format!(
                "description must be at most {most} characters"
            )));
        }
        Ok(Asked {
            report,
            update_id: update_id.to_owned(),
            status: get("status").map(str::to_ascii_uppercase),
            description: description.to_owned(),
        })
    }
}

/// What the resident's `status` claims, given where the ticket stands.
async fn claim(
    state: &Open311State,
    report: ReportId,
    status: Option<&str>,
) -> Result<ResidentClaim, Error> {
    if status.is_some_and(|s| !KNOWN_STATUSES.contains(&s)) {
        return Err(Error::bad(
            "status must be a FixMyStreet status (OPEN, FIXED, CLOSED, …)",
        ));
    }
    let Some((ticket_id, _)) = state.store.report_ticket(report).await? else {
        return Err(match state.store.outside_request(report).await? {
            Some(_) => Error::Conflict(
                "the request lies outside every street office's area; no office takes notes on it"
                    .into(),
            ),
            None => Error::not_found("no such service request"),
        });
    };
    let ticket = state.store.ticket(ticket_id).await?;
    let done =
        ticket.is_some_and(|t| matches!(t.state, TicketState::Resolved | TicketState::Closed));
    Ok(match status {
        Some("FIXED" | "CLOSED") => ResidentClaim::ReportedFixed,
        Some("OPEN") if done => ResidentClaim::ReportedNotFixed,
        _ => ResidentClaim::Comment,
    })
}

/// A form field's name as an error may show it (never arbitrary input).
fn shown(name: &str) -> &str {
    let plain = name.len() <= 32 && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plain {
        name
    } else {
        "a field"
    }
}
