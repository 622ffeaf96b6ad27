//! Where a person stands: per skill, the current level, the first one, the timeline; and how
//! many sessions and hours they had.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::logs::SkillLevel;
use crate::auth::StaffUser;
use crate::db::schema::{assessments, session_logs, skills};
use crate::db::{now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::time::{parse_rfc3339, LocalTime};

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub level: i32,
    #[schema(format = DateTime)]
    pub assessed_at: String,
    #[schema(schema_with = kind_schema)]
    pub source: String,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct SkillProgress {
    pub skill_code: String,
    pub level: i32,
    #[schema(format = DateTime)]
    pub assessed_at: String,
    pub first_level: i32,
    pub progressed: bool,
    pub history: Vec<HistoryEntry>,
}

/// Active assessments of a person, grouped by skill, oldest first within each.
pub fn of_person(
    conn: &mut DbConn,
    user: &StaffUser,
    person_id: i32,
    tz: &Tz,
) -> Result<Vec<SkillProgress>, AppError> {
    crate::people::get(conn, user, person_id)?;
    let rows: Vec<(String, i32, NaiveDateTime, String)> = assessments::table
        .inner_join(skills::table)
        .filter(assessments::person_id.eq(person_id))
        .filter(assessments::active.eq(true))
        .select((
            skills::code,
            assessments::level,
            assessments::assessed_at,
            assessments::kind,
        ))
        .order((skills::code, assessments::assessed_at, assessments::id))
        .load(conn)?;
    let mut out: Vec<SkillProgress> = Vec::new();
    for (code, level, at, kind) in rows {
        let entry = HistoryEntry {
            level,
            assessed_at: tz.rfc3339(at),
            source: kind,
        };
        match out.last_mut().filter(|p| p.skill_code == code) {
            Some(progress) => {
                progress.level = level;
                progress.assessed_at = entry.assessed_at.clone();
                progress.progressed = level > progress.first_level;
                progress.history.push(entry);
            }
            None => out.push(SkillProgress {
                skill_code: code,
                level,
                assessed_at: entry.assessed_at.clone(),
                first_level: level,
                progressed: false,
                history: vec![entry],
            }),
        }
    }
    Ok(out)
}

/// (sessions attended, minutes) from the current logs.
pub fn attendance(conn: &mut DbConn, person_id: i32) -> Result<(i64, i64), AppError> {
    let rows: Vec<Option<i32>> = session_logs::table
        .filter(session_logs::person_id.eq(person_id))
        .filter(session_logs::current.eq(true))
        .filter(session_logs::attendance.eq(crate::status::ParticipantStatus::Attended))
        .select(session_logs::duration_minutes)
        .load(conn)?;
    Ok((
        rows.len() as i64,
        rows.iter().map(|m| i64::from(m.unwrap_or(0))).sum(),
    ))
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct AssessmentInput {
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    #[schema(format = DateTime)]
    pub assessed_at: Option<String>,
    #[serde(default)]
    #[schema(min_items = 1)]
    pub skills: Vec<SkillLevel>,
}

fn kind_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(KINDS.iter().map(|(code, _)| *code))
}

/// The kinds of assessment, and how spreadsheets say them.
pub const KINDS: [(&str, &str); 3] = [
    ("diagnostic", "diagnostic initial"),
    ("session", "observation en séance"),
    ("final", "bilan final"),
];

/// Records an initial diagnostic, an observation or a final assessment.
pub fn assess(
    conn: &mut DbConn,
    user: &StaffUser,
    person_id: i32,
    input: AssessmentInput,
) -> Result<usize, AppError> {
    let mut errors = FieldErrors::new();
    if !KINDS.iter().any(|(code, _)| *code == input.kind) {
        errors
            .entry("kind".into())
            .or_default()
            .push("Type : diagnostic, session ou final.".into());
    }
    let assessed_at = match input.assessed_at.as_deref() {
        None => now(),
        Some(text) => match parse_rfc3339(text) {
            Some(t) if t <= now() + chrono::Duration::minutes(5) => t,
            Some(_) => {
                errors
                    .entry("assessed_at".into())
                    .or_default()
                    .push("Une évaluation ne peut pas être datée dans le futur.".into());
                now()
            }
            None => {
                errors
                    .entry("assessed_at".into())
                    .or_default()
                    .push(crate::booking::availability::RFC3339_HINT.into());
                now()
            }
        },
    };
    if input.skills.is_empty() {
        errors
            .entry("skills".into())
            .or_default()
            .push("Indiquez au moins une compétence.".into());
    }
    crate::db::transaction(conn, |conn| {
        let person = crate::people::get(conn, user, person_id)?;
        if person.anonymised {
            return Err(AppError::Conflict {
                code: "anonymised",
                message: "Cette personne a été anonymisée.".into(),
            });
        }
        let ids = super::active_skill_ids(conn)?;
        for (j, s) in input.skills.iter().enumerate() {
            if !ids.contains_key(&s.skill_code) {
                errors
                    .entry(format!("skills[{j}].skill_code"))
                    .or_default()
                    .push(format!("Compétence inconnue : {}.", s.skill_code));
            }
            if !(0..=super::TOP_LEVEL).contains(&s.level) {
                errors
                    .entry(format!("skills[{j}].level"))
                    .or_default()
                    .push("Le niveau va de 0 (pas encore) à 3 (autonome).".into());
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors.clone()));
        }
        for s in &input.skills {
            diesel::insert_into(assessments::table)
                .values((
                    assessments::person_id.eq(person_id),
                    assessments::skill_id.eq(ids[&s.skill_code]),
                    assessments::level.eq(s.level),
                    assessments::kind.eq(&input.kind),
                    assessments::active.eq(true),
                    assessments::assessed_at.eq(assessed_at),
                    assessments::author_id.eq(user.id),
                    assessments::created_at.eq(now()),
                ))
                .execute(conn)?;
        }
        crate::rollups::skills_changed(conn, person_id)?;
        crate::audit::record(
            conn,
            Some(user),
            "assess",
            "person",
            Some(person_id),
            Some(person.organisation_id),
        )?;
        Ok(input.skills.len())
    })
}
