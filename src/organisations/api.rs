use rocket::serde::json::Json;
use rocket::State;

use super::{Organisation, OrganisationInput, OrganisationPatch};
use crate::auth::{ApiUser, Role};
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, update))]
pub struct ApiDoc;

/// Structures (admin).
#[utoipa::path(
    get,
    path = "/api/v1/organisations",
    operation_id = "list_organisations",
    tag = "organisations",
    params(Page),
    responses(
        (status = 200, description = "OK", body = Vec<Organisation>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/organisations")]
pub async fn list(
    db: &State<Db>,
    api: ApiUser,
    page: Query<Page>,
) -> Result<Json<Vec<Organisation>>, AppError> {
    let user = api.0;
    user.require(&[Role::Admin])?;
    let (limit, offset) = page.bounds()?;
    db.run(move |conn| super::list(conn, limit, offset))
        .await
        .map(Json)
}

/// Créer une structure (admin).
#[utoipa::path(
    post,
    path = "/api/v1/organisations",
    operation_id = "create_organisation",
    tag = "organisations",
    request_body = OrganisationInput,
    responses(
        (status = 201, description = "Créé", body = Organisation),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/organisations", data = "<input>")]
pub async fn create(
    db: &State<Db>,
    api: ApiUser,
    input: ApiJson<OrganisationInput>,
) -> Result<Created<Organisation>, AppError> {
    let user = api.0;
    user.require(&[Role::Admin])?;
    let input = input.into_inner();
    let org = db
        .run(move |conn| super::create(conn, &user, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/organisations/{}", org.id),
        org,
    ))
}

/// Renommer une structure ou changer l'adresse de sa page publique (admin).
#[utoipa::path(
    patch,
    path = "/api/v1/organisations/{id}",
    operation_id = "update_organisation",
    tag = "organisations",
    params(("id" = i32, Path)),
    request_body = OrganisationPatch,
    responses(
        (status = 200, description = "OK", body = Organisation),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::patch("/organisations/<id>", data = "<input>")]
pub async fn update(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    input: ApiJson<OrganisationPatch>,
) -> Result<Json<Organisation>, AppError> {
    let user = api.0;
    user.require(&[Role::Admin])?;
    let input = input.into_inner();
    db.run(move |conn| super::update(conn, &user, id, input))
        .await
        .map(Json)
}
