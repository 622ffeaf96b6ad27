//! The referral inbox for staff, in JSON.

use rocket::serde::json::Json;
use rocket::State;
use serde::Deserialize;

use super::{BookFromReferral, ReferralOut, ReferralPatch};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::status::ReferralStatus;
use crate::web::api::{ApiJson, Page};
use crate::web::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, update, book))]
pub struct ApiDoc;

/// `?status=&limit=&offset=`
#[derive(Deserialize, Debug, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReferralQuery {
    #[serde(default, deserialize_with = "status")]
    #[param(schema_with = ReferralStatus::schema)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

fn status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    crate::web::query::one_of(d, ReferralStatus::TEXTS)
}

impl ReferralQuery {
    pub fn bounds(&self) -> Result<(i64, i64), AppError> {
        Page {
            limit: self.limit,
            offset: self.offset,
        }
        .bounds()
    }
}

/// Orientations reçues (de la structure).
#[utoipa::path(
    get,
    path = "/api/v1/referrals",
    operation_id = "list_referrals",
    tag = "referrals",
    params(ReferralQuery),
    responses(
        (status = 200, description = "OK", body = Vec<ReferralOut>),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/referrals")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    query: Query<ReferralQuery>,
) -> Result<Json<Vec<ReferralOut>>, AppError> {
    let user = api.0;
    let query = query.into_inner();
    let (limit, offset) = query.bounds()?;
    let tz = config.timezone;
    db.run(move |conn| {
        super::list(
            conn,
            &user,
            query.status.as_deref().and_then(ReferralStatus::parse),
            limit,
            offset,
            &tz,
            None,
        )
    })
    .await
    .map(Json)
}

/// Changer l'état d'une orientation.
#[utoipa::path(
    patch,
    path = "/api/v1/referrals/{id}",
    operation_id = "update_referral",
    tag = "referrals",
    params(("id" = i32, Path)),
    request_body = ReferralPatch,
    responses(
        (status = 200, description = "OK", body = ReferralOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::patch("/referrals/<id>", data = "<input>")]
pub async fn update(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<ReferralPatch>,
) -> Result<Json<ReferralOut>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let tz = config.timezone;
    db.run(move |conn| super::set_status(conn, &user, id, input, &tz))
        .await
        .map(Json)
}

/// Prendre rendez-vous pour la personne d'une orientation, en une fois.
#[utoipa::path(
    post,
    path = "/api/v1/referrals/{id}/booking",
    operation_id = "book_referral",
    tag = "referrals",
    params(("id" = i32, Path)),
    request_body = BookFromReferral,
    responses(
        (status = 200, description = "OK", body = ReferralOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/referrals/<id>/booking", data = "<input>")]
pub async fn book(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<BookFromReferral>,
) -> Result<Json<ReferralOut>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let cfg = config.inner().clone();
    db.run(move |conn| super::book(conn, &user, id, input, &cfg))
        .await
        .map(Json)
}
