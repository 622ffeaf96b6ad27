//! The referral inbox page: requests from referrers, their status, and booking from one.

use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde::Deserialize;
use serde_json::json;

use super::{BookFromReferral, ReferralPatch};
use crate::auth::csrf::Csrf;
use crate::auth::WebUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::status::ReferralStatus;
use crate::time::LocalTime;
use crate::web::query::Query;
use crate::web::{page, FormOutcome, Invalid};

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    #[serde(default, deserialize_with = "status")]
    pub status: Option<String>,
}

fn status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    crate::web::query::one_of(d, ReferralStatus::TEXTS)
}

async fn inbox(
    db: &Db,
    config: &Config,
    web: &WebUser,
    status: Option<String>,
    failed: Option<Failed>,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let tz = config.timezone;
    let shown = status.clone();
    let (list, staff, places, services) = db
        .run(move |conn| {
            let list = super::list(
                conn,
                &user,
                shown.as_deref().and_then(ReferralStatus::parse),
                200,
                0,
                &tz,
                None,
            )?;
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
            let mine = failed.as_ref().filter(|f| f.id == r.id);
            json!({ "r": r, "topics": topics, "created": created,
                    "status_label": r.status.label(),
                    "errors": mine.map(|f| &f.errors), "values": mine.map(|f| &f.values) })
        })
        .collect();
    let today = crate::time::today(&tz);
    let summary = failed.as_ref().map(Failed::summary);
    Ok(page(
        "referrals/inbox",
        web,
        json!({ "items": items, "status": status, "statuses": statuses(),
                "staff": staff, "places": places, "services": services, "summary": summary,
                "default_start": format!("{}T09:00", today + chrono::Duration::days(1)) }),
    ))
}

/// A request's booking form shown again: what was typed and the errors, under the ids of its
/// inputs (`service-{id}`…).
struct Failed {
    id: i32,
    values: serde_json::Value,
    errors: FieldErrors,
}

/// The booking form's fields: the service's name, the input's id (`{id}-{referral}`), label.
const BOOK_FIELDS: [(&str, &str, &str); 4] = [
    ("service_id", "service", "Motif"),
    ("mediator_id", "mediator", "Médiateur"),
    ("place_id", "place", "Lieu"),
    ("starts_at", "start", "Date et heure"),
];

impl Failed {
    fn new(id: i32, values: serde_json::Value, errors: FieldErrors) -> Failed {
        let errors = errors
            .into_iter()
            .map(|(field, messages)| {
                let input = BOOK_FIELDS
                    .iter()
                    .find(|(name, _, _)| *name == field)
                    .map_or(format!("referral-{id}"), |(_, input, _)| {
                        format!("{input}-{id}")
                    });
                (input, messages)
            })
            .collect();
        Failed { id, values, errors }
    }

    fn summary(&self) -> serde_json::Value {
        let ids: Vec<(String, &str)> = BOOK_FIELDS
            .iter()
            .map(|(_, input, label)| (format!("{input}-{}", self.id), *label))
            .chain([(format!("referral-{}", self.id), "Demande")])
            .collect();
        let fields: Vec<(&str, &str)> = ids.iter().map(|(i, l)| (i.as_str(), *l)).collect();
        crate::web::notice::summary(&self.errors, &fields)
    }
}

/// Every status with its label, as the filter lists them.
fn statuses() -> Vec<(&'static str, &'static str)> {
    ReferralStatus::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .collect()
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
    service_id: Option<i32>,
    mediator_id: Option<i32>,
    place_id: Option<i32>,
    starts_at_local: Option<String>,
}

/// Books the request's person in one step; a refusal is shown beside the request, each error
/// at its field.
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
    let typed = form.starts_at_local.clone().unwrap_or_default();
    let values = json!({ "service_id": form.service_id, "mediator_id": form.mediator_id,
                         "place_id": form.place_id, "starts_at_local": typed });
    let starts_at = chrono::NaiveDateTime::parse_from_str(typed.trim(), "%Y-%m-%dT%H:%M")
        .map(|t| tz.rfc3339(tz.to_utc(t.date(), t.time())))
        .ok();
    let mut unread = FieldErrors::new();
    for (field, given) in [
        ("service_id", form.service_id.is_some()),
        ("mediator_id", form.mediator_id.is_some()),
        ("place_id", form.place_id.is_some()),
    ] {
        if !given {
            unread.insert(field.into(), vec!["Choisissez dans la liste.".into()]);
        }
    }
    if starts_at.is_none() {
        let message = if typed.trim().is_empty() {
            "Indiquez la date et l'heure du rendez-vous."
        } else {
            "Date et heure attendues (jj/mm/aaaa hh:mm)."
        };
        unread.insert("starts_at".into(), vec![message.into()]);
    }
    let input = BookFromReferral {
        service_id: form.service_id.unwrap_or_default(),
        mediator_id: form.mediator_id.unwrap_or_default(),
        place_id: form.place_id.unwrap_or_default(),
        starts_at: starts_at.unwrap_or_default(),
    };
    let user = web.user.clone();
    let cfg = config.inner().clone();
    // Nothing is booked while a field does not read.
    let outcome = if unread.is_empty() {
        db.run(move |conn| super::book(conn, &user, id, input, &cfg))
            .await
    } else {
        Err(AppError::Validation(FieldErrors::new()))
    };
    let mut errors = match outcome {
        Ok(done) => {
            return Ok(FormOutcome::Done(Redirect::to(format!(
                "/appointments/{}",
                done.appointment_id.unwrap_or_default()
            ))))
        }
        Err(AppError::Validation(errors)) => errors,
        Err(AppError::Conflict { message, .. }) => {
            [("starts_at".to_string(), vec![message])].into()
        }
        Err(e) => return Err(e),
    };
    errors.extend(unread);
    Ok(FormOutcome::Invalid(Invalid(
        inbox(
            db,
            config,
            &web,
            None,
            Some(Failed::new(id, values, errors)),
        )
        .await?,
    )))
}
