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

use crate::error::AppError;

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
        match crate::json::from_slice::<T>(&bytes) {
            Ok(value) => Outcome::Success(ApiJson(value)),
            Err(Some(error)) => fail(req, Status::UnprocessableEntity, error),
            Err(None) => {
                let (line, column) = crate::json::syntax_error(&bytes).unwrap_or((1, 1));
                fail(
                    req,
                    Status::BadRequest,
                    AppError::BadRequest(format!(
                        "Corps JSON mal formé (ligne {line}, colonne {column})."
                    )),
                )
            }
        }
    }
}

pub use crate::json::NUL_MESSAGE;

fn fail<'r, T: FromData<'r, Error = ()>>(
    req: &Request<'_>,
    status: Status,
    error: AppError,
) -> data::Outcome<'r, T> {
    remember_guard_error(req, error);
    Outcome::Error((status, ()))
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
#[derive(serde::Deserialize, Debug, Default, Clone, Copy, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0, default = 0)]
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
