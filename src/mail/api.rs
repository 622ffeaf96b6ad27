use rocket::serde::json::Json;
use rocket::State;

use super::outbox::{self, MessageOut};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::Page;
use crate::web::query::Query;

/// The outbox (admins: everything; managers: their organisation's), newest first.
/// `GET /messages`'s query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct MessagesQuery {
    /// `pending|sending|sent|dead|cancelled`.
    pub status: Option<String>,
}

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

/// Puts a dead message back in the queue.
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
