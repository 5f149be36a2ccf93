//! `POST /v1/tickets/{id}/verify` (核查) and its old names `close`
//! (fixed) and `reopen` (not fixed), see [`crate::verification::verdicts`].
//!
//! Who: the reporting courier, a supervisor, a courier merged onto the
//! ticket (their own report only) or any other courier near a resolved
//! ticket with a fresh photo ([`crate::verification::evidence`]). An office may
//! not (403 for its own tickets, 404 for others'); a courier's ticket they
//! did not report exists for them only while it is resolved (404 else).

use crate::http::input::{clean_note, redacted};
use crate::http::{observe, principal, ApiError};
use crate::tickets::http::{lost_race, visible_ticket};
use crate::tickets::lifecycle::NOT_FIXED;
use crate::tickets::rows::Ticket;
use crate::verification::verdicts::{Verification, Verifier};
use crate::Store;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::{Location, Principal, TicketId, TicketState};
use serde::{Deserialize, Serialize};

/// The body of a verify; `fixed` is required.
#[derive(Debug, Default, Deserialize)]
struct VerifyBody {
    /// The verdict.
    fixed: Option<bool>,
    /// What the checker saw.
    note: Option<String>,
    /// A fresh photo uploaded to `/v1/tickets/{id}/verification-photos`
    /// (required of a nearby courier).
    photo_sha256: Option<String>,
    /// The checker's position (required of a nearby courier).
    lat: Option<f64>,
    /// The checker's position (required of a nearby courier).
    lon: Option<f64>,
    /// Only on `reopen`: `not_fixed` if given.
    reason: Option<String>,
}

/// A validated verify body.
#[derive(Debug)]
pub(crate) struct Verdict {
    /// The verdict.
    pub fixed: bool,
    /// What the checker saw.
    pub note: Option<String>,
    /// The cited verification photo.
    pub photo_sha256: Option<civicprobe_model::Sha256>,
    /// The checker's position, if sent.
    pub position: Option<Location>,
}

/// What a verify answers: where the ticket stands, nothing of its reports.
#[derive(Debug, Serialize)]
struct Verified {
    ticket_id: TicketId,
    state: TicketState,
    fixed: bool,
    /// `reporter`, `merged`, `courier` or `supervisor`.
    by: &'static str,
    /// What a nearby courier's check earned them, so their page can say
    /// so; absent for everyone else (a reporter's share is in their report).
    #[serde(skip_serializing_if = "Option::is_none")]
    points_earned: Option<i64>,
}

/// `POST /v1/tickets/{id}/verify`.
pub(crate) async fn verify(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    observe("verify", Some(&id), async {
        let who = principal(&store, &headers).await?;
        let verdict = parse_body(&body, None)?;
        let ticket_id: TicketId = id
            .parse()
            .map_err(|_| ApiError::field("id", "the ticket id must be a UUID"))?;
        let ticket = store.ticket(ticket_id).await?.ok_or(ApiError::NotFound)?;
        let by = verifier_of(&store, &who, &ticket).await?;
        if let (Verifier::Courier, Principal::Courier { courier_id, .. }) = (by, &who) {
            crate::verification::evidence::check(&store, &ticket, *courier_id, &verdict).await?;
        }
        let fixed = verdict.fixed;
        let ticket = record(&store, &who, &ticket, by, verdict).await?;
        Ok(Verified {
            ticket_id: ticket.ticket_id,
            state: ticket.state,
            fixed,
            by: by.as_str(),
            points_earned: matches!(by, Verifier::Courier)
                .then_some(crate::verification::verdicts::POINTS_PER_VERIFICATION),
        })
    })
    .await
}

macro_rules! alias_handler {
    ($name:ident, $fixed:literal, $doc:literal) => {
        #[doc = $doc]
        pub(crate) async fn $name(
            State(store): State<Store>,
            Path(id): Path<String>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Response {
            let action = stringify!($name);
            observe(
                action,
                Some(&id),
                alias(&store, &id, &headers, &body, $fixed),
            )
            .await
        }
    };
}

alias_handler!(
    close,
    true,
    "`POST /v1/tickets/{id}/close`: verify fixed, for the reporter and \
     supervisors (old clients, the CLI, Open311)."
);
alias_handler!(
    reopen,
    false,
    "`POST /v1/tickets/{id}/reopen`: verify not fixed, for the reporter and \
     supervisors."
);

/// An old name of verify: the reporter or a supervisor only (a merged
/// courier 403, others 404, offices 403), answering the ticket as before.
async fn alias(
    store: &Store,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
    fixed: bool,
) -> Result<Ticket, ApiError> {
    let who = principal(store, headers).await?;
    if matches!(who, Principal::Office { .. }) {
        return Err(ApiError::Forbidden(
            "only a reporter or a supervisor may reopen or close a ticket",
        ));
    }
    let verdict = parse_body(body, Some(fixed))?;
    let current = visible_ticket(store, &who, id).await?;
    let by = match &who {
        Principal::Courier { courier_id, .. } if *courier_id != current.courier_id => {
            return Err(ApiError::Forbidden(
                "only the courier whose report opened the ticket, or a supervisor, \
                 may reopen or close it",
            ));
        }
        Principal::Courier { .. } => Verifier::Reporter,
        _ => Verifier::Supervisor,
    };
    record(store, &who, &current, by, verdict).await
}

/// How `who` relates to `ticket`, or why they may not verify it.
async fn verifier_of(
    store: &Store,
    who: &Principal,
    ticket: &Ticket,
) -> Result<Verifier, ApiError> {
    match who {
        Principal::Supervisor { .. } => Ok(Verifier::Supervisor),
        Principal::Office { .. } if who.may_see_office(&ticket.office_id) => {
            Err(ApiError::Forbidden("offices do not verify their own fixes"))
        }
        Principal::Office { .. } => Err(ApiError::NotFound),
        Principal::Courier { courier_id, .. } if *courier_id == ticket.courier_id => {
            Ok(Verifier::Reporter)
        }
        Principal::Courier { courier_id, .. } => {
            if store.is_reporter(ticket.ticket_id, *courier_id).await? {
                Ok(Verifier::Merged)
            } else if ticket.state == TicketState::Resolved {
                Ok(Verifier::Courier)
            } else {
                Err(ApiError::NotFound)
            }
        }
    }
}

/// Records the verdict; a lost race is a 409 naming the state now.
async fn record(
    store: &Store,
    who: &Principal,
    ticket: &Ticket,
    by: Verifier,
    verdict: Verdict,
) -> Result<Ticket, ApiError> {
    let courier_id = match who {
        Principal::Courier { courier_id, .. } => Some(*courier_id),
        _ => None,
    };
    let check = Verification {
        by,
        actor: who.actor(),
        role: who.role(),
        courier_id,
        fixed: verdict.fixed,
        note: verdict.note,
        photo_sha256: verdict.photo_sha256,
        position: verdict.position,
    };
    match store.verify(ticket, &check).await {
        Ok(ticket) => Ok(ticket),
        Err(e) => Err(lost_race(store, e).await?),
    }
}

/// Checks a body: `fixed` (implied by an alias), a note, a photo's
/// sha256, lat and lon together and in range; `reason` only on reopen.
fn parse_body(body: &[u8], implied: Option<bool>) -> Result<Verdict, ApiError> {
    let body: VerifyBody = if body.iter().all(u8::is_ascii_whitespace) {
        VerifyBody::default()
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::field("body", redacted(&e)))?
    };
    let fixed = match (implied, body.fixed) {
        (Some(fixed), _) => fixed,
        (None, Some(fixed)) => fixed,
        (None, None) => {
            return Err(ApiError::field(
                "fixed",
                "say whether it is fixed: true or false",
            ))
        }
    };
    match (implied, body.reason.as_deref()) {
        (_, None) | (Some(false), Some(NOT_FIXED)) => {}
        (Some(false), Some(_)) => {
            return Err(ApiError::field(
                "reason",
                "a ticket is reopened as not_fixed",
            ));
        }
        (_, Some(_)) => return Err(ApiError::field("reason", "a verification takes no reason")),
    }
    let photo_sha256 = body
        .photo_sha256
        .map(|sha| crate::tickets::proof::sha256_field("photo_sha256", &sha, "an uploaded photo"))
        .transpose()?;
    let position = match (body.lat, body.lon) {
        (None, None) => None,
        (Some(lat), Some(lon)) => {
            Some(Location::new(lat, lon).map_err(|e| ApiError::field(e.field(), e.to_string()))?)
        }
        (None, Some(_)) => return Err(ApiError::field("lat", "lat and lon go together")),
        (Some(_), None) => return Err(ApiError::field("lon", "lat and lon go together")),
    };
    Ok(Verdict {
        fixed,
        note: clean_note(body.note)?,
        photo_sha256,
        position,
    })
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::post;
    axum::Router::new()
        .route("/v1/tickets/{id}/reopen", post(reopen))
        .route("/v1/tickets/{id}/close", post(close))
        .route("/v1/tickets/{id}/verify", post(verify))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: ApiError) -> &'static str {
        e.bad_field()
    }

    #[test]
    fn bodies_name_the_field_at_fault() {
        assert_eq!(field_of(parse_body(b"{}", None).unwrap_err()), "fixed");
        assert_eq!(field_of(parse_body(b"[", None).unwrap_err()), "body");
        let e = parse_body(br#"{"fixed":true,"photo_sha256":"x"}"#, None).unwrap_err();
        assert_eq!(field_of(e), "photo_sha256");
        let e = parse_body(br#"{"fixed":true,"lat":95,"lon":114}"#, None).unwrap_err();
        assert_eq!(field_of(e), "lat");
        let e = parse_body(br#"{"fixed":true,"lon":114}"#, None).unwrap_err();
        assert_eq!(field_of(e), "lat");
        let e = parse_body(br#"{"reason":"meh"}"#, Some(false)).unwrap_err();
        assert_eq!(field_of(e), "reason");
        assert!(parse_body(br#"{"reason":"not_fixed"}"#, Some(false)).is_ok());
        assert!(!parse_body(b"", Some(false)).unwrap().fixed);
        let ok = parse_body(
            br#"{"fixed":false,"note":" still open ","lat":29.8,"lon":114.3}"#,
            None,
        )
        .unwrap();
        assert_eq!(ok.note.as_deref(), Some("still open"));
        assert!(ok.position.is_some() && !ok.fixed);
    }
}
