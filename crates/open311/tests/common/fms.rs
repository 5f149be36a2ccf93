//! A client that speaks to the server as FixMyStreet's Open311 client
//! does, written from the published behaviour (the GeoReport v2
//! specification and mySociety's servicerequestupdates extension), not
//! from any client's code: form bodies encoded as Perl's URI module
//! encodes them (`+` for a space, `%XX` for the rest outside
//! `A-Za-z0-9-._~`), multipart bodies with `photo1`…`photoN` file parts,
//! W3C-DTF dates in UTC, and answers read as the client reads them: the
//! root `service_requests` / `service_request_updates` / `errors`, its
//! `request` / `request_update` / `error` children as flat field maps.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// One element's children, by name (text content).
pub type Fields = BTreeMap<String, String>;

/// `value` as the client encodes a form value.
pub fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The body of `pairs`, in order.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A coordinate as the client sends it: six decimals, trailing zeros
/// (and a trailing point) stripped.
pub fn coordinate(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A UTC time in W3C-DTF, as the client writes `start_date` and friends.
pub fn w3c(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The boundary of [`multipart`] bodies.
pub const BOUNDARY: &str = "xYzZY";

/// A `multipart/form-data` body: the text `pairs`, then each photo as
/// `photo1`, `photo2` … (`image/jpeg`, file names `1.jpeg` …).
pub fn multipart(pairs: &[(&str, &str)], photos: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (i, photo) in photos.iter().enumerate() {
        let n = i + 1;
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo{n}\"; filename=\"{n}.jpeg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(photo);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// The children of every `item` under the document's `root`; panics
/// unless the root is `root` (as the client, which reads the root's
/// `item` list and nothing else).
pub fn items(xml: &str, root: &str, item: &str) -> Vec<Fields> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut out: Vec<Fields> = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if path.is_empty() {
                    assert_eq!(name, root, "{xml}");
                } else if path.len() == 1 && name == item {
                    out.push(Fields::new());
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(e) if path.len() == 2 => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                out.last_mut().expect("item").insert(name, String::new());
            }
            Event::Empty(e) if path.is_empty() => {
                assert_eq!(e.name().as_ref(), root.as_bytes(), "{xml}");
            }
            Event::Text(t) => text.push_str(&t.decode().expect("text")),
            Event::GeneralRef(r) => {
                let name = r.decode().expect("reference");
                match r.resolve_char_ref().expect("reference") {
                    Some(c) => text.push(c),
                    None => text.push_str(
                        quick_xml::escape::resolve_predefined_entity(&name).expect("entity"),
                    ),
                }
            }
            Event::End(_) => {
                let name = path.pop().expect("open element");
                if path.len() == 2 {
                    out.last_mut().expect("item").insert(name, text.clone());
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}
