//! The privacy pages: erasing a person (a confirmation page, then the erasure) and downloading
//! everything held on them. They answer under the people's paths (`/people/<id>/erase`,
//! `/people/<id>/export`) and use the people's templates.

use rocket::request::Request;
use rocket::response::{self, Redirect, Responder, Response};
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use crate::auth::csrf::Csrf;
use crate::auth::{Role, WebUser};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::status::ParticipantStatus;
use crate::web::page;

/// Anonymising asks first, on a page that says what is erased and what is kept.
#[rocket::get("/people/<id>/erase")]
pub async fn erase_confirm(db: &State<Db>, web: WebUser, id: i32) -> Result<Template, AppError> {
    web.user.require(&[Role::Admin, Role::Manager])?;
    let user = web.user.clone();
    let (person, upcoming) = db
        .run(move |conn| {
            let person = crate::people::get(conn, &user, id)?;
            let tz = chrono_tz::UTC;
            let (upcoming, _) = crate::booking::history::of_person(conn, &user, id, &tz)?;
            let seats = upcoming
                .iter()
                .filter(|a| {
                    matches!(
                        a.attendance_code,
                        ParticipantStatus::Booked | ParticipantStatus::Waitlisted
                    )
                })
                .count();
            Ok((person, seats))
        })
        .await?;
    Ok(page(
        "people/erase",
        &web,
        json!({ "person": person, "name": person.display_name(), "upcoming": upcoming }),
    ))
}

#[derive(rocket::FromForm)]
pub struct EraseForm {
    confirm: bool,
}

#[rocket::post("/people/<id>/erase", data = "<form>")]
pub async fn erase(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<EraseForm>,
) -> Result<Redirect, AppError> {
    web.user.require(&[Role::Admin, Role::Manager])?;
    if !form.confirm {
        return Err(AppError::field(
            "confirm",
            "Confirmez l'anonymisation depuis sa page de confirmation.",
        ));
    }
    let user = web.user.clone();
    let config = config.inner().clone();
    db.run(move |conn| super::erase(conn, &config, &user, id))
        .await?;
    Ok(Redirect::to(format!("/people/{id}?ok=erased")))
}

/// The export as a file to download and hand over: one self-contained HTML page.
pub struct Download {
    page: Template,
    filename: String,
}

impl<'r> Responder<'r, 'static> for Download {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        Response::build_from(self.page.respond_to(req)?)
            .raw_header(
                "Content-Disposition",
                format!("attachment; filename=\"{}\"", self.filename),
            )
            .ok()
    }
}

/// Everything held on the person (GDPR access), as an HTML file; the read is audited.
#[rocket::get("/people/<id>/export")]
pub async fn export(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
) -> Result<Download, AppError> {
    let user = web.user.clone();
    let tz = config.timezone;
    let export = db
        .run(move |conn| super::export::export(conn, &tz, &user, id))
        .await?;
    let name = export.person.display_name();
    let mut context =
        serde_json::to_value(&export).map_err(|e| AppError::Internal(e.to_string()))?;
    context["name"] = json!(name);
    context["labels"] = super::export::labels();
    context["exported_by"] = json!(web.user.name);
    Ok(Download {
        page: Template::render("people/export", context),
        filename: format!("passerelle-personne-{id}.html"),
    })
}
