use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;

use super::AuditFilter;
use crate::auth::{ApiUser, Role};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::time::{parse_rfc3339, LocalTime};
use crate::web::api::Page;

#[derive(Serialize)]
pub struct AuditEntry {
    at: String,
    actor_id: Option<i32>,
    action: String,
    entity: String,
    entity_id: Option<i32>,
}

fn parse_time(
    field: &str,
    value: Option<String>,
) -> Result<Option<chrono::NaiveDateTime>, AppError> {
    value
        .map(|v| {
            parse_rfc3339(&v).ok_or_else(|| {
                AppError::field(
                    field,
                    "Date et heure RFC 3339 attendues, par exemple 2026-12-03T14:30:00+01:00.",
                )
            })
        })
        .transpose()
}

#[rocket::get("/audit?<entity>&<entity_id>&<actor_id>&<from>&<to>&<page..>")]
#[allow(clippy::too_many_arguments)]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    entity: Option<String>,
    entity_id: Option<i32>,
    actor_id: Option<i32>,
    from: Option<String>,
    to: Option<String>,
    page: Page,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    let user = api.0;
    user.require(&[Role::Admin])?;
    let (limit, offset) = page.bounds()?;
    let filter = AuditFilter {
        entity,
        entity_id,
        actor_id,
        from: parse_time("from", from)?,
        to: parse_time("to", to)?,
        limit,
        offset,
    };
    let tz = config.timezone;
    let rows = db.run(move |conn| super::list(conn, &filter)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditEntry {
                at: tz.rfc3339(r.at),
                actor_id: r.actor_id,
                action: r.action,
                entity: r.entity,
                entity_id: r.entity_id,
            })
            .collect(),
    ))
}
