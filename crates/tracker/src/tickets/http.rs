//! An office's queue, one ticket with its history, and the actions that
//! move a ticket along: acknowledge, make safe, start, resolve, reject
//! (its office or a supervisor); reopen and close are verification's
//! (`crate::verification::http`). A courier reads a ticket only through
//! [`CourierTicket`]: their own report and where it stands.

use crate::couriers::view::CourierTicket;
use crate::http::input::{clean_note, no_controls, redacted};
use crate::http::{observe, principal, ApiError};
use crate::tickets::reports::TicketReport;
use crate::tickets::rows::{Ticket, TicketEvent, Transition};
use crate::{Error, Store};
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::{OfficeId, Principal, RejectReason, TicketAction, TicketId, TicketState};
use serde::{Deserialize, Serialize};

/// Queue page size when `?limit=` is absent, and its ceiling.
const DEFAULT_LIMIT: i64 = 200;
const MAX_LIMIT: i64 = 1000;

/// `?state=&limit=` of the queue.
#[derive(Debug, Deserialize)]
pub(crate) struct QueueQuery {
    /// Only tickets in this state.
    state: Option<String>,
    /// At most this many (1 to 1000).
    limit: Option<String>,
}

/// The queue's answer.
#[derive(Debug, Serialize)]
struct Queue {
    office_id: OfficeId,
    tickets: Vec<Ticket>,
}

/// A ticket with its history and every report on it.
#[derive(Debug, Serialize)]
struct TicketWithEvents {
    #[serde(flatten)]
    ticket: Ticket,
    events: Vec<TicketEvent>,
    reports: Vec<TicketReport>,
    /// 导航: the position in Amap, Baidu Maps, Tencent Maps and `geo:`.
    navigation: Vec<crate::tickets::navigate::NavLink>,
}

/// The body of an action; every field optional on the wire.
#[derive(Debug, Default, Deserialize)]
struct ActionBody {
    /// Free text; required to resolve.
    note: Option<String>,
    /// Reject: duplicate | not_a_hazard | not_our_area; reopen: not_fixed.
    reason: Option<String>,
    /// Resolve: sha256 of a proof photo already stored by ingest.
    proof_photo_sha256: Option<String>,
}

/// What a validated body holds.
#[derive(Debug, Default, PartialEq, Eq)]
struct Checked {
    reason: Option<RejectReason>,
    note: Option<String>,
    proof_photo_sha256: Option<civicprobe_model::Sha256>,
}

/// `GET /v1/offices/{office_id}/tickets`.
pub(crate) async fn office_queue(
    State(store): State<Store>,
    Path(office_id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Response {
    observe("office_queue", None, async move {
        let who = principal(&store, &headers).await?;
        if matches!(who, Principal::Courier { .. }) {
            return Err(ApiError::Forbidden("couriers cannot see office queues"));
        }
        let office_id =
            OfficeId::parse(&office_id).map_err(|e| ApiError::field("office_id", e.to_string()))?;
        if !who.may_see_office(&office_id) {
            return Err(ApiError::NotFound);
        }
        let Query(query) = query.map_err(|e| ApiError::field("query", redacted(&e.body_text())))?;
        let state = query
            .state
            .map(|s| s.parse::<TicketState>())
            .transpose()
            .map_err(|e| ApiError::field("state", e))?;
        let limit = parse_limit(query.limit.as_deref())?;
        let tickets = store.office_queue(&office_id, state, limit).await?;
        Ok(Queue { office_id, tickets })
    })
    .await
}

fn parse_limit(raw: Option<&str>) -> Result<i64, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.parse::<i64>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::field(
            "limit",
            format!("limit must be 1 to {MAX_LIMIT}"),
        )),
    }
}

/// What `GET /v1/tickets/{id}` answers: the whole ticket for its office
/// and supervisors, a reporter's view ([`CourierTicket`]) for a courier.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum TicketView {
    /// Offices and supervisors.
    Staff(Box<TicketWithEvents>),
    /// One of its reporting couriers: their own report, where it stands.
    Reporter(Box<CourierTicket>),
}

/// `GET /v1/tickets/{id}`.
pub(crate) async fn ticket(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    observe("ticket", Some(&id), async {
        let who = principal(&store, &headers).await?;
        let ticket = visible_ticket(&store, &who, &id).await?;
        if let Principal::Courier { courier_id, .. } = &who {
            let view = store.courier_ticket(&ticket, *courier_id).await?;
            return Ok(TicketView::Reporter(Box::new(
                view.ok_or(ApiError::NotFound)?,
            )));
        }
        let mut ticket = ticket;
        ticket.verification.can_verify =
            matches!(who, Principal::Supervisor { .. }) && ticket.state == TicketState::Resolved;
        let events = store.ticket_events(ticket.ticket_id).await?;
        let reports = store.ticket_reports(&ticket).await?;
        let title = format!("{} {}", ticket.category.as_str(), ticket.office_name);
        let navigation = crate::tickets::navigate::links(&ticket.location, &title);
        Ok(TicketView::Staff(Box::new(TicketWithEvents {
            ticket,
            events,
            reports,
            navigation,
        })))
    })
    .await
}

/// The ticket `id`, if `who` may see it; otherwise 404 (never 403).
pub(crate) async fn visible_ticket(
    store: &Store,
    who: &Principal,
    id: &str,
) -> Result<Ticket, ApiError> {
    let ticket_id: TicketId = id
        .parse()
        .map_err(|_| ApiError::field("id", "the ticket id must be a UUID"))?;
    let ticket = store.ticket(ticket_id).await?.ok_or(ApiError::NotFound)?;
    let visible = match who {
        Principal::Courier { courier_id, .. } => store.is_reporter(ticket_id, *courier_id).await?,
        _ => who.may_see_office(&ticket.office_id),
    };
    if visible {
        Ok(ticket)
    } else {
        Err(ApiError::NotFound)
    }
}

macro_rules! action_handler {
    ($name:ident, $action:expr) => {
        #[doc = concat!("`POST /v1/tickets/{id}/", stringify!($name), "`.")]
        pub(crate) async fn $name(
            State(store): State<Store>,
            Path(id): Path<String>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Response {
            let action: TicketAction = $action;
            observe(
                action.as_str(),
                Some(&id),
                act(&store, action, &id, &headers, &body),
            )
            .await
        }
    };
}

action_handler!(acknowledge, TicketAction::Acknowledge);
action_handler!(make_safe, TicketAction::MakeSafe);
action_handler!(resolve, TicketAction::Resolve);
action_handler!(reject, TicketAction::Reject);
action_handler!(start, TicketAction::Start);

/// Whether `who` may work tickets at all (scope is checked after):
/// offices and supervisors do; couriers only verify (`crate::verification::http`).
fn may_take(who: &Principal) -> Result<(), ApiError> {
    match who {
        Principal::Courier { .. } => Err(ApiError::Forbidden("couriers cannot act on tickets")),
        Principal::Supervisor { .. } | Principal::Office { .. } => Ok(()),
    }
}

/// Authenticates, validates the body, checks scope, applies the action.
async fn act(
    store: &Store,
    action: TicketAction,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Ticket, ApiError> {
    let who = principal(store, headers).await?;
    may_take(&who)?;
    let checked = validate_body(action, body)?;
    let current = visible_ticket(store, &who, id).await?;
    crate::tickets::proof::must_be_uploaded(store, &current, checked.proof_photo_sha256).await?;
    let change = Transition {
        action,
        actor: who.actor(),
        role: who.role(),
        at: store.now(),
        reason: checked.reason,
        note: checked.note,
        proof_photo_sha256: checked.proof_photo_sha256,
    };
    match store.apply(&current, &change).await {
        Ok(ticket) => {
            tracing::info!(action = %action, state = %ticket.state, actor = %change.actor, "ticket changed");
            Ok(ticket)
        }
        Err(e) => Err(lost_race(store, e).await?),
    }
}

/// A store error as the client sees it: a lost race is a 409 naming the
/// ticket's state now.
pub(crate) async fn lost_race(store: &Store, e: Error) -> Result<ApiError, ApiError> {
    Ok(match e {
        Error::ConcurrentUpdate(ticket_id) => ApiError::Conflict {
            detail: format!("ticket {ticket_id} was changed by someone else; reload it"),
            state: store.ticket(ticket_id).await?.map(|t| t.state),
        },
        e => e.into(),
    })
}

/// The action's body, checked: `resolve` needs a note (and takes a proof
/// photo's sha256), `reject` a reason;
/// notes are at most [`crate::http::input::MAX_NOTE_CHARS`].
fn validate_body(action: TicketAction, body: &[u8]) -> Result<Checked, ApiError> {
    let body: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::field("body", redacted(&e)))?
    };
    let note = clean_note(body.note)?;
    if action == TicketAction::Resolve && note.is_none() {
        return Err(ApiError::field(
            "note",
            "resolving needs a note saying what was done",
        ));
    }
    let reason = match (action, body.reason.as_deref()) {
        (TicketAction::Reject, Some(raw)) => Some(parse_reason(raw)?),
        (TicketAction::Reject, None) => {
            return Err(ApiError::field("reason", "rejecting needs a reason"));
        }
        _ => None,
    };
    let proof_photo_sha256 = crate::tickets::proof::check_proof(action, body.proof_photo_sha256)?;
    Ok(Checked {
        reason,
        note,
        proof_photo_sha256,
    })
}

fn parse_reason(raw: &str) -> Result<RejectReason, ApiError> {
    no_controls("reason", raw)?;
    [
        RejectReason::Duplicate,
        RejectReason::NotAHazard,
        RejectReason::NotOurArea,
    ]
    .into_iter()
    .find(|r| r.as_str() == raw)
    .ok_or_else(|| {
        ApiError::field(
            "reason",
            "reason must be duplicate, not_a_hazard or not_our_area",
        )
    })
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/offices/{office_id}/tickets", get(office_queue))
        .route("/v1/tickets/{id}", get(ticket))
        .route("/v1/tickets/{id}/acknowledge", post(acknowledge))
        .route("/v1/tickets/{id}/make_safe", post(make_safe))
        .route("/v1/tickets/{id}/resolve", post(resolve))
        .route("/v1/tickets/{id}/reject", post(reject))
        .route("/v1/tickets/{id}/start", post(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: ApiError) -> &'static str {
        e.bad_field()
    }

    #[test]
    fn bodies_are_checked_per_action() {
        assert!(validate_body(TicketAction::Acknowledge, b"").is_ok());
        assert!(validate_body(TicketAction::Acknowledge, b"{}").is_ok());
        let e = validate_body(TicketAction::Resolve, br#"{"note":"  "}"#).unwrap_err();
        assert_eq!(field_of(e), "note");
        let long = format!(r#"{{"note":"{}"}}"#, "好".repeat(2001));
        assert_eq!(
            field_of(validate_body(TicketAction::Resolve, long.as_bytes()).unwrap_err()),
            "note"
        );
        let ok = format!(r#"{{"note":"{}"}}"#, "好".repeat(2000));
        assert!(validate_body(TicketAction::Resolve, ok.as_bytes()).is_ok());
        let e = validate_body(TicketAction::Reject, br#"{"reason":"meh"}"#).unwrap_err();
        assert_eq!(field_of(e), "reason");
        let checked = validate_body(TicketAction::Reject, br#"{"reason":"not_our_area"}"#).unwrap();
        assert_eq!(checked.reason, Some(RejectReason::NotOurArea));
        let proof = format!(
            r#"{{"note":"x","proof_photo_sha256":"{}"}}"#,
            "ab".repeat(32)
        );
        let checked = validate_body(TicketAction::Resolve, proof.as_bytes()).unwrap();
        assert_eq!(
            checked.proof_photo_sha256,
            Some(civicprobe_model::Sha256::from([0xab; 32]))
        );
        let bad = br#"{"note":"x","proof_photo_sha256":"../etc/passwd"}"#;
        assert_eq!(
            field_of(validate_body(TicketAction::Resolve, bad).unwrap_err()),
            "proof_photo_sha256"
        );
        let ctl = validate_body(TicketAction::Resolve, br#"{"note":"done\u001b[2J"}"#);
        assert_eq!(field_of(ctl.unwrap_err()), "note");
        let ctl = validate_body(TicketAction::Reject, br#"{"reason":"duplicate\u0000"}"#);
        assert_eq!(field_of(ctl.unwrap_err()), "reason");
        let fine = br#"{"note":"line one\r\n\tline two"}"#;
        assert!(validate_body(TicketAction::Resolve, fine).is_ok());
        assert_eq!(
            field_of(validate_body(TicketAction::Acknowledge, b"[").unwrap_err()),
            "body"
        );
        assert_eq!(field_of(parse_limit(Some("0")).unwrap_err()), "limit");
    }
}
