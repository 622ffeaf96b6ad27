use rocket::serde::json::Json;
use rocket::State;

use super::{Place, PlaceInput};
use crate::auth::{ApiUser, Role};
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::query::Query;

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

#[rocket::get("/places/<id>")]
pub async fn show(db: &State<Db>, api: ApiUser, id: i32) -> Result<Json<Place>, AppError> {
    let user = api.0;
    db.run(move |conn| super::get(conn, &user, id))
        .await
        .map(Json)
}

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
