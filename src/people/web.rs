//! People pages: search, detail, form.

use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::PersonInput;
use crate::auth::csrf::Csrf;
use crate::auth::WebUser;
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::web::query::Query;
use crate::web::{notice, optional_number, page, FormOutcome, Invalid};

/// The person form's fields in their order on the page, for the error summary.
const FIELDS: [(&str, &str); 19] = [
    ("given_name", "Prénom ou pseudonyme"),
    ("family_name", "Nom"),
    ("birth_year", "Année de naissance"),
    ("postal_code", "Code postal"),
    ("city", "Commune"),
    ("commune_insee", "Code commune INSEE"),
    ("gender", "Genre"),
    ("social_status", "Statut"),
    ("email", "E-mail"),
    ("phone", "Téléphone"),
    ("reminder_consent", "Rappels par e-mail"),
    ("sms_consent", "Rappels par SMS"),
    ("language", "Langue des messages"),
    ("referent_name", "Nom du prescripteur"),
    ("referent_email", "E-mail du prescripteur"),
    ("referent_organisation", "Structure du prescripteur"),
    ("referent_consent", "Rappels au prescripteur"),
    ("programme_ids", "Dispositifs"),
    ("notes", "Informations pratiques"),
];

#[rocket::get("/people")]
pub async fn list(
    db: &State<Db>,
    web: WebUser,
    query: Query<super::api::PeopleQuery>,
) -> Result<Template, AppError> {
    let q = query.into_inner().q;
    let user = web.user.clone();
    let query = q.clone();
    let people = db
        .run(move |conn| super::search(conn, &user, query.as_deref(), 100, 0))
        .await?;
    let rows: Vec<_> = people
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.display_name(), "birth_year": p.birth_year, "city": p.city, "phone": p.phone, "email": p.email, "anonymised": p.anonymised }))
        .collect();
    Ok(page(
        "people/list",
        &web,
        json!({ "people": rows, "q": q.unwrap_or_default() }),
    ))
}

#[derive(rocket::FromForm, Default)]
pub struct PersonForm {
    given_name: Option<String>,
    family_name: Option<String>,
    birth_year: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    reminder_consent: bool,
    referent_name: Option<String>,
    referent_email: Option<String>,
    referent_organisation: Option<String>,
    referent_consent: bool,
    sms_consent: bool,
    language: Option<String>,
    programme_ids: Vec<i32>,
    notes: Option<String>,
    gender: Option<String>,
    social_status: Option<String>,
    commune_insee: Option<String>,
}

impl PersonForm {
    /// The input, with the errors of fields that could not even be read (a year that is not a
    /// number) added to `errors`.
    fn input(&self, errors: &mut FieldErrors) -> PersonInput {
        let birth_year = optional_number(
            "birth_year",
            self.birth_year.as_deref().unwrap_or(""),
            errors,
        );
        let input = PersonInput {
            given_name: self.given_name.clone().unwrap_or_default(),
            family_name: self.family_name.clone(),
            birth_year,
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            reminder_consent: self.reminder_consent,
            referent_name: self.referent_name.clone(),
            referent_email: self.referent_email.clone(),
            referent_organisation: self.referent_organisation.clone(),
            referent_consent: self.referent_consent,
            sms_consent: self.sms_consent,
            language: self.language.clone(),
            programme_ids: self.programme_ids.clone(),
            notes: self.notes.clone(),
            organisation_id: None,
            gender: self.gender.clone(),
            social_status: self.social_status.clone(),
            commune_insee: self.commune_insee.clone(),
        };
        if !errors.is_empty() {
            // Show every problem at once, not only the unreadable field.
            for (field, messages) in input.clone().field_errors() {
                errors.entry(field).or_default().extend(messages);
            }
        }
        input
    }

    fn values(&self) -> serde_json::Value {
        json!({
            "given_name": self.given_name, "family_name": self.family_name, "birth_year": self.birth_year,
            "postal_code": self.postal_code, "city": self.city, "email": self.email, "phone": self.phone,
            "reminder_consent": self.reminder_consent, "referent_name": self.referent_name,
            "referent_email": self.referent_email, "referent_organisation": self.referent_organisation, "referent_consent": self.referent_consent,
            "sms_consent": self.sms_consent, "language": self.language,
            "programme_ids": self.programme_ids, "notes": self.notes,
            "gender": self.gender, "social_status": self.social_status, "commune_insee": self.commune_insee,
        })
    }
}

async fn form_page(
    db: &Db,
    web: &WebUser,
    person_id: Option<i32>,
    values: serde_json::Value,
    errors: serde_json::Value,
) -> Result<Template, AppError> {
    let programmes = db
        .run(|conn| crate::programmes::list(conn, 1000, 0))
        .await?;
    Ok(page(
        "people/form",
        web,
        notice::with_summary(
            json!({
                "person_id": person_id, "values": values, "errors": errors, "programmes": programmes,
                "genders": super::funder::GENDERS, "social_statuses": super::funder::SOCIAL_STATUSES,
            }),
            &FIELDS,
        ),
    ))
}

#[rocket::get("/people/new")]
pub async fn new(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    form_page(db, &web, None, json!({ "programme_ids": [] }), json!({})).await
}

#[rocket::post("/people", data = "<form>")]
pub async fn create(
    db: &State<Db>,
    web: WebUser,
    form: Csrf<PersonForm>,
) -> Result<FormOutcome, AppError> {
    let mut errors = FieldErrors::new();
    let input = form.input(&mut errors);
    let user = web.user.clone();
    let outcome = if errors.is_empty() {
        db.run(move |conn| super::create(conn, &user, input)).await
    } else {
        Err(AppError::Validation(errors))
    };
    match outcome {
        Ok((person, duplicates)) => {
            let target = if duplicates.is_empty() {
                format!("/people/{}?ok=created", person.id)
            } else {
                let ids: Vec<String> = duplicates.iter().map(|d| d.to_string()).collect();
                format!(
                    "/people/{}?duplicates={}&ok=created",
                    person.id,
                    ids.join(",")
                )
            };
            Ok(FormOutcome::Done(Redirect::to(target)))
        }
        Err(AppError::Validation(errors)) => Ok(FormOutcome::Invalid(Invalid(
            form_page(db, &web, None, form.values(), json!(errors)).await?,
        ))),
        Err(e) => Err(e),
    }
}

#[rocket::get("/people/<id>/edit")]
pub async fn edit(db: &State<Db>, web: WebUser, id: i32) -> Result<Template, AppError> {
    let user = web.user.clone();
    let person = db.run(move |conn| super::get(conn, &user, id)).await?;
    let values =
        serde_json::to_value(person.input()).map_err(|e| AppError::Internal(e.to_string()))?;
    form_page(db, &web, Some(id), values, json!({})).await
}

#[rocket::post("/people/<id>", data = "<form>")]
pub async fn update(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    form: Csrf<PersonForm>,
) -> Result<FormOutcome, AppError> {
    let mut errors = FieldErrors::new();
    let input = form.input(&mut errors);
    let user = web.user.clone();
    let outcome = if errors.is_empty() {
        db.run(move |conn| super::update(conn, &user, id, input))
            .await
    } else {
        Err(AppError::Validation(errors))
    };
    match outcome {
        Ok(_) => Ok(FormOutcome::Done(Redirect::to(format!(
            "/people/{id}?ok=saved"
        )))),
        Err(AppError::Validation(errors)) => Ok(FormOutcome::Invalid(Invalid(
            form_page(db, &web, Some(id), form.values(), json!(errors)).await?,
        ))),
        Err(e) => Err(e),
    }
}
