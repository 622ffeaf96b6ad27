use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;

use super::logs::{self, LogInput, LogOut, SkillLevel};
use super::profile::{self, AssessmentInput, SkillProgress};
use super::{Level, Skill, SkillEdit};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::time::LocalTime;
use crate::web::api::{ApiJson, Created};
use crate::web::query::Query;

#[derive(Serialize)]
pub struct SkillOut {
    code: String,
    name: String,
    description: Option<String>,
}

#[derive(Serialize)]
pub struct DomainOut {
    domain_code: String,
    domain_name: String,
    pix_code: Option<String>,
    digcomp_code: Option<String>,
    skills: Vec<SkillOut>,
    /// The level scale, repeated with each domain for convenience.
    levels: Vec<Level>,
}

/// A skill as the admins' routes answer it: its retirement in the configured offset.
#[derive(Serialize)]
pub struct SkillAnswer {
    id: i32,
    domain_id: i32,
    code: String,
    name: String,
    description: Option<String>,
    position: i32,
    retired_at: Option<String>,
}

impl SkillAnswer {
    fn of(skill: Skill, tz: &chrono_tz::Tz) -> Self {
        SkillAnswer {
            id: skill.id,
            domain_id: skill.domain_id,
            code: skill.code,
            name: skill.name,
            description: skill.description,
            position: skill.position,
            retired_at: skill.retired_at.map(|t| tz.rfc3339(t)),
        }
    }
}

/// The referential: domains with their active skills, and the level scale.
#[rocket::get("/skills")]
pub async fn referential(db: &State<Db>, _api: ApiUser) -> Result<Json<Vec<DomainOut>>, AppError> {
    let catalogue = db.run(|conn| super::catalogue(conn, false)).await?;
    let levels = super::levels();
    Ok(Json(
        catalogue
            .into_iter()
            .map(|(d, skills)| DomainOut {
                domain_code: d.code,
                domain_name: d.name,
                pix_code: d.pix_code,
                digcomp_code: d.digcomp_code,
                skills: skills
                    .into_iter()
                    .map(|s| SkillOut {
                        code: s.code,
                        name: s.name,
                        description: s.description,
                    })
                    .collect(),
                levels: levels.clone(),
            })
            .collect(),
    ))
}

#[rocket::post("/skills", data = "<input>")]
pub async fn add_skill(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    input: ApiJson<SkillEdit>,
) -> Result<Created<SkillAnswer>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let skill = db
        .run(move |conn| super::add_skill(conn, &user, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/skills/{}", skill.code),
        SkillAnswer::of(skill, &config.timezone),
    ))
}

#[rocket::patch("/skills/<code>", data = "<input>")]
pub async fn edit_skill(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    code: String,
    input: ApiJson<SkillEdit>,
) -> Result<Json<SkillAnswer>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let tz = config.timezone;
    db.run(move |conn| super::edit_skill(conn, &user, &code, input))
        .await
        .map(|skill| Json(SkillAnswer::of(skill, &tz)))
}

#[rocket::post("/appointments/<id>/log", data = "<input>")]
pub async fn log(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<LogInput>,
) -> Result<Created<Vec<LogOut>>, AppError> {
    let (user, tz) = (api.0, config.timezone);
    let input = input.into_inner();
    let logged = db
        .run(move |conn| logs::record(conn, &tz, &user, id, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/appointments/{id}/log"),
        logged,
    ))
}

#[derive(Serialize)]
pub struct CurrentLog {
    person_id: i32,
    version: i32,
    attendance: String,
    duration_minutes: Option<i32>,
    topics: Vec<String>,
    device: Option<String>,
    equipment_id: Option<i32>,
    autonomy: Option<String>,
    orientation: Option<String>,
    orientation_note: Option<String>,
    location_type: Option<String>,
    note: Option<String>,
    skills: Vec<SkillLevel>,
}

/// The current log of an appointment, per person.
#[rocket::get("/appointments/<id>/log")]
pub async fn current_log(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
) -> Result<Json<Vec<CurrentLog>>, AppError> {
    let user = api.0;
    let rows = db
        .run(move |conn| {
            crate::booking::service::load(conn, &user, id)?;
            let rows = logs::current(conn, id)?;
            let mut out = Vec::new();
            for row in rows {
                use crate::db::schema::{assessments, skills};
                use diesel::prelude::*;
                let observed: Vec<(String, i32)> = assessments::table
                    .inner_join(skills::table)
                    .filter(assessments::session_log_id.eq(row.id))
                    .select((skills::code, assessments::level))
                    .order(skills::code)
                    .load(conn)?;
                out.push(CurrentLog {
                    person_id: row.person_id,
                    version: row.version,
                    attendance: row.attendance,
                    duration_minutes: row.duration_minutes,
                    topics: row
                        .topics
                        .split(',')
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect(),
                    device: row.device,
                    equipment_id: row.equipment_id,
                    autonomy: row.autonomy,
                    orientation: row.orientation,
                    orientation_note: row.orientation_note,
                    location_type: row.location_type,
                    note: row.note,
                    skills: observed
                        .into_iter()
                        .map(|(skill_code, level)| SkillLevel { skill_code, level })
                        .collect(),
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(rows))
}

#[rocket::get("/people/<id>/skills")]
pub async fn person_skills(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
) -> Result<Json<Vec<SkillProgress>>, AppError> {
    let user = api.0;
    let tz = config.timezone;
    db.run(move |conn| profile::of_person(conn, &user, id, &tz))
        .await
        .map(Json)
}

#[derive(Serialize)]
pub struct Assessed {
    recorded: usize,
}

#[rocket::post("/people/<id>/assessments", data = "<input>")]
pub async fn assess(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    input: ApiJson<AssessmentInput>,
) -> Result<Created<Assessed>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let recorded = db
        .run(move |conn| profile::assess(conn, &user, id, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/people/{id}/skills"),
        Assessed { recorded },
    ))
}

#[derive(Serialize)]
pub struct ToFill {
    appointment_id: i32,
    starts_at: String,
    mediator_id: i32,
    title: Option<String>,
}

/// Past appointments with no log yet, oldest first (a mediator's own by default).
/// `GET /logs-to-fill`'s query.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ToFillQuery {
    pub mediator_id: Option<i32>,
}

#[rocket::get("/logs-to-fill")]
pub async fn to_fill(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    query: Query<ToFillQuery>,
) -> Result<Json<Vec<ToFill>>, AppError> {
    let ToFillQuery { mediator_id } = query.into_inner();
    let user = api.0;
    let tz = config.timezone;
    let mediator = mediator_id.or((user.role == crate::auth::Role::Mediator).then_some(user.id));
    let rows = db
        .run(move |conn| logs::to_fill(conn, &user, mediator, None))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| ToFill {
                appointment_id: r.id,
                starts_at: tz.rfc3339(r.starts_at),
                mediator_id: r.mediator_id,
                title: r.title,
            })
            .collect(),
    ))
}
