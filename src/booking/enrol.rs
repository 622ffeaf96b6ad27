//! Enrolling a person into an appointment from its page: chosen among the people found by
//! name, phone or email, or created on the spot (the fiche and the seat stand or fall
//! together). Beyond the seats, the person goes on the waitlist.

use rocket::response::Redirect;
use rocket::State;
use serde_json::json;

use super::service;
use super::web::show_page;
use crate::auth::csrf::Csrf;
use crate::auth::WebUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::people::PersonInput;
use crate::web::{FormOutcome, Invalid};

#[derive(rocket::FromForm)]
pub struct EnrolForm {
    person_id: Option<i32>,
    new_given_name: Option<String>,
    new_family_name: Option<String>,
    new_phone: Option<String>,
    new_email: Option<String>,
}

/// The person a form names: one picked (`person_id`) or one to create (`new_*`), never both,
/// never none; every mistake at once, under the form's field names.
pub fn person_choice(
    person_id: Option<i32>,
    new_given_name: &Option<String>,
    new_family_name: &Option<String>,
    new_phone: &Option<String>,
    new_email: &Option<String>,
) -> Result<Result<i32, PersonInput>, FieldErrors> {
    let filled = |f: &Option<String>| f.as_deref().is_some_and(|v| !v.trim().is_empty());
    let mut errors = FieldErrors::new();
    let mut say = |field: &str, message: &str| {
        errors
            .entry(field.to_string())
            .or_default()
            .push(message.to_string())
    };
    let new_person = filled(new_given_name).then(|| PersonInput {
        given_name: new_given_name.clone().unwrap_or_default(),
        family_name: new_family_name.clone(),
        phone: new_phone.clone(),
        email: new_email.clone(),
        ..Default::default()
    });
    let other_typed = filled(new_family_name) || filled(new_phone) || filled(new_email);
    match (person_id, new_person) {
        (Some(_), Some(_)) => say(
            "person_id",
            "Choisissez une personne trouvée ou créez une fiche, pas les deux.",
        ),
        (Some(id), None) => return Ok(Ok(id)),
        (None, Some(person)) => {
            let found: FieldErrors = person
                .clone()
                .field_errors()
                .into_iter()
                .map(|(k, v)| (format!("new_{k}"), v))
                .collect();
            if found.is_empty() {
                return Ok(Err(person));
            }
            errors.extend(found);
        }
        (None, None) if other_typed => say(
            "new_given_name",
            "Le prénom (ou un pseudonyme) est obligatoire pour créer la fiche.",
        ),
        (None, None) => say(
            "person_id",
            "Choisissez la personne dans la liste (cherchez-la par son nom, son téléphone ou son e-mail) ou créez sa fiche.",
        ),
    }
    Err(errors)
}

#[rocket::post("/appointments/<id>/participants", data = "<form>")]
pub async fn enrol(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<EnrolForm>,
) -> Result<FormOutcome, AppError> {
    let form = form.into_inner();
    let values = json!({
        "person_id": form.person_id, "new_given_name": form.new_given_name, "new_family_name": form.new_family_name,
        "new_phone": form.new_phone, "new_email": form.new_email,
    });
    let choice = person_choice(
        form.person_id,
        &form.new_given_name,
        &form.new_family_name,
        &form.new_phone,
        &form.new_email,
    );
    let user = web.user.clone();
    let cfg = config.inner().clone();
    let outcome = match choice {
        Err(errors) => Err(AppError::Validation(errors)),
        Ok(choice) => {
            db.run(move |conn| {
                crate::db::transaction(conn, |conn| {
                    let person_id = match choice {
                        Ok(id) => id,
                        Err(person) => {
                            crate::people::create(conn, &user, person)
                                .map_err(|e| match e {
                                    AppError::Validation(errors) => AppError::Validation(
                                        errors
                                            .into_iter()
                                            .map(|(k, v)| (format!("new_{k}"), v))
                                            .collect(),
                                    ),
                                    other => other,
                                })?
                                .0
                                .id
                        }
                    };
                    service::enrol(conn, &user, id, person_id, &cfg)
                })
            })
            .await
        }
    };
    let errors = match outcome {
        Ok(_) => {
            return Ok(FormOutcome::Done(Redirect::to(format!(
                "/appointments/{id}?ok=enrolled"
            ))))
        }
        Err(AppError::Validation(errors)) => errors,
        Err(AppError::Conflict { message, .. }) => {
            [("person_id".to_string(), vec![message])].into()
        }
        Err(e) => return Err(e),
    };
    let errors: FieldErrors = errors
        .into_iter()
        .map(|(k, v)| {
            if k == "person_ids" {
                ("person_id".into(), v)
            } else {
                (k, v)
            }
        })
        .collect();
    Ok(FormOutcome::Invalid(Invalid(
        show_page(
            db,
            config,
            &web,
            id,
            json!(errors),
            None,
            json!({ "values": values }),
        )
        .await?,
    )))
}
