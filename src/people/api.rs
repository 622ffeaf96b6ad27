use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;

use super::{Person, PersonInput};
use crate::auth::ApiUser;
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, show, update))]
pub struct ApiDoc;

/// `GET /people`'s query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// Words of a name, an email or a phone number.
    pub q: Option<String>,
}

/// Rechercher des personnes (nom, e-mail, téléphone ; sans tenir compte des accents).
#[utoipa::path(
    get,
    path = "/api/v1/people",
    operation_id = "list_people",
    tag = "people",
    params(PeopleQuery, Page),
    responses(
        (status = 200, description = "OK", body = Vec<Person>),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedPerson {
    #[serde(flatten)]
    person: Person,
    /// Les fiches qui semblent la même personne.
    possible_duplicates: Vec<i32>,
}

/// Créer une personne (pseudonyme possible).
#[utoipa::path(
    post,
    path = "/api/v1/people",
    operation_id = "create_person",
    tag = "people",
    request_body = PersonInput,
    responses(
        (status = 201, description = "Créé", body = CreatedPerson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Une personne.
#[utoipa::path(
    get,
    path = "/api/v1/people/{id}",
    operation_id = "get_person",
    tag = "people",
    params(("id" = i32, Path)),
    responses(
        (status = 200, description = "OK", body = Person),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/people/<id>")]
pub async fn show(db: &State<Db>, api: ApiUser, id: i32) -> Result<Json<Person>, AppError> {
    let user = api.0;
    db.run(move |conn| super::get(conn, &user, id))
        .await
        .map(Json)
}

/// Modifier une personne (JSON merge patch).
#[utoipa::path(
    patch,
    path = "/api/v1/people/{id}",
    operation_id = "update_person",
    tag = "people",
    params(("id" = i32, Path)),
    request_body = super::PersonPatch,
    responses(
        (status = 200, description = "OK", body = Person),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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
