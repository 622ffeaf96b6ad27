use rocket::serde::json::Json;
use rocket::State;

use super::{Organisation, OrganisationInput, OrganisationPatch};
use crate::auth::{ApiUser, Role};
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::query::Query;

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
