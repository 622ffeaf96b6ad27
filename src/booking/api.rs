use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use rocket::http::{ContentType, Header, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use rocket::State;
use serde::{Deserialize, Serialize};

use super::availability::{self, AbsenceInput, OpeningHoursInput, ServiceInput};
use super::model::{AppointmentOut, OpeningHoursOut, Service};
use super::service::{self, AppointmentFilter, BookingInput};
use super::slots::{free_slots, SlotOut, SlotQuery};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::status::ParticipantStatus;
use crate::time::{parse_rfc3339, LocalTime};
use crate::web::api::{ApiJson, Created, Page};
use crate::web::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_services,
    create_service,
    add_opening_hours,
    list_opening_hours,
    remove_opening_hours,
    add_absence,
    remove_absence,
    slots,
    book,
    list,
    show,
    ics,
    enrol,
    withdraw,
    reschedule,
    cancel,
    super::sharing::api_update
))]
pub struct ApiDoc;

/// A local date (`2026-12-03`) or an RFC 3339 time, read as a local date.
pub fn parse_day(field: &str, text: &str, tz: &Tz) -> Result<NaiveDate, AppError> {
    use chrono::TimeZone;
    crate::time::parse_date(text)
        .or_else(|| parse_rfc3339(text).map(|t| tz.from_utc_datetime(&t).date_naive()))
        .ok_or_else(|| {
            AppError::field(
                field,
                "Date attendue (AAAA-MM-JJ) ou date et heure RFC 3339.",
            )
        })
}

/// A bound of a period: an RFC 3339 time, or a local date meaning its midnight.
pub fn parse_bound(field: &str, text: &str, tz: &Tz) -> Result<NaiveDateTime, AppError> {
    parse_rfc3339(text)
        .or_else(|| crate::time::parse_date(text).map(|d| tz.to_utc(d, NaiveTime::MIN)))
        .ok_or_else(|| {
            AppError::field(
                field,
                "Date attendue (AAAA-MM-JJ) ou date et heure RFC 3339.",
            )
        })
}

/// Motifs de rendez-vous.
#[utoipa::path(
    get,
    path = "/api/v1/services",
    operation_id = "list_services",
    tag = "services",
    responses(
        (status = 200, description = "OK", body = Vec<Service>),
        (status = 401, response = Unauthorized),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/services")]
pub async fn list_services(db: &State<Db>, api: ApiUser) -> Result<Json<Vec<Service>>, AppError> {
    let user = api.0;
    db.run(move |conn| availability::list_services(conn, &user))
        .await
        .map(Json)
}

/// Créer un motif (admin, coordinateur).
#[utoipa::path(
    post,
    path = "/api/v1/services",
    operation_id = "create_service",
    tag = "services",
    request_body = ServiceInput,
    responses(
        (status = 201, description = "Créé", body = Service),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/services", data = "<input>")]
pub async fn create_service(
    db: &State<Db>,
    api: ApiUser,
    input: ApiJson<ServiceInput>,
) -> Result<Created<Service>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let service = db
        .run(move |conn| availability::create_service(conn, &user, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/services/{}", service.id),
        service,
    ))
}

/// Ajouter une permanence hebdomadaire (heure locale).
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/opening-hours",
    operation_id = "add_opening_hours",
    tag = "availability",
    params(("id" = i32, Path)),
    request_body = OpeningHoursInput,
    responses(
        (status = 201, description = "Créé", body = OpeningHoursOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/users/<id>/opening-hours", data = "<input>")]
pub async fn add_opening_hours(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    input: ApiJson<OpeningHoursInput>,
) -> Result<Created<OpeningHoursOut>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let row = db
        .run(move |conn| availability::add_opening_hours(conn, &user, id, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/users/{id}/opening-hours"),
        OpeningHoursOut::from(&row),
    ))
}

/// Permanences d'un médiateur.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/opening-hours",
    operation_id = "list_opening_hours",
    tag = "availability",
    params(("id" = i32, Path)),
    responses(
        (status = 200, description = "OK", body = Vec<OpeningHoursOut>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/users/<id>/opening-hours")]
pub async fn list_opening_hours(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
) -> Result<Json<Vec<OpeningHoursOut>>, AppError> {
    let user = api.0;
    let rows = db
        .run(move |conn| {
            crate::auth::model::user_by_id(conn, id)?
                .filter(|u| user.can_see(u.organisation_id))
                .ok_or(AppError::NotFound)?;
            availability::opening_hours_of(conn, &[id])
        })
        .await?;
    Ok(Json(rows.iter().map(OpeningHoursOut::from).collect()))
}

/// Supprimer une permanence.
#[utoipa::path(
    delete,
    path = "/api/v1/opening-hours/{id}",
    operation_id = "remove_opening_hours",
    tag = "availability",
    params(("id" = i32, Path)),
    responses(
        (status = 204, description = "Supprimée"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::delete("/opening-hours/<id>")]
pub async fn remove_opening_hours(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
) -> Result<Status, AppError> {
    let user = api.0;
    db.run(move |conn| availability::remove_opening_hours(conn, &user, id))
        .await?;
    Ok(Status::NoContent)
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Absence)]
pub struct AbsenceOut {
    id: i32,
    user_id: i32,
    #[schema(format = DateTime)]
    starts_at: String,
    #[schema(format = DateTime)]
    ends_at: String,
    #[schema(required = true)]
    reason: Option<String>,
}

/// Ajouter une absence.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/absences",
    operation_id = "add_absence",
    tag = "availability",
    params(("id" = i32, Path)),
    request_body = AbsenceInput,
    responses(
        (status = 201, description = "Créé", body = AbsenceOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/users/<id>/absences", data = "<input>")]
pub async fn add_absence(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<AbsenceInput>,
) -> Result<Created<AbsenceOut>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let tz = config.timezone;
    let row = db
        .run(move |conn| availability::add_absence(conn, &user, id, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/users/{id}/absences"),
        AbsenceOut {
            id: row.id,
            user_id: row.user_id,
            starts_at: tz.rfc3339(row.starts_at),
            ends_at: tz.rfc3339(row.ends_at),
            reason: row.reason,
        },
    ))
}

/// Supprimer une absence.
#[utoipa::path(
    delete,
    path = "/api/v1/absences/{id}",
    operation_id = "remove_absence",
    tag = "availability",
    params(("id" = i32, Path)),
    responses(
        (status = 204, description = "Supprimée"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::delete("/absences/<id>")]
pub async fn remove_absence(db: &State<Db>, api: ApiUser, id: i32) -> Result<Status, AppError> {
    let user = api.0;
    db.run(move |conn| availability::remove_absence(conn, &user, id))
        .await?;
    Ok(Status::NoContent)
}

/// `GET /slots`'s query.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotsQuery {
    pub service_id: i32,
    /// First day, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub to: String,
    pub mediator_id: Option<i32>,
    pub place_id: Option<i32>,
}

/// Créneaux libres (62 jours au plus).
#[utoipa::path(
    get,
    path = "/api/v1/slots",
    operation_id = "list_slots",
    tag = "appointments",
    params(SlotsQuery),
    responses(
        (status = 200, description = "OK", body = Vec<SlotOut>),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/slots")]
pub async fn slots(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    query: Query<SlotsQuery>,
) -> Result<Json<Vec<SlotOut>>, AppError> {
    let SlotsQuery {
        service_id,
        from,
        to,
        mediator_id,
        place_id,
    } = query.into_inner();
    let (from, to) = (from.as_str(), to.as_str());
    let user = api.0;
    let tz = config.timezone;
    let query = SlotQuery {
        service_id,
        from: parse_day("from", from, &tz)?,
        to: parse_day("to", to, &tz)?,
        mediator_id,
        place_id,
    };
    let found = db
        .run(move |conn| free_slots(conn, &user, &query, &tz))
        .await?;
    Ok(Json(found.iter().map(|s| s.out(&tz)).collect()))
}

/// The optional `Idempotency-Key` header.
pub struct IdempotencyKey(pub Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IdempotencyKey {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        request::Outcome::Success(IdempotencyKey(
            req.headers().get_one("Idempotency-Key").map(str::to_string),
        ))
    }
}

/// A JSON answer already serialised (stored for idempotent replays).
pub struct StoredJson {
    status: Status,
    body: String,
    location: Option<String>,
    replayed: bool,
}

impl<'r> Responder<'r, 'static> for StoredJson {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .status(self.status)
            .header(ContentType::JSON)
            .sized_body(self.body.len(), std::io::Cursor::new(self.body));
        if let Some(location) = self.location {
            response.header(Header::new("Location", location));
        }
        if self.replayed {
            response.header(Header::new("Idempotent-Replayed", "true"));
        }
        Ok(response.finalize())
    }
}

/// Réserver (individuel ou atelier) ; l'en-tête Idempotency-Key rend la requête rejouable.
// The body is read as a JSON value first, so that the idempotency fingerprint is taken over
// its canonical form, then typed into [`BookingInput`] (its schema in the document).
#[utoipa::path(
    post,
    path = "/api/v1/appointments",
    operation_id = "book_appointment",
    tag = "appointments",
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 200)),
    request_body = BookingInput,
    responses(
        (status = 201, description = "Créé", body = AppointmentOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/appointments", data = "<input>")]
pub async fn book(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    key: IdempotencyKey,
    input: ApiJson<serde_json::Value>,
) -> Result<StoredJson, AppError> {
    let user = api.0;
    let cfg = config.inner().clone();
    let tz = config.timezone;
    let raw = input.into_inner();
    let fingerprint =
        crate::idempotency::fingerprint("POST", "/api/v1/appointments", &raw.to_string());
    let input: BookingInput = crate::json::from_value(raw)?;
    let answer = db
        .run(move |conn| {
            crate::idempotency::run(conn, user.id, key.0.as_deref(), &fingerprint, 201, |conn| {
                let appointment = service::book(conn, &user, input, &cfg)?;
                serde_json::to_string(&appointment.out(&tz))
                    .map_err(|e| AppError::Internal(e.to_string()))
            })
        })
        .await?;
    // The stored answer (first or replayed) names the appointment created.
    #[derive(serde::Deserialize)]
    struct Created {
        id: i32,
    }
    let id = serde_json::from_str::<Created>(&answer.body)
        .ok()
        .map(|c| c.id);
    Ok(StoredJson {
        status: Status::new(answer.status),
        body: answer.body,
        location: id.map(|id| format!("/api/v1/appointments/{id}")),
        replayed: answer.replayed,
    })
}

/// `GET /appointments`'s query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppointmentsQuery {
    /// RFC 3339 time or `YYYY-MM-DD`.
    #[param(schema_with = date_or_time, required = false)]
    pub from: Option<String>,
    #[param(schema_with = date_or_time, required = false)]
    pub to: Option<String>,
    pub mediator_id: Option<i32>,
    pub place_id: Option<i32>,
    pub person_id: Option<i32>,
}

/// A day (`YYYY-MM-DD`, its midnight) or an RFC 3339 time, in the OpenAPI document.
fn date_or_time() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let string = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    AnyOfBuilder::new()
        .item(string(KnownFormat::Date))
        .item(string(KnownFormat::DateTime))
        .build()
        .into()
}

/// Rendez-vous.
#[utoipa::path(
    get,
    path = "/api/v1/appointments",
    operation_id = "list_appointments",
    tag = "appointments",
    params(AppointmentsQuery, Page),
    responses(
        (status = 200, description = "OK", body = Vec<AppointmentOut>),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/appointments")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    query: Query<AppointmentsQuery>,
    page: Query<Page>,
) -> Result<Json<Vec<AppointmentOut>>, AppError> {
    let AppointmentsQuery {
        from,
        to,
        mediator_id,
        place_id,
        person_id,
    } = query.into_inner();
    let (from, to) = (from.as_deref(), to.as_deref());
    let user = api.0;
    let tz = config.timezone;
    let (limit, offset) = page.bounds()?;
    let filter = AppointmentFilter {
        from: from.map(|f| parse_bound("from", f, &tz)).transpose()?,
        to: to.map(|t| parse_bound("to", t, &tz)).transpose()?,
        mediator_id,
        place_id,
        person_id,
        organisation_id: None,
        limit,
        offset,
    };
    let found = db
        .run(move |conn| service::list_out(conn, &user, &filter, &tz))
        .await?;
    Ok(Json(found))
}

/// Un rendez-vous et ses participants.
#[utoipa::path(
    get,
    path = "/api/v1/appointments/{id}",
    operation_id = "show_appointment",
    tag = "appointments",
    params(("id" = i32, Path)),
    responses(
        (status = 200, description = "OK", body = AppointmentOut),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/appointments/<id>")]
pub async fn show(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
) -> Result<Json<AppointmentOut>, AppError> {
    let user = api.0;
    let tz = config.timezone;
    let found = db.run(move |conn| service::load(conn, &user, id)).await?;
    Ok(Json(found.out(&tz)))
}

/// `GET /appointments/{id}/ics`: the appointment's calendar file, for integrators.
#[utoipa::path(
    get,
    path = "/api/v1/appointments/{id}/ics",
    operation_id = "appointment_calendar",
    tag = "appointments",
    summary = "Le fichier iCalendar (.ics) d'un rendez-vous",
    description = "Son UID ne dépend pas de public_url : il reste le même pour le rendez-vous.",
    params(("id" = i32, Path)),
    responses(
        (status = 200, description = "OK", content_type = "text/calendar", body = String),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/appointments/<id>/ics")]
pub async fn ics(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
) -> Result<super::web::IcsFile, AppError> {
    let user = api.0;
    let config = config.inner().clone();
    let body = db
        .run(move |conn| super::calendar::appointment_file(conn, &user, id, &config))
        .await?;
    Ok(super::web::IcsFile(body, format!("rendez-vous-{id}.ics")))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EnrolInput {
    #[schema(minimum = 1, maximum = 2147483647)]
    person_id: i32,
}

/// A participation just made: `booked`, or `waitlisted` when the workshop is full.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EnrolOut {
    person_id: i32,
    #[schema(schema_with = ParticipantStatus::schema)]
    status: ParticipantStatus,
}

/// Inscrire une personne (liste d'attente quand c'est complet).
#[utoipa::path(
    post,
    path = "/api/v1/appointments/{id}/participants",
    operation_id = "enrol_participant",
    tag = "appointments",
    params(("id" = i32, Path)),
    request_body = EnrolInput,
    responses(
        (status = 201, description = "Inscrit", body = EnrolOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/appointments/<id>/participants", data = "<input>")]
pub async fn enrol(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<EnrolInput>,
) -> Result<Created<EnrolOut>, AppError> {
    let user = api.0;
    let cfg = config.inner().clone();
    let person_id = input.into_inner().person_id;
    let status = db
        .run(move |conn| service::enrol(conn, &user, id, person_id, &cfg))
        .await?;
    Ok(Created::new(
        format!("/api/v1/appointments/{id}"),
        EnrolOut { person_id, status },
    ))
}

/// Désinscrire ; la première personne en attente prend la place.
#[utoipa::path(
    delete,
    path = "/api/v1/appointments/{id}/participants/{person_id}",
    operation_id = "withdraw_participant",
    tag = "appointments",
    params(("id" = i32, Path), ("person_id" = i32, Path)),
    responses(
        (status = 204, description = "Désinscrite"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::delete("/appointments/<id>/participants/<person_id>")]
pub async fn withdraw(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    person_id: i32,
) -> Result<Status, AppError> {
    let user = api.0;
    let cfg = config.inner().clone();
    db.run(move |conn| {
        service::withdraw(
            conn,
            Some(&user),
            id,
            person_id,
            ParticipantStatus::Cancelled,
            &cfg,
        )
    })
    .await?;
    Ok(Status::NoContent)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RescheduleInput {
    #[schema(format = DateTime)]
    starts_at: String,
    #[serde(default)]
    #[schema(default = false)]
    override_opening_hours: bool,
}

/// Déplacer.
#[utoipa::path(
    post,
    path = "/api/v1/appointments/{id}/reschedule",
    operation_id = "reschedule_appointment",
    tag = "appointments",
    params(("id" = i32, Path)),
    request_body = RescheduleInput,
    responses(
        (status = 200, description = "OK", body = AppointmentOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/appointments/<id>/reschedule", data = "<input>")]
pub async fn reschedule(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<RescheduleInput>,
) -> Result<Json<AppointmentOut>, AppError> {
    let user = api.0;
    let cfg = config.inner().clone();
    let tz = config.timezone;
    let input = input.into_inner();
    let moved = db
        .run(move |conn| {
            service::reschedule(
                conn,
                &user,
                id,
                &input.starts_at,
                input.override_opening_hours,
                &cfg,
            )
        })
        .await?;
    Ok(Json(moved.out(&tz)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CancelInput {
    /// Who cancels: the person (they are excused) or the structure.
    #[schema(schema_with = cancel_by_schema)]
    by: String,
    #[schema(max_length = 200)]
    reason: Option<String>,
}

fn cancel_by_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(["person", "structure"])
}

/// Annuler.
#[utoipa::path(
    post,
    path = "/api/v1/appointments/{id}/cancel",
    operation_id = "cancel_appointment",
    tag = "appointments",
    params(("id" = i32, Path)),
    request_body = CancelInput,
    responses(
        (status = 200, description = "OK", body = AppointmentOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::post("/appointments/<id>/cancel", data = "<input>")]
pub async fn cancel(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<CancelInput>,
) -> Result<Json<AppointmentOut>, AppError> {
    let user = api.0;
    let cfg = config.inner().clone();
    let tz = config.timezone;
    let input = input.into_inner();
    let cancelled = db
        .run(move |conn| service::cancel(conn, &user, id, &input.by, input.reason, &cfg))
        .await?;
    Ok(Json(cancelled.out(&tz)))
}
