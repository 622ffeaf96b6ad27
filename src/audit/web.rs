//! The audit page for admins: who did what to which record, and when, newest first, with
//! filters by kind of record, record, author and period.

use std::collections::HashMap;

use chrono::{Days, NaiveTime};
use diesel::prelude::*;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::{action_label, entity_label, AuditFilter, ENTITIES};
use crate::auth::{Role, WebUser};
use crate::config::Config;
use crate::db::schema::{organisations, users};
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::time::{parse_date, LocalTime};
use crate::web::query::Query;
use crate::web::{optional_number, Invalid};

/// Entries per page.
const PER_PAGE: i64 = 50;

/// The page of a record, when it has one.
fn record_link(entity: &str, id: i32) -> Option<String> {
    let base = match entity {
        "person" => "people",
        "appointment" => "appointments",
        "equipment" => "equipment",
        "place" => "places",
        _ => return None,
    };
    Some(format!("/{base}/{id}"))
}

/// Either the page, or the page again with what could not be read (422).
#[derive(rocket::Responder)]
pub enum AuditPage {
    Shown(Template),
    Invalid(Invalid),
}

/// The journal page's query, read as text: the page shows its own form again with the
/// errors of what does not parse.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditPageQuery {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
}

#[rocket::get("/audit")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    query: Query<AuditPageQuery>,
) -> Result<AuditPage, AppError> {
    let AuditPageQuery {
        entity,
        entity_id,
        actor,
        from,
        to,
        page,
    } = query.into_inner();
    web.user.require(&[Role::Admin])?;
    let tz = config.timezone;
    let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_string();
    let (entity, entity_id, actor, from, to, page_text) = (
        text(&entity),
        text(&entity_id),
        text(&actor),
        text(&from),
        text(&to),
        text(&page),
    );
    let mut errors = FieldErrors::new();
    if !entity.is_empty() && !super::ENTITIES.iter().any(|(code, _)| *code == entity) {
        errors
            .entry("entity".into())
            .or_default()
            .push("Type d'élément inconnu.".into());
    }
    let entity_number = optional_number("entity_id", &entity_id, &mut errors);
    let actor_number = optional_number("actor", &actor, &mut errors);
    let page_number = optional_number("page", &page_text, &mut errors)
        .unwrap_or(1)
        .max(1);
    let mut day = |field: &str, value: &str| {
        if value.is_empty() {
            return None;
        }
        let parsed = parse_date(value);
        if parsed.is_none() {
            errors
                .entry(field.to_string())
                .or_default()
                .push("Date attendue, par exemple 2026-12-03.".into());
        }
        parsed
    };
    // From the start of the first day to the end of the last, local time.
    let from_at = day("from", &from).map(|d| tz.to_utc(d, NaiveTime::MIN));
    let to_at = day("to", &to)
        .and_then(|d| d.checked_add_days(Days::new(1)))
        .map(|d| tz.to_utc(d, NaiveTime::MIN));
    let filter = AuditFilter {
        entity: (!entity.is_empty()).then(|| entity.clone()),
        entity_id: entity_number,
        actor_id: actor_number,
        from: from_at,
        to: to_at,
        // One more than shown, to know whether a next page exists.
        limit: PER_PAGE + 1,
        offset: (i64::from(page_number) - 1).saturating_mul(PER_PAGE),
    };
    let valid = errors.is_empty();
    let (rows, staff) = db
        .run(move |conn| {
            let rows = if valid {
                super::list(conn, &filter)?
            } else {
                Vec::new()
            };
            let staff: Vec<(i32, String, String)> = users::table
                .inner_join(organisations::table)
                .select((users::id, users::name, organisations::name))
                .order((users::name, users::id))
                .load(conn)?;
            Ok((rows, staff))
        })
        .await?;
    let names: HashMap<i32, &str> = staff.iter().map(|(id, n, _)| (*id, n.as_str())).collect();
    let more = rows.len() as i64 > PER_PAGE;
    let entries: Vec<_> = rows
        .iter()
        .take(PER_PAGE as usize)
        .map(|r| {
            json!({
                "at": tz.short(r.at),
                "actor": r.actor_id.map(|a| names.get(&a).map(|n| n.to_string()).unwrap_or_else(|| format!("compte n° {a}"))),
                "action": action_label(&r.action).unwrap_or(&r.action),
                "entity": entity_label(&r.entity).unwrap_or(&r.entity),
                "entity_id": r.entity_id,
                "link": r.entity_id.and_then(|id| record_link(&r.entity, id)),
            })
        })
        .collect();
    // The filters carried into the previous and next page links.
    let query: String = [
        ("entity", &entity),
        ("entity_id", &entity_id),
        ("actor", &actor),
        ("from", &from),
        ("to", &to),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}&", crate::web::urlencode(v)))
    .collect();
    let context = json!({
        "entries": entries,
        "entities": ENTITIES.iter().map(|(code, label)| json!({"code": code, "label": label})).collect::<Vec<_>>(),
        "staff": staff.iter().map(|(id, name, org)| json!({"id": id.to_string(), "name": name, "organisation": org})).collect::<Vec<_>>(),
        "values": {"entity": entity, "entity_id": entity_id, "actor": actor, "from": from, "to": to},
        "errors": errors,
        "page": page_number,
        "previous": (page_number > 1).then(|| format!("/audit?{query}page={}", page_number - 1)),
        "next": more.then(|| format!("/audit?{query}page={}", page_number + 1)),
    });
    let template = crate::web::page("audit", &web, context);
    Ok(if valid {
        AuditPage::Shown(template)
    } else {
        AuditPage::Invalid(Invalid(template))
    })
}
