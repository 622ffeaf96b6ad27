//! The booking form: a free slot (or a typed local date and time), and the person found by
//! name, phone or email (or created inline). An individual appointment is never booked with
//! nobody in it; on any error the form comes back with everything typed and every error.

use chrono::TimeZone;
use chrono_tz::Tz;
use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::model::Appointment;
use super::service::{self, BookingInput};
use super::web::{local_input_to_rfc3339, names};
use crate::auth::csrf::Csrf;
use crate::auth::{StaffUser, WebUser};
use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::people::{picker, PersonInput};
use crate::time::LocalTime;
use crate::web::query::Query;
use crate::web::{notice, page, FormOutcome, Invalid};

/// The labels of the form's fields, in their order on the page, for the error summary.
const FIELDS: [(&str, &str); 11] = [
    ("person_id", "Personne"),
    ("new_given_name", "Prénom ou pseudonyme"),
    ("new_family_name", "Nom"),
    ("new_phone", "Téléphone"),
    ("new_email", "E-mail"),
    ("service_id", "Motif"),
    ("mediator_id", "Médiateur·rice"),
    ("place_id", "Lieu"),
    ("starts_at_local", "Date et heure"),
    ("title", "Titre (atelier)"),
    ("capacity", "Places (atelier)"),
];

async fn form_page(
    db: &Db,
    config: &Config,
    web: &WebUser,
    values: serde_json::Value,
    errors: FieldErrors,
    q: Option<String>,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let tz = config.timezone;
    let query = q.clone().unwrap_or_default();
    let chosen_id = values["person_id"]
        .as_i64()
        .and_then(|id| i32::try_from(id).ok());
    let (staff, places, services, people) = db
        .run(move |conn| {
            let (staff, places, services) = names(conn, &user)?;
            let mut people = picker::find(conn, &user, &query)?;
            // The person chosen before (her page's link, or a form shown again) stays offered.
            if let Some(id) = chosen_id.filter(|id| !people.iter().any(|p| p.id == *id)) {
                people.splice(0..0, picker::chosen(conn, &user, id)?);
            }
            Ok((staff, places, services, people))
        })
        .await?;
    let start = values["starts_at"]
        .as_str()
        .and_then(crate::time::parse_rfc3339);
    let starts_label = start.map(|t| tz.in_words(t)).unwrap_or_default();
    let starts_local = values["starts_at_local"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            start.map(|t| {
                tz.from_utc_datetime(&t)
                    .format("%Y-%m-%dT%H:%M")
                    .to_string()
            })
        })
        .unwrap_or_default();
    // The time is typed in one field, whichever way it came (a slot's instant, or typed).
    let mut errors = errors;
    if let Some(messages) = errors.remove("starts_at") {
        errors
            .entry("starts_at_local".into())
            .or_default()
            .extend(messages);
    }
    let summary = notice::summary(&errors, &FIELDS);
    // The search keeps what the slot filled in.
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let search_hidden: Vec<(&str, String)> = ["service_id", "mediator_id", "place_id", "starts_at"]
        .into_iter()
        .map(|k| (k, text(&values[k])))
        .collect();
    Ok(page(
        "booking/new",
        web,
        json!({
            "values": values, "errors": errors, "summary": summary, "q": q.unwrap_or_default(),
            "search_hidden": search_hidden, "starts_label": starts_label, "starts_local": starts_local, "people": people,
            "chosen": chosen_id,
            "staff": staff.iter().map(|s| json!({"id": s.0, "name": s.1})).collect::<Vec<_>>(),
            "places": places, "services": services,
        }),
    ))
}

/// The booking form's query: what a free slot, a person's page or a search fills in beforehand.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NewQuery {
    pub service_id: Option<i32>,
    pub mediator_id: Option<i32>,
    pub place_id: Option<i32>,
    pub starts_at: Option<String>,
    pub q: Option<String>,
    pub person_id: Option<i32>,
}

#[rocket::get("/appointments/new")]
pub async fn new(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    query: Query<NewQuery>,
) -> Result<Template, AppError> {
    let NewQuery {
        service_id,
        mediator_id,
        place_id,
        starts_at,
        q,
        person_id,
    } = query.into_inner();
    let values = json!({
        "service_id": service_id, "mediator_id": mediator_id.unwrap_or(web.user.id), "place_id": place_id,
        "starts_at": starts_at, "person_id": person_id,
    });
    form_page(db, config, &web, values, FieldErrors::new(), q).await
}

#[derive(rocket::FromForm)]
pub struct BookingForm {
    service_id: Option<i32>,
    mediator_id: Option<i32>,
    place_id: Option<i32>,
    starts_at: Option<String>,
    starts_at_local: Option<String>,
    person_id: Option<i32>,
    new_given_name: Option<String>,
    new_family_name: Option<String>,
    new_phone: Option<String>,
    new_email: Option<String>,
    title: Option<String>,
    capacity: Option<i32>,
    walk_in: bool,
    override_opening_hours: bool,
}

pub(super) fn add(errors: &mut FieldErrors, field: &str, message: &str) {
    errors
        .entry(field.to_string())
        .or_default()
        .push(message.to_string());
}

/// The inline person's errors under the form's names (`new_given_name`…).
fn prefixed(errors: FieldErrors) -> FieldErrors {
    errors
        .into_iter()
        .map(|(k, v)| (format!("new_{k}"), v))
        .collect()
}

/// The start as the service reads it (RFC 3339): the local date and time typed, else the
/// slot's instant; a mistake noted when it is missing or unreadable.
fn start_of(tz: &Tz, form: &BookingForm, typed: Option<&str>, errors: &mut FieldErrors) -> String {
    match typed {
        Some(text) => local_input_to_rfc3339(tz, text).unwrap_or_else(|| {
            add(
                errors,
                "starts_at",
                "Date et heure attendues (jj/mm/aaaa hh:mm).",
            );
            String::new()
        }),
        None => form
            .starts_at
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| {
                add(
                    errors,
                    "starts_at",
                    "Indiquez la date et l'heure du rendez-vous.",
                );
                String::new()
            }),
    }
}

/// Everything typed, for the form shown again.
fn typed_values(form: &BookingForm, starts_at: &str, typed: Option<&str>) -> serde_json::Value {
    json!({
        "service_id": form.service_id, "mediator_id": form.mediator_id, "place_id": form.place_id, "starts_at": starts_at,
        "starts_at_local": typed, "person_id": form.person_id, "new_given_name": form.new_given_name,
        "new_family_name": form.new_family_name, "new_phone": form.new_phone, "new_email": form.new_email,
        "title": form.title, "capacity": form.capacity, "walk_in": form.walk_in,
        "override_opening_hours": form.override_opening_hours,
    })
}

/// Whom to book: nobody (no person field filled), the person chosen, or the one to create;
/// the inline person's mistakes noted.
fn person_of(
    form: &BookingForm,
    errors: &mut FieldErrors,
) -> (bool, Option<i32>, Option<PersonInput>) {
    let filled = |f: &Option<String>| f.as_deref().is_some_and(|v| !v.trim().is_empty());
    let nobody = form.person_id.is_none()
        && ![
            &form.new_given_name,
            &form.new_family_name,
            &form.new_phone,
            &form.new_email,
        ]
        .into_iter()
        .any(filled);
    let (person_id, new_person) = if nobody {
        (None, None)
    } else {
        match super::enrol::person_choice(
            form.person_id,
            &form.new_given_name,
            &form.new_family_name,
            &form.new_phone,
            &form.new_email,
        ) {
            Ok(Ok(id)) => (Some(id), None),
            Ok(Err(person)) => (None, Some(person)),
            Err(found) => {
                errors.extend(found);
                (None, None)
            }
        }
    };
    (nobody, person_id, new_person)
}

/// The last checks with the database, every mistake at once; then the person created inline
/// and the booking, standing or falling together.
fn book_checked(
    conn: &mut DbConn,
    user: &StaffUser,
    cfg: &Config,
    input: BookingInput,
    nobody: bool,
    new_person: Option<PersonInput>,
    mut errors: FieldErrors,
) -> Result<Appointment, AppError> {
    // Nobody chosen is a mistake for an individual appointment (a workshop may open
    // empty and fill later); said with the form's other errors.
    if nobody {
        let individual = super::availability::get_service(conn, user, input.service_id)
            .map(|s| !s.is_workshop())
            .unwrap_or(true);
        if individual {
            add(
                &mut errors,
                "person_id",
                "Choisissez la personne dans la liste ou créez sa fiche : un rendez-vous individuel ne peut pas être pris pour personne.",
            );
        }
    }
    // With the input's own mistakes (a too-long title…), all at once.
    for (field, messages) in service::input_errors(&input) {
        errors.entry(field).or_default().extend(messages);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    crate::db::transaction(conn, |conn| {
        let mut input = input;
        if let Some(person) = new_person {
            let (created, _) = crate::people::create(conn, user, person).map_err(|e| match e {
                AppError::Validation(errors) => AppError::Validation(prefixed(errors)),
                other => other,
            })?;
            input.person_ids = vec![created.id];
        }
        service::book(conn, user, input, cfg)
    })
}

/// The form's errors from a refused booking (a conflict is the time's); any other error is
/// the answer.
fn form_errors(refusal: AppError) -> Result<FieldErrors, AppError> {
    match refusal {
        AppError::Validation(errors) => Ok(errors
            .into_iter()
            .map(|(k, v)| {
                // The service names the list it was given; the form has one choice.
                let k = if k == "person_ids" {
                    "person_id".to_string()
                } else {
                    k
                };
                (k, v)
            })
            .collect()),
        AppError::Conflict { message, .. } => Ok([("starts_at".to_string(), vec![message])].into()),
        e => Err(e),
    }
}

#[rocket::post("/appointments", data = "<form>")]
pub async fn create(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    form: Csrf<BookingForm>,
) -> Result<FormOutcome, AppError> {
    let tz = config.timezone;
    let form = form.into_inner();
    let typed = form
        .starts_at_local
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut errors = FieldErrors::new();
    let starts_at = start_of(&tz, &form, typed, &mut errors);
    let values = typed_values(&form, &starts_at, typed);
    let (nobody, person_id, new_person) = person_of(&form, &mut errors);
    let input = BookingInput {
        service_id: form.service_id.unwrap_or_default(),
        mediator_id: form.mediator_id.unwrap_or_default(),
        place_id: form.place_id.unwrap_or_default(),
        starts_at,
        person_ids: person_id.into_iter().collect(),
        title: form.title.clone(),
        capacity: form.capacity,
        notes: None,
        walk_in: form.walk_in,
        override_opening_hours: form.override_opening_hours,
    };
    let user = web.user.clone();
    let cfg = config.inner().clone();
    // The person created inline and the booking stand or fall together.
    let outcome = db
        .run(move |conn| book_checked(conn, &user, &cfg, input, nobody, new_person, errors))
        .await;
    let errors: FieldErrors = match outcome {
        Ok(appointment) => {
            return Ok(FormOutcome::Done(Redirect::to(format!(
                "/appointments/{}?ok=booked",
                appointment.row.id
            ))))
        }
        Err(e) => form_errors(e)?,
    };
    Ok(FormOutcome::Invalid(Invalid(
        form_page(db, config, &web, values, errors, None).await?,
    )))
}
