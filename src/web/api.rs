//! Small pieces every JSON route uses: body parsing into problem+json errors, 201 answers,
//! pagination.

use std::sync::Mutex;

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::{Header, Status};
use rocket::outcome::Outcome;
use rocket::request::Request;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{AppError, FieldErrors};

/// The error a guard failed with, kept so the catcher can answer with its detail.
#[derive(Default)]
pub struct GuardError(pub Mutex<Option<AppError>>);

pub fn remember_guard_error(req: &Request<'_>, error: AppError) {
    let slot = req.local_cache(GuardError::default);
    if let Ok(mut slot) = slot.0.lock() {
        *slot = Some(error);
    }
}

pub fn take_guard_error(req: &Request<'_>) -> Option<AppError> {
    req.local_cache(GuardError::default)
        .0
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
}

/// A JSON body: malformed JSON is a 400, a body of the wrong shape a 422 naming the field.
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

#[rocket::async_trait]
impl<'r, T: DeserializeOwned> FromData<'r> for ApiJson<T> {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let limit = req.limits().get("json").unwrap_or(1.mebibytes());
        let bytes = match data.open(limit).into_bytes().await {
            Ok(bytes) if bytes.is_complete() => bytes.into_inner(),
            Ok(_) => {
                return fail(
                    req,
                    Status::PayloadTooLarge,
                    AppError::BadRequest("Le corps de la requête est trop volumineux.".into()),
                )
            }
            Err(_) => {
                return fail(
                    req,
                    Status::BadRequest,
                    AppError::BadRequest("Le corps de la requête n'a pas pu être lu.".into()),
                )
            }
        };
        // PostgreSQL cannot store U+0000 in text (SQLite can): refused the same way on both.
        if let Some(field) = field_with_nul(&bytes) {
            return fail(
                req,
                Status::UnprocessableEntity,
                AppError::field(&field, NUL_MESSAGE),
            );
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let parsed = serde_path_to_error::deserialize::<_, T>(&mut de);
        // Trailing garbage after the value is malformed JSON too.
        if let (Ok(_), Err(e)) = (&parsed, de.end()) {
            return fail(
                req,
                Status::BadRequest,
                AppError::BadRequest(format!(
                    "Corps JSON mal formé (ligne {}, colonne {}).",
                    e.line(),
                    e.column()
                )),
            );
        }
        match parsed {
            Ok(value) => Outcome::Success(ApiJson(value)),
            Err(err) => {
                let path = err.path().to_string();
                let inner = err.into_inner();
                if inner.is_data() {
                    let (field, message) = describe_data_error(&path, &inner.to_string());
                    let mut errors = FieldErrors::new();
                    errors.insert(field, vec![message]);
                    fail(
                        req,
                        Status::UnprocessableEntity,
                        AppError::Validation(errors),
                    )
                } else {
                    fail(
                        req,
                        Status::BadRequest,
                        AppError::BadRequest(format!(
                            "Corps JSON mal formé (ligne {}, colonne {}).",
                            inner.line(),
                            inner.column()
                        )),
                    )
                }
            }
        }
    }
}

pub const NUL_MESSAGE: &str = "Le caractère nul (U+0000) n'est pas accepté.";

/// The first field (`participants[0].note`) whose text or name holds U+0000, in a JSON body.
fn field_with_nul(bytes: &[u8]) -> Option<String> {
    // JSON can only carry it escaped; most bodies are spared the second parse.
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        let name = |p: &str| {
            if p.is_empty() {
                "body".to_string()
            } else {
                p.to_string()
            }
        };
        match value {
            serde_json::Value::String(s) if s.contains('\0') => Some(name(path)),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k.contains('\0') {
                    Some(name(path))
                } else {
                    walk(v, &here)
                }
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&value, "")
}

fn fail<'r, T: FromData<'r, Error = ()>>(
    req: &Request<'_>,
    status: Status,
    error: AppError,
) -> data::Outcome<'r, T> {
    remember_guard_error(req, error);
    Outcome::Error((status, ()))
}

/// Turns serde's message into a field name and a French message.
fn describe_data_error(path: &str, message: &str) -> (String, String) {
    let base = if path == "." {
        String::new()
    } else {
        path.to_string()
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let field = if base.is_empty() {
            name.to_string()
        } else {
            format!("{base}.{name}")
        };
        return (field, "Ce champ est obligatoire.".into());
    }
    let field = if base.is_empty() {
        "body".to_string()
    } else {
        base
    };
    let cleaned = message.split(" at line ").next().unwrap_or(message);
    (field, format!("Valeur invalide : {cleaned}."))
}

/// `201 Created` with a `Location` header and a JSON body.
pub struct Created<T> {
    location: String,
    body: T,
}

impl<T> Created<T> {
    pub fn new(location: String, body: T) -> Self {
        Created { location, body }
    }
}

impl<'r, T: Serialize> Responder<'r, 'static> for Created<T> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Json(self.body).respond_to(req)?;
        response.set_status(Status::Created);
        response.set_header(Header::new("Location", self.location));
        Ok(response)
    }
}

/// `limit` (default 100, at most 1000) and `offset`, read with [`crate::web::query::Query`].
#[derive(serde::Deserialize, Debug, Default, Clone, Copy)]
pub struct Page {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Page {
    pub fn bounds(&self) -> Result<(i64, i64), AppError> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(AppError::field(
                "limit",
                "limit doit être compris entre 1 et 1000.",
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(AppError::field(
                "offset",
                "offset ne peut pas être négatif.",
            ));
        }
        Ok((limit, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::describe_data_error;

    #[test]
    fn serde_errors_name_the_field() {
        assert_eq!(
            describe_data_error(".", "missing field `given_name` at line 1 column 2"),
            (
                "given_name".to_string(),
                "Ce champ est obligatoire.".to_string()
            )
        );
        let (field, _) = describe_data_error(
            "birth_year",
            "invalid type: string \"x\", expected i32 at line 1 column 20",
        );
        assert_eq!(field, "birth_year");
    }
}

/// Runs each route's handler in a request scope ([`crate::db::scope`]) that its guards and its
/// [`crate::db::Db::run`] calls share: the API token is then checked on the handler's own
/// connection, in its own blocking task (one hop per request). A request whose token is refused
/// answers 401 whatever its handler did meanwhile (it could read nothing).
pub fn one_hop(routes: Vec<rocket::Route>) -> Vec<rocket::Route> {
    routes
        .into_iter()
        .map(|mut route| {
            route.handler = Box::new(OneHop(route.handler));
            route
        })
        .collect()
}

#[derive(Clone)]
struct OneHop(Box<dyn rocket::route::Handler>);

#[rocket::async_trait]
impl rocket::route::Handler for OneHop {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> rocket::route::Outcome<'r> {
        let scope = std::sync::Arc::new(crate::db::RequestScope::default());
        let outcome = crate::db::scope(scope.clone(), self.0.handle(req, data)).await;
        let Some(auth) = scope
            .prelude()
            .and_then(|p| p.as_any().downcast_ref::<crate::auth::ApiAuth>())
        else {
            return outcome;
        };
        // A handler that never reached the database: the token is checked now.
        let refusal = match auth.refusal() {
            Some(refusal) => refusal,
            None => auth.check_now().await,
        };
        if let Err(e) = refusal {
            let status = e.status();
            remember_guard_error(req, e);
            return Outcome::Error(status);
        }
        outcome
    }
}
