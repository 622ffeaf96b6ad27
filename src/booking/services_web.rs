//! The services page ("Motifs de rendez-vous"): the list and, for managers, the form to add one.
//! A number that does not read is refused with the form's other mistakes, all at once.

use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::availability::{self, ServiceInput};
use crate::auth::csrf::Csrf;
use crate::auth::{Role, WebUser};
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::web::{notice, optional_number, page, FormOutcome, Invalid};
use validator::Validate;

/// The form's fields in their order on the page, for the error summary.
const FIELDS: [(&str, &str); 9] = [
    ("name", "Nom"),
    ("kind", "Type"),
    ("duration_minutes", "Durée"),
    ("capacity", "Places"),
    ("min_notice_minutes", "Délai de prévenance"),
    ("buffer_minutes", "Pause après le rendez-vous"),
    ("horizon_days", "Réservable jusqu'à"),
    ("bookable_by", "Qui peut réserver"),
    ("what_to_bring", "À apporter"),
];

async fn services_page(
    db: &Db,
    web: &WebUser,
    values: serde_json::Value,
    errors: FieldErrors,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let services = db
        .run(move |conn| availability::list_services(conn, &user))
        .await?;
    Ok(page(
        "booking/services",
        web,
        notice::with_summary(
            json!({ "services": services, "values": values, "errors": errors, "bookable_by": super::model::BOOKABLE_BY }),
            &FIELDS,
        ),
    ))
}

#[rocket::get("/services")]
pub async fn services(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    services_page(
        db,
        &web,
        json!({ "kind": "individual", "duration_minutes": 60, "bookable_by": "staff" }),
        FieldErrors::new(),
    )
    .await
}

/// The numbers are read here (as typed), so that "abc" is refused rather than dropped.
#[derive(rocket::FromForm)]
pub struct ServiceForm {
    name: String,
    kind: String,
    duration_minutes: Option<String>,
    capacity: Option<String>,
    min_notice_minutes: Option<String>,
    buffer_minutes: Option<String>,
    horizon_days: Option<String>,
    what_to_bring: Option<String>,
    bookable_by: Option<String>,
}

#[rocket::post("/services", data = "<form>")]
pub async fn create_service(
    db: &State<Db>,
    web: WebUser,
    form: Csrf<ServiceForm>,
) -> Result<FormOutcome, AppError> {
    let form = form.into_inner();
    let values = json!({ "name": form.name, "kind": form.kind, "duration_minutes": form.duration_minutes, "capacity": form.capacity,
        "min_notice_minutes": form.min_notice_minutes, "buffer_minutes": form.buffer_minutes, "horizon_days": form.horizon_days,
        "bookable_by": form.bookable_by, "what_to_bring": form.what_to_bring });
    let mut unread = FieldErrors::new();
    let mut number = |field: &str, text: &Option<String>| {
        optional_number(field, text.as_deref().unwrap_or(""), &mut unread)
    };
    let duration_minutes = number("duration_minutes", &form.duration_minutes);
    let capacity = number("capacity", &form.capacity);
    let min_notice_minutes = number("min_notice_minutes", &form.min_notice_minutes);
    let buffer_minutes = number("buffer_minutes", &form.buffer_minutes);
    let horizon_days = number("horizon_days", &form.horizon_days);
    let duration_missing = duration_minutes.is_none() && !unread.contains_key("duration_minutes");
    let input = ServiceInput {
        name: form.name,
        kind: form.kind,
        duration_minutes: duration_minutes.unwrap_or_default(),
        capacity,
        min_notice_minutes,
        buffer_minutes,
        horizon_days,
        what_to_bring: form.what_to_bring,
        organisation_id: None,
        bookable_by: form.bookable_by,
        self_reschedule: None,
    };
    // Nothing is written while a number does not read: the other fields' own mistakes come
    // with it.
    web.user.require(&[Role::Admin, Role::Manager])?;
    let mut errors = if unread.is_empty() {
        let user = web.user.clone();
        let outcome = db
            .run(move |conn| availability::create_service(conn, &user, input))
            .await;
        match outcome {
            Ok(_) => return Ok(FormOutcome::Done(Redirect::to("/services"))),
            Err(AppError::Validation(errors)) => errors,
            Err(e) => return Err(e),
        }
    } else {
        crate::error::validation_errors(input.validate())
    };
    errors.extend(unread);
    if duration_missing {
        errors.insert(
            "duration_minutes".into(),
            vec!["Indiquez la durée en minutes.".into()],
        );
    }
    Ok(FormOutcome::Invalid(Invalid(
        services_page(db, &web, values, errors).await?,
    )))
}
