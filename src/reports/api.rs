//! `GET /api/v1/reports/*`.

use rocket::serde::json::Json;
use rocket::State;

use super::{Activity, EquipmentReport, FilterQuery, SkillsProgress};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::query::Query;

#[rocket::get("/reports/skills-progress")]
pub async fn skills_progress(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    filters: Query<FilterQuery>,
) -> Result<Json<SkillsProgress>, AppError> {
    let user = api.0;
    super::require_reader(&user)?;
    let tz = config.timezone;
    db.run(move |conn| {
        let filters = filters.check(conn, &user)?;
        super::skills_progress(conn, &tz, &filters)
    })
    .await
    .map(Json)
}

#[rocket::get("/reports/activity")]
pub async fn activity(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    filters: Query<FilterQuery>,
) -> Result<Json<Activity>, AppError> {
    let user = api.0;
    super::require_reader(&user)?;
    let tz = config.timezone;
    db.run(move |conn| {
        let filters = filters.check(conn, &user)?;
        super::activity(conn, &tz, &filters)
    })
    .await
    .map(Json)
}

#[rocket::get("/reports/equipment")]
pub async fn equipment(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    filters: Query<FilterQuery>,
) -> Result<Json<EquipmentReport>, AppError> {
    let user = api.0;
    super::require_reader(&user)?;
    let tz = config.timezone;
    db.run(move |conn| {
        let filters = filters.check(conn, &user)?;
        super::equipment_report(conn, &tz, &filters)
    })
    .await
    .map(Json)
}
