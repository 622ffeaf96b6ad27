//! The OpenAPI document of `/api/v1`, generated from the code (utoipa): each capability
//! declares its operations next to its handlers (`#[utoipa::path]`) and its types
//! (`#[derive(ToSchema)]`, `IntoParams`); this module assembles them with the document's
//! `info`, the bearer security scheme, the shared problem answers and `servers`.
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
    ContentBuilder, InfoBuilder, OpenApiBuilder, Ref, RefOr, Response, ResponseBuilder,
};
use utoipa::{OpenApi as _, ToResponse, ToSchema};

/// An `application/problem+json` answer (RFC 9457): every 4xx and 5xx of the API.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// `urn:passerelle:problem:CODE`, or `about:blank`.
    #[schema(rename = "type")]
    kind: String,
    title: String,
    #[schema(minimum = 100, maximum = 599)]
    status: i32,
    detail: String,
    /// A stable code for the cases a client may act on (`slot_taken`…).
    #[schema(nullable = false)]
    code: Option<String>,
    /// The messages of each field or parameter, by its name (`participants[0].person_id`).
    #[schema(nullable = false)]
    errors: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

macro_rules! problem_answers {
    ($($name:ident: $description:literal;)*) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                (
                    stringify!($name),
                    ResponseBuilder::new()
                        .description($description)
                        .content(
                            "application/problem+json",
                            ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                        )
                        .build()
                        .into(),
                )
            }
        }
    )*

        fn problem_responses() -> Vec<(String, RefOr<Response>)> {
            vec![$({
                let (name, response) = $name::response();
                (name.to_string(), response)
            }),*]
        }
    };
}

problem_answers! {
    BadRequest: "Corps mal formé (JSON illisible)";
    Unauthorized: "Jeton absent, invalide ou expiré";
    Forbidden: "Rôle ou portée insuffisants";
    NotFound: "Introuvable ou d'une autre structure";
    Conflict: "Conflit avec l'état de l'enregistrement";
    PayloadTooLarge: "Fichier trop volumineux";
    Invalid: "Paramètre ou corps invalide (errors nomme chaque champ)";
    TooManyRequests: "Trop de demandes : réessayer plus tard";
}

/// A file answered as is (XLSX).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct BinaryFile(Vec<u8>);

/// A string that is one of `values` (for the `schema_with` of a field kept as a `String`).
pub fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values))
        .build()
}

/// As [`one_of`], or null.
pub fn one_of_or_null<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(
            values.into_iter().map(Value::from).chain([Value::Null]),
        ))
        .build()
}

/// `GET /health`'s answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Health {
    #[schema(schema_with = health_status)]
    status: String,
    #[schema(schema_with = health_database)]
    database: String,
}

fn health_status() -> utoipa::openapi::schema::Object {
    one_of(["ok", "error"])
}

fn health_database() -> utoipa::openapi::schema::Object {
    one_of(["ok", "unreachable"])
}

/// The paths of the service itself.
#[derive(utoipa::OpenApi)]
#[openapi(paths(super::health, serve))]
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
        crate::organisations::api::ApiDoc::openapi(),
        crate::people::api::ApiDoc::openapi(),
        crate::people::import::api::ApiDoc::openapi(),
        crate::places::api::ApiDoc::openapi(),
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
}
