use rocket::data::{Data, ToByteUnit};
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;

use super::import::{self, ImportError, LineError};
use super::{AssignInput, Assignment, Event, Filter, Item, ItemInput, ReturnInput, StatusInput};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::time::LocalTime;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::query::Query;

/// A handover with its acceptance: `accepted_at` is null and `acceptance_status`
/// `awaiting_email` until the person accepts from the email's link.
#[derive(Serialize)]
pub struct AssignmentOut {
    #[serde(flatten)]
    assignment: Assignment,
    accepted_at: Option<String>,
    acceptance_status: &'static str,
}

impl AssignmentOut {
    fn new(assignment: Assignment, config: &Config) -> AssignmentOut {
        AssignmentOut {
            accepted_at: assignment.accepted_at.map(|t| config.timezone.rfc3339(t)),
            acceptance_status: assignment.acceptance_status(),
            assignment,
        }
    }
}

#[derive(Serialize)]
pub struct ItemWithHistory {
    #[serde(flatten)]
    item: Item,
    /// The open handover, if the item is held.
    current_assignment: Option<AssignmentOut>,
    history: Vec<Event>,
}

/// `GET /equipment`'s query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct EquipmentQuery {
    #[serde(default, deserialize_with = "kind")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "status")]
    pub status: Option<String>,
    pub programme_id: Option<i32>,
}

fn kind<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let codes: Vec<&str> = super::KINDS.iter().map(|(code, _)| *code).collect();
    crate::web::query::one_of(d, &codes)
}

fn status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let codes: Vec<&str> = super::STATUSES.iter().map(|(code, _)| *code).collect();
    crate::web::query::one_of(d, &codes)
}

#[rocket::get("/equipment")]
pub async fn list(
    db: &State<Db>,
    api: ApiUser,
    query: Query<EquipmentQuery>,
    page: Query<Page>,
) -> Result<Json<Vec<Item>>, AppError> {
    let EquipmentQuery {
        kind,
        status,
        programme_id,
    } = query.into_inner();
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
    config: &State<Config>,
    api: ApiUser,
    id: i32,
) -> Result<Json<ItemWithHistory>, AppError> {
    let user = api.0;
    let (item, current, history) = db
        .run(move |conn| {
            let item = super::get(conn, &user, id)?;
            let current = super::current_assignment(conn, id)?.map(|(a, _)| a);
            let history = super::history(conn, id)?;
            Ok((item, current, history))
        })
        .await?;
    Ok(Json(ItemWithHistory {
        item,
        current_assignment: current.map(|a| AssignmentOut::new(a, config)),
        history,
    }))
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
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<AssignInput>,
) -> Result<Created<Item>, AppError> {
    let (user, tz) = (api.0, config.timezone);
    let input = input.into_inner();
    let item = db
        .run(move |conn| super::assign(conn, &tz, &user, id, input))
        .await?;
    Ok(Created::new(format!("/api/v1/equipment/{id}"), item))
}

#[rocket::post("/equipment/<id>/return", data = "<input>")]
pub async fn give_back(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<ReturnInput>,
) -> Result<Json<Item>, AppError> {
    let (user, tz) = (api.0, config.timezone);
    let input = input.into_inner();
    db.run(move |conn| super::give_back(conn, &tz, &user, id, input))
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
    assignment: AssignmentOut,
    item: Item,
    current: bool,
}

/// A person's equipment, current and past.
#[rocket::get("/people/<id>/equipment")]
pub async fn of_person(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
) -> Result<Json<Vec<Held>>, AppError> {
    let user = api.0;
    let rows = db
        .run(move |conn| super::of_person(conn, &user, id))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(assignment, item)| Held {
                current: assignment.returned_on.is_none(),
                assignment: AssignmentOut::new(assignment, config),
                item,
            })
            .collect(),
    ))
}
