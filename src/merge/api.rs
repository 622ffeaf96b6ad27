//! The merge of `/api/v1`: `POST /api/v1/people/{id}/merge`, under the people's path and tag.

use rocket::serde::json::Json;
use rocket::State;

use crate::auth::ApiUser;
use crate::db::Db;
use crate::error::AppError;
use crate::people::Person;
use crate::web::api::ApiJson;
use crate::web::openapi::{BadRequest, Conflict, Invalid, NotFound, Unauthorized};

/// The merge's path in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(merge))]
pub struct ApiDoc;

/// Fusionner from_id dans cette personne (même structure) ; from_id répond ensuite 404 avec merged_into.
#[utoipa::path(
    post,
    path = "/api/v1/people/{id}/merge",
    operation_id = "merge_person",
    tag = "people",
    params(("id" = i32, Path)),
    request_body = super::MergeInput,
    responses(
        (status = 200, description = "La fiche conservée", body = Person),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/people/<id>/merge", data = "<input>")]
pub async fn merge(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    input: ApiJson<super::MergeInput>,
) -> Result<Json<Person>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    db.run(move |conn| super::merge(conn, &user, id, input))
        .await
        .map(Json)
}
