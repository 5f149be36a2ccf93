//! `GET /v1/dead-letters`: the messages a consumer gave up on, for
//! supervisors, newest first. They live in the `DEAD_LETTERS` stream, not
//! the database, so this route needs JetStream and is merged next to
//! [`super::app`] by whoever runs the tracker ([`router`]).

use super::{observe, principal, ApiError};
use crate::http::supervisor_only;
use crate::{Error, Store};
use async_nats::jetstream;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use civicprobe_jetstream::dead_letter::{self, DeadLetter};
use serde::Deserialize;

/// Dead letters one page holds unless `?limit=` says otherwise.
pub const DEFAULT_LIMIT: usize = 50;
/// The most one page holds.
pub const MAX_LIMIT: usize = 500;

/// What the route needs: the store (who asks), JetStream (what is there).
#[derive(Clone, Debug)]
struct Shared {
    /// Authenticates the caller.
    store: Store,
    /// Reads `DEAD_LETTERS`.
    js: jetstream::Context,
}

/// The route, served from `store` and `js`.
pub fn router(store: Store, js: jetstream::Context) -> Router {
    Router::new()
        .route("/v1/dead-letters", get(list))
        .with_state(Shared { store, js })
}

/// `?limit=`.
#[derive(Debug, Deserialize)]
struct ListQuery {
    /// How many, 1..=[`MAX_LIMIT`].
    limit: Option<String>,
}

async fn list(
    State(shared): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    observe("dead_letters", None, async {
        supervisor_only(&principal(&shared.store, &headers).await?)?;
        let Query(query) = query.map_err(|_| ApiError::field("query", "is not valid"))?;
        let limit = parse_limit(query.limit.as_deref())?;
        let letters: Vec<DeadLetter> = dead_letter::list(&shared.js, limit)
            .await
            .map_err(|e| ApiError::Internal(Error::nats(e)))?;
        Ok(letters)
    })
    .await
}

/// `limit`: a whole number from 1 to [`MAX_LIMIT`]; absent is
/// [`DEFAULT_LIMIT`].
fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::field(
            "limit",
            format!("must be a whole number from 1 to {MAX_LIMIT}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        assert_eq!(parse_limit(None).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some("500")).ok(), Some(500));
        for bad in ["0", "501", "-1", "x", ""] {
            assert_eq!(parse_limit(Some(bad)).unwrap_err().bad_field(), "limit");
        }
    }
}
