//! Booking pages for mediators: agenda by day or week (per mediator or place), booking from a
//! free slot with the person found or created inline, the appointment page with participants and
//! waitlist, availability, services, the printable card and calendars.

use chrono::{Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use rocket::http::{ContentType, Header};
use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::availability::{self, AbsenceInput, OpeningHoursInput};
use super::model::{minute_text, participant_label, Appointment};
use super::service::{self, AppointmentFilter};
use crate::auth::csrf::{Csrf, TokenOnly};
use crate::auth::{Role, StaffUser, WebUser};
use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::time::LocalTime;
use crate::web::query::Query;
use crate::web::{page, FormOutcome, Invalid};

const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

fn local_time(tz: &Tz, t: chrono::NaiveDateTime) -> String {
    tz.from_utc_datetime(&t).format("%H:%M").to_string()
}

/// A `datetime-local` value ("2026-12-03T14:30") read in the configured time zone, as RFC 3339.
pub(super) fn local_input_to_rfc3339(tz: &Tz, text: &str) -> Option<String> {
    let naive = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M").ok()?;
    Some(tz.rfc3339(tz.to_utc(naive.date(), naive.time())))
}

/// Staff (id, name, organisation), places and services the user sees, to name things on pages.
pub(super) type Names = (
    Vec<(i32, String, i32)>,
    Vec<crate::places::Place>,
    Vec<super::Service>,
);

pub(super) fn names(conn: &mut DbConn, user: &StaffUser) -> Result<Names, AppError> {
    Ok((
        availability::staff_of(conn, user.scope())?,
        crate::places::list(conn, user, 1000, 0)?,
        availability::list_services(conn, user)?,
    ))
}

fn appointment_summary(
    tz: &Tz,
    a: &Appointment,
    services: &[super::Service],
    places: &[crate::places::Place],
    staff: &[(i32, String, i32)],
) -> serde_json::Value {
    let service = services.iter().find(|s| s.id == a.row.service_id);
    json!({
        "id": a.row.id,
        "day": tz.from_utc_datetime(&a.row.starts_at).date_naive().to_string(),
        "start": local_time(tz, a.row.starts_at),
        "end": local_time(tz, a.row.ends_at),
        "title": a.row.title.clone().or_else(|| service.map(|s| s.name.clone())).unwrap_or_default(),
        "place": places.iter().find(|p| p.id == a.row.place_id).map(|p| p.name.clone()).unwrap_or_default(),
        "mediator": staff.iter().find(|s| s.0 == a.row.mediator_id).map(|s| s.1.clone()).unwrap_or_default(),
        "status": a.row.status,
        "status_label": a.row.status.label(),
        "booked": a.booked_count(),
        "capacity": a.row.capacity,
        "walk_in": a.row.walk_in,
    })
}

/// The labels of the appointment page's fields, for its error summary.
const SHOW_FIELDS: [(&str, &str); 7] = [
    ("participants", "Participants"),
    ("person_id", "Personne à inscrire"),
    ("new_given_name", "Prénom ou pseudonyme"),
    ("new_family_name", "Nom"),
    ("new_phone", "Téléphone"),
    ("new_email", "E-mail"),
    ("starts_at_local", "Nouvelle date et heure"),
];

/// The appointment page; `q` searches a person to enrol, `extra` adds to the context (the
/// enrolment form's values, a notice).
pub(super) async fn show_page(
    db: &Db,
    config: &Config,
    web: &WebUser,
    id: i32,
    errors: serde_json::Value,
    q: Option<String>,
    extra: serde_json::Value,
) -> Result<Template, AppError> {
    let tz = config.timezone;
    let user = web.user.clone();
    let query = q.clone().unwrap_or_default();
    let (appointment, people, staff, places, services, matches) = db
        .run(move |conn| {
            let appointment = service::load(conn, &user, id)?;
            let people: Vec<_> = appointment
                .participants
                .iter()
                .map(|p| {
                    crate::people::get(conn, &user, p.person_id).map(|person| (p.clone(), person))
                })
                .collect::<Result<_, _>>()?;
            let (staff, places, services) = names(conn, &user)?;
            let matches = crate::people::picker::find(conn, &user, &query)?;
            Ok((appointment, people, staff, places, services, matches))
        })
        .await?;
    let field_errors: FieldErrors = serde_json::from_value(errors.clone()).unwrap_or_default();
    let error_summary = crate::web::notice::summary(&field_errors, &SHOW_FIELDS);
    let summary = appointment_summary(&tz, &appointment, &services, &places, &staff);
    let participants: Vec<_> = people
        .iter()
        .map(|(p, person)| json!({
            "person_id": p.person_id, "name": person.display_name(), "phone": person.phone, "status": p.status,
            "status_label": participant_label(p.status), "active": matches!(p.status, ParticipantStatus::Booked | ParticipantStatus::Waitlisted),
        }))
        .collect();
    let local_start = tz
        .from_utc_datetime(&appointment.row.starts_at)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    Ok(page(
        "booking/show",
        web,
        json!({
            "a": summary, "when": tz.in_words(appointment.row.starts_at), "participants": participants,
            "planned": appointment.row.status == AppointmentStatus::Planned, "local_start": local_start.clone(),
            "cancel_reason": appointment.row.cancel_reason, "notes": appointment.row.notes, "errors": errors,
            "summary": error_summary, "q": q.unwrap_or_default(), "matches": matches,
            "values": extra["values"], "chosen": extra["values"]["person_id"],
            "notice": crate::web::notice::text(extra["ok"].as_str()),
            "reschedule": extra["reschedule"].as_str().map(str::to_string).unwrap_or_else(|| local_start.clone()),
        }),
    ))
}

/// The appointment page's query: a person searched to enrol, the notice of a saved change.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ShowQuery {
    pub q: Option<String>,
    #[serde(default, deserialize_with = "crate::web::notice::ok_code")]
    pub ok: Option<String>,
}

#[rocket::get("/appointments/<id>")]
pub async fn show(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    query: Query<ShowQuery>,
) -> Result<Template, AppError> {
    let ShowQuery { q, ok } = query.into_inner();
    show_page(db, config, &web, id, json!({}), q, json!({ "ok": ok })).await
}

/// After a POST on the appointment page: back to it, or the page again with the error.
async fn back(
    db: &Db,
    config: &Config,
    web: &WebUser,
    id: i32,
    (field, ok): (&str, &str),
    extra: serde_json::Value,
    outcome: Result<(), AppError>,
) -> Result<FormOutcome, AppError> {
    let message = match outcome {
        Ok(()) => {
            return Ok(FormOutcome::Done(Redirect::to(format!(
                "/appointments/{id}?ok={ok}"
            ))))
        }
        Err(AppError::Conflict { message, .. }) => message,
        Err(AppError::Validation(errors)) => {
            errors.into_values().flatten().collect::<Vec<_>>().join(" ")
        }
        Err(e) => return Err(e),
    };
    Ok(FormOutcome::Invalid(Invalid(
        show_page(
            db,
            config,
            web,
            id,
            json!({ field: [message] }),
            None,
            extra,
        )
        .await?,
    )))
}

#[rocket::post(
    "/appointments/<id>/participants/<person_id>/withdraw",
    data = "<_form>"
)]
pub async fn withdraw(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    person_id: i32,
    _form: Csrf<TokenOnly>,
) -> Result<FormOutcome, AppError> {
    let user = web.user.clone();
    let cfg = config.inner().clone();
    let outcome = db
        .run(move |conn| {
            service::withdraw(
                conn,
                Some(&user),
                id,
                person_id,
                ParticipantStatus::Cancelled,
                &cfg,
            )
            .map(|_| ())
        })
        .await;
    back(
        db,
        config,
        &web,
        id,
        ("participants", "withdrawn"),
        json!({}),
        outcome,
    )
    .await
}

#[derive(rocket::FromForm)]
pub struct RescheduleForm {
    starts_at_local: String,
    override_opening_hours: bool,
}

#[rocket::post("/appointments/<id>/reschedule", data = "<form>")]
pub async fn reschedule(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<RescheduleForm>,
) -> Result<FormOutcome, AppError> {
    let tz = config.timezone;
    let user = web.user.clone();
    let cfg = config.inner().clone();
    let typed = form.starts_at_local.clone();
    let override_hours = form.override_opening_hours;
    let outcome = match local_input_to_rfc3339(&tz, &typed) {
        None => Err(AppError::field(
            "starts_at_local",
            "Date et heure attendues (jj/mm/aaaa hh:mm).",
        )),
        Some(starts_at) => {
            db.run(move |conn| {
                service::reschedule(conn, &user, id, &starts_at, override_hours, &cfg).map(|_| ())
            })
            .await
        }
    };
    // The time typed stays in the field when it is refused.
    let extra = json!({ "reschedule": typed });
    back(
        db,
        config,
        &web,
        id,
        ("starts_at_local", "moved"),
        extra,
        outcome,
    )
    .await
}

/// An `.ics` answer: the calendar and the file name offered.
pub struct IcsFile(pub String, pub String);

impl<'r> rocket::response::Responder<'r, 'static> for IcsFile {
    fn respond_to(self, req: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        let mut response = (
            ContentType::new("text", "calendar").with_params(("charset", "utf-8")),
            self.0,
        )
            .respond_to(req)?;
        response.set_header(Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", self.1),
        ));
        Ok(response)
    }
}

#[rocket::get("/appointments/<id>/ics")]
pub async fn ics(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
) -> Result<IcsFile, AppError> {
    let user = web.user.clone();
    let config_owned = config.inner().clone();
    let body = db
        .run(move |conn| super::calendar::appointment_file(conn, &user, id, &config_owned))
        .await?;
    Ok(IcsFile(body, format!("rendez-vous-{id}.ics")))
}

/// The private calendar feed of a mediator (no login: the secret token is the key).
#[rocket::get("/calendar/<file>")]
pub async fn feed(db: &State<Db>, config: &State<Config>, file: &str) -> Result<IcsFile, AppError> {
    let token = file.strip_suffix(".ics").ok_or(AppError::NotFound)?;
    let hash = crate::auth::hash_token(token);
    let config_owned = config.inner().clone();
    let body = db
        .run(move |conn| {
            let user = super::calendar::user_for_feed(conn, &hash)?.ok_or(AppError::NotFound)?;
            let filter = AppointmentFilter {
                from: Some(crate::db::now() - Duration::days(30)),
                mediator_id: Some(user.id),
                limit: 1000,
                ..Default::default()
            };
            let (_, places, services) = names(conn, &user)?;
            let events: Vec<String> = service::list(conn, &user, &filter)?
                .iter()
                .filter_map(|a| {
                    let place = places.iter().find(|p| p.id == a.row.place_id)?;
                    let service = services.iter().find(|s| s.id == a.row.service_id)?;
                    Some(super::calendar::event_for(
                        &config_owned,
                        a,
                        &service.name,
                        place,
                    ))
                })
                .collect();
            Ok(super::ics::calendar(&events, None))
        })
        .await?;
    Ok(IcsFile(body, "passerelle.ics".into()))
}

#[rocket::get("/calendar")]
pub async fn calendar_page(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    let user_id = web.user.id;
    let active = db
        .run(move |conn| super::calendar::has_feed(conn, user_id))
        .await?;
    Ok(page(
        "booking/calendar",
        &web,
        json!({ "active": active, "url": null }),
    ))
}

#[rocket::post("/calendar", data = "<_form>")]
pub async fn calendar_renew(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    _form: Csrf<TokenOnly>,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let token = db
        .run(move |conn| super::calendar::renew(conn, &user))
        .await?;
    let url = format!("{}/calendar/{token}.ics", config.public_url);
    Ok(page(
        "booking/calendar",
        &web,
        json!({ "active": true, "url": url }),
    ))
}

#[rocket::post("/calendar/revoke", data = "<_form>")]
pub async fn calendar_revoke(
    db: &State<Db>,
    web: WebUser,
    _form: Csrf<TokenOnly>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    db.run(move |conn| super::calendar::revoke(conn, &user))
        .await?;
    Ok(Redirect::to("/calendar"))
}

/// The fields of the opening-hours and absence forms, for their error summary.
const AVAILABILITY_FIELDS: [(&str, &str); 9] = [
    ("weekday", "Jour"),
    ("place_id", "Lieu"),
    ("start", "Début"),
    ("end", "Fin"),
    ("valid_from", "Valable à partir du"),
    ("valid_until", "Valable jusqu'au"),
    ("starts_at_local", "Du"),
    ("ends_at_local", "Au"),
    ("reason", "Motif"),
];

/// The mediator's opening hours and absences, with the forms to add them (`values` and
/// `errors`: what was typed and what was wrong, when a form is shown again).
async fn availability_page(
    db: &Db,
    config: &Config,
    web: &WebUser,
    id: i32,
    values: serde_json::Value,
    errors: serde_json::Value,
) -> Result<Template, AppError> {
    let tz = config.timezone;
    let user = web.user.clone();
    let (mediator, hours, absences, places) = db
        .run(move |conn| {
            let mediator = crate::auth::model::user_by_id(conn, id)?
                .filter(|u| user.can_see(u.organisation_id))
                .ok_or(AppError::NotFound)?;
            let hours = availability::opening_hours_of(conn, &[id])?;
            let now = crate::db::now();
            let absences = availability::absences_between(
                conn,
                &[id],
                now - Duration::days(1),
                now + Duration::days(3650),
            )?;
            let places = crate::places::list(conn, &user, 1000, 0)?
                .into_iter()
                .filter(|p| p.organisation_id == mediator.organisation_id)
                .collect::<Vec<_>>();
            Ok((mediator, hours, absences, places))
        })
        .await?;
    let editable = web.user.id == id || matches!(web.user.role, Role::Admin | Role::Manager);
    Ok(page(
        "booking/availability",
        web,
        json!({
            "mediator": { "id": mediator.id, "name": mediator.name }, "editable": editable,
            "summary": crate::web::notice::summary(
                &serde_json::from_value(errors.clone()).unwrap_or_default(),
                &AVAILABILITY_FIELDS,
            ),
            "values": values, "errors": errors,
            "hours": hours.iter().map(|h| json!({
                "id": h.id, "weekday": WEEKDAYS[(h.weekday - 1).clamp(0, 6) as usize], "start": minute_text(h.start_minute),
                "end": minute_text(h.end_minute), "valid_from": h.valid_from, "valid_until": h.valid_until,
                "place": places.iter().find(|p| p.id == h.place_id).map(|p| p.name.clone()).unwrap_or_default(),
            })).collect::<Vec<_>>(),
            "absences": absences.iter().map(|a| json!({
                "id": a.id, "from": tz.short(a.starts_at), "to": tz.short(a.ends_at), "reason": a.reason,
            })).collect::<Vec<_>>(),
            "places": places,
            "weekdays": WEEKDAYS.iter().enumerate().map(|(i, d)| json!({"value": i + 1, "label": d})).collect::<Vec<_>>(),
        }),
    ))
}

#[rocket::get("/users/<id>/availability")]
pub async fn availability_show(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
) -> Result<Template, AppError> {
    availability_page(db, config, &web, id, json!({}), json!({})).await
}

#[derive(rocket::FromForm)]
pub struct OpeningHoursForm {
    place_id: Option<i32>,
    weekday: Option<i32>,
    start: String,
    end: String,
    valid_from: Option<String>,
    valid_until: Option<String>,
}

/// An optional date field: empty is none; anything else must be a date, never dropped.
fn optional_date(
    text: &Option<String>,
    field: &str,
    errors: &mut crate::error::FieldErrors,
) -> Option<NaiveDate> {
    let text = text.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    if date.is_none() {
        errors
            .entry(field.into())
            .or_default()
            .push("Date attendue (jj/mm/aaaa).".into());
    }
    date
}

async fn availability_back(
    db: &Db,
    config: &Config,
    web: &WebUser,
    id: i32,
    values: serde_json::Value,
    outcome: Result<(), AppError>,
) -> Result<FormOutcome, AppError> {
    match outcome {
        Ok(()) => Ok(FormOutcome::Done(Redirect::to(format!(
            "/users/{id}/availability"
        )))),
        Err(AppError::Validation(errors)) => Ok(FormOutcome::Invalid(Invalid(
            availability_page(db, config, web, id, values, json!(errors)).await?,
        ))),
        Err(e) => Err(e),
    }
}

#[rocket::post("/users/<id>/opening-hours", data = "<form>")]
pub async fn add_opening_hours(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<OpeningHoursForm>,
) -> Result<FormOutcome, AppError> {
    let values = json!({
        "place_id": form.place_id, "weekday": form.weekday, "start": form.start, "end": form.end,
        "valid_from": form.valid_from, "valid_until": form.valid_until,
    });
    let mut date_errors = crate::error::FieldErrors::new();
    let input = OpeningHoursInput {
        place_id: form.place_id.unwrap_or_default(),
        weekday: form.weekday.unwrap_or_default(),
        start: form.start.clone(),
        end: form.end.clone(),
        valid_from: optional_date(&form.valid_from, "valid_from", &mut date_errors),
        valid_until: optional_date(&form.valid_until, "valid_until", &mut date_errors),
    };
    let user = web.user.clone();
    let outcome = db
        .run(move |conn| {
            // A date that does not read is refused with every other error at once, before
            // anything is written.
            if !date_errors.is_empty() {
                let mut errors = availability::opening_hours_errors(&input);
                for (field, messages) in date_errors {
                    errors.entry(field).or_default().extend(messages);
                }
                return Err(AppError::Validation(errors));
            }
            availability::add_opening_hours(conn, &user, id, input).map(|_| ())
        })
        .await;
    availability_back(db, config, &web, id, values, outcome).await
}

#[rocket::post("/opening-hours/<id>/delete", data = "<_form>")]
pub async fn remove_opening_hours(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    _form: Csrf<TokenOnly>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    let back_to = db
        .run(move |conn| availability::remove_opening_hours(conn, &user, id))
        .await?;
    Ok(Redirect::to(format!("/users/{back_to}/availability")))
}

#[derive(rocket::FromForm)]
pub struct AbsenceForm {
    starts_at_local: String,
    ends_at_local: String,
    reason: Option<String>,
}

#[rocket::post("/users/<id>/absences", data = "<form>")]
pub async fn add_absence(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<AbsenceForm>,
) -> Result<FormOutcome, AppError> {
    let tz = config.timezone;
    let input = AbsenceInput {
        starts_at: local_input_to_rfc3339(&tz, &form.starts_at_local).unwrap_or_default(),
        ends_at: local_input_to_rfc3339(&tz, &form.ends_at_local).unwrap_or_default(),
        reason: form.reason.clone(),
    };
    let user = web.user.clone();
    let values = json!({
        "starts_at_local": form.starts_at_local, "ends_at_local": form.ends_at_local, "reason": form.reason,
    });
    let outcome = db
        .run(move |conn| availability::add_absence(conn, &user, id, input).map(|_| ()))
        .await;
    availability_back(db, config, &web, id, values, outcome).await
}

#[rocket::post("/absences/<id>/delete", data = "<_form>")]
pub async fn remove_absence(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    _form: Csrf<TokenOnly>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    let back_to = db
        .run(move |conn| availability::remove_absence(conn, &user, id))
        .await?;
    Ok(Redirect::to(format!("/users/{back_to}/availability")))
}
