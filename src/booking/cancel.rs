//! Cancelling an appointment: a page says what will happen (who is told, the seats freed,
//! that it cannot be undone) before the POST does it.

use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use std::collections::HashMap;

use super::model::Appointment;
use super::service;
use crate::auth::csrf::Csrf;
use crate::auth::{StaffUser, WebUser};
use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::time::LocalTime;
use crate::web::{notice, page, FormOutcome, Invalid};

const FIELDS: [(&str, &str); 2] = [("by", "Annulé par"), ("reason", "Motif")];

/// An appointment and the names of its people: what a page asking before a change says.
pub(super) fn with_names(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
) -> Result<(Appointment, HashMap<i32, String>), AppError> {
    let appointment = service::load(conn, user, id)?;
    let ids: Vec<i32> = appointment
        .participants
        .iter()
        .map(|p| p.person_id)
        .collect();
    let names = crate::people::picker::names(conn, &ids)?;
    Ok((appointment, names))
}

async fn confirm_page(
    db: &Db,
    config: &Config,
    web: &WebUser,
    id: i32,
    values: serde_json::Value,
    errors: FieldErrors,
) -> Result<Template, AppError> {
    let tz = config.timezone;
    let user = web.user.clone();
    let (appointment, names) = db.run(move |conn| with_names(conn, &user, id)).await?;
    let people = |status: ParticipantStatus| -> Vec<String> {
        appointment
            .participants
            .iter()
            .filter(|p| p.status == status)
            .filter_map(|p| names.get(&p.person_id).cloned())
            .collect()
    };
    Ok(page(
        "booking/cancel",
        web,
        json!({
            "id": id, "title": appointment.row.title, "when": tz.in_words(appointment.row.starts_at),
            "planned": appointment.row.status == AppointmentStatus::Planned,
            "booked": people(ParticipantStatus::Booked), "waitlisted": people(ParticipantStatus::Waitlisted),
            "values": values, "errors": errors, "summary": notice::summary(&errors, &FIELDS),
        }),
    ))
}

#[rocket::get("/appointments/<id>/cancel")]
pub async fn confirm(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
) -> Result<Template, AppError> {
    let values = json!({ "by": null, "reason": null });
    confirm_page(db, config, &web, id, values, FieldErrors::new()).await
}

#[derive(rocket::FromForm)]
pub struct CancelForm {
    by: Option<String>,
    reason: Option<String>,
}

#[rocket::post("/appointments/<id>/cancel", data = "<form>")]
pub async fn cancel(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<CancelForm>,
) -> Result<FormOutcome, AppError> {
    let form = form.into_inner();
    let values = json!({ "by": form.by, "reason": form.reason });
    let user = web.user.clone();
    let cfg = config.inner().clone();
    let by = form.by.unwrap_or_default();
    let reason = form.reason;
    let outcome = db
        .run(move |conn| service::cancel(conn, &user, id, &by, reason, &cfg).map(|_| ()))
        .await;
    let errors = match outcome {
        Ok(()) => {
            return Ok(FormOutcome::Done(Redirect::to(format!(
                "/appointments/{id}?ok=cancelled"
            ))))
        }
        Err(AppError::Validation(errors)) => errors,
        Err(AppError::Conflict { message, .. }) => [("by".to_string(), vec![message])].into(),
        Err(e) => return Err(e),
    };
    Ok(FormOutcome::Invalid(Invalid(
        confirm_page(db, config, &web, id, values, errors).await?,
    )))
}
