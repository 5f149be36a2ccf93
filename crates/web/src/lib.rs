//! The civicprobe **web** pages: what couriers, street offices and
//! supervisors open in a browser, served by `civicprobe up` at the API's
//! own address.
//!
//! The pages are small hand-written HTML, CSS and JavaScript files embedded
//! in the binary (no CDN, no framework, no build step). Their scripts call
//! the JSON API with `fetch`; nothing here duplicates the API's rules.
//! Signing in turns a token into a server-side session whose id goes into
//! an `HttpOnly`, `SameSite=Strict` cookie (the token itself never does);
//! [`cookie_auth`], laid over the whole app, turns that cookie into
//! `Authorization: Bearer <session id>`, which the tracker's store
//! authenticates like a token, so every page and action goes through the
//! API's token and scope checks, and refuses cookie-authenticated changes that
//! fail the CSRF checks. Pages carry a strict Content-Security-Policy
//! (`script-src 'self'`, no inline code) and the scripts only ever put
//! data into the page as text (`textContent`).
//!
//! | path | what |
//! |---|---|
//! | `GET /` | courier page (phone first, 中文 / English): photo, position, category, text, offline queue, my reports |
//! | `GET /office` | office console: queue by urgency and deadline, ticket with photo, map, history, actions |
//! | `GET /audit` | supervisor dashboard: response-time charts, overdue, unrouted, district map |
//! | `GET /assets/{name}` | the embedded scripts, stylesheet and icon |
//! | `GET /sw.js` | the service worker that lets the courier page open without signal |
//! | `GET /v1/jurisdictions` | the configured jurisdictions GeoJSON in WGS-84 (drawn by the pages) |
//! | `GET /session`, `POST /session`, `POST /session/logout` | who am I, sign in, sign out |
//!
//! # Layout
//!
//! - [`app`]: the routes above, ready to merge into the stack's router.
//! - [`auth`]: [`cookie_auth`], the cookie → bearer middleware and the CSRF
//!   checks (double-submit token and `Origin` / `Sec-Fetch-Site`).
//! - [`session`]: signing in and out.
//! - [`pages`]: the embedded files, the security headers, the jurisdictions.
//! - [`jurisdictions`]: the jurisdictions file read once and converted to
//!   WGS-84 from its declared datum.
//! - [`error`]: the crate's [`Error`], answered as problem+json.
//! - `assets/`: the pages' source. `common.js`: translations, DOM building
//!   (text only), API calls with the CSRF header, sign-in form; `map.js`:
//!   jurisdiction polygons as SVG; `queue.js`: the courier's IndexedDB
//!   outbox; `courier.js`, `office.js`, `audit.js`: one per page;
//!   `disputes.js`: the dashboard's disputed rejections (reroute or
//!   uphold); `rewards.js`: the dashboard's points and rewards (the
//!   leaderboard, the catalogue, redemptions and pickups); the courier
//!   page's parts: `my_reports.js` (reports in words and pictures, live),
//!   `verify.js` (已修好 / 没修好, checks nearby), `courier_rewards.js`
//!   (balance, redeeming, pickup codes), `exif.js` (the original's EXIF
//!   spliced into the shrunk photo), `position.js` (the followed fix);
//!   `sw.js`: the offline page shell.

#![warn(unreachable_pub, clippy::unwrap_used)]

pub mod auth;
pub mod error;
pub mod jurisdictions;
pub mod pages;
pub mod public;
pub mod session;

pub use auth::cookie_auth;
pub use error::Error;
pub use public::PublicOrigin;

use axum::Router;
use civicprobe_model::Datum;
use civicprobe_tracker::{SessionPolicy, Store};
use std::path::Path;

/// The web routes; sessions last as `sessions` says. Reads the
/// jurisdictions file once, in `datum` when given (else its own declared
/// datum), and serves it in WGS-84; fails if it is missing, not JSON or of
/// an unknown datum. Apply [`cookie_auth`] over the *whole* app (API
/// included) with `axum::middleware::from_fn(civicprobe_web::cookie_auth)`.
pub fn app(
    store: Store,
    jurisdictions: &Path,
    datum: Option<Datum>,
    sessions: SessionPolicy,
) -> Result<Router, Error> {
    let geojson = jurisdictions::load(jurisdictions, datum)?;
    Ok(pages::router(geojson).merge(session::router(store, sessions)))
}
