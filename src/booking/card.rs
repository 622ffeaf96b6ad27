//! The printable appointment card (A6, large type) for people without email or phone, in the
//! language of the person it is printed for (French when it names no one).

use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::service;
use crate::auth::WebUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::query::Query;

/// The printed card's query: the participant it is for.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CardQuery {
    pub person_id: Option<i32>,
}

#[rocket::get("/appointments/<id>/card")]
pub async fn card(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    query: Query<CardQuery>,
) -> Result<Template, AppError> {
    let person_id = query.into_inner().person_id;
    let tz = config.timezone;
    let user = web.user.clone();
    let (appointment, place, mediator, person) = db
        .run(move |conn| {
            let appointment = service::load(conn, &user, id)?;
            let place = crate::places::get(conn, &user, appointment.row.place_id)?;
            let mediator = crate::auth::model::user_by_id(conn, appointment.row.mediator_id)?
                .ok_or(AppError::NotFound)?;
            let person = match person_id {
                Some(pid) if appointment.participants.iter().any(|p| p.person_id == pid) => {
                    Some(crate::people::get(conn, &user, pid)?)
                }
                Some(_) => return Err(AppError::NotFound),
                None => None,
            };
            Ok((appointment, place, mediator, person))
        })
        .await?;
    let first_name = mediator
        .name
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let lang = crate::i18n::language(person.as_ref().map_or("fr", |p| p.language.as_str()));
    let name = person.map(|p| p.given_name).unwrap_or_default();
    let t = crate::i18n::texts(lang, "card-", &[("name", &name), ("mediator", &first_name)]);
    Ok(Template::render(
        "booking/card",
        json!({
            "lang": lang, "dir": crate::i18n::direction(lang), "t": t,
            "when": crate::i18n::when_in_full(lang, &tz, appointment.row.starts_at), "place": place,
            "person": (!name.is_empty()).then_some(name), "title": appointment.row.title,
            "cancelled": appointment.row.status == crate::status::AppointmentStatus::Cancelled,
        }),
    ))
}
