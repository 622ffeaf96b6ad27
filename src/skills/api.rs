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
use crate::web::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    referential,
    add_skill,
    edit_skill,
    log,
    current_log,
    person_skills,
    assess,
    to_fill
))]
pub struct ApiDoc;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SkillOut {
    code: String,
    name: String,
    #[schema(required = true)]
    description: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Domain)]
pub struct DomainOut {
    domain_code: String,
    domain_name: String,
    #[schema(required = true)]
    pix_code: Option<String>,
    #[schema(required = true)]
    digcomp_code: Option<String>,
    skills: Vec<SkillOut>,
    /// The level scale, repeated with each domain for convenience.
    levels: Vec<Level>,
}

/// A skill as the admins' routes answer it: its retirement in the configured offset.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Skill)]
pub struct SkillAnswer {
    id: i32,
    domain_id: i32,
    code: String,
    name: String,
    #[schema(required = true)]
    description: Option<String>,
    position: i32,
    #[schema(format = DateTime, required = true)]
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

/// Le référentiel : domaines, compétences actives et échelle de niveaux.
#[utoipa::path(
    get,
    path = "/api/v1/skills",
    operation_id = "list_skills",
    tag = "skills",
    responses(
        (status = 200, description = "OK", body = Vec<DomainOut>),
        (status = 401, response = Unauthorized),
    ),
    security(("bearer" = [])),
)]
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

/// Ajouter une compétence (admin).
#[utoipa::path(
    post,
    path = "/api/v1/skills",
    operation_id = "create_skill",
    tag = "skills",
    request_body = SkillEdit,
    responses(
        (status = 201, description = "Créée", body = SkillAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Renommer, réordonner, retirer une compétence (admin) ; l'historique est conservé.
#[utoipa::path(
    patch,
    path = "/api/v1/skills/{code}",
    operation_id = "update_skill",
    tag = "skills",
    params(("code" = String, Path)),
    request_body = super::SkillPatch,
    responses(
        (status = 200, description = "OK", body = SkillAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Consigner (ou corriger) la séance : une nouvelle version remplace la précédente, conservée.
#[utoipa::path(
    post,
    path = "/api/v1/appointments/{id}/log",
    operation_id = "record_session_log",
    tag = "session-logs",
    params(("id" = i32, Path)),
    request_body = LogInput,
    responses(
        (status = 201, description = "Consigné", body = Vec<LogOut>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct CurrentLog {
    person_id: i32,
    version: i32,
    #[schema(schema_with = super::topics::attendance_schema)]
    attendance: String,
    #[schema(required = true)]
    duration_minutes: Option<i32>,
    topics: Vec<String>,
    #[schema(schema_with = super::topics::device_schema, required = true)]
    device: Option<String>,
    #[schema(required = true)]
    equipment_id: Option<i32>,
    #[schema(schema_with = super::topics::autonomy_schema, required = true)]
    autonomy: Option<String>,
    #[schema(schema_with = super::topics::orientation_schema, required = true)]
    orientation: Option<String>,
    #[schema(required = true)]
    orientation_note: Option<String>,
    #[schema(schema_with = super::topics::location_type_schema, required = true)]
    location_type: Option<String>,
    #[schema(required = true)]
    note: Option<String>,
    skills: Vec<SkillLevel>,
}

/// Le compte rendu actuel, par personne.
#[utoipa::path(
    get,
    path = "/api/v1/appointments/{id}/log",
    operation_id = "get_session_log",
    tag = "session-logs",
    params(("id" = i32, Path)),
    responses(
        (status = 200, description = "OK", body = Vec<CurrentLog>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Profil de compétences : niveau actuel, premier niveau, historique.
#[utoipa::path(
    get,
    path = "/api/v1/people/{id}/skills",
    operation_id = "get_person_skills",
    tag = "skills",
    params(("id" = i32, Path)),
    responses(
        (status = 200, description = "OK", body = Vec<SkillProgress>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct Assessed {
    recorded: usize,
}

/// Diagnostic initial, observation ou évaluation finale.
#[utoipa::path(
    post,
    path = "/api/v1/people/{id}/assessments",
    operation_id = "record_assessment",
    tag = "skills",
    params(("id" = i32, Path)),
    request_body = AssessmentInput,
    responses(
        (status = 201, description = "Enregistré", body = Assessed),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct ToFill {
    appointment_id: i32,
    #[schema(format = DateTime)]
    starts_at: String,
    mediator_id: i32,
    #[schema(required = true)]
    title: Option<String>,
}

/// Past appointments with no log yet, oldest first (a mediator's own by default).
/// `GET /logs-to-fill`'s query.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ToFillQuery {
    pub mediator_id: Option<i32>,
}

/// Rendez-vous passés sans compte rendu, du plus ancien au plus récent (ceux du médiateur par défaut).
#[utoipa::path(
    get,
    path = "/api/v1/logs-to-fill",
    operation_id = "list_logs_to_fill",
    tag = "session-logs",
    params(ToFillQuery),
    responses(
        (status = 200, description = "OK", body = Vec<ToFill>),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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
