//! Which service answers which route: the one table `up`, `civicprobe
//! ingest` and `civicprobe tracker` build their HTTP apps from, and that
//! `deploy/nginx/civicprobe-locations.conf` follows.
//!
//! - ingest ([`intake_routes`]): `POST /v1/reports`, `POST
//!   /v1/tickets/{id}/proof-photos`, `POST
//!   /v1/tickets/{id}/verification-photos`, `POST
//!   /open311/v2/requests.{xml,json}`.
//! - tracker ([`tracker_routes`]): everything else: the pages and
//!   `/session`, every other `/v1` route (report and proof photos read
//!   from the shared photo store included), Open311's reads and media,
//!   Open311's `POST servicerequestupdates.{xml,json}` (a resident's note
//!   is recorded on the ticket, in the tracker's store), `/v1/events`.
//!
//! Both (and `up`, which merges both) add `/healthz`, `/readyz` and
//! `/metrics` and run [`with_sessions`]: the session cookie becomes the
//! bearer credential, with the CSRF checks, so a page's upload to ingest
//! is authenticated as its reads from the tracker are.

use anyhow::Context;
use civicprobe_ingest::IngestState;
use civicprobe_router::Categories;
use civicprobe_tracker::events::Hub;
use civicprobe_tracker::{SessionPolicy, Store};
use std::path::Path;

/// What the tracker's routes are built from.
#[derive(Debug)]
pub struct TrackerRoutes<'a> {
    /// The system of record.
    pub store: Store,
    /// The photo store, read-only, with the store-backed photo scope
    /// ([`crate::ingest_access::photo_reader`]).
    pub photos: IngestState,
    /// The live event stream.
    pub hub: Hub,
    /// Open311's service names.
    pub categories: Categories,
    /// Whether Open311's public reads serve report photos.
    pub open311_public_photos: bool,
    /// The one Open311 `jurisdiction_id` served (unset: any).
    pub open311_jurisdiction: Option<String>,
    /// Open311's base for `media_url` and discovery.
    pub base_url: String,
    /// The office map the pages draw, and its datum override.
    pub jurisdictions: &'a civicprobe_router::Config,
    /// How long web sessions last.
    pub sessions: SessionPolicy,
}

/// The tracker's routes (see the module docs).
pub fn tracker_routes(routes: TrackerRoutes<'_>) -> anyhow::Result<axum::Router> {
    let open311 = civicprobe_open311::Open311State::new(
        routes.store.clone(),
        routes.photos.clone(),
        routes.categories,
    )
    .with_public_photos(routes.open311_public_photos)
    .with_jurisdiction(routes.open311_jurisdiction)
    .with_base_url(routes.base_url);
    let web = civicprobe_web::app(
        routes.store.clone(),
        &routes.jurisdictions.jurisdictions,
        routes.jurisdictions.jurisdictions_datum,
        routes.sessions,
    )
    .context("starting the web pages")?;
    Ok(civicprobe_tracker::app(routes.store)
        .merge(civicprobe_tracker::events::router(routes.hub))
        .merge(civicprobe_ingest::photo_app(routes.photos))
        .merge(civicprobe_open311::read_app(open311))
        .merge(web))
}

/// Ingest's routes (see the module docs); Open311's `address_string` is
/// placed with `places`, and only `jurisdiction` is served when set.
pub fn intake_routes(
    ingest: IngestState,
    places: &Path,
    jurisdiction: Option<String>,
) -> anyhow::Result<axum::Router> {
    let places =
        civicprobe_open311::Places::load(places).context("loading the Open311 gazetteer")?;
    let open311 = civicprobe_open311::Open311Intake::new(ingest.clone(), places)
        .with_jurisdiction(jurisdiction);
    Ok(civicprobe_ingest::intake_app(ingest).merge(civicprobe_open311::post_app(open311)))
}

/// The session cookie as a bearer credential with its CSRF checks
/// ([`civicprobe_web::cookie_auth`]), against `origin` when the public URL
/// is configured.
pub fn with_sessions(
    app: axum::Router,
    origin: Option<civicprobe_web::PublicOrigin>,
) -> axum::Router {
    let app = app.layer(axum::middleware::from_fn(civicprobe_web::cookie_auth));
    match origin {
        Some(origin) => app.layer(axum::Extension(origin)),
        None => app,
    }
}
