//! Places pages.

use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::PlaceInput;
use crate::auth::csrf::Csrf;
use crate::auth::{Role, WebUser};
use crate::db::Db;
use crate::error::AppError;
use crate::web::{notice, page, FormOutcome, Invalid};

/// The form's fields in their order on the page, for the error summary.
const FIELDS: [(&str, &str); 12] = [
    ("name", "Nom"),
    ("address", "Adresse"),
    ("postal_code", "Code postal"),
    ("city", "Commune"),
    ("phone", "Téléphone du lieu"),
    ("accessibility_notes", "Accessibilité"),
    ("siret", "SIRET"),
    ("typologie", "Typologie"),
    ("services", "Services proposés"),
    ("modalites_acces", "Modalités d'accès"),
    ("presentation_resume", "Présentation courte"),
    ("opening_hours", "Horaires d'ouverture du lieu"),
];

/// The place form (new when `place_id` is none), with what was typed and its errors.
fn form_page(
    web: &WebUser,
    place_id: Option<i32>,
    values: serde_json::Value,
    errors: crate::error::FieldErrors,
) -> Template {
    page(
        "places/form",
        web,
        notice::with_summary(
            json!({ "place_id": place_id, "values": values, "errors": errors, "lists": lists() }),
            &FIELDS,
        ),
    )
}

#[rocket::get("/places")]
pub async fn list(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    let user = web.user.clone();
    let places = db
        .run(move |conn| super::list(conn, &user, 1000, 0))
        .await?;
    Ok(page("places/list", &web, json!({ "places": places })))
}

#[derive(rocket::FromForm)]
pub struct PlaceForm {
    name: String,
    address: String,
    postal_code: String,
    city: String,
    phone: String,
    accessibility_notes: String,
    // The national standard's fields: optional, so a form without them still saves.
    siret: Option<String>,
    services: Vec<String>,
    modalites_acces: Vec<String>,
    typologie: Option<String>,
    presentation_resume: Option<String>,
    opening_hours: Option<String>,
}

impl PlaceForm {
    fn input(&self) -> PlaceInput {
        PlaceInput {
            name: self.name.clone(),
            address: self.address.clone(),
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            phone: Some(self.phone.clone()),
            accessibility_notes: Some(self.accessibility_notes.clone()),
            organisation_id: None,
            siret: self.siret.clone(),
            services: self.services.clone(),
            modalites_acces: self.modalites_acces.clone(),
            typologie: self.typologie.clone(),
            presentation_resume: self.presentation_resume.clone(),
            opening_hours: self.opening_hours.clone(),
        }
    }

    fn values(&self) -> serde_json::Value {
        json!({ "name": self.name, "address": self.address, "postal_code": self.postal_code,
                "city": self.city, "phone": self.phone, "accessibility_notes": self.accessibility_notes,
                "siret": self.siret, "services": self.services, "modalites_acces": self.modalites_acces,
                "typologie": self.typologie, "presentation_resume": self.presentation_resume,
                "opening_hours": self.opening_hours })
    }
}

/// The standard's lists the form offers.
fn lists() -> serde_json::Value {
    use super::standard::{MODALITES_ACCES, SERVICES, TYPOLOGIES};
    let typologies: Vec<_> = TYPOLOGIES
        .iter()
        .map(|(code, label)| json!({ "code": code, "label": label }))
        .collect();
    json!({ "services": SERVICES, "modalites_acces": MODALITES_ACCES, "typologies": typologies })
}

#[rocket::get("/places/new")]
pub fn new(web: WebUser) -> Result<Template, AppError> {
    web.user.require(&[Role::Admin, Role::Manager])?;
    Ok(form_page(&web, None, json!({}), Default::default()))
}

#[rocket::post("/places", data = "<form>")]
pub async fn create(
    db: &State<Db>,
    web: WebUser,
    form: Csrf<PlaceForm>,
) -> Result<FormOutcome, AppError> {
    web.user.require(&[Role::Admin, Role::Manager])?;
    let input = form.input();
    let user = web.user.clone();
    match db.run(move |conn| super::create(conn, &user, input)).await {
        Ok(place) => Ok(FormOutcome::Done(Redirect::to(format!(
            "/places/{}",
            place.id
        )))),
        Err(AppError::Validation(errors)) => Ok(FormOutcome::Invalid(Invalid(form_page(
            &web,
            None,
            form.values(),
            errors,
        )))),
        Err(e) => Err(e),
    }
}

#[rocket::get("/places/<id>")]
pub async fn show(db: &State<Db>, web: WebUser, id: i32) -> Result<Template, AppError> {
    let user = web.user.clone();
    let place = db.run(move |conn| super::get(conn, &user, id)).await?;
    Ok(page("places/show", &web, json!({ "place": place })))
}

#[rocket::get("/places/<id>/edit")]
pub async fn edit(db: &State<Db>, web: WebUser, id: i32) -> Result<Template, AppError> {
    web.user.require(&[Role::Admin, Role::Manager])?;
    let user = web.user.clone();
    let place = db.run(move |conn| super::get(conn, &user, id)).await?;
    Ok(form_page(&web, Some(id), json!(place), Default::default()))
}

#[rocket::post("/places/<id>", data = "<form>")]
pub async fn update(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    form: Csrf<PlaceForm>,
) -> Result<FormOutcome, AppError> {
    web.user.require(&[Role::Admin, Role::Manager])?;
    let input = form.input();
    let user = web.user.clone();
    match db
        .run(move |conn| super::update(conn, &user, id, input))
        .await
    {
        Ok(_) => Ok(FormOutcome::Done(Redirect::to(format!("/places/{id}")))),
        Err(AppError::Validation(errors)) => Ok(FormOutcome::Invalid(Invalid(form_page(
            &web,
            Some(id),
            form.values(),
            errors,
        )))),
        Err(e) => Err(e),
    }
}
