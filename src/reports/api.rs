//! `GET /api/v1/reports/*`.

use rocket::serde::json::Json;
use rocket::State;

use serde::Serialize;

use super::breakdowns::{breakdowns, Breakdowns};
use super::{Activity, EquipmentReport, FilterQuery, SkillsProgress};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::query::Query;

/// A report and who the people it counts are (distinct people served over the same filters).
#[derive(Serialize)]
pub struct WithBreakdowns<T> {
    #[serde(flatten)]
    pub report: T,
    pub breakdowns: Breakdowns,
}

#[rocket::get("/reports/skills-progress")]
pub async fn skills_progress(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    filters: Query<FilterQuery>,
) -> Result<Json<WithBreakdowns<SkillsProgress>>, AppError> {
    let user = api.0;
    super::require_reader(&user)?;
    let tz = config.timezone;
    db.run(move |conn| {
        let filters = filters.check(conn, &user)?;
        Ok(WithBreakdowns {
            report: super::skills_progress(conn, &tz, &filters)?,
            breakdowns: breakdowns(conn, &tz, &filters)?,
        })
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
) -> Result<Json<WithBreakdowns<Activity>>, AppError> {
    let user = api.0;
    super::require_reader(&user)?;
    let tz = config.timezone;
    db.run(move |conn| {
        let filters = filters.check(conn, &user)?;
        Ok(WithBreakdowns {
            report: super::activity(conn, &tz, &filters)?,
            breakdowns: breakdowns(conn, &tz, &filters)?,
        })
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
) -> Result<Json<WithBreakdowns<EquipmentReport>>, AppError> {
    let user = api.0;
    super::require_reader(&user)?;
    let tz = config.timezone;
    db.run(move |conn| {
        let filters = filters.check(conn, &user)?;
        Ok(WithBreakdowns {
            report: super::equipment_report(conn, &tz, &filters)?,
            breakdowns: breakdowns(conn, &tz, &filters)?,
        })
    })
    .await
    .map(Json)
}
