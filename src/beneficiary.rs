//! The beneficiary's page, reached from the personal link of an email or a card: no login,
//! plain language, two large buttons, no JavaScript. The signed token names one participation
//! and stops working when the appointment is over.

use chrono::TimeZone;
use diesel::prelude::*;
use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use crate::booking::{service, Appointment, ParticipantRow};
use crate::config::Config;
use crate::db::schema::{participants, users};
use crate::db::{now, Db, DbConn};
use crate::error::AppError;
use crate::mail::links::{self, LinkError};
use crate::time::LocalTime;
use crate::web::csrf::{Csrf, TokenOnly};

/// A page for the beneficiary: the appointment, or a kind explanation.
pub type Answer = (Status, Template);

fn kind_page(status: Status, title: &str, text: &str) -> Answer {
    (
        status,
        Template::render(
            "beneficiary/message",
            json!({ "title": title, "text": text }),
        ),
    )
}

fn bad_link(error: LinkError) -> Answer {
    match error {
        LinkError::Expired => kind_page(
            Status::Gone,
            "Ce lien n'est plus valable",
            "Le rendez-vous est passé. Pour en prendre un nouveau, appelez le lieu de médiation.",
        ),
        LinkError::Invalid => kind_page(
            Status::NotFound,
            "Ce lien ne fonctionne pas",
            "Vérifiez que le lien est complet, ou appelez le lieu de médiation : nous vous aiderons.",
        ),
    }
}

/// The participation a token names and its appointment, while the link is valid: signed,
/// naming an existing participation, and the appointment not over.
fn participation(
    conn: &mut DbConn,
    config: &Config,
    token: &str,
) -> Result<Result<(ParticipantRow, Appointment), LinkError>, AppError> {
    let id = match links::verify(&config.secret_key, token, now()) {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let Some(participant) = participants::table
        .find(id)
        .select(ParticipantRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Err(LinkError::Invalid));
    };
    let appointment = service::load_for(conn, None, participant.appointment_id)?;
    if appointment.row.ends_at <= now() {
        return Ok(Err(LinkError::Expired));
    }
    Ok(Ok((participant, appointment)))
}

#[rocket::get("/r/<token>")]
pub async fn show(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    token: String,
) -> Result<Answer, AppError> {
    let cfg = config.inner().clone();
    let link = token.clone();
    let found = db
        .run(move |conn| {
            let (participant, appointment) = match participation(conn, &cfg, &link)? {
                Ok(found) => found,
                Err(e) => return Ok(Err(e)),
            };
            let place = crate::places::Place::load(conn, appointment.row.place_id)?;
            let mediator: String = users::table
                .find(appointment.row.mediator_id)
                .select(users::name)
                .first(conn)?;
            Ok(Ok((participant, appointment, place, mediator)))
        })
        .await?;
    let (participant, appointment, place, mediator) = match found {
        Ok(found) => found,
        Err(e) => return Ok(bad_link(e)),
    };
    let tz = config.timezone;
    let csrf_token = crate::auth::web::pre_session_token(jar, config);
    let state = match (appointment.row.status.as_str(), participant.status.as_str()) {
        ("cancelled", _) | (_, "cancelled") => "cancelled",
        (_, "excused") => "excused",
        (_, "waitlisted") => "waitlisted",
        _ if participant.confirmed_at.is_some() => "confirmed",
        _ => "booked",
    };
    let local = tz.from_utc_datetime(&appointment.row.starts_at);
    Ok((
        Status::Ok,
        Template::render(
            "beneficiary/appointment",
            json!({
                "token": token, "csrf_token": csrf_token, "state": state,
                "when": tz.in_words(appointment.row.starts_at), "time": local.format("%H:%M").to_string(),
                "place": place, "mediator": mediator.split_whitespace().next().unwrap_or_default(),
                "title": appointment.row.title,
            }),
        ),
    ))
}

#[rocket::post("/r/<token>/confirm", data = "<_form>")]
pub async fn confirm(
    db: &State<Db>,
    config: &State<Config>,
    token: String,
    _form: Csrf<TokenOnly>,
) -> Result<Result<Redirect, Answer>, AppError> {
    let cfg = config.inner().clone();
    let link = token.clone();
    let outcome = db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                let (participant, appointment) = match participation(conn, &cfg, &link)? {
                    Ok(found) => found,
                    Err(e) => return Ok(Err(e)),
                };
                if participant.status == "booked"
                    && appointment.row.status == "planned"
                    && participant.confirmed_at.is_none()
                {
                    diesel::update(participants::table.find(participant.id))
                        .set(participants::confirmed_at.eq(Some(now())))
                        .execute(conn)?;
                    crate::audit::record(
                        conn,
                        None,
                        "confirm",
                        "appointment",
                        Some(appointment.row.id),
                        Some(appointment.row.organisation_id),
                    )?;
                }
                Ok(Ok(()))
            })
        })
        .await?;
    Ok(match outcome {
        Ok(()) => Ok(Redirect::to(format!("/r/{token}"))),
        Err(e) => Err(bad_link(e)),
    })
}

/// "Je ne peux pas venir": frees the seat, which goes to the first person waiting.
#[rocket::post("/r/<token>/cancel", data = "<_form>")]
pub async fn cancel(
    db: &State<Db>,
    config: &State<Config>,
    token: String,
    _form: Csrf<TokenOnly>,
) -> Result<Result<Redirect, Answer>, AppError> {
    let cfg = config.inner().clone();
    let link = token.clone();
    let outcome = db
        .run(move |conn| {
            let (participant, appointment) = match participation(conn, &cfg, &link)? {
                Ok(found) => found,
                Err(e) => return Ok(Err(e)),
            };
            if appointment.row.status == "planned"
                && matches!(participant.status.as_str(), "booked" | "waitlisted")
            {
                service::withdraw(
                    conn,
                    None,
                    appointment.row.id,
                    participant.person_id,
                    "excused",
                    &cfg,
                )?;
            }
            Ok(Ok(()))
        })
        .await?;
    Ok(match outcome {
        Ok(()) => Ok(Redirect::to(format!("/r/{token}"))),
        Err(e) => Err(bad_link(e)),
    })
}
