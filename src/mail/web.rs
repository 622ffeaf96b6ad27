//! The outbox page (with a retry button for dead messages) and the "to call" list: people with
//! an appointment soon whom no email reaches.

use chrono::{Duration, TimeZone};
use diesel::prelude::*;
use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use crate::auth::csrf::{Csrf, TokenOnly};
use crate::auth::{Role, WebUser};
use crate::booking::service::{self, AppointmentFilter};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::status::{AppointmentStatus, MessageStatus, ParticipantStatus};
use crate::time::LocalTime;
use crate::web::page;
use crate::web::query::Query;

pub(crate) fn kind_label(kind: &str) -> &'static str {
    match kind {
        "confirmation" => "confirmation",
        "reminder" => "rappel",
        "reschedule" => "changement d'horaire",
        "cancellation" => "annulation",
        "handover" => "remise de matériel à accepter",
        "reply" => "réponse à un SMS",
        _ => "place libérée",
    }
}

pub(crate) fn channel_label(channel: &str) -> &'static str {
    match channel {
        "sms" => "SMS",
        _ => "e-mail",
    }
}

pub(crate) fn delivery_label(delivery: Option<&str>) -> &'static str {
    match delivery {
        Some("delivered") => "remis",
        Some("failed") => "non remis",
        _ => "",
    }
}

#[rocket::get("/messages")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    query: Query<super::api::MessagesQuery>,
) -> Result<Template, AppError> {
    let status = query.into_inner().status;
    web.user.require(&[Role::Admin, Role::Manager])?;
    let user = web.user.clone();
    let filter = status.clone().filter(|s| !s.is_empty());
    let (rows, items) = db
        .run(move |conn| {
            use crate::db::schema::assignments;
            let rows = super::messages::list(conn, &user, filter.as_deref(), 500, 0)?;
            // The item each handover message is about, for its link.
            let handovers: Vec<i32> = rows.iter().filter_map(|m| m.assignment_id).collect();
            let items: Vec<(i32, i32)> = assignments::table
                .filter(assignments::id.eq_any(&handovers))
                .select((assignments::id, assignments::equipment_id))
                .load(conn)?;
            Ok((rows, items))
        })
        .await?;
    let tz = config.timezone;
    let messages: Vec<_> = rows
        .iter()
        .map(|m| {
            let about = match (m.appointment_id, m.assignment_id) {
                (Some(appointment), _) => Some(format!("/appointments/{appointment}")),
                (None, Some(assignment)) => items
                    .iter()
                    .find(|(a, _)| *a == assignment)
                    .map(|(_, item)| format!("/equipment/{item}")),
                (None, None) => None,
            };
            json!({
                "id": m.id, "kind": kind_label(&m.kind), "recipient": m.recipient, "due": tz.short(m.due_at),
                "status": m.status, "status_label": m.status.label(), "attempts": m.attempts,
                "last_error": m.last_error, "about": about,
                "channel": channel_label(&m.channel), "delivery": delivery_label(m.delivery.as_deref()),
            })
        })
        .collect();
    Ok(page(
        "messages",
        &web,
        json!({
            "messages": messages,
            "status": status.unwrap_or_default(),
            "statuses": MessageStatus::ALL.iter().map(|s| (s, s.label())).collect::<Vec<_>>(),
        }),
    ))
}

#[rocket::post("/messages/<id>/retry", data = "<_form>")]
pub async fn retry(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    _form: Csrf<TokenOnly>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    db.run(move |conn| super::messages::retry(conn, &user, id))
        .await?;
    Ok(Redirect::to("/messages?status=dead"))
}

/// People whom no message reaches (no email, no text message, no referent), with their phone:
/// those with an appointment in the next two weeks, and those whose appointment of the next two
/// weeks the structure cancelled (they must be told; a person who cancelled knows).
/// One structure's (an admin picks it, default theirs); every appointment of the fortnight is
/// read, a thousand at a time.
#[rocket::get("/to-call")]
pub async fn to_call(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    query: Query<ToCallQuery>,
) -> Result<Template, AppError> {
    let tz = config.timezone;
    let user = web.user.clone();
    let asked = query.into_inner().organisation_id;
    let (rows, organisation, organisations) = db
        .run(move |conn| {
            let organisation = crate::organisations::in_view(conn, &user, asked)?;
            let organisations = crate::organisations::choices(conn, &user)?;
            let current = crate::db::now();
            let mut appointments = Vec::new();
            loop {
                let filter = AppointmentFilter {
                    from: Some(current),
                    to: Some(current + Duration::days(14)),
                    mediator_id: (user.role == Role::Mediator).then_some(user.id),
                    organisation_id: Some(organisation),
                    limit: 1000,
                    offset: appointments.len() as i64,
                    ..Default::default()
                };
                let found = service::list(conn, &user, &filter)?;
                let last = found.len() < 1000;
                appointments.extend(found);
                if last {
                    break;
                }
            }
            // Reminders to give, and the structure's cancellations to tell (a person who
            // cancelled knows).
            let mut seats = Vec::new();
            for appointment in appointments.iter().filter(|a| a.row.starts_at >= current) {
                let row = &appointment.row;
                let cancelled = row.status == AppointmentStatus::Cancelled
                    && row.cancelled_by.as_deref() == Some("structure");
                let participant_status = match (row.status, cancelled) {
                    (AppointmentStatus::Planned, _) if !row.walk_in => ParticipantStatus::Booked,
                    (_, true) => ParticipantStatus::Cancelled,
                    _ => continue,
                };
                for p in appointment
                    .participants
                    .iter()
                    .filter(|p| p.status == participant_status)
                {
                    seats.push((row.id, p.person_id, cancelled));
                }
            }
            let starts: std::collections::HashMap<i32, chrono::NaiveDateTime> = appointments
                .iter()
                .map(|a| (a.row.id, a.row.starts_at))
                .collect();
            let rows: Vec<serde_json::Value> = super::calling::unreachable_among(conn, seats)?
                .into_iter()
                .map(|c| {
                    let starts_at = starts[&c.appointment_id];
                    json!({
                        "appointment_id": c.appointment_id, "person_id": c.person_id,
                        "when": tz.in_words(starts_at),
                        "day": tz.from_utc_datetime(&starts_at).date_naive().to_string(),
                        "name": c.name, "phone": c.phone, "cancelled": c.cancelled,
                    })
                })
                .collect();
            Ok((rows, organisation, organisations))
        })
        .await?;
    Ok(page(
        "to_call",
        &web,
        json!({ "rows": rows, "organisation_id": organisation, "organisations": organisations }),
    ))
}

/// The people to call of one structure (an admin's choice; the others see theirs).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ToCallQuery {
    pub organisation_id: Option<i32>,
}
