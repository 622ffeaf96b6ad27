//! Programmes page: the list and, for managers and admins, a creation form.

use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::ProgrammeInput;
use crate::auth::csrf::Csrf;
use crate::auth::WebUser;
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::web::{notice, page, FormOutcome, Invalid};

/// The form's fields in their order on the page, for the error summary.
const FIELDS: [(&str, &str); 4] = [
    ("name", "Nom"),
    ("funder", "Financeur"),
    ("starts_on", "Début"),
    ("ends_on", "Fin"),
];

async fn list_page(
    db: &Db,
    web: &WebUser,
    values: serde_json::Value,
    errors: serde_json::Value,
) -> Result<Template, AppError> {
    let programmes = db.run(|conn| super::list(conn, 1000, 0)).await?;
    Ok(page(
        "programmes",
        web,
        notice::with_summary(
            json!({ "programmes": programmes, "values": values, "errors": errors }),
            &FIELDS,
        ),
    ))
}

#[rocket::get("/programmes")]
pub async fn list(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    list_page(db, &web, json!({}), json!({})).await
}

#[derive(rocket::FromForm)]
pub struct ProgrammeForm {
    name: String,
    funder: String,
    starts_on: String,
    ends_on: String,
}

fn optional_date(field: &str, text: &str, errors: &mut FieldErrors) -> Option<chrono::NaiveDate> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors
                .entry(field.into())
                .or_default()
                .push("Date attendue (jj/mm/aaaa).".into());
            None
        }
    }
}

#[rocket::post("/programmes", data = "<form>")]
pub async fn create(
    db: &State<Db>,
    web: WebUser,
    form: Csrf<ProgrammeForm>,
) -> Result<FormOutcome, AppError> {
    let mut errors = FieldErrors::new();
    let input = ProgrammeInput {
        name: form.name.clone(),
        funder: Some(form.funder.clone()),
        starts_on: optional_date("starts_on", &form.starts_on, &mut errors),
        ends_on: optional_date("ends_on", &form.ends_on, &mut errors),
    };
    let user = web.user.clone();
    let outcome = if errors.is_empty() {
        db.run(move |conn| super::create(conn, &user, input)).await
    } else {
        // With the other fields' mistakes, all at once.
        if let Err(more) = validator::Validate::validate(&input) {
            if let AppError::Validation(more) = AppError::from(more) {
                errors.extend(more);
            }
        }
        Err(AppError::Validation(errors))
    };
    let errors = match outcome {
        Ok(_) => return Ok(FormOutcome::Done(Redirect::to("/programmes"))),
        Err(AppError::Validation(errors)) => json!(errors),
        Err(AppError::Conflict { message, .. }) => json!({ "name": [message] }),
        Err(e) => return Err(e),
    };
    let values = json!({ "name": form.name, "funder": form.funder, "starts_on": form.starts_on, "ends_on": form.ends_on });
    Ok(FormOutcome::Invalid(Invalid(
        list_page(db, &web, values, errors).await?,
    )))
}
