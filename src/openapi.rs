//! The OpenAPI document of `/api/v1`, generated from the code (utoipa): each capability
//! declares its operations next to its handlers (`#[utoipa::path]`) and its types
//! (`#[derive(ToSchema)]`, `IntoParams`); this module, above them all, assembles them with the
//! document's `info`, the bearer security scheme, the shared problem answers
//! ([`crate::web::openapi`]) and `servers`.
//!
//! Two rules hold for every JSON body because every body is read by one guard
//! ([`crate::web::api::ApiJson`]): unknown fields are refused (`additionalProperties: false`)
//! and no string may hold U+0000. They are stated here, once, on every schema a request body
//! reaches, rather than on each field.

use std::sync::OnceLock;

use rocket::response::content::RawJson;
use rocket::State;
use serde_json::{json, Value};
use utoipa::openapi::{
    security::HttpAuthScheme, security::HttpBuilder, security::SecurityScheme, ComponentsBuilder,
    InfoBuilder, OpenApiBuilder,
};
use utoipa::OpenApi as _;

use crate::web::openapi::{problem_responses, Problem};

/// The paths of the service itself.
#[derive(utoipa::OpenApi)]
#[openapi(paths(crate::web::health, serve))]
struct ServiceDoc;

/// The capabilities' parts, each with its paths and the schemas they reach.
fn parts() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        ServiceDoc::openapi(),
        crate::api_clients::api::ApiDoc::openapi(),
        crate::audit::api::ApiDoc::openapi(),
        crate::auth::api::ApiDoc::openapi(),
        crate::booking::api::ApiDoc::openapi(),
        crate::equipment::api::ApiDoc::openapi(),
        crate::exports::ApiDoc::openapi(),
        crate::mail::api::ApiDoc::openapi(),
        crate::merge::api::ApiDoc::openapi(),
        crate::organisations::api::ApiDoc::openapi(),
        crate::people::api::ApiDoc::openapi(),
        crate::people::import::api::ApiDoc::openapi(),
        crate::places::api::ApiDoc::openapi(),
        crate::privacy::api::ApiDoc::openapi(),
        crate::programmes::api::ApiDoc::openapi(),
        crate::public::api::ApiDoc::openapi(),
        crate::referrals::api::ApiDoc::openapi(),
        crate::reports::api::ApiDoc::openapi(),
        crate::skills::api::ApiDoc::openapi(),
        crate::webhooks::api::ApiDoc::openapi(),
    ]
}

fn generated() -> utoipa::openapi::OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Passerelle")
                .version("1")
                .description(Some(
                    "API JSON de Passerelle, serveur de médiation numérique. Authentification : \
                     POST /api/v1/tokens puis Authorization: Bearer JETON. Erreurs en \
                     application/problem+json.",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .schema_from::<Problem>()
                .responses_from_iter(problem_responses())
                .security_scheme(
                    "bearer",
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .build(),
        ))
        .build();
    for part in parts() {
        doc.merge(part);
    }
    doc
}

/// The document without `servers`, built once.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(generated()).expect("the OpenAPI document serialises");
        close_request_bodies(&mut doc);
        require_path_parameters(&mut doc);
        doc
    })
}

/// `required: true` on every path parameter, as OpenAPI wants (a parameter whose schema is
/// built by a function, `#[param(schema_with = ...)]`, is left without it).
fn require_path_parameters(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for parameter in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|ops| ops.values_mut())
        // `get_mut`: indexing would add `"parameters": null` to the operations without any.
        .filter_map(|op| op.get_mut("parameters").and_then(Value::as_array_mut))
        .flatten()
        .filter(|p| p["in"] == "path")
    {
        parameter["required"] = Value::Bool(true);
    }
}

/// `additionalProperties: false` on every object and "no U+0000" on every free string that a
/// JSON request body reaches (the rules of [`crate::web::api::ApiJson`]).
fn close_request_bodies(doc: &mut Value) {
    let mut names = Vec::new();
    let mut inline = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            if !schema.is_null() {
                collect_refs(schema, &mut names);
                inline.push((path.clone(), method.clone()));
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = names.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let schema = &doc["components"]["schemas"][&name];
        collect_refs(schema, &mut names);
    }
    for name in seen {
        close(&mut doc["components"]["schemas"][&name]);
    }
    for (path, method) in inline {
        close(
            &mut doc["paths"][&path][&method]["requestBody"]["content"]["application/json"]
                ["schema"],
        );
    }
}

fn collect_refs(schema: &Value, names: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    names.push(name.to_string());
                }
            }
            for value in map.values() {
                collect_refs(value, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, names)),
        _ => {}
    }
}

fn has_type(schema: &Value, wanted: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == wanted,
        Value::Array(types) => types.iter().any(|t| t == wanted),
        _ => false,
    }
}

fn close(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if map.contains_key("properties") && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    let free_string = has_type(&Value::Object(map.clone()), "string")
        && !["enum", "format", "pattern", "const"]
            .iter()
            .any(|k| map.contains_key(*k));
    if free_string {
        map.insert("pattern".into(), json!("^[^\u{0}]*$"));
    }
    for key in ["properties"] {
        if let Some(Value::Object(properties)) = map.get_mut(key) {
            properties.values_mut().for_each(close);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = map.get_mut(key) {
            close(inner);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(items)) = map.get_mut(key) {
            items.iter_mut().for_each(close);
        }
    }
}

/// The OpenAPI document, with this server's `public_url` as its `servers` entry.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi_document",
    tag = "service",
    summary = "Ce document (OpenAPI 3.1)",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object)),
)]
#[rocket::get("/openapi.json")]
pub fn serve(config: &State<crate::config::Config>) -> RawJson<String> {
    let mut doc = document().clone();
    doc["servers"] = json!([{ "url": config.public_url }]);
    RawJson(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation is named once, in snake_case.
    #[test]
    fn every_operation_has_its_own_snake_case_id() {
        let doc = document();
        let mut ids = std::collections::BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                assert!(
                    !id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{method} {path}: operationId {id:?}"
                );
                assert!(ids.insert(id.clone()), "operationId {id} twice");
            }
        }
    }

    /// Every reference of the document leads to a schema or a response it has.
    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        for (prefix, section) in [
            ("#/components/schemas/", "schemas"),
            ("#/components/responses/", "responses"),
        ] {
            for reference in text.split(&format!("\"{prefix}")).skip(1) {
                let name = reference.split('"').next().unwrap();
                assert!(
                    !doc["components"][section][name].is_null(),
                    "{prefix}{name} is not in the document"
                );
            }
        }
    }

    /// An operation's `parameters`, when it has some, is a list (OpenAPI refuses anything
    /// else: a conformance checker stops on the operation).
    #[test]
    fn parameters_are_lists_or_absent() {
        for (path, ops) in document()["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                if let Some(parameters) = op.get("parameters") {
                    assert!(parameters.is_array(), "{method} {path}: {parameters}");
                }
            }
        }
    }

    /// A path parameter is required, even one whose schema a function builds.
    #[test]
    fn path_parameters_are_required() {
        let doc = document();
        let file = &doc["paths"]["/exports/{file}"]["get"]["parameters"][0];
        assert_eq!(file["name"], "file");
        assert_eq!(file["required"], true);
    }

    /// Every time the API answers is RFC 3339 with the configured offset: the document says so
    /// of every `…_at` field, so the conformance run in CI checks each answer against it.
    #[test]
    fn every_time_field_of_the_document_is_a_date_time() {
        fn walk(value: &serde_json::Value, path: &str, wrong: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::Object(properties)) = map.get("properties") {
                        for (name, schema) in properties {
                            if name.ends_with("_at") && schema["format"] != "date-time" {
                                wrong.push(format!("{path}.{name}"));
                            }
                        }
                    }
                    for (key, inner) in map {
                        walk(inner, &format!("{path}/{key}"), wrong);
                    }
                }
                serde_json::Value::Array(items) => {
                    for item in items {
                        walk(item, path, wrong);
                    }
                }
                _ => {}
            }
        }
        let doc: serde_json::Value = document().clone();
        let mut wrong = Vec::new();
        walk(&doc, "", &mut wrong);
        assert!(
            wrong.is_empty(),
            "times without format date-time: {wrong:?}"
        );
    }

    /// The document offers exactly the codes the server accepts, wherever a place's
    /// `typologie` is an input or an output, and they are unique.
    #[test]
    fn the_openapi_document_lists_every_typology_the_server_accepts() {
        let doc: serde_json::Value = document().clone();
        let ours: Vec<&str> = crate::places::standard::TYPOLOGIES
            .iter()
            .map(|(c, _)| *c)
            .collect();
        let mut unique = ours.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ours.len());
        let mut seen = 0;
        for (_, schema) in doc["components"]["schemas"].as_object().unwrap() {
            let Some(enumeration) = schema["properties"]["typologie"]["enum"].as_array() else {
                continue;
            };
            let listed: Vec<&str> = enumeration.iter().filter_map(|v| v.as_str()).collect();
            assert_eq!(listed, ours);
            seen += 1;
        }
        assert!(seen >= 2, "the place and its input");
        for code in ours {
            assert!(crate::places::standard::check_typologie(code).is_ok());
        }
        assert!(crate::places::standard::check_typologie("CASINO").is_err());
    }
}
