//! `POST requests.(xml|json)`: form-encoded as the specification says, or
//! `multipart/form-data` carrying the photo itself as `media` (an
//! extension). `api_key` is a courier token, from the query string, a
//! header or the body, checked before the body is read ([`posted`]).

use crate::format::{self, Format};
use crate::places::Places;
use crate::posted::{self, Posted, Received};
use crate::wire::Created;
use crate::{Error, Open311Intake};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use civicprobe_ingest::report::{ReportFields, MAX_TEXT_CHARS};
use civicprobe_model::{Category, Location};

/// The first line of a report's text holding the posted `address_string`
/// (so the office reads it, and reads answer it as `address`).
pub const ADDRESS_PREFIX: &str = "地址：";

/// The longest `address_string` accepted, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;

/// The `POST requests` handler.
#[tracing::instrument(name = "open311_post", skip_all, fields(report_id = tracing::field::Empty))]
pub async fn post_request(
    State(state): State<Open311Intake>,
    Path(file): Path<String>,
    request: Request,
) -> Response {
    let format = match Format::split(&file) {
        Some(("requests", format)) => format,
        Some((_, format)) => return Error::not_found("no such endpoint").respond(format),
        None => return Error::not_found("no such endpoint").respond(Format::Json),
    };
    let key = request
        .headers()
        .get(civicprobe_ingest::courier::IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let result = async {
        // Authenticated before the body is read; a multipart body then
        // shares ingest's upload budget with the courier app's uploads,
        // held (with the courier's upload slot) until the report is
        // committed.
        let Received {
            posted,
            courier,
            held: _held,
        } = posted::receive(&state, request).await?;
        state.jurisdiction.check(posted.get("jurisdiction_id"))?;
        let fields = fields(&posted, &state.places)?;
        let key = key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let id =
            civicprobe_ingest::intake::accept(&state.ingest, courier, &key, fields, posted.media)
                .await?;
        tracing::Span::current().record("report_id", tracing::field::display(id));
        Ok::<_, Error>(id)
    }
    .await;
    match result {
        Ok(id) => {
            metrics::counter!("civicprobe_open311_requests_total").increment(1);
            let created = Created {
                service_request_id: id.to_string(),
                service_notice: format!(
                    "follow it at {}/requests/{id}.{}",
                    crate::BASE_PATH,
                    if format == Format::Xml { "xml" } else { "json" }
                ),
            };
            format::list(
                format,
                StatusCode::CREATED,
                "service_requests",
                "request",
                &[created],
            )
        }
        Err(e) => e.respond(format),
    }
}

/// The report the form describes. Location: `lat` + `long`, or else an
/// `address_string` naming a known place (see [`Places::find`]), or else
/// (with `media`) the photo's EXIF GPS position, which intake takes and
/// flags (`position_from_exif`), refusing the report naming `lat` when
/// the photo has none; a given
/// `address_string` heads the text as `地址：…`. Personal fields (`email`,
/// `phone`, names, `device_id`, `account_id`) are accepted and not kept;
/// `attribute[…]` and `media_url` are kept with the report
/// ([`crate::attributes`]; `media_url` is never fetched).
pub fn fields(posted: &Posted, places: &Places) -> Result<ReportFields, Error> {
    no_controls(posted)?;
    let code = posted
        .get("service_code")
        .ok_or_else(|| Error::bad("service_code is required"))?;
    let category: Category = code
        .parse()
        .map_err(|_| Error::bad("service_code is not a service code"))?;
    let address = address(posted)?;
    let location = location(posted, address.as_deref(), places)?;
    let description = posted.get("description");
    let text = match (&address, description) {
        (Some(a), Some(d)) => Some(format!("{ADDRESS_PREFIX}{a}\n{d}")),
        (Some(a), None) => Some(format!("{ADDRESS_PREFIX}{a}")),
        (None, d) => d.map(str::to_owned),
    };
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
    {
        let what = if address.is_some() {
            "description and address_string together"
        } else {
            "description"
        };
        return Err(Error::bad(format!(
            "{what} must be at most {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(ReportFields {
        location,
        // GeoReport v2 positions are WGS-84.
        position_as_sent: None,
        accuracy_m: None,
        category_hint: Some(category),
        text,
        reported_at: None,
        open311: crate::attributes::details(posted)?,
    })
}

/// The specification's request fields, named when at fault; any other
/// field is "a field" (its name is the client's input, never echoed).
const SPEC_FIELDS: [&str; 15] = [
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
];

/// Refuses control characters in every posted value (see
/// [`civicprobe_model::text`]), kept or not.
fn no_controls(posted: &Posted) -> Result<(), Error> {
    for (name, value) in &posted.fields {
        if let Err(e) = civicprobe_model::text::check(value) {
            let field = SPEC_FIELDS
                .iter()
                .find(|f| *f == name)
                .map_or("a field", |f| f);
            return Err(Error::bad(format!("{field} {e}")));
        }
    }
    Ok(())
}

/// `address_string` on one line (runs of white space made one space).
fn address(posted: &Posted) -> Result<Option<String>, Error> {
    let Some(raw) = posted.get("address_string") else {
        return Ok(None);
    };
    let address = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if address.chars().count() > MAX_ADDRESS_CHARS {
        return Err(Error::bad(format!(
            "address_string must be at most {MAX_ADDRESS_CHARS} characters"
        )));
    }
    Ok(Some(address))
}

/// `None`: no position was sent, but a photo was (intake takes its EXIF
/// GPS position, or refuses the report).
fn location(
    posted: &Posted,
    address: Option<&str>,
    places: &Places,
) -> Result<Option<Location>, Error> {
    let (lat, long) = (posted.get("lat"), posted.get("long"));
    let number = |name: &str, v: &str| {
        v.parse::<f64>()
            .map_err(|_| Error::bad(format!("{name} must be a number of degrees")))
    };
    let has_media = !posted.media.is_empty();
    match (lat, long) {
        (Some(lat), Some(long)) => Location::new(number("lat", lat)?, number("long", long)?)
            .map(Some)
            .map_err(|e| Error::bad(format!("{}: {e}", field_name(e.field())))),
        (None, None) => match address {
            Some(address) => match places.find(address) {
                Some(place) => Ok(Some(place.location)),
                None if has_media => Ok(None),
                None => Err(Error::bad(
                    "address_string is not a known place; send lat and long",
                )),
            },
            None if has_media => Ok(None),
            None if posted.get("address_id").is_some() => Err(Error::bad(
                "address_id is not supported; send lat and long, or address_string",
            )),
            None => Err(Error::bad("lat and long, or address_string, are required")),
        },
        (Some(_), None) => Err(Error::bad("long is required with lat")),
        (None, Some(_)) => Err(Error::bad("lat is required with long")),
    }
}

/// A report text split into the posted address (its `地址：` first line)
/// and the rest.
pub fn split_address(text: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(text) = text else {
        return (None, None);
    };
    let Some(rest) = text.strip_prefix(ADDRESS_PREFIX) else {
        return (None, Some(text.to_owned()));
    };
    let (address, description) = match rest.split_once('\n') {
        Some((a, d)) => (a, Some(d.to_owned())),
        None => (rest, None),
    };
    (Some(address.to_owned()), description)
}

fn field_name(field: &str) -> &str {
    if field == "lon" {
        "long"
    } else {
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        Posted::of(pairs)
    }

    #[test]
    fn the_spec_fields_make_a_report() {
        let f = fields(
            &posted(&[
                ("api_key", "x"),
                ("service_code", "manhole"),
                ("lat", "30.58"),
                ("long", "114.27"),
                ("description", "井盖丢失 <b>"),
                ("email", "a@b.c"),
                ("media_url", "http://example.com/a.jpg"),
                ("attribute[WHISHETN]", "1"),
            ]),
            &Places::default(),
        )
        .unwrap();
        assert_eq!(f.category_hint, Some(Category::Manhole));
        assert_eq!(f.text.as_deref(), Some("井盖丢失 <b>"));
    }

    #[test]
    fn bad_input_is_named() {
        let msg = |p: &[(&str, &str)]| {
            fields(&posted(p), &Places::default())
                .unwrap_err()
                .to_string()
        };
        assert!(msg(&[("lat", "1"), ("long", "1")]).contains("service_code"));
        assert!(
            msg(&[("service_code", "fire"), ("lat", "1"), ("long", "1")])
                .contains("service_code is not")
        );
        assert!(
            msg(&[("service_code", "other"), ("address_string", "1 Main St")])
                .contains("is not a known place; send lat and long")
        );
        assert!(msg(&[("service_code", "other")]).contains("lat and long"));
        assert!(msg(&[("service_code", "other"), ("lat", "91"), ("long", "1")]).starts_with("lat"));
        assert!(
            msg(&[("service_code", "other"), ("lat", "1"), ("long", "east")]).starts_with("long")
        );
        let long = "字".repeat(MAX_TEXT_CHARS + 1);
        assert!(msg(&[
            ("service_code", "other"),
            ("lat", "1"),
            ("long", "1"),
            ("description", &long)
        ])
        .contains("description"));
    }

    #[test]
    fn control_characters_are_refused_in_every_field() {
        let msg = |p: &[(&str, &str)]| {
            fields(&posted(p), &Places::default())
                .unwrap_err()
                .to_string()
        };
        let base = [("service_code", "other"), ("lat", "1"), ("long", "1")];
        let with = |extra: (&'static str, &'static str)| {
            let mut p = base.to_vec();
            p.push(extra);
            msg(&p)
        };
        assert!(with(("description", "a\u{1b}[2J")).starts_with("description must not"));
        assert!(with(("address_string", "温泉路\u{0}")).starts_with("address_string"));
        assert!(with(("first_name", "x\u{7f}")).starts_with("first_name"));
        assert!(with(("x<b>y", "\u{1}")).starts_with("a field must not"));
        let tabs = [("description", "a\tb\r\nc")];
        assert!(fields(
            &posted(&[base.as_slice(), &tabs].concat()),
            &Places::default()
        )
        .is_ok());
    }

    #[test]
    fn an_address_string_is_placed_and_kept_in_the_text() {
        let places =
            Places::parse("[[place]]\nzh = \"温泉路\"\nlat = 29.845\nlon = 114.315\n").unwrap();
        let f = fields(
            &posted(&[
                ("service_code", "manhole"),
                ("address_string", " 温泉路\n 12号 "),
                ("description", "井盖丢失"),
            ]),
            &places,
        )
        .unwrap();
        assert_eq!(f.location, Some(Location::new(29.845, 114.315).unwrap()));
        assert_eq!(f.text.as_deref(), Some("地址：温泉路 12号\n井盖丢失"));
        assert_eq!(
            split_address(f.text.as_deref()),
            (Some("温泉路 12号".into()), Some("井盖丢失".into()))
        );
        let only = [("service_code", "other"), ("address_string", "温泉路")];
        let f = fields(&posted(&only), &places).unwrap();
        assert_eq!(
            split_address(f.text.as_deref()),
            (Some("温泉路".into()), None)
        );
        assert_eq!(split_address(Some("a\nb")), (None, Some("a\nb".into())));
        // lat + long win; the address is still kept.
        let both = [
            ("service_code", "other"),
            ("address_string", "银泉大道"),
            ("lat", "29.92"),
            ("long", "114.32"),
        ];
        let f = fields(&posted(&both), &places).unwrap();
        assert_eq!(f.location.unwrap().lat(), 29.92);
        assert_eq!(f.text.as_deref(), Some("地址：银泉大道"));
        let far = [("service_code", "other"), ("address_string", "银泉大道")];
        let e = fields(&posted(&far), &places).unwrap_err().to_string();
        assert_eq!(e, "address_string is not a known place; send lat and long");
    }
}
