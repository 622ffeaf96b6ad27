//! The referral inbox page: requests from referrers, their status, and booking from one.

use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde::Deserialize;
use serde_json::json;

use super::{BookFromReferral, ReferralPatch};
use crate::auth::WebUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::time::LocalTime;
use crate::web::csrf::Csrf;
use crate::web::query::Query;
use crate::web::{page, FormOutcome, Invalid};

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    #[serde(default, deserialize_with = "status")]
    pub status: Option<String>,
}

fn status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    crate::web::query::one_of(d, &super::STATUS_CODES)
}

async fn inbox(
    db: &Db,
    config: &Config,
    web: &WebUser,
    status: Option<String>,
    failed: Option<(i32, String)>,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let tz = config.timezone;
    let shown = status.clone();
    let (list, staff, places, services) = db
        .run(move |conn| {
            let list = super::list(conn, &user, shown.as_deref(), 200, 0, &tz, None)?;
            let staff = crate::booking::availability::staff_of(conn, user.scope())?;
            let places = crate::places::list(conn, &user, 1000, 0)?;
            let services = crate::booking::availability::list_services(conn, &user)?;
            Ok((list, staff, places, services))
        })
        .await?;
    let items: Vec<serde_json::Value> = list
        .iter()
        .map(|r| {
            let topics: Vec<&str> = r
                .topics
                .iter()
                .map(|t| crate::skills::topics::label(t).unwrap_or(t))
                .collect();
            let created = crate::time::parse_rfc3339(&r.created_at)
                .map(|t| tz.in_words(t))
                .unwrap_or_default();
            json!({ "r": r, "topics": topics, "created": created,
                    "status_label": label(&r.status),
                    "error": failed.as_ref().filter(|(id, _)| *id == r.id).map(|(_, m)| m) })
        })
        .collect();
    let today = crate::time::today(&tz);
    Ok(page(
        "referrals/inbox",
        web,
        json!({ "items": items, "status": status, "statuses": super::STATUSES,
                "staff": staff, "places": places, "services": services,
                "default_start": format!("{}T09:00", today + chrono::Duration::days(1)) }),
    ))
}

fn label(status: &str) -> &'static str {
    super::STATUSES
        .iter()
        .find(|(c, _)| *c == status)
        .map_or("", |(_, l)| *l)
}

#[rocket::get("/referrals")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    query: Query<InboxQuery>,
) -> Result<Template, AppError> {
    inbox(db, config, &web, query.into_inner().status, None).await
}

#[derive(rocket::FromForm)]
pub struct StatusForm {
    status: String,
}

#[rocket::post("/referrals/<id>/status", data = "<form>")]
pub async fn set_status(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<StatusForm>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    let patch = ReferralPatch {
        status: Some(form.into_inner().status),
    };
    let tz = config.timezone;
    db.run(move |conn| super::set_status(conn, &user, id, patch, &tz))
        .await?;
    Ok(Redirect::to("/referrals"))
}

#[derive(rocket::FromForm)]
pub struct BookForm {
    service_id: i32,
    mediator_id: i32,
    place_id: i32,
    starts_at_local: String,
}

/// Books the request's person in one step; a refusal is shown beside the request.
#[rocket::post("/referrals/<id>/book", data = "<form>")]
pub async fn book(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<BookForm>,
) -> Result<FormOutcome, AppError> {
    let form = form.into_inner();
    let tz = config.timezone;
    let starts_at =
        chrono::NaiveDateTime::parse_from_str(form.starts_at_local.trim(), "%Y-%m-%dT%H:%M")
            .map(|t| tz.rfc3339(tz.to_utc(t.date(), t.time())))
            .unwrap_or_default();
    let input = BookFromReferral {
        service_id: form.service_id,
        mediator_id: form.mediator_id,
        place_id: form.place_id,
        starts_at,
    };
    let user = web.user.clone();
    let cfg = config.inner().clone();
    let message = match db
        .run(move |conn| super::book(conn, &user, id, input, &cfg))
        .await
    {
        Ok(done) => {
            return Ok(FormOutcome::Done(Redirect::to(format!(
                "/appointments/{}",
                done.appointment_id.unwrap_or_default()
            ))))
        }
        Err(AppError::Validation(errors)) => errors
            .values()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
        Err(AppError::Conflict { message, .. }) => message,
        Err(e) => return Err(e),
    };
    Ok(FormOutcome::Invalid(Invalid(
        inbox(db, config, &web, None, Some((id, message))).await?,
    )))
}
