//! The session cookie as a bearer credential, and the cross-site defence.
//!
//! After sign-in the browser holds two cookies: [`SESSION_COOKIE`] (a
//! server-side session id, `HttpOnly`, `SameSite=Strict`; never the token)
//! and [`CSRF_COOKIE`] (a random value the page's script can read).
//! [`cookie_auth`] runs over the whole app: a request without an
//! `Authorization` header but with the session cookie gets `Authorization:
//! Bearer <session id>`, which `Store::authenticate` accepts like a token
//! while the session lives, so every page and action goes through the
//! API's own token and scope checks. A cookie-authenticated
//! request with an unsafe method must also pass [`check_csrf`]: the
//! [`CSRF_HEADER`] equals the CSRF cookie (double submit) *and* the browser's
//! `Sec-Fetch-Site` / `Origin` say the request comes from this origin.

use crate::{Error, PublicOrigin};
use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie holding the session id (`HttpOnly`).
pub const SESSION_COOKIE: &str = "cp_session";
/// The cookie holding the double-submit CSRF value (readable by script).
pub const CSRF_COOKIE: &str = "cp_csrf";
/// The header the page's script copies the CSRF cookie into.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The shortest CSRF value accepted (the server issues 64 hex characters).
const MIN_CSRF_LEN: usize = 32;

/// Middleware over the whole app: session cookie → `Authorization`, CSRF
/// checks for cookie-authenticated unsafe methods, `nosniff` on every answer.
pub async fn cookie_auth(mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    if !headers.contains_key(AUTHORIZATION) {
        if let Some(token) = cookie(headers, SESSION_COOKIE).map(str::to_owned) {
            if is_unsafe(request.method()) {
                let public = request.extensions().get::<PublicOrigin>();
                if let Err(e) = check_csrf(headers, public) {
                    metrics::counter!("civicprobe_web_csrf_refused_total").increment(1);
                    tracing::warn!(method = %request.method(), path = request.uri().path(), error = %e, "refused");
                    return nosniff(e.into_response());
                }
            }
            if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
                request.headers_mut().insert(AUTHORIZATION, value);
            }
        }
    }
    nosniff(next.run(request).await)
}

fn nosniff(mut response: Response) -> Response {
    response.headers_mut().insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Methods that change something (everything but GET, HEAD, OPTIONS, TRACE).
fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Both defences: [`same_origin`], then the double-submit token.
pub fn check_csrf(headers: &HeaderMap, public: Option<&PublicOrigin>) -> Result<(), Error> {
    same_origin(headers, public)?;
    let cookie = cookie(headers, CSRF_COOKIE).ok_or(Error::CrossSite("no CSRF cookie"))?;
    let header = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(Error::CrossSite("no X-CSRF-Token header"))?;
    if cookie.len() < MIN_CSRF_LEN || !constant_time_eq(cookie.as_bytes(), header.as_bytes()) {
        return Err(Error::CrossSite("the X-CSRF-Token does not match"));
    }
    Ok(())
}

/// What the browser says about where the request comes from:
/// `Sec-Fetch-Site`, when sent, must be `same-origin`; `Origin`, when sent,
/// must be the public origin (`--public-url`) when one is set, else this
/// host (`Host` header) over http or https. Clients that send neither (not
/// a browser) are left to the double-submit token.
pub fn same_origin(headers: &HeaderMap, public: Option<&PublicOrigin>) -> Result<(), Error> {
    if let Some(site) = headers.get("sec-fetch-site") {
        if site.as_bytes() != b"same-origin" {
            return Err(Error::CrossSite("Sec-Fetch-Site is not same-origin"));
        }
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        if let Some(public) = public {
            return if origin.eq_ignore_ascii_case(public.as_str()) {
                Ok(())
            } else {
                Err(Error::CrossSite("Origin is not this site"))
            };
        }
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or(Error::CrossSite("no Host header"))?;
        let matches = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|rest| rest.eq_ignore_ascii_case(host));
        if !matches {
            return Err(Error::CrossSite("Origin is not this site"));
        }
    }
    Ok(())
}

/// Equality that takes the same time wherever the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    const CSRF: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn cookies_are_found_among_many() {
        let h = headers(&[
            ("cookie", "a=1; cp_session=tok ; b=2"),
            ("cookie", "cp_csrf=x"),
        ]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("x"));
        assert_eq!(cookie(&h, "cp"), None);
        assert_eq!(
            cookie(&headers(&[("cookie", "cp_session=")]), SESSION_COOKIE),
            None
        );
    }

    #[test]
    fn csrf_needs_matching_token_and_same_origin() {
        let cookie = format!("cp_csrf={CSRF}");
        let ok = [
            ("cookie", cookie.as_str()),
            ("x-csrf-token", CSRF),
            ("host", "h:1"),
            ("origin", "http://h:1"),
            ("sec-fetch-site", "same-origin"),
        ];
        assert!(check_csrf(&headers(&ok), None).is_ok());
        // Not a browser: no Origin, no Sec-Fetch-Site, token still needed.
        assert!(check_csrf(&headers(&ok[..2]), None).is_ok());
        assert!(check_csrf(&headers(&ok[..1]), None).is_err());
        let mut bad = ok;
        bad[1] = ("x-csrf-token", "0123456789abcdef0123456789abcdeX");
        assert!(check_csrf(&headers(&bad), None).is_err());
        let mut bad = ok;
        bad[3] = ("origin", "http://evil.example");
        assert!(check_csrf(&headers(&bad), None).is_err());
        let mut bad = ok;
        bad[3] = ("origin", "null");
        assert!(check_csrf(&headers(&bad), None).is_err());
        let mut bad = ok;
        bad[4] = ("sec-fetch-site", "cross-site");
        assert!(check_csrf(&headers(&bad), None).is_err());
        // Behind a proxy: the public origin, not the Host, is this site.
        let public = PublicOrigin::of_url("https://civic.example/").unwrap();
        assert!(check_csrf(&headers(&ok), Some(&public)).is_err());
        let mut proxied = ok;
        proxied[3] = ("origin", "https://civic.example");
        assert!(check_csrf(&headers(&proxied), Some(&public)).is_ok());
        assert!(check_csrf(&headers(&proxied), None).is_err());
        let short = [("cookie", "cp_csrf=abc"), ("x-csrf-token", "abc")];
        assert!(check_csrf(&headers(&short), None).is_err());
    }

    #[test]
    fn only_changing_methods_are_unsafe() {
        assert!(!is_unsafe(&Method::GET));
        assert!(!is_unsafe(&Method::HEAD));
        assert!(is_unsafe(&Method::POST));
        assert!(is_unsafe(&Method::DELETE));
        assert!(is_unsafe(&Method::PATCH));
    }
}
