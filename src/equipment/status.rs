//! Changing an item's status (lost, broken, retired, back in stock): a page says what will
//! happen (the handover closed, the item out of the stock) before the POST does it. Nothing
//! is preselected: losing an item is always a choice.

use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::web::item_json;
use super::StatusInput;
use crate::auth::csrf::Csrf;
use crate::auth::WebUser;
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::status::EquipmentStatus;
use crate::web::query::Query;
use crate::web::{notice, page, FormOutcome, Invalid};

/// The statuses staff may set by hand, in the order offered (the harmless one first).
pub const SETTABLE: [EquipmentStatus; 4] = [
    EquipmentStatus::InStock,
    EquipmentStatus::Broken,
    EquipmentStatus::Lost,
    EquipmentStatus::Retired,
];

const FIELDS: [(&str, &str); 2] = [("status", "Nouveau statut"), ("note", "Note")];

fn settable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<EquipmentStatus>, D::Error> {
    let text = crate::web::query::one_of(d, &SETTABLE.map(EquipmentStatus::as_str))?;
    Ok(text.as_deref().and_then(EquipmentStatus::parse))
}

/// The confirmation page's query: the status chosen on the item page and its note.
#[derive(Debug, Default, serde::Deserialize)]
pub struct StatusQuery {
    #[serde(default, deserialize_with = "settable")]
    pub status: Option<EquipmentStatus>,
    pub note: Option<String>,
}

async fn confirm_page(
    db: &Db,
    web: &WebUser,
    id: i32,
    values: StatusQuery,
    errors: FieldErrors,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let (item, holder) = db
        .run(move |conn| {
            let item = super::get(conn, &user, id)?;
            let holder = match super::current_assignment(conn, id)? {
                Some((assignment, _)) => {
                    crate::people::picker::names(conn, &[assignment.person_id])?
                        .remove(&assignment.person_id)
                }
                None => None,
            };
            Ok((item, holder))
        })
        .await?;
    let chosen = values.status;
    Ok(page(
        "equipment/status",
        web,
        json!({
            "item": item_json(&item), "holder": holder, "status": chosen, "status_label": chosen.map(EquipmentStatus::label),
            "note": values.note, "errors": errors, "summary": notice::summary(&errors, &FIELDS),
            "statuses": SETTABLE.iter().map(|s| json!({ "code": s, "label": s.label() })).collect::<Vec<_>>(),
        }),
    ))
}

#[rocket::get("/equipment/<id>/status")]
pub async fn confirm(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    query: Query<StatusQuery>,
) -> Result<Template, AppError> {
    confirm_page(db, &web, id, query.into_inner(), FieldErrors::new()).await
}

#[derive(rocket::FromForm)]
pub struct StatusForm {
    status: Option<String>,
    note: Option<String>,
}

#[rocket::post("/equipment/<id>/status", data = "<form>")]
pub async fn set_status(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    form: Csrf<StatusForm>,
) -> Result<FormOutcome, AppError> {
    let form = form.into_inner();
    let user = web.user.clone();
    let status = form.status.clone().filter(|s| !s.is_empty());
    let outcome = match status.clone() {
        None => Err(AppError::field("status", "Choisissez le nouveau statut.")),
        Some(status) => {
            let input = StatusInput {
                status,
                note: form.note.clone(),
            };
            db.run(move |conn| super::set_status(conn, &user, id, input).map(|_| ()))
                .await
        }
    };
    let errors = match outcome {
        Ok(()) => {
            return Ok(FormOutcome::Done(Redirect::to(format!(
                "/equipment/{id}?ok=status"
            ))))
        }
        Err(AppError::Validation(errors)) => errors,
        Err(AppError::Conflict { message, .. }) => [("item".to_string(), vec![message])].into(),
        Err(e) => return Err(e),
    };
    let values = StatusQuery {
        status: status
            .as_deref()
            .and_then(EquipmentStatus::parse)
            .filter(|s| SETTABLE.contains(s)),
        note: form.note,
    };
    Ok(FormOutcome::Invalid(Invalid(
        confirm_page(db, &web, id, values, errors).await?,
    )))
}
