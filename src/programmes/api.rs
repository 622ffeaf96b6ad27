use rocket::serde::json::Json;
use rocket::State;

use super::{Programme, ProgrammeInput};
use crate::auth::ApiUser;
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::query::Query;

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
