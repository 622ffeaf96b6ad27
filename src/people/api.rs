use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;

use super::export::Export;
use super::{Person, PersonInput};
use crate::auth::{ApiUser, Role};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::query::Query;

/// `GET /people`'s query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct PeopleQuery {
    /// Words of a name, an email or a phone number.
    pub q: Option<String>,
}

#[rocket::get("/people")]
pub async fn list(
    db: &State<Db>,
    api: ApiUser,
    query: Query<PeopleQuery>,
    page: Query<Page>,
) -> Result<Json<Vec<Person>>, AppError> {
    let PeopleQuery { q } = query.into_inner();
    let user = api.0;
    let (limit, offset) = page.bounds()?;
    db.run(move |conn| super::search(conn, &user, q.as_deref(), limit, offset))
        .await
        .map(Json)
}

#[derive(Serialize)]
pub struct CreatedPerson {
    #[serde(flatten)]
    person: Person,
    possible_duplicates: Vec<i32>,
}

#[rocket::post("/people", data = "<input>")]
pub async fn create(
    db: &State<Db>,
    api: ApiUser,
    input: ApiJson<PersonInput>,
) -> Result<Created<CreatedPerson>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let (person, possible_duplicates) = db
        .run(move |conn| super::create(conn, &user, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/people/{}", person.id),
        CreatedPerson {
            person,
            possible_duplicates,
        },
    ))
}

#[rocket::get("/people/<id>")]
pub async fn show(db: &State<Db>, api: ApiUser, id: i32) -> Result<Json<Person>, AppError> {
    let user = api.0;
    db.run(move |conn| super::get(conn, &user, id))
        .await
        .map(Json)
}

#[rocket::patch("/people/<id>", data = "<patch>")]
pub async fn update(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    patch: ApiJson<serde_json::Value>,
) -> Result<Json<Person>, AppError> {
    let user = api.0;
    let patch = patch.into_inner();
    db.run(move |conn| super::patch(conn, &user, id, patch))
        .await
        .map(Json)
}

/// Erases (anonymises) the person.
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

/// Everything held on the person (GDPR access); the read is audited.
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

/// Merges `from_id` into this person; answers the kept person.
#[rocket::post("/people/<id>/merge", data = "<input>")]
pub async fn merge(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    input: ApiJson<super::merge::MergeInput>,
) -> Result<Json<Person>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    db.run(move |conn| super::merge::merge(conn, &user, id, input))
        .await
        .map(Json)
}
