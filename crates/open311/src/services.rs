//! `discovery`, `services` and `services/{service_code}`: one service per
//! [`Category`], its code the category's wire name.

use crate::format::{self, Format};
use crate::wire::{
    DiscoveryJson, DiscoveryXml, Empty, EndpointJson, EndpointXml, EndpointsXml, FormatsXml,
    Service, ServiceDefinitionJson, ServiceDefinitionXml,
};
use crate::{Error, Open311State};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use civicprobe_model::Category;

/// When this endpoint's list last changed.
const CHANGESET: &str = "2026-11-29T00:00:00Z";
const SPEC: &str = "http://wiki.open311.org/GeoReport_v2";
const FORMATS: [&str; 2] = ["text/xml", "application/json"];

/// The service for `category`.
pub fn service(state: &Open311State, category: Category) -> Service {
    let names = state.categories.names(category);
    let (name, description) = match names {
        Some(n) => (
            format!("{} / {}", n.en, n.zh),
            n.description.clone().unwrap_or_else(|| n.en.clone()),
        ),
        None => (category.to_string(), category.to_string()),
    };
    Service {
        service_code: category.as_str().to_owned(),
        service_name: name,
        description,
        metadata: false,
        kind: "realtime",
        keywords: category.as_str().replace('_', " "),
        group: "hazards".to_owned(),
    }
}

/// `services.(xml|json)`.
pub fn list(state: &Open311State, format: Format) -> Response {
    let services: Vec<Service> = Category::ALL.iter().map(|c| service(state, *c)).collect();
    format::list(format, StatusCode::OK, "services", "service", &services)
}

/// `services/{service_code}.(xml|json)`.
pub async fn definition(State(_state): State<Open311State>, Path(file): Path<String>) -> Response {
    let Some((code, format)) = Format::split(&file) else {
        return Error::not_found("no such endpoint").respond(Format::Json);
    };
    let Ok(category) = code.parse::<Category>() else {
        return Error::not_found("no service with this code").respond(format);
    };
    let service_code = category.as_str().to_owned();
    match format {
        Format::Json => format::object(
            format,
            "service_definition",
            &ServiceDefinitionJson {
                service_code,
                attributes: Vec::new(),
            },
        ),
        Format::Xml => format::object(
            format,
            "service_definition",
            &ServiceDefinitionXml {
                service_code,
                attributes: Empty {},
            },
        ),
    }
}

/// `discovery.(xml|json)`.
pub fn discovery(state: &Open311State, headers: &HeaderMap, format: Format) -> Response {
    let url = format!(
        "{}{}",
        crate::requests::origin(state, headers),
        crate::BASE_PATH
    );
    let contact = "the operator of this civicprobe instance".to_owned();
    let key_service = "api_key is a civicprobe courier token: `civicprobe courier add`".to_owned();
    match format {
        Format::Json => format::object(
            format,
            "discovery",
            &DiscoveryJson {
                changeset: CHANGESET.into(),
                contact,
                key_service,
                endpoints: vec![EndpointJson {
                    specification: SPEC,
                    url,
                    changeset: CHANGESET.into(),
                    kind: "production",
                    formats: FORMATS.to_vec(),
                }],
            },
        ),
        Format::Xml => format::object(
            format,
            "discovery",
            &DiscoveryXml {
                changeset: CHANGESET.into(),
                contact,
                key_service,
                endpoints: EndpointsXml {
                    endpoint: vec![EndpointXml {
                        specification: SPEC,
                        url,
                        changeset: CHANGESET.into(),
                        kind: "production",
                        formats: FormatsXml {
                            format: FORMATS.to_vec(),
                        },
                    }],
                },
            },
        ),
    }
}
