//! Signing in and out: `POST /session` turns a valid token into the session
//! and CSRF cookies, `GET /session` says who the cookie (or bearer token)
//! belongs to, `POST /session/logout` clears both cookies.

use crate::auth::{same_origin, CSRF_COOKIE, SESSION_COOKIE};
use crate::{Error, PublicOrigin};
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::{Json, Router};
use civicprobe_model::Principal;
use civicprobe_tracker::Store;
use rand::RngCore;
use serde::Deserialize;

/// How long a sign-in lasts, seconds (a courier's shift week).
const SESSION_MAX_AGE: u32 = 7 * 24 * 3600;

/// The sign-in body.
#[derive(Debug, Deserialize)]
struct SignIn {
    /// A token printed by `civicprobe courier|office|supervisor add`.
    token: String,
}

/// `/session` and `/session/logout`.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/session", get(whoami).post(sign_in))
        .route("/session/logout", post(sign_out))
        .with_state(store)
}

/// `GET /session`: the principal behind the request's token, as JSON
/// (`{"role":"office","office_id":"wenquan"}` …).
async fn whoami(State(store): State<Store>, headers: HeaderMap) -> Result<Json<Principal>, Error> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(civicprobe_model::bearer_token)
        .ok_or(Error::NotSignedIn)?;
    let who = store.authenticate(token).await?;
    who.map(Json).ok_or(Error::NotSignedIn)
}

/// `POST /session` with `{"token": "…"}` (JSON only: a cross-site form
/// cannot send it without a preflight) from this origin.
async fn sign_in(
    State(store): State<Store>,
    public: Option<Extension<PublicOrigin>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let public = public.map(|Extension(p)| p);
    let outcome = match check_and_authenticate(&store, &headers, public.as_ref(), &body).await {
        Ok((token, who)) => Ok(signed_in(&headers, public.as_ref(), &token, &who)),
        Err(e) => Err(e),
    };
    let label = match &outcome {
        Ok(_) => "ok",
        Err(Error::BadToken) => "bad_token",
        Err(Error::CrossSite(_)) => "cross_site",
        Err(_) => "error",
    };
    metrics::counter!("civicprobe_web_sign_ins_total", "outcome" => label).increment(1);
    outcome.unwrap_or_else(IntoResponse::into_response)
}

async fn check_and_authenticate(
    store: &Store,
    headers: &HeaderMap,
    public: Option<&PublicOrigin>,
    body: &[u8],
) -> Result<(String, Principal), Error> {
    same_origin(headers, public)?;
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(Error::BadBody("send application/json".into()));
    }
    let SignIn { token } = serde_json::from_slice(body)
        .map_err(|e| Error::BadBody(civicprobe_model::text::redact_quoted(&e.to_string())))?;
    let token = token.trim().to_owned();
    let who = store.authenticate(&token).await?.ok_or(Error::BadToken)?;
    tracing::info!(role = %who.role(), "signed in");
    Ok((token, who))
}

/// `200` with the principal and both cookies.
fn signed_in(
    headers: &HeaderMap,
    public: Option<&PublicOrigin>,
    token: &str,
    who: &Principal,
) -> Response {
    let secure = secure_attr(headers, public);
    let mut csrf = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut csrf);
    let cookies = [
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_MAX_AGE}{secure}"),
        format!("{CSRF_COOKIE}={}; Path=/; SameSite=Strict; Max-Age={SESSION_MAX_AGE}{secure}", hex::encode(csrf)),
    ];
    with_cookies(Json(who).into_response(), &cookies)
}

/// `POST /session/logout`: `204`, both cookies expired. (The middleware
/// already checked CSRF if a session cookie came with it.)
async fn sign_out(public: Option<Extension<PublicOrigin>>, headers: HeaderMap) -> Response {
    let public = public.map(|Extension(p)| p);
    let secure = secure_attr(&headers, public.as_ref());
    let cookies = [
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
        format!("{CSRF_COOKIE}=; Path=/; SameSite=Strict; Max-Age=0{secure}"),
    ];
    with_cookies(StatusCode::NO_CONTENT.into_response(), &cookies)
}

/// `; Secure` when the public URL is https, or, without one, when the
/// page was loaded over https.
fn secure_attr(headers: &HeaderMap, public: Option<&PublicOrigin>) -> &'static str {
    let https = match public {
        Some(public) => public.is_https(),
        None => headers
            .get(ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|o| o.starts_with("https://")),
    };
    if https {
        "; Secure"
    } else {
        ""
    }
}

fn with_cookies(mut response: Response, cookies: &[String]) -> Response {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}
