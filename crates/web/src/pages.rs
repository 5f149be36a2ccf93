//! The pages and their static files, embedded in the binary, served with a
//! strict Content-Security-Policy; and the jurisdictions GeoJSON the pages
//! draw (`GET /v1/jurisdictions`).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Scripts and styles only from this origin, no inline code, no frames;
/// photos may be local `blob:` previews.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; \
     manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file: its URL name, media type and content.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($name:literal, $media:expr) => {
        Asset {
            name: $name,
            media_type: $media,
            body: include_str!(concat!("../assets/", $name)),
        }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `/assets/`.
const ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("report.css", "text/css; charset=utf-8"),
    asset!("common.js", JS),
    asset!("courier.js", JS),
    asset!("queue.js", JS),
    asset!("office.js", JS),
    asset!("ticket_detail.js", JS),
    asset!("navigate.js", JS),
    asset!("audit.js", JS),
    asset!("ranking.js", JS),
    asset!("disputes.js", JS),
    asset!("deliveries.js", JS),
    asset!("dead_letters.js", JS),
    asset!("rewards.js", JS),
    asset!("map.js", JS),
    asset!("live.js", JS),
    asset!("exif.js", JS),
    asset!("position.js", JS),
    asset!("my_reports.js", JS),
    asset!("verify.js", JS),
    asset!("courier_rewards.js", JS),
    asset!("icon.svg", "image/svg+xml"),
];

const COURIER_PAGE: &str = include_str!("../assets/courier.html");
const OFFICE_PAGE: &str = include_str!("../assets/office.html");
const AUDIT_PAGE: &str = include_str!("../assets/audit.html");
/// Served at the root so that its scope is the whole site.
const SERVICE_WORKER: &str = include_str!("../assets/sw.js");

/// `/`, `/office`, `/audit`, `/assets/{name}` and `/v1/jurisdictions`.
pub fn router(jurisdictions: Bytes) -> Router {
    Router::new()
        .route("/", get(|| async { page(COURIER_PAGE) }))
        .route("/office", get(|| async { page(OFFICE_PAGE) }))
        .route("/audit", get(|| async { page(AUDIT_PAGE) }))
        .route("/assets/{name}", get(asset))
        .route("/sw.js", get(|| async { script(SERVICE_WORKER) }))
        .route(
            "/v1/jurisdictions",
            get(move || {
                let body = jurisdictions.clone();
                async move { ([(CONTENT_TYPE, "application/geo+json")], body) }
            }),
        )
}

fn page(body: &'static str) -> Response {
    with_policy((StatusCode::OK, [(CONTENT_TYPE, HTML)], body).into_response())
}

fn script(body: &'static str) -> Response {
    with_policy(([(CONTENT_TYPE, JS), (CACHE_CONTROL, "no-cache")], body).into_response())
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => with_policy(
            (
                StatusCode::OK,
                [(CONTENT_TYPE, a.media_type), (CACHE_CONTROL, "no-cache")],
                a.body,
            )
                .into_response(),
        ),
        None => {
            let problem = civicprobe_model::Problem::new(404, "not-found", "Not found")
                .detail("no such asset");
            let body = serde_json::to_vec(&problem).unwrap_or_default();
            let content_type = [(CONTENT_TYPE, civicprobe_model::PROBLEM_JSON)];
            (StatusCode::NOT_FOUND, content_type, body).into_response()
        }
    }
}

/// The security headers of every page and asset.
fn with_policy(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "geolocation=(self), camera=(self)"),
    ];
    for (name, value) in set {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ` onclick=`, ` onload =` …: an attribute starting with `on`.
    fn has_inline_handler(html: &str) -> bool {
        html.match_indices(" on").any(|(i, _)| {
            let rest = &html[i + 3..];
            let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
            name_len > 0 && rest[name_len..].trim_start().starts_with('=')
        })
    }

    #[test]
    fn pages_load_only_local_scripts_and_no_inline_code() {
        for (name, html) in [
            ("courier", COURIER_PAGE),
            ("office", OFFICE_PAGE),
            ("audit", AUDIT_PAGE),
        ] {
            let lower = html.to_ascii_lowercase();
            assert!(!lower.contains("<script>"), "{name}: inline script");
            assert!(!has_inline_handler(&lower), "{name}: inline event handler");
            assert!(!lower.contains("style="), "{name}: inline style");
            assert!(
                !lower.contains("http://") && !lower.contains("https://"),
                "{name}: external URL"
            );
            for src in lower.split("src=\"").skip(1) {
                let src = src.split('"').next().unwrap_or_default();
                assert!(src.starts_with("/assets/"), "{name}: {src}");
                let file = src.trim_start_matches("/assets/");
                assert!(
                    ASSETS.iter().any(|a| a.name == file),
                    "{name}: missing {file}"
                );
            }
        }
    }

    #[test]
    fn scripts_never_put_data_into_inner_html() {
        let worker = Asset {
            name: "sw.js",
            media_type: JS,
            body: SERVICE_WORKER,
        };
        for a in ASSETS
            .iter()
            .chain([&worker])
            .filter(|a| a.name.ends_with(".js"))
        {
            assert!(!a.body.contains("innerHTML"), "{}", a.name);
            assert!(!a.body.contains("outerHTML"), "{}", a.name);
            assert!(!a.body.contains("insertAdjacentHTML"), "{}", a.name);
            assert!(!a.body.contains("document.write"), "{}", a.name);
            assert!(!a.body.contains("eval("), "{}", a.name);
        }
    }
}
