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
use crate::web::openapi::{Forbidden, Invalid, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list))]
pub struct ApiDoc;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    #[schema(format = DateTime)]
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

/// `GET /audit`'s query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[serde(default, deserialize_with = "entity")]
    #[param(schema_with = entity_schema)]
    pub entity: Option<String>,
    pub entity_id: Option<i32>,
    pub actor_id: Option<i32>,
    #[param(format = DateTime)]
    pub from: Option<String>,
    #[param(format = DateTime)]
    pub to: Option<String>,
}

/// One of [`super::ENTITIES`]' codes.
fn entity_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(super::ENTITIES.iter().map(|(code, _)| *code))
}

fn entity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let codes: Vec<&str> = super::ENTITIES.iter().map(|(code, _)| *code).collect();
    crate::web::query::one_of(d, &codes)
}

/// Journal d'audit, du plus récent au plus ancien (admin).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "list_audit_entries",
    tag = "audit",
    params(AuditQuery, Page),
    responses(
        (status = 200, description = "OK", body = Vec<AuditEntry>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::get("/audit")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    query: Query<AuditQuery>,
    page: Query<Page>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    let AuditQuery {
        entity,
        entity_id,
        actor_id,
        from,
        to,
    } = query.into_inner();
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
