//! The webhooks pages (admins and managers, their organisation's): the subscriptions with a
//! creation form (the secret shown once), pause, resume and stop; and each one's deliveries,
//! filtered by status, with a retry button on those given up (`dead`).

use chrono_tz::Tz;
use diesel::prelude::*;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::{json, Value};

use super::{Delivery, Webhook, WebhookInput, EVENTS};
use crate::auth::csrf::{Csrf, TokenOnly};
use crate::auth::{Role, WebUser};
use crate::config::Config;
use crate::db::schema::webhook_deliveries;
use crate::db::Db;
use crate::error::AppError;
use crate::status::DeliveryStatus;
use crate::time::LocalTime;
use crate::web::query::Query;
use crate::web::{page, Invalid};

/// Deliveries shown on a page (the newest).
const SHOWN: i64 = 200;

pub(crate) fn event_label(event: &str) -> &'static str {
    match event {
        "appointment.created" => "rendez-vous créé",
        "appointment.updated" => "rendez-vous déplacé",
        "appointment.cancelled" => "rendez-vous annulé",
        "participant.booked" => "participant inscrit",
        "participant.cancelled" => "participant désinscrit",
        "participant.attended" => "participant présent",
        "participant.no_show" => "participant absent",
        "session_log.recorded" => "compte rendu enregistré",
        "person.anonymised" => "personne anonymisée",
        "equipment.assigned" => "matériel remis",
        "equipment.returned" => "matériel rendu",
        _ => "autre",
    }
}

fn events_context(checked: &[String]) -> Vec<Value> {
    EVENTS
        .iter()
        .map(|e| json!({"code": e, "label": event_label(e), "checked": checked.iter().any(|c| c == e)}))
        .collect()
}

/// The subscriptions page; `created` holds a new subscription's secret, shown this once.
/// The new-webhook form's fields in their order on the page, for the error summary.
const FIELDS: [(&str, &str); 3] = [
    ("url", "Adresse de réception"),
    ("events", "Événements"),
    ("secret", "Secret de signature"),
];

async fn list_page(
    db: &Db,
    tz: Tz,
    web: &WebUser,
    values: Value,
    errors: Value,
    created: Option<Value>,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let (webhooks, counts) = db
        .run(move |conn| {
            let webhooks = super::list(conn, &user)?;
            let ids: Vec<i32> = webhooks.iter().map(|w| w.id).collect();
            // Waiting and given-up deliveries of each, for the eye.
            let counts: Vec<(i32, DeliveryStatus, i64)> = webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq_any(&ids))
                .filter(
                    webhook_deliveries::status
                        .eq_any([DeliveryStatus::Pending, DeliveryStatus::Dead]),
                )
                .group_by((webhook_deliveries::webhook_id, webhook_deliveries::status))
                .select((
                    webhook_deliveries::webhook_id,
                    webhook_deliveries::status,
                    diesel::dsl::count_star(),
                ))
                .load(conn)?;
            Ok((webhooks, counts))
        })
        .await?;
    let count = |id: i32, status: DeliveryStatus| {
        counts
            .iter()
            .find(|(w, s, _)| *w == id && *s == status)
            .map_or(0, |c| c.2)
    };
    let rows: Vec<Value> = webhooks
        .iter()
        .map(|w: &Webhook| {
            json!({
                "id": w.id, "url": w.url, "created": tz.short(w.created_at),
                "events": w.event_list().iter().map(|e| event_label(e)).collect::<Vec<_>>(),
                "active": w.disabled_at.is_none(),
                "disabled": w.disabled_at.map(|t| tz.short(t)),
                "pending": count(w.id, DeliveryStatus::Pending),
                "dead": count(w.id, DeliveryStatus::Dead),
            })
        })
        .collect();
    let checked: Vec<String> = values["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(page(
        "webhooks/list",
        web,
        crate::web::notice::with_summary(
            json!({
                "webhooks": rows, "events": events_context(&checked), "values": values,
                "errors": errors, "created": created,
            }),
            &FIELDS,
        ),
    ))
}

#[rocket::get("/webhooks")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
) -> Result<Template, AppError> {
    list_page(db, config.timezone, &web, json!({}), json!({}), None).await
}

#[derive(rocket::FromForm)]
pub struct WebhookForm {
    url: String,
    events: Vec<String>,
    /// Empty: the server draws one.
    secret: String,
}

#[rocket::post("/webhooks", data = "<form>")]
pub async fn create(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    form: Csrf<WebhookForm>,
) -> Result<Answer, AppError> {
    web.user.require(&[Role::Admin, Role::Manager])?;
    let form = form.into_inner();
    let secret = match form.secret.trim() {
        "" => super::generate_secret(),
        typed => typed.to_string(),
    };
    let input = WebhookInput {
        url: form.url.clone(),
        events: form.events.clone(),
        secret: secret.clone(),
    };
    let (user, settings) = (web.user.clone(), config.inner().clone());
    let outcome = db
        .run(move |conn| super::create(conn, &settings, &user, input))
        .await;
    let tz = config.timezone;
    match outcome {
        Ok(webhook) => {
            let created = json!({"id": webhook.id, "url": webhook.url, "secret": secret});
            Ok(Answer::Page(
                list_page(db, tz, &web, json!({}), json!({}), Some(created)).await?,
            ))
        }
        Err(AppError::Validation(errors)) => {
            // The typed secret is not shown again.
            let values = json!({"url": form.url, "events": form.events});
            Ok(Answer::Invalid(Invalid(
                list_page(db, tz, &web, values, json!(errors), None).await?,
            )))
        }
        Err(e) => Err(e),
    }
}

#[rocket::post("/webhooks/<id>/disable", data = "<_form>")]
pub async fn disable(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    _form: Csrf<TokenOnly>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    db.run(move |conn| super::set_disabled(conn, &user, id, true))
        .await?;
    Ok(Redirect::to("/webhooks"))
}

#[rocket::post("/webhooks/<id>/enable", data = "<_form>")]
pub async fn enable(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    _form: Csrf<TokenOnly>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    db.run(move |conn| super::set_disabled(conn, &user, id, false))
        .await?;
    Ok(Redirect::to("/webhooks"))
}

#[rocket::post("/webhooks/<id>/delete", data = "<_form>")]
pub async fn delete(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    _form: Csrf<TokenOnly>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    db.run(move |conn| super::delete(conn, &user, id)).await?;
    Ok(Redirect::to("/webhooks"))
}

/// The deliveries page's query.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesPageQuery {
    /// `pending|sending|delivered|dead|cancelled`, or empty for all.
    pub status: Option<String>,
}

async fn deliveries_page(
    db: &Db,
    tz: Tz,
    web: &WebUser,
    id: i32,
    status: Option<DeliveryStatus>,
    error: Option<String>,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let (webhook, rows) = db
        .run(move |conn| {
            let webhook = super::visible(conn, &user, id)?;
            let rows = super::deliveries(conn, &user, id, status, SHOWN, 0)?;
            Ok((webhook, rows))
        })
        .await?;
    let deliveries: Vec<Value> = rows
        .iter()
        .map(|d: &Delivery| {
            json!({
                "id": d.id, "event": d.event, "event_label": event_label(&d.event),
                "status": d.status, "status_label": d.status.label(),
                "attempts": d.attempts, "last_error": d.last_error,
                "response_status": d.response_status,
                // When the worker tries again (only while it waits).
                "next": (d.status == DeliveryStatus::Pending).then(|| tz.short(d.due_at)),
                "created": tz.short(d.created_at),
                "delivered": d.delivered_at.map(|t| tz.short(t)),
            })
        })
        .collect();
    let statuses: Vec<Value> = DeliveryStatus::ALL
        .iter()
        .map(|s| json!({"code": s, "label": s.label()}))
        .collect();
    Ok(page(
        "webhooks/deliveries",
        web,
        json!({
            "webhook": {
                "id": webhook.id, "url": webhook.url, "active": webhook.disabled_at.is_none(),
                "events": webhook.event_list().iter().map(|e| event_label(e)).collect::<Vec<_>>(),
            },
            "deliveries": deliveries, "statuses": statuses,
            "status": status.map_or("", DeliveryStatus::as_str), "shown": SHOWN, "error": error,
        }),
    ))
}

#[rocket::get("/webhooks/<id>/deliveries")]
pub async fn deliveries(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    query: Query<DeliveriesPageQuery>,
) -> Result<Template, AppError> {
    let status = super::delivery_status(query.status.as_deref())?;
    deliveries_page(db, config.timezone, &web, id, status, None).await
}

/// Same rules as the API's retry: only a `dead` delivery; otherwise the page again (409)
/// saying why.
#[rocket::post("/webhooks/<id>/deliveries/<delivery_id>/retry", data = "<_form>")]
pub async fn retry(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    delivery_id: i32,
    _form: Csrf<TokenOnly>,
) -> Result<Answer, AppError> {
    let user = web.user.clone();
    match db
        .run(move |conn| super::retry(conn, &user, id, delivery_id))
        .await
    {
        Ok(_) => Ok(Answer::Done(Redirect::to(format!(
            "/webhooks/{id}/deliveries"
        )))),
        Err(AppError::Conflict { message, .. }) => {
            let page = deliveries_page(db, config.timezone, &web, id, None, Some(message)).await?;
            Ok(Answer::Refused(Conflict(page)))
        }
        Err(e) => Err(e),
    }
}

/// What a form of these pages answers.
#[derive(rocket::Responder)]
pub enum Answer {
    /// A page (a new subscription with its secret).
    Page(Template),
    /// The form again with its errors (422).
    Invalid(Invalid),
    /// Done: back to the list.
    Done(Redirect),
    /// Refused: the page again, saying why (409).
    Refused(Conflict),
}

/// A page shown again after a refused action (409).
pub struct Conflict(pub Template);

impl<'r> rocket::response::Responder<'r, 'static> for Conflict {
    fn respond_to(self, req: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        rocket::Response::build_from(self.0.respond_to(req)?)
            .status(Status::Conflict)
            .ok()
    }
}
