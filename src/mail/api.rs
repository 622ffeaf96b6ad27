use rocket::serde::json::Json;
use rocket::State;

use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::outbox::{self, MessageOut};
use crate::web::api::Page;
use crate::web::openapi::{Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, retry))]
pub struct ApiDoc;

/// The outbox (admins: everything; managers: their organisation's), newest first.
/// `GET /messages`'s query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// `pending|sending|sent|dead|cancelled`.
    #[param(schema_with = status_schema)]
    pub status: Option<String>,
}

fn status_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(outbox::STATUSES)
}

/// La file des messages (admin : tout ; coordinateur : sa structure), du plus récent au plus ancien.
#[utoipa::path(
    get,
    path = "/api/v1/messages",
    operation_id = "list_messages",
    tag = "messages",
    params(MessagesQuery, Page),
    responses(
        (status = 200, description = "OK", body = Vec<MessageOut>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/messages")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    query: Query<MessagesQuery>,
    page: Query<Page>,
) -> Result<Json<Vec<MessageOut>>, AppError> {
    let MessagesQuery { status } = query.into_inner();
    let user = api.0;
    let (limit, offset) = page.bounds()?;
    let tz = config.timezone;
    let rows = db
        .run(move |conn| outbox::list(conn, &user, status.as_deref(), limit, offset))
        .await?;
    Ok(Json(rows.iter().map(|m| m.out(&tz)).collect()))
}

/// Relancer un message en échec définitif.
#[utoipa::path(
    post,
    path = "/api/v1/messages/{id}/retry",
    operation_id = "retry_message",
    tag = "messages",
    params(("id" = i32, Path)),
    responses(
        (status = 204, description = "Remis dans la file"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/messages/<id>/retry")]
pub async fn retry(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
) -> Result<rocket::http::Status, AppError> {
    let user = api.0;
    db.run(move |conn| outbox::retry(conn, &user, id)).await?;
    Ok(rocket::http::Status::NoContent)
}
