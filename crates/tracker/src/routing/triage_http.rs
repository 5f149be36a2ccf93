//! `POST /v1/tickets/{id}/triage {"category"?, "urgent"?, "reason"}`: the
//! ticket's office or a supervisor corrects what the router decided
//! (couriers get a 403, a ticket outside the caller's area a 404, a ticket
//! no longer active a 409). Each bad field is a 400 naming it.

use crate::http::input::{no_controls, redacted};
use crate::http::{observe, principal, ApiError};
use crate::routing::triage::Triage;
use crate::tickets::http::visible_ticket;
use crate::Store;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::{Category, Principal};
use serde_json::{Map, Value};

/// Longest reason, in characters.
const MAX_REASON_CHARS: usize = 500;

/// What a valid body asks for.
#[derive(Debug, PartialEq, Eq)]
struct Asked {
    /// The new category, if given.
    category: Option<Category>,
    /// The new urgency, if given.
    urgent: Option<bool>,
    /// Why, trimmed.
    reason: String,
}

/// `POST /v1/tickets/{id}/triage`.
pub(crate) async fn triage(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    observe("triage", Some(&id), async {
        let who = principal(&store, &headers).await?;
        if matches!(who, Principal::Courier { .. }) {
            return Err(ApiError::Forbidden(
                "only the ticket's office or a supervisor may re-triage it",
            ));
        }
        let asked = parse_body(&body)?;
        let current = visible_ticket(&store, &who, &id).await?;
        let triage = Triage {
            category: asked.category,
            urgent: asked.urgent,
            reason: asked.reason,
            actor: who.actor(),
            role: who.role(),
            at: store.now(),
        };
        match store.triage(&current, &triage).await {
            Ok(ticket) => {
                tracing::info!(
                    category = %ticket.category,
                    urgent = ticket.urgent,
                    actor = %triage.actor,
                    "ticket re-triaged"
                );
                Ok(ticket)
            }
            Err(e) => Err(crate::routing::reroute_http::conflict_or(&store, e).await),
        }
    })
    .await
}

/// The body, field by field: a JSON object with an optional known
/// `category`, an optional boolean `urgent` (at least one of them) and a
/// `reason` of 1 to 500 characters without control characters.
fn parse_body(body: &[u8]) -> Result<Asked, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::field("body", redacted(&e)))?;
    let Value::Object(fields) = value else {
        return Err(ApiError::field("body", "the body must be a JSON object"));
    };
    let category = present(&fields, "category")
        .map(|v| {
            v.as_str()
                .ok_or_else(|| ApiError::field("category", "category must be a string"))?
                .parse::<Category>()
                .map_err(|e| ApiError::field("category", e.to_string()))
        })
        .transpose()?;
    let urgent = present(&fields, "urgent")
        .map(|v| {
            v.as_bool()
                .ok_or_else(|| ApiError::field("urgent", "urgent must be true or false"))
        })
        .transpose()?;
    let reason = reason(present(&fields, "reason"))?;
    if category.is_none() && urgent.is_none() {
        return Err(ApiError::field(
            "body",
            "a re-triage changes the category, the urgency or both",
        ));
    }
    Ok(Asked {
        category,
        urgent,
        reason,
    })
}

/// A field that is there and not `null`.
fn present<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    fields.get(name).filter(|v| !v.is_null())
}

/// The reason, checked and trimmed.
fn reason(value: Option<&Value>) -> Result<String, ApiError> {
    let raw = value
        .ok_or_else(|| ApiError::field("reason", "a re-triage needs a reason"))?
        .as_str()
        .ok_or_else(|| ApiError::field("reason", "reason must be a string"))?;
    no_controls("reason", raw)?;
    let reason = raw.trim();
    if reason.is_empty() {
        return Err(ApiError::field("reason", "a re-triage needs a reason"));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::field(
            "reason",
            format!("reason is longer than {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason.to_owned())
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::post;
    axum::Router::new().route("/v1/tickets/{id}/triage", post(triage))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(body: &str) -> &'static str {
        match parse_body(body.as_bytes()) {
            Err(ApiError::BadField { field, .. }) => field,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(field_of(r#"{"category":"tree","reason":"x"}"#), "category");
        assert_eq!(field_of(r#"{"category":7,"reason":"x"}"#), "category");
        assert_eq!(field_of(r#"{"urgent":"yes","reason":"x"}"#), "urgent");
        assert_eq!(field_of(r#"{"urgent":true}"#), "reason");
        assert_eq!(field_of(r#"{"urgent":true,"reason":"  "}"#), "reason");
        assert_eq!(field_of(r#"{"urgent":true,"reason":"a\u0007b"}"#), "reason");
        let long = format!(r#"{{"urgent":true,"reason":"{}"}}"#, "因".repeat(501));
        assert_eq!(field_of(&long), "reason");
        assert_eq!(field_of(r#"{"reason":"nothing asked"}"#), "body");
        assert_eq!(field_of(r#"{"category":null,"reason":"x"}"#), "body");
        assert_eq!(field_of(r#"{"urgent":true"#), "body");
        assert_eq!(field_of(r#"[1]"#), "body");
    }

    #[test]
    fn a_valid_body_is_trimmed() {
        let fine = format!(
            r#"{{"category":"elevator","urgent":false,"reason":" {} "}}"#,
            "因".repeat(500)
        );
        let asked = parse_body(fine.as_bytes()).unwrap();
        assert_eq!(asked.category, Some(Category::Elevator));
        assert_eq!(asked.urgent, Some(false));
        assert_eq!(asked.reason.chars().count(), 500);
    }
}
