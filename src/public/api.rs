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
use crate::web::query::Query;

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
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct SlotsQuery {
    pub service_id: Option<i32>,
    #[serde(default, deserialize_with = "crate::web::query::date")]
    pub from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::web::query::date")]
    pub to: Option<NaiveDate>,
    pub place_id: Option<i32>,
}

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
