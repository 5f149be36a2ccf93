//! The rewards catalogue and redeeming: `POST /v1/rewards`, `PATCH
//! /v1/rewards/{id}`, `POST /v1/rewards/{id}/retire` (supervisors),
//! `GET /v1/rewards` (couriers the active ones and their balance,
//! supervisors all), `POST /v1/rewards/{id}/redeem` (couriers, with an
//! optional `Idempotency-Key`).

use crate::http::input::{no_controls, redacted};
use crate::http::supervisor_only;
use crate::http::{observe, observe_response, principal, ApiError};
use crate::points::redemptions::{RedeemRequest, Redeemed, Redemption};
use crate::points::rewards::{Reward, RewardDraft, RewardPatch};
use crate::Store;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use civicprobe_model::Principal;
use serde::Serialize;
use serde_json::{Map, Value};
use tracing::Instrument;
use uuid::Uuid;

/// Longest `Idempotency-Key`, in characters.
const MAX_KEY_CHARS: usize = 128;

/// The answer of `GET /v1/rewards`.
#[derive(Debug, Serialize)]
struct Catalogue {
    /// The courier's points; `null` for supervisors.
    balance: Option<i64>,
    /// Couriers: the active rewards; supervisors: all, retired too.
    rewards: Vec<Reward>,
}

/// The answer of a redemption.
#[derive(Debug, Serialize)]
struct RedeemedBody {
    #[serde(flatten)]
    redemption: Redemption,
    /// The courier's balance after it.
    balance: i64,
}

/// A JSON object body, or a 400 naming `body`.
pub(crate) fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::field("body", "the body must be a JSON object")),
        Err(e) => Err(ApiError::field("body", redacted(&e))),
    }
}

/// An integer member, if present.
fn integer(body: &Map<String, Value>, field: &'static str) -> Result<Option<i64>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::field(field, format!("{field} must be an integer"))),
    }
}

/// A string member, if present.
pub(crate) fn string<'a>(
    body: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::field(field, format!("{field} must be a string"))),
    }
}

/// The reward id of the path.
fn reward_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse()
        .map_err(|_| ApiError::field("reward_id", "the reward id must be a UUID"))
}

/// `POST /v1/rewards {"name","cost","stock"}` → 201.
pub(crate) async fn create(
    State(store): State<Store>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    observe_response("reward_create", None, async {
        let who = principal(&store, &headers).await?;
        supervisor_only(&who)?;
        let body = object(&body)?;
        let required = |field: &'static str| ApiError::field(field, format!("{field} is required"));
        let name = string(&body, "name")?.ok_or_else(|| required("name"))?;
        let cost = integer(&body, "cost")?.ok_or_else(|| required("cost"))?;
        let stock = integer(&body, "stock")?.ok_or_else(|| required("stock"))?;
        let draft = RewardDraft::parse(name, cost, stock)?;
        let reward = store.add_reward(&draft, &who.actor()).await?;
        Ok((StatusCode::CREATED, Json(reward)).into_response())
    })
    .await
}

/// `GET /v1/rewards`.
pub(crate) async fn list(State(store): State<Store>, headers: HeaderMap) -> Response {
    observe("rewards", None, async {
        match principal(&store, &headers).await? {
            Principal::Courier { courier_id, .. } => Ok(Catalogue {
                balance: Some(store.courier_points(courier_id).await?),
                rewards: store.rewards(false).await?,
            }),
            Principal::Supervisor { .. } => Ok(Catalogue {
                balance: None,
                rewards: store.rewards(true).await?,
            }),
            Principal::Office { .. } => Err(ApiError::Forbidden("offices keep no rewards")),
        }
    })
    .await
}

/// `PATCH /v1/rewards/{id}` with any of name, cost, stock.
pub(crate) async fn update(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    observe("reward_update", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        let reward_id = reward_id(&id)?;
        let body = object(&body)?;
        let patch = RewardPatch::parse(
            string(&body, "name")?,
            integer(&body, "cost")?,
            integer(&body, "stock")?,
        )?;
        Ok(store.update_reward(reward_id, &patch).await?)
    })
    .await
}

/// `POST /v1/rewards/{id}/retire`.
pub(crate) async fn retire(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    observe("reward_retire", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        Ok(store.retire_reward(reward_id(&id)?).await?)
    })
    .await
}

/// The request's `Idempotency-Key`, if any: 1 to 128 characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::field(
            "Idempotency-Key",
            format!("Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable characters"),
        )
    };
    let key = value.to_str().map_err(|_| bad())?.trim();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(bad());
    }
    no_controls("Idempotency-Key", key)?;
    Ok(Some(key.to_owned()))
}

/// `POST /v1/rewards/{id}/redeem` → 201, or 200 for a repeated key.
/// Counted in `civicprobe_tracker_redemptions_total{outcome}`.
pub(crate) async fn redeem(
    State(store): State<Store>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    observe_response("redeem", None, async {
        let result = redeem_step(&store, &id, &headers).await;
        metrics::counter!("civicprobe_tracker_redemptions_total", "outcome" => outcome(&result))
            .increment(1);
        let done = result?;
        let status = if done.replayed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        let mut redemption = done.redemption;
        redemption.courier_id = None;
        let body = RedeemedBody {
            redemption,
            balance: done.balance,
        };
        Ok((status, Json(body)).into_response())
    })
    .await
}

async fn redeem_step(store: &Store, id: &str, headers: &HeaderMap) -> Result<Redeemed, ApiError> {
    let Principal::Courier { courier_id, .. } = principal(store, headers).await? else {
        return Err(ApiError::Forbidden("only couriers redeem rewards"));
    };
    let reward_id = reward_id(id)?;
    let key = idempotency_key(headers)?;
    let request = RedeemRequest {
        courier_id,
        reward_id,
        idempotency_key: key.as_deref(),
    };
    let span = tracing::info_span!("rewards.redeem", %reward_id, %courier_id);
    Ok(store.redeem(request).instrument(span).await?)
}

/// The metrics label of a redemption's outcome.
fn outcome(result: &Result<Redeemed, ApiError>) -> &'static str {
    match result {
        Ok(done) if done.replayed => "replayed",
        Ok(_) => "redeemed",
        Err(ApiError::Refused { slug, .. }) => match *slug {
            "insufficient-points" => "insufficient_points",
            "out-of-stock" => "out_of_stock",
            "reward-retired" => "reward_retired",
            _ => "refused",
        },
        Err(e) => e.outcome(),
    }
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::{get, patch, post};
    axum::Router::new()
        .route("/v1/rewards", get(list).post(create))
        .route("/v1/rewards/{id}", patch(update))
        .route("/v1/rewards/{id}/retire", post(retire))
        .route("/v1/rewards/{id}/redeem", post(redeem))
}
