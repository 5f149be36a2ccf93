//! Signing in and out: `POST /session` turns a valid token into a
//! server-side session (its id in the session cookie, never the token) and
//! a CSRF cookie, `GET /session` says who the cookie (or bearer token)
//! belongs to, `POST /session/logout` ends the session for every service
//! and clears both cookies.

use crate::auth::{cookie, same_origin, CSRF_COOKIE, SESSION_COOKIE};
use crate::{Error, PublicOrigin};
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::{Json, Router};
use civicprobe_model::Principal;
use civicprobe_tracker::{SessionPolicy, Store};
use rand::RngCore;
use serde::Deserialize;

/// The sign-in body.
#[derive(Debug, Deserialize)]
struct SignIn {
    /// A token printed by `civicprobe courier|office|supervisor add`.
    token: String,
}

/// What the session routes share.
#[derive(Clone, Debug)]
struct Sessions {
    /// Where sessions live.
    store: Store,
    /// How long they last.
    policy: SessionPolicy,
}

/// `/session` and `/session/logout`; sessions last as `policy` says.
pub fn router(store: Store, policy: SessionPolicy) -> Router {
    Router::new()
        .route("/session", get(whoami).post(sign_in))
        .route("/session/logout", post(sign_out))
        .with_state(Sessions { store, policy })
}

/// `GET /session`: the principal behind the request's token, as JSON
/// (`{"role":"office","office_id":"wenquan","person":{"person_id":"…","name":"Wang Fang"}}` …).
async fn whoami(
    State(sessions): State<Sessions>,
    headers: HeaderMap,
) -> Result<Json<Principal>, Error> {
    let credential = bearer(&headers).ok_or(Error::NotSignedIn)?;
    let who = sessions.store.authenticate(credential).await?;
    who.map(Json).ok_or(Error::NotSignedIn)
}

/// The request's `Authorization: Bearer` credential (for a cookie, the
/// session id [`crate::cookie_auth`] put there).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(civicprobe_model::bearer_token)
}

/// `POST /session` with `{"token": "…"}` (JSON only: a cross-site form
/// cannot send it without a preflight) from this origin.
async fn sign_in(
    State(sessions): State<Sessions>,
    public: Option<Extension<PublicOrigin>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let public = public.map(|Extension(p)| p);
    let outcome = match start_session(&sessions, &headers, public.as_ref(), &body).await {
        Ok((session, who)) => Ok(signed_in(
            &headers,
            public.as_ref(),
            &session,
            &who,
            sessions.policy,
        )),
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

/// Checks the request and the token, and stores a new session: its id and
/// holder.
async fn start_session(
    sessions: &Sessions,
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
    let (session, who) = sessions
        .store
        .create_session(token.trim(), sessions.policy)
        .await?
        .ok_or(Error::BadToken)?;
    tracing::info!(role = %who.role(), "signed in");
    Ok((session, who))
}

/// `200` with the principal and both cookies.
fn signed_in(
    headers: &HeaderMap,
    public: Option<&PublicOrigin>,
    session: &str,
    who: &Principal,
    policy: SessionPolicy,
) -> Response {
    let secure = secure_attr(headers, public);
    let max_age = policy.max_age.whole_seconds();
    let mut csrf = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut csrf);
    let cookies = [
        format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"),
        format!("{CSRF_COOKIE}={}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}", hex::encode(csrf)),
    ];
    with_cookies(Json(who).into_response(), &cookies)
}

/// `POST /session/logout`: the session is deleted (the same cookie then
/// gets `401` everywhere), `204`, both cookies expired. (The middleware
/// already checked CSRF if a session cookie came with it.)
async fn sign_out(
    State(sessions): State<Sessions>,
    public: Option<Extension<PublicOrigin>>,
    headers: HeaderMap,
) -> Response {
    let session = cookie(&headers, SESSION_COOKIE).or_else(|| bearer(&headers));
    if let Some(session) = session {
        if let Err(e) = sessions.store.end_session(session).await {
            return Error::from(e).into_response();
        }
    }
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
