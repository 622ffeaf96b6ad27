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
use crate::status::EquipmentStatus;
use crate::time::LocalTime;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(ImportProblems), responses(ImportInvalid)),
    paths(
        list, create, show, import_csv, assign, give_back, set_status, of_person
    )
)]
pub struct ApiDoc;

/// A handover with its acceptance: `accepted_at` is null and `acceptance_status`
/// `awaiting_email` until the person accepts from the email's link.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Assignment)]
pub struct AssignmentOut {
    #[serde(flatten)]
    assignment: Assignment,
    /// Null tant que la personne n'a pas accepté depuis le lien de l'e-mail.
    #[schema(format = DateTime, required = true)]
    accepted_at: Option<String>,
    #[schema(schema_with = acceptance_status_schema)]
    acceptance_status: &'static str,
}

fn acceptance_status_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(["accepted", "awaiting_email"])
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

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = EquipmentWithHistory)]
pub struct ItemWithHistory {
    #[serde(flatten)]
    item: Item,
    /// La remise en cours, si le matériel est remis.
    #[schema(required = true)]
    current_assignment: Option<AssignmentOut>,
    history: Vec<Event>,
}

/// `GET /equipment`'s query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EquipmentQuery {
    #[serde(default, deserialize_with = "kind")]
    #[param(schema_with = kind_schema)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "status")]
    #[param(schema_with = EquipmentStatus::schema)]
    pub status: Option<EquipmentStatus>,
    pub programme_id: Option<i32>,
}

fn kind<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let codes: Vec<&str> = super::KINDS.iter().map(|(code, _)| *code).collect();
    crate::web::query::one_of(d, &codes)
}

fn status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<EquipmentStatus>, D::Error> {
    let text = crate::web::query::one_of(d, EquipmentStatus::TEXTS)?;
    Ok(text.as_deref().and_then(EquipmentStatus::parse))
}

fn kind_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(super::KINDS.iter().map(|(code, _)| *code))
}

/// Inventaire.
#[utoipa::path(
    get,
    path = "/api/v1/equipment",
    operation_id = "list_equipment",
    tag = "equipment",
    params(EquipmentQuery, Page),
    responses(
        (status = 200, description = "OK", body = Vec<Item>),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Inventorier un matériel.
#[utoipa::path(
    post,
    path = "/api/v1/equipment",
    operation_id = "create_equipment",
    tag = "equipment",
    request_body = ItemInput,
    responses(
        (status = 201, description = "Créé", body = Item),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Un matériel et son historique.
#[utoipa::path(
    get,
    path = "/api/v1/equipment/{id}",
    operation_id = "get_equipment",
    tag = "equipment",
    params(("id" = i32, Path)),
    responses(
        (status = 200, description = "OK", body = ItemWithHistory),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct Imported {
    imported: usize,
}

/// The 422 of an import: the lines to correct (`errors` a list), or any other problem
/// (`errors` by field, as everywhere).
pub struct ImportInvalid;

impl<'s> utoipa::ToResponse<'s> for ImportInvalid {
    fn response() -> (
        &'s str,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    ) {
        use utoipa::openapi::schema::OneOfBuilder;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let either = OneOfBuilder::new()
            .item(Ref::from_schema_name("ImportProblems"))
            .item(Ref::from_schema_name("Problem"));
        (
            "ImportInvalid",
            ResponseBuilder::new()
                .description(
                    "Lignes à corriger (errors : une entrée par ligne du fichier) : rien n'est                      importé ; ou un paramètre invalide (errors par champ)",
                )
                .content(
                    "application/problem+json",
                    ContentBuilder::new().schema(Some(either)).build(),
                )
                .build()
                .into(),
        )
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportProblems {
    r#type: &'static str,
    title: &'static str,
    #[schema(value_type = i32)]
    status: u16,
    detail: String,
    errors: Vec<LineError>,
}

/// A CSV body; nothing is imported unless every line is good.
/// Import CSV (séparateur ; ou ,, en-têtes français ou anglais) : tout ou rien.
#[utoipa::path(
    post,
    path = "/api/v1/equipment/import",
    operation_id = "import_equipment",
    tag = "equipment",
    request_body(
        content = String,
        content_type = "text/csv",
        description = "Le fichier CSV tel quel (UTF-8, avec ou sans BOM)",
    ),
    responses(
        (status = 200, description = "OK", body = Imported),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = ImportInvalid),
    ),
    security(("bearer" = [])),
)]
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

/// Remettre (don ou prêt) ; un seul détenteur à la fois.
#[utoipa::path(
    post,
    path = "/api/v1/equipment/{id}/assign",
    operation_id = "assign_equipment",
    tag = "equipment",
    params(("id" = i32, Path)),
    request_body = AssignInput,
    responses(
        (status = 201, description = "Remis", body = Item),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Enregistrer un retour.
#[utoipa::path(
    post,
    path = "/api/v1/equipment/{id}/return",
    operation_id = "return_equipment",
    tag = "equipment",
    params(("id" = i32, Path)),
    request_body = ReturnInput,
    responses(
        (status = 200, description = "OK", body = Item),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Perdu, cassé, réformé ou de nouveau en stock.
#[utoipa::path(
    post,
    path = "/api/v1/equipment/{id}/status",
    operation_id = "set_equipment_status",
    tag = "equipment",
    params(("id" = i32, Path)),
    request_body = StatusInput,
    responses(
        (status = 200, description = "OK", body = Item),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct Held {
    #[serde(flatten)]
    assignment: AssignmentOut,
    item: Item,
    current: bool,
}

/// Matériel actuel et passé d'une personne.
#[utoipa::path(
    get,
    path = "/api/v1/people/{id}/equipment",
    operation_id = "list_person_equipment",
    tag = "equipment",
    params(("id" = i32, Path)),
    responses(
        (status = 200, description = "OK", body = Vec<Held>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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
