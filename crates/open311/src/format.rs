//! The response format named by the path's suffix, and rendering.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `.xml` or `.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/xml`, the specification's default.
    Xml,
    /// `application/json`.
    Json,
}

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";

impl Format {
    /// `services.json` → `("services", Json)`; `None` for other suffixes.
    pub fn split(file: &str) -> Option<(&str, Format)> {
        let (stem, ext) = file.rsplit_once('.')?;
        match ext {
            "xml" => Some((stem, Format::Xml)),
            "json" => Some((stem, Format::Json)),
            _ => None,
        }
    }

    /// The `Content-Type` answered.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// `items` as a JSON array, or as `<root><item>…</item>…</root>`.
pub fn list<T: Serialize>(
    format: Format,
    status: StatusCode,
    root: &str,
    item: &str,
    items: &[T],
) -> Response {
    let body = match format {
        Format::Json => serde_json::to_string(items).map_err(|e| e.to_string()),
        Format::Xml => xml_list(root, item, items).map(xml_safe),
    };
    respond(format, status, body)
}

/// `value` as a JSON object, or as `<root>…</root>`.
pub fn object<T: Serialize>(format: Format, root: &str, value: &T) -> Response {
    let body = match format {
        Format::Json => serde_json::to_string(value).map_err(|e| e.to_string()),
        Format::Xml => quick_xml::se::to_string_with_root(root, value)
            .map(|x| xml_safe(format!("{XML_DECL}{x}")))
            .map_err(|e| e.to_string()),
    };
    respond(format, StatusCode::OK, body)
}

/// `xml` without the control characters XML 1.0 forbids: text stored
/// before they were refused at intake still renders a document every
/// reader can parse. (Markup never holds them, only text.)
fn xml_safe(xml: String) -> String {
    match civicprobe_model::text::strip_controls(&xml) {
        std::borrow::Cow::Borrowed(_) => xml,
        std::borrow::Cow::Owned(clean) => clean,
    }
}

fn xml_list<T: Serialize>(root: &str, item: &str, items: &[T]) -> Result<String, String> {
    let mut out = format!("{XML_DECL}<{root}>");
    for i in items {
        out.push_str(&quick_xml::se::to_string_with_root(item, i).map_err(|e| e.to_string())?);
    }
    out.push_str(&format!("</{root}>"));
    Ok(out)
}

fn respond(format: Format, status: StatusCode, body: Result<String, String>) -> Response {
    match body {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, format.content_type())],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering an open311 document failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_pick_the_format() {
        assert_eq!(
            Format::split("services.xml"),
            Some(("services", Format::Xml))
        );
        assert_eq!(Format::split("a.b.json"), Some(("a.b", Format::Json)));
        assert_eq!(Format::split("services"), None);
        assert_eq!(Format::split("services.html"), None);
    }

    #[derive(Serialize)]
    struct T {
        text: String,
    }

    #[test]
    fn xml_is_escaped() {
        let x = xml_list(
            "r",
            "i",
            &[T {
                text: "<a>&\"x\"</a>".into(),
            }],
        )
        .unwrap();
        assert!(x.contains("<i><text>&lt;a&gt;&amp;"), "{x}");
        assert!(!x.contains("<a>"));
    }
}
