//! A person's page (`/people/{id}`): what every capability knows of them (their appointments
//! and messages, skills, equipment, programmes), gathered above the capabilities.

use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use crate::auth::{Role, WebUser};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::page;
use crate::web::query::Query;

/// `GET /people/{id}`'s query: the possible duplicates a creation found, to show beside.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ShowQuery {
    #[serde(default, deserialize_with = "crate::web::query::ids")]
    pub duplicates: Vec<i32>,
    #[serde(default, deserialize_with = "crate::web::notice::ok_code")]
    pub ok: Option<String>,
}

#[rocket::get("/people/<id>")]
pub async fn show(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    query: Query<ShowQuery>,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let ShowQuery {
        duplicates: duplicate_ids,
        ok,
    } = query.into_inner();
    let tz = config.timezone;
    let (person, programmes, duplicates, profile, catalogue, (attendance, equipment), activity) = db
        .run(move |conn| {
            let (upcoming, past) = crate::booking::history::of_person(conn, &user, id, &tz)?;
            let messages = crate::mail::person::of_person(conn, &user, id, &tz)?;
            let person = crate::people::get(conn, &user, id)?;
            let programmes = crate::programmes::list(conn, 1000, 0)?
                .into_iter()
                .filter(|p| person.programme_ids.contains(&p.id))
                .collect::<Vec<_>>();
            // Only people this user may see are named.
            let duplicates = duplicate_ids
                .into_iter()
                .filter_map(|d| crate::people::get(conn, &user, d).ok())
                .map(
                    |p| json!({ "id": p.id, "name": p.display_name(), "birth_year": p.birth_year }),
                )
                .collect::<Vec<_>>();
            let profile = crate::skills::profile::of_person(conn, &user, id, &tz)?;
            let catalogue = crate::skills::catalogue(conn, true)?;
            let attendance = crate::skills::profile::attendance(conn, id)?;
            let equipment = crate::equipment::of_person(conn, &user, id)?
                .into_iter()
                .map(|(a, item)| json!({
                    "id": item.id, "kind": crate::equipment::kind_label(&item.kind), "model": item.model,
                    "mode": a.mode, "handed_over_on": crate::french::date_in_words(a.handed_over_on),
                    "due_back_on": a.due_back_on.map(crate::french::date_in_words),
                    "returned_on": a.returned_on.map(crate::french::date_in_words),
                    "acceptance": a.acceptance_label(&tz),
                }))
                .collect::<Vec<_>>();
            Ok((person, programmes, duplicates, profile, catalogue, (attendance, equipment), (upcoming, past, messages)))
        })
        .await?;
    let levels = crate::skills::levels();
    let label = |level: i32| {
        levels
            .iter()
            .find(|l| l.level == level)
            .map(|l| l.label.clone())
            .unwrap_or_default()
    };
    // "31/05/2027" from an RFC 3339 instant already in local time.
    let day = |rfc3339: &str| {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .map(|t| crate::french::date_in_words(t.date_naive()))
            .unwrap_or_default()
    };
    let grid: Vec<_> = catalogue
        .iter()
        .filter_map(|(domain, skills)| {
            let rows: Vec<_> = skills
                .iter()
                .filter_map(|skill| {
                    let progress = profile.iter().find(|p| p.skill_code == skill.code);
                    if progress.is_none() && skill.retired_at.is_some() {
                        return None;
                    }
                    Some(json!({
                        "code": skill.code, "name": skill.name,
                        "level": progress.map(|p| p.level), "label": progress.map(|p| label(p.level)),
                        "first": progress.map(|p| p.first_level), "progressed": progress.is_some_and(|p| p.progressed),
                        "history": progress.map(|p| p.history.iter().map(|h| h.level.to_string()).collect::<Vec<_>>().join(" → ")),
                        "first_on": progress.and_then(|p| p.history.first()).map(|h| day(&h.assessed_at)),
                        "first_label": progress.map(|p| label(p.first_level)),
                        "current_on": progress.map(|p| day(&p.assessed_at)),
                        "assessments": progress.map(|p| p.history.len()),
                    }))
                })
                .collect();
            (!rows.is_empty()).then(|| json!({ "code": domain.code, "name": domain.name, "skills": rows }))
        })
        .collect();
    let name = person.display_name();
    Ok(page(
        "people/show",
        &web,
        json!({
            "person": person, "name": name, "programmes": programmes, "duplicates": duplicates,
            "can_erase": matches!(web.user.role, Role::Admin | Role::Manager),
            "grid": grid, "assessed": !profile.is_empty(), "equipment": equipment,
            "sessions": attendance.0, "minutes": attendance.1,
            "upcoming": activity.0, "past": activity.1, "messages": activity.2,
            "notice": crate::web::notice::text(ok.as_deref()),
        }),
    ))
}
