use rocket::serde::json::Json;
use rocket::State;

use super::{Place, PlaceInput};
use crate::auth::{ApiUser, Role};
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::openapi::{BadRequest, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, show, update,))]
pub struct ApiDoc;

/// Lieux de la structure.
#[utoipa::path(
    get,
    path = "/api/v1/places",
    operation_id = "list_places",
    tag = "places",
    params(Page),
    responses(
        (status = 200, description = "OK", body = Vec<Place>),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/places")]
pub async fn list(
    db: &State<Db>,
    api: ApiUser,
    page: Query<Page>,
) -> Result<Json<Vec<Place>>, AppError> {
    let user = api.0;
    let (limit, offset) = page.bounds()?;
    db.run(move |conn| super::list(conn, &user, limit, offset))
        .await
        .map(Json)
}

/// Créer un lieu (admin, coordinateur).
#[utoipa::path(
    post,
    path = "/api/v1/places",
    operation_id = "create_place",
    tag = "places",
    request_body = PlaceInput,
    responses(
        (status = 201, description = "Créé", body = Place),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/places", data = "<input>")]
pub async fn create(
    db: &State<Db>,
    api: ApiUser,
    input: ApiJson<PlaceInput>,
) -> Result<Created<Place>, AppError> {
    let user = api.0;
    user.require(&[Role::Admin, Role::Manager])?;
    let input = input.into_inner();
    let place = db
        .run(move |conn| super::create(conn, &user, input))
        .await?;
    Ok(Created::new(format!("/api/v1/places/{}", place.id), place))
}

/// Un lieu.
#[utoipa::path(
    get,
    path = "/api/v1/places/{id}",
    operation_id = "get_place",
    tag = "places",
    params(("id" = i32, Path)),
    responses(
        (status = 200, description = "OK", body = Place),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/places/<id>")]
pub async fn show(db: &State<Db>, api: ApiUser, id: i32) -> Result<Json<Place>, AppError> {
    let user = api.0;
    db.run(move |conn| super::get(conn, &user, id))
        .await
        .map(Json)
}

/// Modifier un lieu (JSON merge patch).
#[utoipa::path(
    patch,
    path = "/api/v1/places/{id}",
    operation_id = "update_place",
    tag = "places",
    params(("id" = i32, Path)),
    request_body = super::PlacePatch,
    responses(
        (status = 200, description = "OK", body = Place),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::patch("/places/<id>", data = "<patch>")]
pub async fn update(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    patch: ApiJson<serde_json::Value>,
) -> Result<Json<Place>, AppError> {
    let user = api.0;
    user.require(&[Role::Admin, Role::Manager])?;
    let patch = patch.into_inner();
    db.run(move |conn| super::patch(conn, &user, id, patch))
        .await
        .map(Json)
}
