//! An Open311 request's own fields, kept with its report
//! ([`civicprobe_model::Open311Details`]): `attribute[code]` (one value)
//! and `attribute[code][]` (several, as the specification's multivalue
//! lists are posted), and the client's `media_url` (stored, never
//! fetched: the server calls no client-supplied host).

use crate::posted::Posted;
use crate::Error;
use civicprobe_model::Open311Details;

/// The most attribute codes one request keeps.
pub const MAX_ATTRIBUTES: usize = 50;

/// The most values one request's attributes hold, together.
pub const MAX_ATTRIBUTE_VALUES: usize = 200;

/// The longest attribute value, and the longest `media_url`, in characters.
pub const MAX_VALUE_CHARS: usize = 2000;

/// `attribute[code]` → `(code, false)`, `attribute[code][]` → `(code, true)`.
fn attribute_code(name: &str) -> Option<(&str, bool)> {
    let rest = name.strip_prefix("attribute[")?;
    let (code, many) = match rest.strip_suffix("][]") {
        Some(code) => (code, true),
        None => (rest.strip_suffix(']')?, false),
    };
    let plain = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    plain.then_some((code, many))
}

/// The details posted with a request; `None` when there are none.
pub fn details(posted: &Posted) -> Result<Option<Open311Details>, Error> {
    let mut out = Open311Details::default();
    let mut values = 0;
    for (name, value) in &posted.fields {
        if !name.starts_with("attribute") {
            continue;
        }
        let Some((code, many)) = attribute_code(name) else {
            return Err(Error::bad(
                "attribute fields must be named attribute[code] or attribute[code][]",
            ));
        };
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(Error::bad(format!(
                "attribute[{code}] must be at most {MAX_VALUE_CHARS} characters"
            )));
        }
        let list = out.attributes.entry(code.to_owned()).or_default();
        if !many {
            list.clear();
        }
        list.push(value.trim().to_owned());
        values += 1;
        if out.attributes.len() > MAX_ATTRIBUTES || values > MAX_ATTRIBUTE_VALUES {
            return Err(Error::bad(format!(
                "at most {MAX_ATTRIBUTES} attributes with {MAX_ATTRIBUTE_VALUES} values are kept"
            )));
        }
    }
    out.media_url = posted.get("media_url").map(media_url).transpose()?;
    Ok((!out.attributes.is_empty() || out.media_url.is_some()).then_some(out))
}

fn media_url(url: &str) -> Result<String, Error> {
    let lower = url.to_ascii_lowercase();
    let fits = (lower.starts_with("http://") || lower.starts_with("https://"))
        && url.chars().count() <= MAX_VALUE_CHARS
        && !url.chars().any(char::is_whitespace);
    if fits {
        Ok(url.to_owned())
    } else {
        Err(Error::bad("media_url must be an http(s) URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multivalue_attributes_and_media_url() {
        let d = details(&Posted::of(&[
            ("attribute[WHISHETN]", "1"),
            ("attribute[colour][]", "red"),
            ("attribute[colour][]", "blue"),
            ("media_url", "https://fms.example/photo/1.jpeg"),
            ("description", "x"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(d.attributes["WHISHETN"], ["1"]);
        assert_eq!(d.attributes["colour"], ["red", "blue"]);
        assert_eq!(
            d.media_url.as_deref(),
            Some("https://fms.example/photo/1.jpeg")
        );
        assert!(details(&Posted::of(&[("description", "x")]))
            .unwrap()
            .is_none());
    }

    #[test]
    fn bad_names_and_urls_are_refused() {
        let e = |p: &[(&str, &str)]| details(&Posted::of(p)).unwrap_err().to_string();
        assert!(e(&[("attribute[a b]", "1")]).starts_with("attribute fields"));
        assert!(e(&[("attribute[x", "1")]).starts_with("attribute fields"));
        assert!(e(&[("media_url", "file:///etc/passwd")]).starts_with("media_url"));
        assert!(e(&[("media_url", "javascript:alert(1)")]).starts_with("media_url"));
        let long = "v".repeat(MAX_VALUE_CHARS + 1);
        assert!(e(&[("attribute[x]", &long)]).starts_with("attribute[x]"));
    }
}
