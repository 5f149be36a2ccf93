//! A request Open311 answers before it is a ticket: accepted by ingest
//! and not yet routed, or lying outside every area. Its
//! `agency_responsible` is empty (no street office has it) and it has no
//! deadline yet; its photos are not public until an office has it (a
//! client's own `media_url` is answered).

use crate::requests::iso;
use crate::services::service;
use crate::wire::ServiceRequest;
use crate::Open311State;
use civicprobe_model::{Category, ReportSubmitted};

/// `report` as an open request with no office (the caller sets
/// `status_notes`).
pub fn request(state: &Open311State, report: &ReportSubmitted) -> ServiceRequest {
    let category = report.category_hint.unwrap_or(Category::Other);
    let (address, description) = crate::post::split_address(report.text.as_deref());
    ServiceRequest {
        service_request_id: report.report_id.to_string(),
        status: "open",
        status_notes: None,
        service_name: service(state, category).service_name,
        service_code: category.as_str().to_owned(),
        description,
        agency_responsible: String::new(),
        service_notice: None,
        requested_datetime: iso(report.received_at),
        updated_datetime: iso(report.received_at),
        expected_datetime: None,
        address,
        lat: report.location.lat(),
        long: report.location.lon(),
        // Its photos are not public yet; a client's own media_url is.
        media_url: report.open311.as_ref().and_then(|o| o.media_url.clone()),
    }
}
