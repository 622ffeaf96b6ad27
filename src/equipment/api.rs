use rocket::data::{Data, ToByteUnit};
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;

use super::import::{self, ImportError, LineError};
use super::{AssignInput, Assignment, Event, Filter, Item, ItemInput, ReturnInput, StatusInput};
use crate::auth::ApiUser;
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created, Page};

#[derive(Serialize)]
pub struct ItemWithHistory {
    #[serde(flatten)]
    item: Item,
    history: Vec<Event>,
}

#[rocket::get("/equipment?<kind>&<status>&<programme_id>&<page..>")]
pub async fn list(
    db: &State<Db>,
    api: ApiUser,
    kind: Option<String>,
    status: Option<String>,
    programme_id: Option<i32>,
    page: Page,
) -> Result<Json<Vec<Item>>, AppError> {
    let user = api.0;
    let (limit, offset) = page.bounds()?;
    let filter = Filter {
        kind,
        status,
        programme_id,
        limit,
        offset,
    };
    db.run(move |conn| super::list(conn, &user, &filter))
        .await
        .map(Json)
}

#[rocket::post("/equipment", data = "<input>")]
pub async fn create(
    db: &State<Db>,
    api: ApiUser,
    input: ApiJson<ItemInput>,
) -> Result<Created<Item>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let item = db
        .run(move |conn| super::create(conn, &user, input))
        .await?;
    Ok(Created::new(format!("/api/v1/equipment/{}", item.id), item))
}

#[rocket::get("/equipment/<id>")]
pub async fn show(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
) -> Result<Json<ItemWithHistory>, AppError> {
    let user = api.0;
    db.run(move |conn| {
        let item = super::get(conn, &user, id)?;
        let history = super::history(conn, id)?;
        Ok(Json(ItemWithHistory { item, history }))
    })
    .await
}

#[derive(Serialize)]
pub struct Imported {
    imported: usize,
}

#[derive(Serialize)]
pub struct ImportProblems {
    r#type: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    errors: Vec<LineError>,
}

/// A CSV body; nothing is imported unless every line is good.
#[rocket::post("/equipment/import", data = "<body>")]
pub async fn import_csv(
    db: &State<Db>,
    api: ApiUser,
    body: Data<'_>,
) -> Result<
    Result<Json<Imported>, (Status, (rocket::http::ContentType, Json<ImportProblems>))>,
    AppError,
> {
    let user = api.0;
    let text = body
        .open(20.mebibytes())
        .into_string()
        .await
        .map_err(|_| AppError::BadRequest("Le fichier n'est pas du texte UTF-8.".into()))?;
    if !text.is_complete() {
        return Err(AppError::BadRequest("Le fichier dépasse 20 Mio.".into()));
    }
    let csv = text.into_inner();
    match db
        .run(move |conn| Ok(import::import(conn, &user, &csv)))
        .await?
    {
        Ok(imported) => Ok(Ok(Json(Imported { imported }))),
        Err(ImportError::Lines(errors)) => Ok(Err((
            Status::UnprocessableEntity,
            (
                rocket::http::ContentType::new("application", "problem+json"),
                Json(ImportProblems {
                    r#type: "about:blank",
                    title: "Données invalides",
                    status: 422,
                    detail: format!(
                        "{} ligne(s) à corriger : rien n'a été importé.",
                        errors.len()
                    ),
                    errors,
                }),
            ),
        ))),
        Err(ImportError::Other(e)) => Err(e),
    }
}

#[rocket::post("/equipment/<id>/assign", data = "<input>")]
pub async fn assign(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    input: ApiJson<AssignInput>,
) -> Result<Created<Item>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let item = db
        .run(move |conn| super::assign(conn, &user, id, input))
        .await?;
    Ok(Created::new(format!("/api/v1/equipment/{id}"), item))
}

#[rocket::post("/equipment/<id>/return", data = "<input>")]
pub async fn give_back(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    input: ApiJson<ReturnInput>,
) -> Result<Json<Item>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    db.run(move |conn| super::give_back(conn, &user, id, input))
        .await
        .map(Json)
}

#[rocket::post("/equipment/<id>/status", data = "<input>")]
pub async fn set_status(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    input: ApiJson<StatusInput>,
) -> Result<Json<Item>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    db.run(move |conn| super::set_status(conn, &user, id, input))
        .await
        .map(Json)
}

#[derive(Serialize)]
pub struct Held {
    #[serde(flatten)]
    assignment: Assignment,
    item: Item,
    current: bool,
}

/// A person's equipment, current and past.
#[rocket::get("/people/<id>/equipment")]
pub async fn of_person(db: &State<Db>, api: ApiUser, id: i32) -> Result<Json<Vec<Held>>, AppError> {
    let user = api.0;
    let rows = db
        .run(move |conn| super::of_person(conn, &user, id))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(assignment, item)| Held {
                current: assignment.returned_on.is_none(),
                assignment,
                item,
            })
            .collect(),
    ))
}
