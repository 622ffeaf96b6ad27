use rocket::serde::json::Json;
use rocket::State;

use super::{Programme, ProgrammeInput};
use crate::auth::ApiUser;
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::openapi::{BadRequest, Conflict, Forbidden, Invalid, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create))]
pub struct ApiDoc;

/// Dispositifs.
#[utoipa::path(
    get,
    path = "/api/v1/programmes",
    operation_id = "list_programmes",
    tag = "programmes",
    params(Page),
    responses(
        (status = 200, description = "OK", body = Vec<Programme>),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/programmes")]
pub async fn list(
    db: &State<Db>,
    _user: ApiUser,
    page: Query<Page>,
) -> Result<Json<Vec<Programme>>, AppError> {
    let (limit, offset) = page.bounds()?;
    db.run(move |conn| super::list(conn, limit, offset))
        .await
        .map(Json)
}

/// Créer un dispositif (admin, coordinateur).
#[utoipa::path(
    post,
    path = "/api/v1/programmes",
    operation_id = "create_programme",
    tag = "programmes",
    request_body = ProgrammeInput,
    responses(
        (status = 201, description = "Créé", body = Programme),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/programmes", data = "<input>")]
pub async fn create(
    db: &State<Db>,
    api: ApiUser,
    input: ApiJson<ProgrammeInput>,
) -> Result<Created<Programme>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let programme = db
        .run(move |conn| super::create(conn, &user, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/programmes/{}", programme.id),
        programme,
    ))
}
