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
use crate::web::openapi::{Forbidden, Invalid, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(skills_progress, activity, equipment))]
pub struct ApiDoc;

/// A report and who the people it counts are (distinct people served over the same filters).
#[derive(Serialize, utoipa::ToSchema)]
pub struct WithBreakdowns<T> {
    #[serde(flatten)]
    pub report: T,
    pub breakdowns: Breakdowns,
}

/// Progression des compétences : par compétence, par domaine, mois par mois, et pour les personnes équipées. Une paire personne × compétence compte quand sa dernière évaluation tombe dans la période ; la progression compare la première et la dernière évaluation.
#[utoipa::path(
    get,
    path = "/api/v1/reports/skills-progress",
    operation_id = "skills_progress_report",
    tag = "reports",
    params(FilterQuery),
    responses(
        (status = 200, description = "OK", body = WithBreakdowns<SkillsProgress>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Activité : rendez-vous, participations, présences, absences, heures, par mois, par lieu et par thématique.
#[utoipa::path(
    get,
    path = "/api/v1/reports/activity",
    operation_id = "activity_report",
    tag = "reports",
    params(FilterQuery),
    responses(
        (status = 200, description = "OK", body = WithBreakdowns<Activity>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Matériel : par type, état et dispositif ; remises et retours de la période ; prêts en retard.
#[utoipa::path(
    get,
    path = "/api/v1/reports/equipment",
    operation_id = "equipment_report",
    tag = "reports",
    params(FilterQuery),
    responses(
        (status = 200, description = "OK", body = WithBreakdowns<EquipmentReport>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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
