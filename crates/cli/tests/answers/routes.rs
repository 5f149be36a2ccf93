//! Every route of `civicprobe up`, as the property test calls it.

use reqwest::Method;

/// How an endpoint takes a body.
#[derive(Clone, Copy, Debug)]
pub enum Body {
    None,
    /// JSON object with these string fields.
    Json(&'static [&'static str]),
    /// Form-encoded with these fields.
    Form(&'static [&'static str]),
    /// Multipart: a `report` JSON part (with these fields) and a photo.
    Report(&'static [&'static str]),
    /// Multipart: one `photo` part.
    Photo,
}

/// One route: method, path (`{}` marks a segment), query keys, body.
pub type Endpoint = (Method, &'static str, &'static [&'static str], Body);

const ACTION: Body = Body::Json(&["note", "reason", "proof_photo_sha256"]);
const MOVE: Body = Body::Json(&["office_id", "note"]);
const REWARD: Body = Body::Json(&["name", "cost", "stock"]);
const OPEN311_POST: Body = Body::Form(&[
    "api_key",
    "service_code",
    "lat",
    "long",
    "description",
    "address_string",
    "email",
]);
const GEO_QUERY: &[&str] = &[
    "start_date",
    "end_date",
    "status",
    "service_code",
    "service_request_id",
];

pub fn endpoints() -> Vec<Endpoint> {
    use Method as M;
    let mut list: Vec<Endpoint> = vec![
        (
            M::POST,
            "/v1/reports",
            &[],
            Body::Report(&["text", "category_hint", "reported_at"]),
        ),
        (M::GET, "/v1/reports/{}/photos/{}", &["size"], Body::None),
        (M::POST, "/v1/tickets/{}/proof-photos", &[], Body::Photo),
        (
            M::GET,
            "/v1/tickets/{}/proof-photos/{}",
            &["size"],
            Body::None,
        ),
        (
            M::GET,
            "/v1/offices/{}/tickets",
            &["state", "limit"],
            Body::None,
        ),
        (M::GET, "/v1/tickets/{}", &[], Body::None),
        (M::POST, "/v1/tickets/{}/reroute", &[], MOVE),
        (M::GET, "/v1/unrouted", &[], Body::None),
        (M::POST, "/v1/unrouted/{}/route", &[], MOVE),
        (
            M::GET,
            "/v1/audit/response-times",
            &["group_by", "format"],
            Body::None,
        ),
        (M::GET, "/v1/audit/overdue", &[], Body::None),
        (M::GET, "/v1/audit/couriers", &[], Body::None),
        (M::GET, "/v1/audit/verify", &[], Body::None),
        (M::GET, "/v1/couriers/me", &[], Body::None),
        (M::GET, "/v1/rewards", &[], Body::None),
        (M::POST, "/v1/rewards", &[], REWARD),
        (M::PATCH, "/v1/rewards/{}", &[], REWARD),
        (M::POST, "/v1/rewards/{}/retire", &[], Body::None),
        (M::POST, "/v1/rewards/{}/redeem", &[], Body::None),
        (M::GET, "/v1/redemptions", &["limit"], Body::None),
        (M::POST, "/v1/redemptions/{}/collect", &[], Body::None),
        (
            M::POST,
            "/v1/reports/{}/points/reverse",
            &[],
            Body::Json(&["reason"]),
        ),
        (
            M::POST,
            "/open311/v2/requests.json",
            &["api_key"],
            OPEN311_POST,
        ),
        (M::POST, "/open311/v2/requests.xml", &[], OPEN311_POST),
        (M::POST, "/open311/v2/{}", &[], OPEN311_POST),
        (M::GET, "/open311/v2/{}", GEO_QUERY, Body::None),
        (M::GET, "/open311/v2/services/{}", &[], Body::None),
        (M::GET, "/open311/v2/requests/{}", &[], Body::None),
        (M::GET, "/open311/v2/tokens/{}", &[], Body::None),
        (M::GET, "/open311/v2/media/{}/{}", &[], Body::None),
        (M::GET, "/", &[], Body::None),
        (M::GET, "/office", &[], Body::None),
        (M::GET, "/audit", &[], Body::None),
        (M::GET, "/assets/{}", &[], Body::None),
        (M::GET, "/sw.js", &[], Body::None),
        (M::GET, "/v1/jurisdictions", &[], Body::None),
        (M::GET, "/session", &[], Body::None),
        (M::POST, "/session", &[], Body::Json(&["token"])),
        (M::POST, "/session/logout", &[], Body::None),
        (M::GET, "/healthz", &[], Body::None),
        (M::GET, "/readyz", &[], Body::None),
        (M::GET, "/metrics", &[], Body::None),
        (M::PUT, "/v1/tickets/{}", &[], Body::None),
        (M::GET, "/{}/{}", &["q"], Body::None),
    ];
    for action in [
        "acknowledge",
        "make_safe",
        "start",
        "resolve",
        "reject",
        "reopen",
        "close",
    ] {
        let path: &'static str = format!("/v1/tickets/{{}}/{action}").leak();
        list.push((M::POST, path, &[], ACTION));
    }
    for stem in ["requests", "servicerequestupdates", "discovery", "services"] {
        for ext in ["json", "xml"] {
            let path: &'static str = format!("/open311/v2/{stem}.{ext}").leak();
            list.push((M::GET, path, GEO_QUERY, Body::None));
        }
    }
    list
}
