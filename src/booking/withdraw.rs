//! Withdrawing a person from an appointment: a page says what will happen (she is told, her
//! reminders stop, the first person waiting takes her seat) before the POST does it.

use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use crate::auth::WebUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::time::LocalTime;
use crate::web::page;

#[rocket::get("/appointments/<id>/participants/<person_id>/withdraw")]
pub async fn confirm(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    person_id: i32,
) -> Result<Template, AppError> {
    let tz = config.timezone;
    let user = web.user.clone();
    let (appointment, names) = db
        .run(move |conn| super::cancel::with_names(conn, &user, id))
        .await?;
    // Only a person who holds a seat or waits for one can be withdrawn.
    let seat = appointment
        .participants
        .iter()
        .find(|p| {
            p.person_id == person_id
                && matches!(
                    p.status,
                    ParticipantStatus::Booked | ParticipantStatus::Waitlisted
                )
        })
        .ok_or(AppError::NotFound)?;
    let first_waiting = appointment
        .participants
        .iter()
        .find(|p| p.status == ParticipantStatus::Waitlisted && p.person_id != person_id)
        .and_then(|p| names.get(&p.person_id).cloned());
    Ok(page(
        "booking/withdraw",
        &web,
        json!({
            "id": id, "person_id": person_id, "title": appointment.row.title,
            "name": names.get(&person_id).cloned().unwrap_or_default(),
            "when": tz.in_words(appointment.row.starts_at),
            "planned": appointment.row.status == AppointmentStatus::Planned,
            "waitlisted": seat.status == ParticipantStatus::Waitlisted,
            "first_waiting": if seat.status == ParticipantStatus::Booked { first_waiting } else { None },
        }),
    ))
}
