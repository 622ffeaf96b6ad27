//! What the capabilities' parts of the OpenAPI document share: the problem answers (RFC 9457)
//! every operation names, a binary file, and enumerations built from the server's own lists.
//! [`crate::openapi`], on top, assembles the document.

use serde_json::Value;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{ToResponse, ToSchema};

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

        pub fn problem_responses() -> Vec<(String, RefOr<Response>)> {
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
