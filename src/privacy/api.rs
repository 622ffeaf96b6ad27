//! The privacy operations of `/api/v1`: erasing a person and exporting everything held on
//! them. They answer under the people's paths and tag (`/api/v1/people/{id}`, its `/export`),
//! but live here, above the capabilities they span.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

use super::export::Export;
use crate::auth::{ApiUser, Role};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::openapi::{Forbidden, Invalid, NotFound, Unauthorized};

/// The paths of the privacy operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(erase, export))]
pub struct ApiDoc;

/// Effacer (anonymiser) une personne (admin, coordinateur) : nom, coordonnées, notes et prescripteur effacés, désinscription de ses rendez-vous à venir ; les statistiques restent.
#[utoipa::path(
    delete,
    path = "/api/v1/people/{id}",
    operation_id = "erase_person",
    tag = "people",
    params(("id" = i32, Path)),
    responses(
        (status = 204, description = "Anonymisée"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::delete("/people/<id>")]
pub async fn erase(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
) -> Result<Status, AppError> {
    let user = api.0;
    user.require(&[Role::Admin, Role::Manager])?;
    let config = config.inner().clone();
    db.run(move |conn| super::erase(conn, &config, &user, id))
        .await?;
    Ok(Status::NoContent)
}

/// Tout ce qui est conservé sur la personne (RGPD) ; la lecture est tracée.
#[utoipa::path(
    get,
    path = "/api/v1/people/{id}/export",
    operation_id = "export_person",
    tag = "people",
    params(("id" = i32, Path)),
    responses(
        (status = 200, description = "OK", body = Export),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/people/<id>/export")]
pub async fn export(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
) -> Result<Json<Export>, AppError> {
    let user = api.0;
    let tz = config.timezone;
    db.run(move |conn| super::export::export(conn, &tz, &user, id))
        .await
        .map(Json)
}
