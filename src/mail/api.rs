use chrono_tz::Tz;
use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;

use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::outbox::{self, MessageRow};
use crate::status::MessageStatus;
use crate::time::LocalTime;
use crate::web::api::Page;
use crate::web::openapi::{Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, retry))]
pub struct ApiDoc;

/// The outbox (admins: everything; managers: their organisation's), newest first.
/// `GET /messages`'s query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// `pending|sending|sent|dead|cancelled`.
    #[param(schema_with = MessageStatus::schema)]
    pub status: Option<String>,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = Message)]
pub struct MessageOut {
    pub id: i32,
    /// handover : demande à la personne (ou à son référent) d'accepter une remise de matériel,
    /// avec un lien /h/{jeton} ; reply : réponse par SMS à un OUI, NON ou STOP.
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    /// Adresse e-mail, ou numéro E.164 pour un SMS.
    pub recipient: String,
    #[schema(schema_with = recipient_kind_schema)]
    pub recipient_kind: String,
    /// Null pour un message handover.
    #[schema(required = true)]
    pub appointment_id: Option<i32>,
    /// La remise de matériel d'un message handover.
    #[schema(required = true)]
    pub assignment_id: Option<i32>,
    #[schema(format = DateTime)]
    pub due_at: String,
    #[schema(schema_with = MessageStatus::schema)]
    pub status: MessageStatus,
    pub attempts: i32,
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[schema(format = DateTime, required = true)]
    pub sent_at: Option<String>,
    /// `email` or `sms`.
    #[schema(schema_with = channel_schema)]
    pub channel: String,
    /// SMS : ce que la passerelle a rapporté (null tant que rien).
    #[schema(schema_with = delivery_schema)]
    pub delivery: Option<String>,
}

fn kind_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of([
        "confirmation",
        "reminder",
        "reschedule",
        "cancellation",
        "promotion",
        "handover",
        "reply",
        "receipt",
    ])
}

fn recipient_kind_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(["person", "referent", "referrer"])
}

fn channel_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(outbox::CHANNELS)
}

fn delivery_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(["delivered", "failed"])
}

impl MessageOut {
    /// An outbox row as the API shows it, its times in `tz`.
    pub fn of(row: &MessageRow, tz: &Tz) -> MessageOut {
        MessageOut {
            id: row.id,
            kind: row.kind.clone(),
            recipient: row.recipient.clone(),
            recipient_kind: row.recipient_kind.clone(),
            appointment_id: row.appointment_id,
            assignment_id: row.assignment_id,
            due_at: tz.rfc3339(row.due_at),
            status: row.status,
            attempts: row.attempts,
            last_error: row.last_error.clone(),
            sent_at: row.sent_at.map(|t| tz.rfc3339(t)),
            channel: row.channel.clone(),
            delivery: row.delivery.clone(),
        }
    }
}

/// La file des messages (admin : tout ; coordinateur : sa structure), du plus récent au plus ancien.
#[utoipa::path(
    get,
    path = "/api/v1/messages",
    operation_id = "list_messages",
    tag = "messages",
    params(MessagesQuery, Page),
    responses(
        (status = 200, description = "OK", body = Vec<MessageOut>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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
        .run(move |conn| super::messages::list(conn, &user, status.as_deref(), limit, offset))
        .await?;
    Ok(Json(rows.iter().map(|m| MessageOut::of(m, &tz)).collect()))
}

/// Relancer un message en échec définitif.
#[utoipa::path(
    post,
    path = "/api/v1/messages/{id}/retry",
    operation_id = "retry_message",
    tag = "messages",
    params(("id" = i32, Path)),
    responses(
        (status = 204, description = "Remis dans la file"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/messages/<id>/retry")]
pub async fn retry(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
) -> Result<rocket::http::Status, AppError> {
    let user = api.0;
    db.run(move |conn| super::messages::retry(conn, &user, id))
        .await?;
    Ok(rocket::http::Status::NoContent)
}
