//! The specification's documents. Field names are the specification's
//! element names; ids are strings; absent values are left out.

use serde::Serialize;

/// One `<error>`.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorItem {
    /// The HTTP status code.
    pub code: u16,
    /// What is wrong, for people.
    pub description: String,
}

/// One `<service>` of `services`.
#[derive(Clone, Debug, Serialize)]
pub struct Service {
    /// The category's wire name (`manhole`, …).
    pub service_code: String,
    /// Its display name (`Manhole cover / 井盖`).
    pub service_name: String,
    /// What belongs in it.
    pub description: String,
    /// Whether `services/{code}` lists attributes (never, yet).
    pub metadata: bool,
    /// Always `realtime`: requests get ids at once.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Comma-separated search words.
    pub keywords: String,
    /// The group it is shown under.
    pub group: String,
}

/// `services/{code}` in JSON: no category has attributes.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceDefinitionJson {
    /// The service.
    pub service_code: String,
    /// Always empty.
    pub attributes: Vec<()>,
}

/// `services/{code}` in XML: `<attributes/>` empty.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceDefinitionXml {
    /// The service.
    pub service_code: String,
    /// Always empty.
    pub attributes: Empty,
}

/// An empty element.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Empty {}

/// One `<request>` of `requests` / `requests/{id}`.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceRequest {
    /// The report id.
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// Where the ticket stands, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_notes: Option<String>,
    /// The category's display name.
    pub service_name: String,
    /// The category's wire name.
    pub service_code: String,
    /// The reporter's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The street office's name; empty while no office has it (not yet
    /// routed, or outside every area).
    pub agency_responsible: String,
    /// Always left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_notice: Option<String>,
    /// When ingest received it.
    pub requested_datetime: String,
    /// The ticket's latest step.
    pub updated_datetime: String,
    /// The resolve deadline (none before an office has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_datetime: Option<String>,
    /// The `address_string` it was posted with (kept as the text's
    /// `地址：` first line); otherwise left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Latitude, WGS 84.
    pub lat: f64,
    /// Longitude, WGS 84.
    pub long: f64,
    /// The first stripped photo (needs a bearer token to fetch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
}

/// One `<request>` answering `POST requests`.
#[derive(Clone, Debug, Serialize)]
pub struct Created {
    /// The report id.
    pub service_request_id: String,
    /// How to follow it.
    pub service_notice: String,
}

/// One `<request>` answering `tokens/{token}`.
#[derive(Clone, Debug, Serialize)]
pub struct TokenAnswer {
    /// The report id.
    pub service_request_id: String,
    /// The token asked about.
    pub token: String,
}

/// One `<request_update>` of `servicerequestupdates`.
#[derive(Clone, Debug, Serialize)]
pub struct RequestUpdate {
    /// The ticket event's id.
    pub update_id: String,
    /// The request it is about (the ticket's opener, or a report merged
    /// into it, under its own id).
    pub service_request_id: String,
    /// `OPEN`, `INVESTIGATING`, `IN_PROGRESS`, `FIXED`, `DUPLICATE` …
    pub status: &'static str,
    /// When the step happened.
    pub updated_datetime: String,
    /// The step as a sentence for residents, with the office's note.
    pub description: String,
    /// The ticket's own state after the step (`acknowledged`, …).
    pub external_status_code: String,
    /// When the step happened, for ordering (not sent).
    #[serde(skip)]
    pub at: time::OffsetDateTime,
}

/// One `<request_update>` answering `POST servicerequestupdates`.
#[derive(Clone, Debug, Serialize)]
pub struct UpdateAccepted {
    /// The id of the recorded update (the ticket's `resident_note` event).
    pub update_id: String,
}

/// `discovery` in JSON.
#[derive(Clone, Debug, Serialize)]
pub struct DiscoveryJson {
    /// When the endpoint list last changed.
    pub changeset: String,
    /// Who to ask.
    pub contact: String,
    /// How to get an api_key.
    pub key_service: String,
    /// This endpoint.
    pub endpoints: Vec<EndpointJson>,
}

/// One endpoint in JSON.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointJson {
    /// The GeoReport v2 specification's URL.
    pub specification: &'static str,
    /// The base URL.
    pub url: String,
    /// When it last changed.
    pub changeset: String,
    /// `production`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// MIME types served.
    pub formats: Vec<&'static str>,
}

/// `discovery` in XML.
#[derive(Clone, Debug, Serialize)]
pub struct DiscoveryXml {
    /// When the endpoint list last changed.
    pub changeset: String,
    /// Who to ask.
    pub contact: String,
    /// How to get an api_key.
    pub key_service: String,
    /// `<endpoints><endpoint>…`.
    pub endpoints: EndpointsXml,
}

/// `<endpoints>`.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointsXml {
    /// Each `<endpoint>`.
    pub endpoint: Vec<EndpointXml>,
}

/// One `<endpoint>`.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointXml {
    /// The specification's URL.
    pub specification: &'static str,
    /// The base URL.
    pub url: String,
    /// When it last changed.
    pub changeset: String,
    /// `production`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `<formats><format>…`.
    pub formats: FormatsXml,
}

/// `<formats>`.
#[derive(Clone, Debug, Serialize)]
pub struct FormatsXml {
    /// Each `<format>`.
    pub format: Vec<&'static str>,
}
