//! Equipment pages: inventory with filters, the item page with its history and handover forms,
//! the printable A4 handover form, loans due back and SIM cards ending soon.

use chrono::{Duration, NaiveDate};
use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::{kind_label, AssignInput, Filter, ItemInput, ReturnInput, KINDS};
use crate::auth::csrf::Csrf;
use crate::auth::WebUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::status::EquipmentStatus;
use crate::web::query::Query;
use crate::web::{page, FormOutcome, Invalid};

fn pairs(list: &[(&str, &str)]) -> Vec<serde_json::Value> {
    list.iter()
        .map(|(code, label)| json!({ "code": code, "label": label }))
        .collect()
}

/// Every status as the inventory's filter lists it, code and label.
fn statuses() -> Vec<serde_json::Value> {
    EquipmentStatus::ALL
        .iter()
        .map(|status| json!({ "code": status, "label": status.label() }))
        .collect()
}

pub(super) fn item_json(item: &super::Item) -> serde_json::Value {
    json!({
        "id": item.id, "kind": kind_label(&item.kind), "model": item.model, "serial": item.serial, "imei": item.imei,
        "iccid": item.iccid, "phone_number": item.phone_number, "operator": item.operator, "data_allowance": item.data_allowance,
        "valid_until": item.valid_until, "status": item.status, "status_label": item.status.label(),
    })
}

async fn inventory_page(
    db: &Db,
    web: &WebUser,
    filter: Filter,
    values: serde_json::Value,
    errors: FieldErrors,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let query = json!({ "kind": filter.kind, "status": filter.status, "programme_id": filter.programme_id });
    let (items, programmes) = db
        .run(move |conn| {
            Ok((
                super::list(conn, &user, &filter)?,
                crate::programmes::list(conn, 1000, 0)?,
            ))
        })
        .await?;
    Ok(page(
        "equipment/list",
        web,
        crate::web::notice::with_summary(
            json!({
                "items": items.iter().map(item_json).collect::<Vec<_>>(), "kinds": pairs(&KINDS), "statuses": statuses(),
                "programmes": programmes, "query": query, "values": values, "errors": errors,
            }),
            &ITEM_FIELDS,
        ),
    ))
}

#[rocket::get("/equipment")]
pub async fn list(
    db: &State<Db>,
    web: WebUser,
    query: Query<super::api::EquipmentQuery>,
) -> Result<Template, AppError> {
    let super::api::EquipmentQuery {
        kind,
        status,
        programme_id,
    } = query.into_inner();
    let filter = Filter {
        kind: kind.filter(|k| !k.is_empty()),
        status,
        programme_id,
        limit: 1000,
        offset: 0,
    };
    inventory_page(
        db,
        &web,
        filter,
        json!({ "kind": "tablet" }),
        FieldErrors::new(),
    )
    .await
}

#[derive(rocket::FromForm)]
pub struct ItemForm {
    kind: String,
    model: Option<String>,
    serial: Option<String>,
    imei: Option<String>,
    iccid: Option<String>,
    phone_number: Option<String>,
    operator: Option<String>,
    data_allowance: Option<String>,
    valid_until: Option<String>,
    programme_id: Option<i32>,
}

#[rocket::post("/equipment", data = "<form>")]
pub async fn create(
    db: &State<Db>,
    web: WebUser,
    form: Csrf<ItemForm>,
) -> Result<FormOutcome, AppError> {
    let form = form.into_inner();
    let values = json!({ "kind": form.kind, "model": form.model, "serial": form.serial, "imei": form.imei, "iccid": form.iccid,
        "phone_number": form.phone_number, "operator": form.operator, "data_allowance": form.data_allowance, "valid_until": form.valid_until,
        "programme_id": form.programme_id });
    // A date that does not read is refused (it was dropped), with the other fields' mistakes.
    let mut unread = FieldErrors::new();
    let valid_until = typed_date("valid_until", &form.valid_until, false, &mut unread);
    let input = ItemInput {
        kind: form.kind,
        model: form.model,
        serial: form.serial,
        imei: form.imei,
        iccid: form.iccid,
        phone_number: form.phone_number,
        operator: form.operator,
        data_allowance: form.data_allowance,
        valid_until,
        programme_id: form.programme_id,
        organisation_id: None,
    };
    let user = web.user.clone();
    let outcome = if unread.is_empty() {
        db.run(move |conn| super::create(conn, &user, input)).await
    } else {
        let mut errors = unread;
        input.normalised(&mut errors);
        Err(AppError::Validation(errors))
    };
    match outcome {
        Ok(item) => Ok(FormOutcome::Done(Redirect::to(format!(
            "/equipment/{}",
            item.id
        )))),
        Err(AppError::Validation(errors)) => {
            let filter = Filter {
                limit: 1000,
                ..Default::default()
            };
            Ok(FormOutcome::Invalid(Invalid(
                inventory_page(db, &web, filter, values, errors).await?,
            )))
        }
        Err(e) => Err(e),
    }
}

/// The add-an-item form's fields in their order on the page, for the error summary.
const ITEM_FIELDS: [(&str, &str); 10] = [
    ("kind", "Type"),
    ("model", "Modèle"),
    ("serial", "Numéro de série"),
    ("imei", "IMEI"),
    ("iccid", "ICCID"),
    ("phone_number", "Numéro de la ligne"),
    ("operator", "Opérateur"),
    ("data_allowance", "Forfait de données"),
    ("valid_until", "Fin de validité"),
    ("programme_id", "Dispositif"),
];

/// The labels of the item page's fields, for its error summary.
const FIELDS: [(&str, &str); 10] = [
    ("person_id", "Personne"),
    ("new_given_name", "Prénom ou pseudonyme"),
    ("new_family_name", "Nom"),
    ("new_phone", "Téléphone"),
    ("new_email", "E-mail"),
    ("mode", "Mode"),
    ("handed_over_on", "Date de remise"),
    ("due_back_on", "Date de retour (prêt)"),
    ("acceptance", "Acceptation"),
    ("accepted_by_name", "Nom tapé par la personne"),
];

/// The item page; `q` searches the person to hand it over to, `extra` adds the handover
/// form's values and a notice.
pub(super) async fn item_page(
    db: &Db,
    config: &Config,
    web: &WebUser,
    id: i32,
    errors: serde_json::Value,
    q: Option<String>,
    extra: serde_json::Value,
) -> Result<Template, AppError> {
    let tz = &config.timezone;
    let user = web.user.clone();
    let query = q.clone().unwrap_or_default();
    let ((item, history, current, people), matches) = db
        .run(move |conn| {
            let matches = crate::people::picker::find(conn, &user, &query)?;
            let item = super::get(conn, &user, id)?;
            let history = super::history(conn, id)?;
            let current = super::current_assignment(conn, id)?;
            let names: Vec<(i32, String)> = history
                .iter()
                .filter_map(|e| e.person_id)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter_map(|pid| {
                    crate::people::get(conn, &user, pid)
                        .ok()
                        .map(|p| (pid, p.display_name()))
                })
                .collect();
            Ok(((item, history, current, names), matches))
        })
        .await?;
    let field_errors: FieldErrors = serde_json::from_value(errors.clone()).unwrap_or_default();
    let summary = crate::web::notice::summary(&field_errors, &FIELDS);
    // The handover form compares its fields: each is there, null when nothing was typed.
    let mut values = json!({ "person_id": null, "mode": null, "handed_over_on": null, "due_back_on": null,
        "acceptance": null, "accepted_by_name": null });
    if let Some(typed) = extra["values"].as_object() {
        for (k, v) in typed {
            values[k] = v.clone();
        }
    }
    let history: Vec<_> = history
        .iter()
        .map(|e| {
            let action = match e.action.as_str() {
                "created" => "inventorié",
                "donated" => "donné",
                "loaned" => "prêté",
                "returned" => "rendu",
                "accepted" => "remise acceptée",
                _ => e.status.label(),
            };
            json!({
                "at": crate::french::date_in_words(e.at.date()), "action": action, "note": e.note,
                "person_id": e.person_id, "person": e.person_id.and_then(|p| people.iter().find(|(id, _)| *id == p).map(|(_, n)| n.clone())),
            })
        })
        .collect();
    Ok(page(
        "equipment/show",
        web,
        json!({
            "item": item_json(&item), "history": history, "errors": errors,
            "current": current.map(|(a, name)| json!({ "person_id": a.person_id, "name": name, "mode": a.mode, "due_back_on": a.due_back_on,
                "handed_over_on": a.handed_over_on, "acceptance": a.acceptance_label(tz) })),
            "today": crate::db::now().date().to_string(),
            "summary": summary, "q": q.unwrap_or_default(), "matches": matches,
            "chosen": values["person_id"], "values": values,
            "notice": crate::web::notice::text(extra["ok"].as_str()),
        }),
    ))
}

/// The item page's query: a person searched to hand the item over to, the notice of a saved
/// change.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ShowQuery {
    pub q: Option<String>,
    #[serde(default, deserialize_with = "crate::web::notice::ok_code")]
    pub ok: Option<String>,
}

#[rocket::get("/equipment/<id>")]
pub async fn show(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    query: Query<ShowQuery>,
) -> Result<Template, AppError> {
    let ShowQuery { q, ok } = query.into_inner();
    item_page(db, config, &web, id, json!({}), q, json!({ "ok": ok })).await
}

/// After a POST on the item page: back to it with the notice `ok`, or the page again with the
/// errors and the form's `values`.
async fn back(
    db: &Db,
    config: &Config,
    web: &WebUser,
    id: i32,
    (ok, values): (&str, serde_json::Value),
    outcome: Result<(), AppError>,
) -> Result<FormOutcome, AppError> {
    let errors = match outcome {
        Ok(()) => {
            return Ok(FormOutcome::Done(Redirect::to(format!(
                "/equipment/{id}?ok={ok}"
            ))))
        }
        Err(AppError::Validation(errors)) => json!(errors),
        Err(AppError::Conflict { message, .. }) => json!({ "item": [message] }),
        Err(e) => return Err(e),
    };
    Ok(FormOutcome::Invalid(Invalid(
        item_page(
            db,
            config,
            web,
            id,
            errors,
            None,
            json!({ "values": values }),
        )
        .await?,
    )))
}

#[derive(rocket::FromForm)]
pub struct AssignForm {
    person_id: Option<i32>,
    new_given_name: Option<String>,
    new_family_name: Option<String>,
    new_phone: Option<String>,
    new_email: Option<String>,
    mode: Option<String>,
    handed_over_on: Option<String>,
    due_back_on: Option<String>,
    acceptance: Option<String>,
    accepted_by_name: Option<String>,
}

/// A date typed in a date field, or the error to show beside it.
fn typed_date(
    field: &str,
    text: &Option<String>,
    required: bool,
    errors: &mut FieldErrors,
) -> Option<NaiveDate> {
    let text = text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let message = match text {
        None if !required => return None,
        None => "Indiquez la date.",
        Some(t) => match crate::time::parse_date(t) {
            Some(date) => return Some(date),
            None => "Date attendue (jj/mm/aaaa).",
        },
    };
    errors
        .entry(field.to_string())
        .or_default()
        .push(message.into());
    None
}

#[rocket::post("/equipment/<id>/assign", data = "<form>")]
pub async fn assign(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<AssignForm>,
) -> Result<FormOutcome, AppError> {
    let form = form.into_inner();
    let values = json!({
        "person_id": form.person_id, "new_given_name": form.new_given_name, "new_family_name": form.new_family_name,
        "new_phone": form.new_phone, "new_email": form.new_email, "mode": form.mode, "handed_over_on": form.handed_over_on,
        "due_back_on": form.due_back_on, "acceptance": form.acceptance, "accepted_by_name": form.accepted_by_name,
    });
    // Every mistake at once: the person, the dates, then what the service checks.
    let mut errors = FieldErrors::new();
    let choice = match crate::booking::enrol::person_choice(
        form.person_id,
        &form.new_given_name,
        &form.new_family_name,
        &form.new_phone,
        &form.new_email,
    ) {
        Ok(choice) => Some(choice),
        Err(found) => {
            errors.extend(found);
            None
        }
    };
    let handed_over_on = typed_date("handed_over_on", &form.handed_over_on, true, &mut errors);
    let due_back_on = typed_date("due_back_on", &form.due_back_on, false, &mut errors);
    let (user, tz) = (web.user.clone(), config.timezone);
    let outcome = match (choice, handed_over_on) {
        (Some(choice), Some(handed_over_on)) if errors.is_empty() => {
            let input = AssignInput {
                person_id: 0,
                mode: form.mode.unwrap_or_default(),
                handed_over_on,
                due_back_on,
                acceptance: form.acceptance.unwrap_or_default(),
                accepted_by_name: form.accepted_by_name,
            };
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
                    super::assign(conn, &tz, &user, id, AssignInput { person_id, ..input })
                        .map(|_| ())
                })
            })
            .await
        }
        _ => Err(AppError::Validation(errors)),
    };
    back(db, config, &web, id, ("assigned", values), outcome).await
}

#[derive(rocket::FromForm)]
pub struct ReturnForm {
    returned_on: String,
    condition: Option<String>,
}

#[rocket::post("/equipment/<id>/return", data = "<form>")]
pub async fn give_back(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<ReturnForm>,
) -> Result<FormOutcome, AppError> {
    let form = form.into_inner();
    let returned_on: NaiveDate =
        crate::time::parse_date(&form.returned_on).unwrap_or_else(|| crate::db::now().date());
    let (user, tz) = (web.user.clone(), config.timezone);
    let input = ReturnInput {
        returned_on,
        condition: form.condition,
    };
    let outcome = db
        .run(move |conn| super::give_back(conn, &tz, &user, id, input).map(|_| ()))
        .await;
    back(db, config, &web, id, ("returned", json!({})), outcome).await
}

/// The printable A4 handover form of the item's current handover.
#[rocket::get("/equipment/<id>/handover")]
pub async fn handover_form(db: &State<Db>, web: WebUser, id: i32) -> Result<Template, AppError> {
    let user = web.user.clone();
    let (item, current, organisation, programme) = db
        .run(move |conn| {
            let item = super::get(conn, &user, id)?;
            let (assignment, _) = super::current_assignment(conn, id)?.ok_or(AppError::NotFound)?;
            let person = crate::people::get(conn, &user, assignment.person_id)?;
            let organisation = crate::organisations::find(conn, item.organisation_id)?;
            let programme = match item.programme_id {
                Some(pid) => crate::programmes::list(conn, 1000, 0)?
                    .into_iter()
                    .find(|p| p.id == pid)
                    .map(|p| p.name),
                None => None,
            };
            Ok((item, (assignment, person), organisation, programme))
        })
        .await?;
    let (assignment, person) = current;
    Ok(Template::render(
        "equipment/handover",
        json!({
            "item": item_json(&item), "person": person.display_name(), "organisation": organisation.name,
            "programme": programme, "mode": assignment.mode, "handed_over_on": assignment.handed_over_on,
            "due_back_on": assignment.due_back_on, "mediator": web.user.name,
        }),
    ))
}

/// Loans due back within two weeks (and overdue ones), and SIM cards ending within 30 days.
#[rocket::get("/equipment/due")]
pub async fn due(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    let user = web.user.clone();
    let today = crate::db::now().date();
    let (loans, sims) = db
        .run(move |conn| {
            let loans = super::loans_due(conn, &user, today + Duration::days(14))?;
            let loans = loans
                .into_iter()
                .map(|(a, item)| {
                    let name = crate::people::get(conn, &user, a.person_id).map(|p| p.display_name()).unwrap_or_default();
                    json!({ "item": item_json(&item), "person_id": a.person_id, "person": name,
                        "due": a.due_back_on.map(|d| d.format("%d/%m/%Y").to_string()), "overdue": a.due_back_on.is_some_and(|d| d < today) })
                })
                .collect::<Vec<_>>();
            let sims = super::sims_ending(conn, &user, today + Duration::days(30))?;
            Ok((loans, sims))
        })
        .await?;
    Ok(page(
        "equipment/due",
        &web,
        json!({ "loans": loans, "sims": sims.iter().map(item_json).collect::<Vec<_>>() }),
    ))
}
