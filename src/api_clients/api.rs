//! `/api/v1/api-clients`: create (the token shown once), list, revoke.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

use super::{ApiClient, ApiClientInput, CreatedApiClient};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created};
use crate::web::openapi::{BadRequest, Forbidden, Invalid, NotFound, Unauthorized};

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, revoke))]
pub struct ApiDoc;

/// Créer un client d'API (admin, coordinateur) : il agit dans la structure de son créateur,
/// selon ses portées ; le jeton n'est montré qu'ici.
#[utoipa::path(
    post,
    path = "/api/v1/api-clients",
    operation_id = "create_api_client",
    tag = "api-clients",
    request_body = ApiClientInput,
    responses(
        (status = 201, description = "Créé", body = CreatedApiClient),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/api-clients", data = "<input>")]
pub async fn create(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    input: ApiJson<ApiClientInput>,
) -> Result<Created<CreatedApiClient>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    // Expiry dates are local days.
    let today = crate::time::today(&config.timezone);
    let tz = config.timezone;
    let created = db
        .run(move |conn| super::create(conn, &user, input, today, &tz))
        .await?;
    Ok(Created::new(
        format!("/api/v1/api-clients/{}", created.client.id),
        created,
    ))
}

/// Clients d'API de la structure (admin, coordinateur), avec leur dernière utilisation ;
/// jamais leur jeton.
#[utoipa::path(
    get,
    path = "/api/v1/api-clients",
    operation_id = "list_api_clients",
    tag = "api-clients",
    responses(
        (status = 200, description = "OK", body = Vec<ApiClient>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/api-clients")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
) -> Result<Json<Vec<ApiClient>>, AppError> {
    let user = api.0;
    let tz = config.timezone;
    db.run(move |conn| super::list(conn, &user, &tz))
        .await
        .map(Json)
}

/// Révoquer un client d'API (admin, coordinateur) : son jeton ne fonctionne plus.
#[utoipa::path(
    delete,
    path = "/api/v1/api-clients/{id}",
    operation_id = "revoke_api_client",
    tag = "api-clients",
    params(("id" = i32, Path)),
    responses(
        (status = 204, description = "Révoqué"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::delete("/api-clients/<id>")]
pub async fn revoke(db: &State<Db>, api: ApiUser, id: i32) -> Result<Status, AppError> {
    let user = api.0;
    db.run(move |conn| super::revoke(conn, &user, id)).await?;
    Ok(Status::NoContent)
}
