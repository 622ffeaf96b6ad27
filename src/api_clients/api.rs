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

#[rocket::delete("/api-clients/<id>")]
pub async fn revoke(db: &State<Db>, api: ApiUser, id: i32) -> Result<Status, AppError> {
    let user = api.0;
    db.run(move |conn| super::revoke(conn, &user, id)).await?;
    Ok(Status::NoContent)
}
