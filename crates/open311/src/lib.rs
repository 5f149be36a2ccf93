//! Open311 GeoReport v2 for civicprobe, under `/open311/v2`, in XML and
//! JSON: so 311 apps, city back offices and tools such as FixMyStreet can
//! file hazards and follow them without knowing civicprobe's own API.
//!
//! A request posted here goes through ingest's pipeline
//! ([`civicprobe_ingest::intake`]) exactly like a courier's report: its
//! `service_request_id` is the report id, and the router turns it into a
//! ticket in the right office's queue. Reads come from the tracker's
//! store. `api_key` is a courier token (required to post; reads are
//! public, as in the specification).
//!
//! # Layout
//!
//! - [`app`] and [`Open311State`]: the routes; split as the services are:
//!   [`read_app`] (the tracker's) and [`post_app`] over [`Open311Intake`]
//!   (ingest's, which needs no tracker store: `api_key` is checked in
//!   ingest's courier directory).
//! - [`format`]: `.xml` / `.json` suffixes and rendering (escaped XML via
//!   quick-xml's serializer, JSON via serde_json).
//! - [`wire`]: the specification's documents (services, requests,
//!   discovery, updates, errors).
//! - [`services`]: `discovery`, `services`, `services/{code}`.
//! - [`post`]: `POST requests` (form-encoded, or multipart with `media`,
//!   whose EXIF GPS places a request sent without a position);
//!   [`posted`]: its body, read only once `api_key` names a courier.
//! - [`attributes`]: `attribute[…]` and a client's `media_url`, kept
//!   with the report.
//! - [`places`]: the local gazetteer placing `address_string`.
//! - [`requests`]: `GET requests`, `GET requests/{id}`, `tokens/{token}`,
//!   and how a ticket becomes a service request.
//! - [`updates`]: the `servicerequestupdates` extension's reads;
//!   [`update_post`]: its `POST` (a resident's note on the ticket);
//!   [`words`]: what a resident reads in an update, 中文 or English.
//! - [`dates`]: W3C-DTF dates of every precision.
//! - [`pending`]: a request before it is a ticket (not yet routed, or
//!   outside every area).
//! - [`media`]: a request's photo at its public `media_url`.
//! - [`error`]: the crate's [`Error`], answered as the spec's error array.

#![warn(unreachable_pub, clippy::unwrap_used)]

pub mod attributes;
pub mod dates;
pub mod error;
pub mod format;
pub mod media;
pub mod pending;
pub mod places;
pub mod post;
pub mod posted;
pub mod requests;
pub mod services;
pub mod update_post;
pub mod updates;
pub mod wire;
pub mod words;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use civicprobe_ingest::IngestState;
use civicprobe_router::Categories;
use civicprobe_tracker::Store;
use std::sync::Arc;

pub use error::Error;
pub use places::Places;

/// Where the endpoints live.
pub const BASE_PATH: &str = "/open311/v2";

/// What every Open311 handler shares; cheap to clone.
#[derive(Clone, Debug)]
pub struct Open311State {
    /// Tokens and tickets.
    pub(crate) store: Store,
    /// The intake pipeline for posted requests.
    pub(crate) ingest: IngestState,
    /// Service names and descriptions.
    pub(crate) categories: Arc<Categories>,
    /// The public origin for `media_url` (e.g. `https://311.example`);
    /// unset: `http://<Host header>`.
    pub(crate) base_url: Option<String>,
    /// Named places for `address_string` (empty unless
    /// [`Open311State::with_places`]).
    pub(crate) places: Arc<Places>,
    /// Whether public reads serve report photos (a district's setting;
    /// on unless [`Open311State::with_public_photos`] turns it off).
    pub(crate) public_photos: bool,
    /// The `jurisdiction_id` this endpoint serves
    /// ([`Open311State::with_jurisdiction`]).
    pub(crate) jurisdiction: Jurisdiction,
}

/// What `POST requests` needs, and nothing of the tracker's: ingest's
/// pipeline (which also knows the couriers' tokens) and the gazetteer.
/// `civicprobe ingest` serves it alone ([`post_app`]).
#[derive(Clone, Debug)]
pub struct Open311Intake {
    /// The intake pipeline and its courier directory.
    pub(crate) ingest: IngestState,
    /// Named places for `address_string`.
    pub(crate) places: Arc<Places>,
    /// The `jurisdiction_id` accepted.
    pub(crate) jurisdiction: Jurisdiction,
}

impl Open311Intake {
    /// Posts through `ingest`, placing `address_string` with `places`.
    pub fn new(ingest: IngestState, places: Places) -> Self {
        Self {
            ingest,
            places: Arc::new(places),
            jurisdiction: Jurisdiction::default(),
        }
    }

    /// Accepts only `jurisdiction_id` = `id` (when one is sent).
    pub fn with_jurisdiction(mut self, id: Option<String>) -> Self {
        self.jurisdiction = Jurisdiction::new(id);
        self
    }
}

/// The one `jurisdiction_id` an endpoint serves, when configured. Any is
/// accepted when none is (one endpoint, one jurisdiction, as the
/// specification allows); when one is, a different one sent is a `404`
/// naming it (the spec's answer for a jurisdiction not served here).
/// Leaving it out is always allowed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Jurisdiction(Option<String>);

impl Jurisdiction {
    /// `id`, unless it is missing or blank.
    fn new(id: Option<String>) -> Self {
        Self(id.filter(|j| !j.trim().is_empty()))
    }

    /// A `jurisdiction_id` sent with a request.
    pub(crate) fn check(&self, sent: Option<&str>) -> Result<(), Error> {
        match (&self.0, sent.map(str::trim).filter(|s| !s.is_empty())) {
            (Some(ours), Some(theirs)) if ours != theirs => Err(Error::not_found(
                "jurisdiction_id is not a jurisdiction served here",
            )),
            _ => Ok(()),
        }
    }
}

impl Open311State {
    /// What the `POST` side of [`app`] uses.
    pub fn intake(&self) -> Open311Intake {
        Open311Intake {
            ingest: self.ingest.clone(),
            places: self.places.clone(),
            jurisdiction: self.jurisdiction.clone(),
        }
    }

    /// The state over the tracker's `store` and ingest's `ingest`.
    pub fn new(store: Store, ingest: IngestState, categories: Categories) -> Self {
        Self {
            store,
            ingest,
            categories: Arc::new(categories),
            base_url: None,
            places: Arc::new(Places::default()),
            public_photos: true,
            jurisdiction: Jurisdiction::default(),
        }
    }

    /// Serves only `jurisdiction_id` = `id` (see [`Jurisdiction`]).
    pub fn with_jurisdiction(mut self, id: Option<String>) -> Self {
        self.jurisdiction = Jurisdiction::new(id);
        self
    }

    /// Places `address_string` with `places` (e.g.
    /// `Places::load(Path::new(places::DEFAULT_PATH))`); without it, a request giving
    /// only `address_string` is refused as not a known place (unless its
    /// `media` photo carries an EXIF GPS position).
    pub fn with_places(mut self, places: Places) -> Self {
        self.places = Arc::new(places);
        self
    }

    /// Serves report photos publicly (`media_url`, `media/…`) or not. A
    /// photo a supervisor hid is never served, whatever this says.
    pub fn with_public_photos(mut self, public: bool) -> Self {
        self.public_photos = public;
        self
    }

    /// Builds `media_url` from `base_url` (no trailing slash) instead of
    /// the request's `Host` header.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into().trim_end_matches('/').to_owned());
        self
    }
}

/// Every GeoReport v2 route under [`BASE_PATH`] (what `up` serves):
/// [`read_app`] and [`post_app`].
pub fn app(state: Open311State) -> Router {
    let intake = state.intake();
    read_app(state).merge(post_app(intake))
}

/// The reads (the tracker's): discovery, services, requests, updates,
/// tokens and media; and `POST servicerequestupdates` (a resident's note
/// is recorded on the ticket, in the tracker's store). Every other
/// method on them is the router's `405`.
pub fn read_app(state: Open311State) -> Router {
    Router::new()
        .route("/open311/v2/{file}", get(top_level))
        .route(
            "/open311/v2/servicerequestupdates.xml",
            get(updates_read).post(update_post::post_update),
        )
        .route(
            "/open311/v2/servicerequestupdates.json",
            get(updates_read).post(update_post::post_update),
        )
        .route("/open311/v2/services/{file}", get(services::definition))
        .route("/open311/v2/requests/{file}", get(requests::get_one))
        .route("/open311/v2/tokens/{file}", get(requests::token))
        .route("/open311/v2/media/{id}/{n}", get(media::photo))
        .with_state(state)
}

/// `POST requests.{xml,json}` (ingest's), authenticated through ingest's
/// courier directory.
pub fn post_app(intake: Open311Intake) -> Router {
    let limit = civicprobe_ingest::form::body_limit(civicprobe_ingest::DEFAULT_MAX_PHOTO_BYTES);
    Router::new()
        .route("/open311/v2/{file}", post(post::post_request))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(intake)
}

/// `GET servicerequestupdates.{xml,json}` (its own route, beside the `POST`).
async fn updates_read(
    state: axum::extract::State<Open311State>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    query: axum::extract::RawQuery,
) -> axum::response::Response {
    let format = if uri.path().ends_with(".xml") {
        format::Format::Xml
    } else {
        format::Format::Json
    };
    let query = query.0.unwrap_or_default();
    updates::list(&state, &headers, &query, format)
        .await
        .unwrap_or_else(|e| e.respond(format))
}

/// `GET {discovery,services,requests}.{xml,json}`.
async fn top_level(
    state: axum::extract::State<Open311State>,
    path: axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    query: axum::extract::RawQuery,
) -> axum::response::Response {
    let Some((stem, format)) = format::Format::split(&path.0) else {
        return Error::not_found("no such endpoint").respond(format::Format::Json);
    };
    let query = query.0.unwrap_or_default();
    let result = match stem {
        "discovery" => Ok(services::discovery(&state, &headers, format)),
        "services" => Ok(services::list(&state, format)),
        "requests" => requests::list(&state, &headers, &query, format).await,
        _ => Err(Error::not_found("no such endpoint")),
    };
    result.unwrap_or_else(|e| e.respond(format))
}
