//! The portal API: a département's website lists the services and free slots of a structure
//! and books, with no token. Throttled like the pages.

use std::net::IpAddr;

use chrono::NaiveDate;
use rocket::serde::json::Json;
use rocket::State;
use serde::Deserialize;

use super::service::{
    self, BookingDone, BookingRequest, PublicService, PublicSlot, ReferralReceived, ReferralRequest,
};
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::web::api::{ApiJson, Created};
use crate::web::openapi::{BadRequest, Conflict, Invalid, NotFound, TooManyRequests};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(services, slots, book, refer))]
pub struct ApiDoc;

/// Motifs réservables en ligne d'une structure (sans jeton).
#[utoipa::path(
    get,
    path = "/api/v1/public/{slug}/services",
    operation_id = "list_public_services",
    tag = "public",
    params(("slug" = String, Path, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 2, max_length = 60)),
    responses(
        (status = 200, description = "OK", body = Vec<PublicService>),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
#[rocket::get("/public/<slug>/services")]
pub async fn services(db: &State<Db>, slug: String) -> Result<Json<Vec<PublicService>>, AppError> {
    db.run(move |conn| {
        let org = service::organisation(conn, &slug)?;
        // The portal shows what referrers may book too, with `bookable_by` saying so.
        service::bookable_services(conn, org.id, true)
    })
    .await
    .map(Json)
}

/// `?service_id=&from=&to=&place_id=`
#[derive(Deserialize, Debug, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SlotsQuery {
    #[param(required = true)]
    pub service_id: Option<i32>,
    #[serde(default, deserialize_with = "crate::web::query::date")]
    #[param(required = true)]
    pub from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::web::query::date")]
    #[param(required = true)]
    pub to: Option<NaiveDate>,
    pub place_id: Option<i32>,
}

/// Créneaux libres d'un motif réservable en ligne (62 jours au plus, sans jeton).
#[utoipa::path(
    get,
    path = "/api/v1/public/{slug}/slots",
    operation_id = "list_public_slots",
    tag = "public",
    params(("slug" = String, Path, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 2, max_length = 60), SlotsQuery),
    responses(
        (status = 200, description = "OK", body = Vec<PublicSlot>),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
#[rocket::get("/public/<slug>/slots")]
pub async fn slots(
    db: &State<Db>,
    config: &State<Config>,
    slug: String,
    query: Query<SlotsQuery>,
) -> Result<Json<Vec<PublicSlot>>, AppError> {
    let query = query.into_inner();
    let tz = config.timezone;
    db.run(move |conn| {
        let org = service::organisation(conn, &slug)?;
        let mut errors = FieldErrors::new();
        for (name, missing) in [
            ("service_id", query.service_id.is_none()),
            ("from", query.from.is_none()),
            ("to", query.to.is_none()),
        ] {
            if missing {
                errors.insert(name.into(), vec!["Ce paramètre est obligatoire.".into()]);
            }
        }
        let (Some(service_id), Some(from), Some(to), true) =
            (query.service_id, query.from, query.to, errors.is_empty())
        else {
            return Err(AppError::Validation(errors));
        };
        let service = service::bookable_service(conn, org.id, service_id, true)?;
        service::slots(conn, &service, from, to, query.place_id, &tz)
    })
    .await
    .map(Json)
}

/// Réserver un créneau (une personne, ou un prescripteur pour elle ; sans jeton, limité).
#[utoipa::path(
    post,
    path = "/api/v1/public/{slug}/bookings",
    operation_id = "create_public_booking",
    tag = "public",
    params(("slug" = String, Path, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 2, max_length = 60)),
    request_body = BookingRequest,
    responses(
        (status = 201, description = "Réservé (ou en liste d'attente d'un atelier)", body = BookingDone),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 429, response = TooManyRequests),
    ),
)]
#[rocket::post("/public/<slug>/bookings", data = "<input>")]
pub async fn book(
    db: &State<Db>,
    config: &State<Config>,
    slug: String,
    address: Option<IpAddr>,
    input: ApiJson<BookingRequest>,
) -> Result<Created<BookingDone>, AppError> {
    let input = input.into_inner();
    let cfg = config.inner().clone();
    let done = db
        .run(move |conn| {
            let org = service::organisation(conn, &slug)?;
            service::book(conn, &cfg, &org, input, address)
        })
        .await?;
    Ok(Created::new(
        format!("/api/v1/appointments/{}", done.appointment_id),
        done,
    ))
}

/// Envoyer une demande d'orientation sans créneau (prescripteur ; sans jeton, limité).
#[utoipa::path(
    post,
    path = "/api/v1/public/{slug}/referrals",
    operation_id = "create_public_referral",
    tag = "public",
    params(("slug" = String, Path, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 2, max_length = 60)),
    request_body = ReferralRequest,
    responses(
        (status = 201, description = "Reçue", body = ReferralReceived),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
        (status = 429, response = TooManyRequests),
    ),
)]
#[rocket::post("/public/<slug>/referrals", data = "<input>")]
pub async fn refer(
    db: &State<Db>,
    config: &State<Config>,
    slug: String,
    address: Option<IpAddr>,
    input: ApiJson<ReferralRequest>,
) -> Result<Created<ReferralReceived>, AppError> {
    let input = input.into_inner();
    let cfg = config.inner().clone();
    let slug_for_location = slug.clone();
    let received = db
        .run(move |conn| {
            let org = service::organisation(conn, &slug)?;
            service::refer(conn, &cfg, &org, input, address)
        })
        .await?;
    Ok(Created::new(format!("/rdv/{slug_for_location}"), received))
}
