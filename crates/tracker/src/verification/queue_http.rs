//! Lists around verification (核查): `GET /v1/verifications/nearby?lat=&lon=`
//! for couriers (resolved tickets near them they may check, nothing of
//! their reporters) and `GET /v1/verifications?state=disputed` for
//! supervisors (resolved tickets a courier says are not fixed; a
//! supervisor's verify settles each).

use crate::http::input::redacted;
use crate::http::supervisor_only;
use crate::http::{observe, principal, ApiError};
use crate::verification::queue::{DisputedVerification, NearbyCheck};
use crate::Store;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use civicprobe_model::{Location, Principal};
use serde::{Deserialize, Serialize};

/// `?lat=&lon=`: where the courier is.
#[derive(Debug, Deserialize)]
pub(crate) struct HereQuery {
    /// Degrees north.
    lat: Option<String>,
    /// Degrees east.
    lon: Option<String>,
}

/// The nearby list.
#[derive(Debug, Serialize)]
struct Nearby {
    /// The radius searched, metres.
    radius_m: f64,
    /// Nearest first.
    tickets: Vec<NearbyCheck>,
}

/// `?state=disputed`.
#[derive(Debug, Deserialize)]
pub(crate) struct StateQuery {
    /// Only `disputed` (the default) is listed.
    state: Option<String>,
}

/// The supervisors' list.
#[derive(Debug, Serialize)]
struct Disputed {
    /// Always `disputed`.
    state: &'static str,
    /// Oldest first.
    verifications: Vec<DisputedVerification>,
}

/// `GET /v1/verifications/nearby`.
pub(crate) async fn nearby(
    State(store): State<Store>,
    headers: HeaderMap,
    query: Result<Query<HereQuery>, QueryRejection>,
) -> Response {
    observe("verifications_nearby", None, async {
        let Principal::Courier { courier_id, .. } = principal(&store, &headers).await? else {
            return Err(ApiError::Forbidden("only couriers check fixes nearby"));
        };
        let Query(query) = query.map_err(|e| ApiError::field("query", redacted(&e.body_text())))?;
        let here = position(query.lat.as_deref(), query.lon.as_deref())?;
        let radius_m = store.verification_rules().verify_radius_m;
        let tickets = store.nearby_checks(courier_id, here, radius_m).await?;
        Ok(Nearby { radius_m, tickets })
    })
    .await
}

/// `GET /v1/verifications`.
pub(crate) async fn disputed(
    State(store): State<Store>,
    headers: HeaderMap,
    query: Result<Query<StateQuery>, QueryRejection>,
) -> Response {
    observe("verifications_disputed", None, async {
        supervisor_only(&principal(&store, &headers).await?)?;
        let Query(query) = query.map_err(|e| ApiError::field("query", redacted(&e.body_text())))?;
        if query.state.as_deref().is_some_and(|s| s != "disputed") {
            return Err(ApiError::field("state", "state must be disputed"));
        }
        let verifications = store.disputed_verifications().await?;
        Ok(Disputed {
            state: "disputed",
            verifications,
        })
    })
    .await
}

/// `lat` and `lon` as a valid position, or the field at fault.
fn position(lat: Option<&str>, lon: Option<&str>) -> Result<Location, ApiError> {
    let number = |field: &'static str, raw: Option<&str>| {
        raw.and_then(|r| r.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .ok_or_else(|| ApiError::field(field, format!("{field} must be a number of degrees")))
    };
    let (lat, lon) = (number("lat", lat)?, number("lon", lon)?);
    Location::new(lat, lon).map_err(|e| ApiError::field(e.field(), e.to_string()))
}

/// This module's routes, merged into [`crate::http::app`].
pub(crate) fn routes() -> axum::Router<crate::Store> {
    use axum::routing::get;
    axum::Router::new()
        .route("/v1/verifications", get(disputed))
        .route("/v1/verifications/nearby", get(nearby))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: ApiError) -> &'static str {
        e.bad_field()
    }

    #[test]
    fn positions_name_the_bad_coordinate() {
        assert_eq!(field_of(position(None, Some("114")).unwrap_err()), "lat");
        assert_eq!(
            field_of(position(Some("x"), Some("114")).unwrap_err()),
            "lat"
        );
        assert_eq!(
            field_of(position(Some("29"), Some("NaN")).unwrap_err()),
            "lon"
        );
        assert_eq!(
            field_of(position(Some("91"), Some("114")).unwrap_err()),
            "lat"
        );
        assert_eq!(
            field_of(position(Some("29"), Some("181")).unwrap_err()),
            "lon"
        );
        assert!(position(Some("29.84"), Some("114.32")).is_ok());
    }
}
