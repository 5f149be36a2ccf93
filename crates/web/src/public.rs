//! The deployment's public origin (`--public-url`), when the operator set
//! one: the CSRF checks compare `Origin` with it instead of the `Host`
//! header, and cookies are `Secure` when it is https. The stack adds it to
//! every request as an extension (`axum::Extension(PublicOrigin)`).

use std::sync::Arc;

/// `scheme://host[:port]` of the public URL, lower-case, no path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicOrigin(Arc<str>);

impl PublicOrigin {
    /// The origin of `url` (`http://` or `https://`, a host, any path);
    /// `None` for anything else.
    pub fn of_url(url: &str) -> Option<Self> {
        let lower = url.trim().to_ascii_lowercase();
        let (scheme, rest) = lower.split_once("://")?;
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let plain = |c: char| c.is_ascii_alphanumeric() || ".-:[]".contains(c);
        if host.is_empty() || !host.chars().all(plain) {
            return None;
        }
        Some(Self(format!("{scheme}://{host}").into()))
    }

    /// `scheme://host[:port]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the public URL is https.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_scheme_and_host() {
        let o = PublicOrigin::of_url("HTTPS://Civic.Example:8443/open311/").unwrap();
        assert_eq!(o.as_str(), "https://civic.example:8443");
        assert!(o.is_https());
        assert!(!PublicOrigin::of_url("http://h").unwrap().is_https());
        for bad in ["ftp://h", "h:80", "http://", "http://a b", "http://u@h"] {
            assert!(PublicOrigin::of_url(bad).is_none(), "{bad}");
        }
    }
}
