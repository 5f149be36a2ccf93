//! HTTP errors as `application/problem+json`.

use crate::Error;
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use civicprobe_model::{Problem, TicketState, PROBLEM_JSON};
use serde::Serialize;

/// What a request can fail with. The `type` of each is stable; a 5xx body
/// carries no internal detail (the cause is logged).
#[derive(Debug)]
pub enum ApiError {
    /// No bearer token, or one never issued.
    Unauthorized,
    /// The caller's role may not do this.
    Forbidden(&'static str),
    /// No such thing, or not in the caller's scope.
    NotFound,
    /// A request field is invalid.
    BadField {
        /// The field at fault, as named on the wire.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// Well-formed, but the evidence does not hold (a verification photo
    /// not fresh or not new, a position too far): 422.
    Evidence {
        /// The field at fault, as named on the wire.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The ticket's state does not allow the action, or it changed meanwhile.
    Conflict {
        /// What happened.
        detail: String,
        /// The ticket's state now, when known.
        state: Option<TicketState>,
    },
    /// A request refused for a reason of its own `type` (`insufficient-points`,
    /// `out-of-stock`, …), with extension members saying why.
    Refused {
        /// The HTTP status (409 so far).
        status: u16,
        /// The problem's type slug.
        slug: &'static str,
        /// What happened.
        detail: String,
        /// Extension members, e.g. `balance` and `cost`.
        extra: serde_json::Map<String, serde_json::Value>,
    },
    /// Anything else; logged, never shown.
    Internal(Error),
}

/// A [`Problem`] with the conflicting ticket's state as an extension member.
#[derive(Serialize)]
struct ProblemBody {
    #[serde(flatten)]
    problem: Problem,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<TicketState>,
    /// A [`ApiError::Refused`]'s extension members.
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    /// A [`ApiError::BadField`].
    pub fn field(field: &'static str, detail: impl Into<String>) -> Self {
        ApiError::BadField {
            field,
            detail: detail.into(),
        }
    }

    /// A 409 of its own `type`, without extension members.
    pub fn refused(slug: &'static str, detail: String) -> Self {
        ApiError::Refused {
            status: 409,
            slug,
            detail,
            extra: serde_json::Map::new(),
        }
    }

    /// A [`ApiError::Evidence`].
    pub fn evidence(field: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Evidence {
            field,
            detail: detail.into(),
        }
    }

    /// The field a [`ApiError::BadField`] names (unit tests).
    #[cfg(test)]
    pub(crate) fn bad_field(self) -> &'static str {
        match self {
            ApiError::BadField { field, .. } => field,
            other => panic!("not a bad field: {other:?}"),
        }
    }

    /// The metrics label of the outcome.
    pub fn outcome(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::BadField { .. } => "bad_request",
            ApiError::Evidence { .. } => "unprocessable",
            ApiError::Conflict { .. } | ApiError::Refused { .. } => "conflict",
            ApiError::Internal(_) => "error",
        }
    }

    fn problem(&self) -> (Problem, Option<TicketState>) {
        match self {
            ApiError::Unauthorized => (
                Problem::new(401, "unauthorized", "Unauthorized")
                    .detail("send Authorization: Bearer <token> with a token that was issued"),
                None,
            ),
            ApiError::Forbidden(what) => (
                Problem::new(403, "forbidden", "Forbidden").detail(*what),
                None,
            ),
            ApiError::NotFound => (Problem::new(404, "not-found", "Not found"), None),
            ApiError::BadField { field, detail } => (
                Problem::new(400, "invalid-field", "Invalid field")
                    .detail(detail.clone())
                    .field(*field),
                None,
            ),
            ApiError::Evidence { field, detail } => (
                Problem::new(422, "evidence-refused", "Evidence refused")
                    .detail(detail.clone())
                    .field(*field),
                None,
            ),
            ApiError::Conflict { detail, state } => (
                Problem::new(409, "illegal-transition", "Conflict").detail(detail.clone()),
                *state,
            ),
            ApiError::Refused {
                status,
                slug,
                detail,
                ..
            } => (
                Problem::new(*status, slug, "Refused").detail(detail.clone()),
                None,
            ),
            ApiError::Internal(_) => (
                Problem::new(500, "internal", "Internal error")
                    .detail("the tracker could not complete the request; try again later"),
                None,
            ),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::TicketNotFound(_) => ApiError::NotFound,
            Error::IllegalTransition(t) => ApiError::Conflict {
                detail: t.to_string(),
                state: Some(t.from),
            },
            Error::ConcurrentUpdate(_) => ApiError::Conflict {
                detail: e.to_string(),
                state: None,
            },
            Error::NotReroutable(state) => ApiError::Conflict {
                detail: e.to_string(),
                state: Some(state),
            },
            Error::AlreadyRouted(_) => ApiError::Conflict {
                detail: e.to_string(),
                state: None,
            },
            Error::SameOffice(_) => ApiError::field("office_id", e.to_string()),
            Error::NotActive(state) => ApiError::Conflict {
                detail: e.to_string(),
                state: Some(state),
            },
            Error::NothingToChange => ApiError::field("body", e.to_string()),
            Error::UnroutedNotFound(_) => ApiError::NotFound,
            Error::NotDisputed(_) => ApiError::NotFound,
            Error::DisputeSettled(_) | Error::AlreadyVerified(_) => ApiError::Conflict {
                detail: e.to_string(),
                state: None,
            },
            Error::BadField { field, detail } => ApiError::field(field, detail),
            Error::RewardNotFound(_) | Error::RedemptionNotFound(_) | Error::ReportNotFound(_) => {
                ApiError::NotFound
            }
            Error::RewardRetired(_) => ApiError::refused("reward-retired", e.to_string()),
            Error::OutOfStock(_) => ApiError::refused("out-of-stock", e.to_string()),
            Error::AlreadyCollected(_) => ApiError::refused("already-collected", e.to_string()),
            Error::InsufficientPoints { balance, cost } => {
                let mut refused = ApiError::refused("insufficient-points", e.to_string());
                if let ApiError::Refused { extra, .. } = &mut refused {
                    extra.insert("balance".into(), balance.into());
                    extra.insert("cost".into(), cost.into());
                }
                refused
            }
            Error::IdempotencyKeyReused => ApiError::field("Idempotency-Key", e.to_string()),
            other => ApiError::Internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = %e, "request failed");
        }
        let (problem, state) = self.problem();
        let extra = match &self {
            ApiError::Refused { extra, .. } => extra.clone(),
            _ => serde_json::Map::new(),
        };
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&ProblemBody {
            problem,
            state,
            extra,
        })
        .unwrap_or_default();
        let mut response = (status, [(CONTENT_TYPE, PROBLEM_JSON)], body).into_response();
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
