//! The authorisation matrix's rows: every endpoint, aimed at a target,
//! with the answer each of the seven callers must get (see `authz.rs`).

use crate::matrix_targets::{Pre, Target};

/// What a cell sends as its body.
#[derive(Clone, Copy, Debug)]
pub enum Body {
    /// Nothing.
    Empty,
    /// This JSON.
    Json(&'static str),
    /// A new report outside every area, with a new photo.
    Report,
    /// Office X's proof photo again.
    ProofPhoto,
    /// An Open311 request outside every area; `api_key` is the caller's token.
    Open311,
    /// A resident's Open311 update (FixMyStreet's `servicerequestupdates`)
    /// under a new `update_id`; `api_key` is the caller's token (the
    /// request's id is in the path's query).
    Open311Update,
    /// `{"token": <the caller's token>}`.
    SignIn,
}

/// One endpoint aimed at one target, with its seven expected answers.
pub struct Row {
    pub method: &'static str,
    /// The route as the source writes it (empty: no route, the fallback).
    pub route: &'static str,
    /// The path sent, with `$T`, `$R`, `$P` filled from the target.
    pub path: &'static str,
    pub target: Target,
    pub body: Body,
    pub expect: &'static str,
}

fn r(
    method: &'static str,
    route: &'static str,
    target: Target,
    body: Body,
    expect: &'static str,
) -> Row {
    Row {
        method,
        route,
        path: route,
        target,
        body,
        expect,
    }
}

impl Row {
    fn at(mut self, path: &'static str) -> Self {
        self.path = path;
        self
    }
}

/// Everyone may.
const ALL_200: &str = "200 200 200 200 200 200 200";
/// Only a supervisor may read this.
const SUPERVISOR_READS: &str = "401 401 403 403 403 403 200";
/// Only a supervisor may change this (others: refused).
const SUPERVISOR_CHANGES: &str = "401 401 no no no no 200";
/// Office X's work on its ticket.
const OFFICE_WORK: &str = "401 401 no no 200 404 200";
/// The original reporter's confirmation, or a supervisor's.
const REPORTER: &str = "401 401 200 no no no 200";

#[rustfmt::skip]
pub fn rows() -> Vec<Row> {
    use Body::*;
    use Target::*;
    vec![
        // Pages, assets, operations: public, except /metrics (no token configured: 404).
        r("GET", "/", Nothing, Empty, ALL_200),
        r("GET", "/office", Nothing, Empty, ALL_200),
        r("GET", "/audit", Nothing, Empty, ALL_200),
        r("GET", "/assets/{name}", Nothing, Empty, ALL_200).at("/assets/common.js"),
        r("GET", "/sw.js", Nothing, Empty, ALL_200),
        r("GET", "/v1/jurisdictions", Nothing, Empty, ALL_200),
        r("GET", "/healthz", Nothing, Empty, ALL_200),
        r("GET", "/readyz", Nothing, Empty, ALL_200),
        r("GET", "/metrics", Nothing, Empty, "404 404 404 404 404 404 404"),
        r("GET", "", Nothing, Empty, "404 404 404 404 404 404 404").at("/no/such/page"),
        r("GET", "/session", Nothing, Empty, "401 401 200 200 200 200 200"),
        r("POST", "/session", Nothing, SignIn, "401 401 200 200 200 200 200"),
        // Ingest: reports, their photos, proof photos.
        r("POST", "/v1/reports", Nothing, Report, "401 401 202 202 key key key"),
        r("GET", "/v1/reports/{id}/photos/{n}", ReportA, Empty, "401 401 200 no 200 404 200").at("/v1/reports/$R/photos/0"),
        r("GET", "/v1/reports/{id}/photos/{n}", ReportB, Empty, "401 401 no 200 200 404 200").at("/v1/reports/$R/photos/0"),
        r("GET", "/v1/reports/{id}/photos/{n}", ReportUnrouted, Empty, "401 401 200 no 404 404 200").at("/v1/reports/$R/photos/0"),
        r("POST", "/v1/tickets/{id}/proof-photos", TicketA, ProofPhoto, "401 401 no no 201 404 201").at("/v1/tickets/$T/proof-photos"),
        r("GET", "/v1/tickets/{id}/proof-photos/{sha256}", Proof, Empty, "401 401 200 200 200 404 200").at("/v1/tickets/$T/proof-photos/$P"),
        // Verification photos (issue 13): any courier, while the ticket is resolved.
        r("POST", "/v1/tickets/{id}/verification-photos", Fresh(Pre::Resolved), ProofPhoto, "401 401 201 201 404 404 404").at("/v1/tickets/$T/verification-photos"),
        r("POST", "/v1/tickets/{id}/verification-photos", Fresh(Pre::Open), ProofPhoto, "401 401 404 404 404 404 404").at("/v1/tickets/$T/verification-photos"),
        // Tracker: queues, tickets, actions.
        r("GET", "/v1/offices/{office_id}/tickets", Nothing, Empty, "401 401 403 403 200 404 200").at("/v1/offices/wenquan/tickets"),
        r("GET", "/v1/offices/{office_id}/tickets", Nothing, Empty, "401 401 403 403 404 200 200").at("/v1/offices/fushan/tickets"),
        r("GET", "/v1/tickets/{id}", TicketA, Empty, "401 401 200 hid 200 404 200").at("/v1/tickets/$T"),
        r("GET", "/v1/tickets/{id}", UnknownTicket, Empty, "401 401 404 404 404 404 404").at("/v1/tickets/$T"),
        r("POST", "/v1/tickets/{id}/acknowledge", Fresh(Pre::Open), Json("{}"), OFFICE_WORK).at("/v1/tickets/$T/acknowledge"),
        r("POST", "/v1/tickets/{id}/make_safe", Fresh(Pre::Acknowledged), Json("{}"), OFFICE_WORK).at("/v1/tickets/$T/make_safe"),
        r("POST", "/v1/tickets/{id}/start", Fresh(Pre::Acknowledged), Json("{}"), OFFICE_WORK).at("/v1/tickets/$T/start"),
        r("POST", "/v1/tickets/{id}/resolve", Fresh(Pre::Acknowledged), Json(r#"{"note":"cover replaced"}"#), OFFICE_WORK).at("/v1/tickets/$T/resolve"),
        r("POST", "/v1/tickets/{id}/reject", Fresh(Pre::Open), Json(r#"{"reason":"not_a_hazard"}"#), OFFICE_WORK).at("/v1/tickets/$T/reject"),
        r("POST", "/v1/tickets/{id}/reopen", Fresh(Pre::Resolved), Json(r#"{"reason":"not_fixed"}"#), REPORTER).at("/v1/tickets/$T/reopen"),
        r("POST", "/v1/tickets/{id}/close", Fresh(Pre::Resolved), Json("{}"), REPORTER).at("/v1/tickets/$T/close"),
        // Verification (issue 13): the reporter or a supervisor; courier B, merged onto fresh
        // tickets, records a verdict on their own report only (the ticket stays resolved); office
        // X may not verify its own fix.
        r("POST", "/v1/tickets/{id}/verify", Fresh(Pre::Resolved), Json(r#"{"fixed":true}"#), "401 401 200 200 403 404 200").at("/v1/tickets/$T/verify"),
        r("POST", "/v1/tickets/{id}/reroute", Fresh(Pre::Open), Json(r#"{"office_id":"fushan"}"#), SUPERVISOR_CHANGES).at("/v1/tickets/$T/reroute"),
        // Re-triage (issue 12): fresh tickets are manholes (hinted), so "other" changes them.
        r("POST", "/v1/tickets/{id}/triage", Fresh(Pre::Open), Json(r#"{"category":"other","reason":"matrix re-triage"}"#), OFFICE_WORK).at("/v1/tickets/$T/triage"),
        // Tracker: supervision and the courier's own view.
        r("GET", "/v1/unrouted", Nothing, Empty, SUPERVISOR_READS),
        r("POST", "/v1/unrouted/{id}/route", FreshUnrouted, Json(r#"{"office_id":"wenquan"}"#), SUPERVISOR_CHANGES).at("/v1/unrouted/$R/route"),
        r("POST", "/v1/unrouted/{id}/close", FreshUnrouted, Json(r#"{"note":"another district's"}"#), SUPERVISOR_CHANGES).at("/v1/unrouted/$R/close"),
        r("GET", "/v1/disputes", Nothing, Empty, SUPERVISOR_READS),
        r("POST", "/v1/disputes/{id}/uphold", Fresh(Pre::Disputed), Json(r#"{"note":"another district's"}"#), SUPERVISOR_CHANGES).at("/v1/disputes/$T/uphold"),
        r("GET", "/v1/audit/response-times", Nothing, Empty, SUPERVISOR_READS),
        r("GET", "/v1/audit/overdue", Nothing, Empty, "401 401 403 403 200 200 200"),
        r("GET", "/v1/audit/couriers", Nothing, Empty, SUPERVISOR_READS),
        r("GET", "/v1/audit/verify", Nothing, Empty, SUPERVISOR_READS),
        r("GET", "/v1/audit/kpis", Nothing, Empty, SUPERVISOR_READS),
        r("GET", "/v1/audit/offices/{office_id}/monthly", Nothing, Empty, "401 401 403 403 200 404 200").at("/v1/audit/offices/wenquan/monthly?month=2025-06"),
        r("GET", "/v1/audit/offices/{office_id}/monthly", Nothing, Empty, "401 401 403 403 404 200 200").at("/v1/audit/offices/fushan/monthly?month=2025-06"),
        r("GET", "/v1/audit/export", Nothing, Empty, SUPERVISOR_READS).at("/v1/audit/export?from=2025-01-01&to=2025-01-02"),
        r("GET", "/v1/couriers/me", Nothing, Empty, "401 401 200 200 403 403 403"),
        r("GET", "/v1/verifications", Nothing, Empty, SUPERVISOR_READS).at("/v1/verifications?state=disputed"),
        r("GET", "/v1/verifications/nearby", Nothing, Empty, "401 401 200 200 403 403 403").at("/v1/verifications/nearby?lat=29.84&lon=114.32"),
        // Tracker (issue 12): the live event stream, scoped per holder (a cell reads its `ready`).
        r("GET", "/v1/events", Nothing, Empty, "401 401 200 200 200 200 200"),
        r("GET", "/v1/events", Nothing, Empty, "401 401 400 400 400 400 400").at("/v1/events?last_event_id=x"),
        // Tracker (issue 14): dead letters, for supervisors; a bad limit is a 400 to them.
        r("GET", "/v1/dead-letters", Nothing, Empty, SUPERVISOR_READS),
        r("GET", "/v1/dead-letters", Nothing, Empty, "401 401 403 403 403 403 400").at("/v1/dead-letters?limit=501"),
        // Tracker (issue 11, scope): a supervisor hides one photo from public view (B's, which
        // no Open311 row reads), then shows it again.
        r("POST", "/v1/reports/{id}/photos/{n}/hide", ReportB, Empty, SUPERVISOR_CHANGES).at("/v1/reports/$R/photos/0/hide"),
        r("POST", "/v1/reports/{id}/photos/{n}/unhide", ReportB, Empty, SUPERVISOR_CHANGES).at("/v1/reports/$R/photos/0/unhide"),
        // Tracker (issue 12, alerts): channels (an office its own), deliveries (supervisors).
        r("GET", "/v1/alerts/channels", Nothing, Empty, "401 401 403 403 200 200 200"),
        r("GET", "/v1/alerts/deliveries", Nothing, Empty, SUPERVISOR_READS),
        r("GET", "/v1/alerts/deliveries", Nothing, Empty, SUPERVISOR_READS).at("/v1/alerts/deliveries?state=failing"),
        // Tracker (issue 13, rewards): the catalogue (supervisors), redeeming (couriers; the
        // reward costs more than anyone has), pickups, fraud reversal of B's report.
        r("GET", "/v1/rewards", Nothing, Empty, "401 401 200 200 403 403 200"),
        r("POST", "/v1/rewards", Nothing, Json(r#"{"name":"雨衣 raincoat","cost":10,"stock":1}"#), "401 401 no no no no 201"),
        r("PATCH", "/v1/rewards/{id}", Reward, Json(r#"{"stock":4}"#), SUPERVISOR_CHANGES).at("/v1/rewards/$W"),
        r("POST", "/v1/rewards/{id}/redeem", Reward, Empty, "401 401 409 409 no no no").at("/v1/rewards/$W/redeem"),
        r("POST", "/v1/rewards/{id}/retire", Reward, Empty, SUPERVISOR_CHANGES).at("/v1/rewards/$W/retire"),
        r("GET", "/v1/redemptions", Nothing, Empty, "401 401 200 200 403 403 200"),
        r("POST", "/v1/redemptions/{id}/collect", UnknownTicket, Empty, "401 401 no no no no 404").at("/v1/redemptions/$T/collect"),
        r("POST", "/v1/reports/{id}/points/reverse", ReportB, Json(r#"{"reason":"matrix fraud check"}"#), SUPERVISOR_CHANGES).at("/v1/reports/$R/points/reverse"),
        // Open311: public reads (never a courier id), posts by couriers' api_key.
        r("GET", "/open311/v2/{file}", Nothing, Empty, ALL_200).at("/open311/v2/discovery.json"),
        r("GET", "/open311/v2/{file}", Nothing, Empty, ALL_200).at("/open311/v2/services.json"),
        r("GET", "/open311/v2/{file}", Nothing, Empty, ALL_200).at("/open311/v2/requests.json"),
        r("GET", "/open311/v2/servicerequestupdates.json", Nothing, Empty, ALL_200),
        r("GET", "/open311/v2/servicerequestupdates.xml", Nothing, Empty, ALL_200),
        // Open311 (issue 16): a resident's update on A's request, by any courier's api_key.
        r("POST", "/open311/v2/servicerequestupdates.json", ReportA, Open311Update, "key key 200 200 key key key").at("/open311/v2/servicerequestupdates.json?service_request_id=$R"),
        r("POST", "/open311/v2/servicerequestupdates.xml", ReportA, Open311Update, "key key 200 200 key key key").at("/open311/v2/servicerequestupdates.xml?service_request_id=$R"),
        r("POST", "/open311/v2/{file}", Nothing, Open311, "key key 201 201 key key key").at("/open311/v2/requests.json"),
        r("GET", "/open311/v2/{file}", Nothing, Empty, ALL_200).at("/open311/v2/requests.xml"),
        r("POST", "/open311/v2/{file}", Nothing, Open311, "key key 201 201 key key key").at("/open311/v2/requests.xml"),
        r("GET", "/open311/v2/services/{file}", Nothing, Empty, ALL_200).at("/open311/v2/services/manhole.json"),
        r("GET", "/open311/v2/requests/{file}", ReportA, Empty, ALL_200).at("/open311/v2/requests/$R.json"),
        r("GET", "/open311/v2/tokens/{file}", ReportA, Empty, ALL_200).at("/open311/v2/tokens/$R.json"),
        r("GET", "/open311/v2/media/{id}/{n}", ReportA, Empty, "pub pub pub pub pub pub pub").at("/open311/v2/media/$R/0"),
        r("GET", "/open311/v2/media/{id}/{n}", ReportUnrouted, Empty, "404 404 404 404 404 404 404").at("/open311/v2/media/$R/0"),
        // Last: signing out (cookie callers each end a session of their own).
        r("POST", "/session/logout", OwnSession, Empty, "out out 204 204 204 204 204"),
    ]
}
