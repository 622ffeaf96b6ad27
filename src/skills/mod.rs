//! The skills referential (data shipped in `referential.json`, loaded at first start, edited by
//! admins), session logs and assessments, and each person's skills profile over time.

pub mod api;
pub mod logs;
pub mod profile;
pub mod topics;
pub mod web;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::{Role, StaffUser};
use crate::db::schema::{skill_domains, skills};
use crate::db::{now, DbConn};
use crate::error::{AppError, FieldErrors};

const DEFAULT_REFERENTIAL: &str = include_str!("referential.json");

#[derive(Deserialize)]
struct Referential {
    levels: Vec<Level>,
    domains: Vec<DefaultDomain>,
}

#[derive(Deserialize, Serialize, Clone, Debug, utoipa::ToSchema)]
pub struct Level {
    pub level: i32,
    pub label: String,
    pub label_en: String,
}

#[derive(Deserialize)]
struct DefaultDomain {
    code: String,
    name: String,
    pix: Option<String>,
    digcomp: Option<String>,
    skills: Vec<DefaultSkill>,
}

#[derive(Deserialize)]
struct DefaultSkill {
    code: String,
    name: String,
}

fn referential() -> Referential {
    serde_json::from_str(DEFAULT_REFERENTIAL).expect("src/skills/referential.json is valid")
}

/// The level scale (0 not yet … 3 autonomous).
pub fn levels() -> Vec<Level> {
    referential().levels
}

pub use crate::rollups::TOP_LEVEL;

/// Adds the default domains and skills that are missing, by code. Existing ones, edited or
/// retired locally, are left as they are, so an upgrade that ships new skills only adds them.
pub fn sync_defaults(conn: &mut DbConn) -> Result<usize, AppError> {
    let defaults = referential();
    crate::db::transaction(conn, |conn| {
        crate::db::lock_key(conn, 7243914)?;
        let mut added = 0;
        for (d_pos, domain) in defaults.domains.iter().enumerate() {
            let existing: Option<i32> = skill_domains::table
                .filter(skill_domains::code.eq(&domain.code))
                .select(skill_domains::id)
                .first(conn)
                .optional()?;
            let domain_id = match existing {
                Some(id) => id,
                None => {
                    added += 1;
                    diesel::insert_into(skill_domains::table)
                        .values((
                            skill_domains::code.eq(&domain.code),
                            skill_domains::name.eq(&domain.name),
                            skill_domains::pix_code.eq(domain.pix.as_deref()),
                            skill_domains::digcomp_code.eq(domain.digcomp.as_deref()),
                            skill_domains::position.eq(d_pos as i32 + 1),
                            skill_domains::created_at.eq(now()),
                        ))
                        .returning(skill_domains::id)
                        .get_result(conn)?
                }
            };
            for (s_pos, skill) in domain.skills.iter().enumerate() {
                let present: i64 = skills::table
                    .filter(skills::code.eq(&skill.code))
                    .count()
                    .get_result(conn)?;
                if present == 0 {
                    added += 1;
                    diesel::insert_into(skills::table)
                        .values((
                            skills::domain_id.eq(domain_id),
                            skills::code.eq(&skill.code),
                            skills::name.eq(&skill.name),
                            skills::position.eq(s_pos as i32 + 1),
                            skills::created_at.eq(now()),
                            skills::updated_at.eq(now()),
                        ))
                        .execute(conn)?;
                }
            }
        }
        if added > 0 {
            // The system's change to the referential (first start, or an upgrade).
            crate::audit::record(conn, None, "sync", "skill", None, None)?;
        }
        Ok(added)
    })
}

#[derive(Queryable, Selectable, Serialize, Debug, Clone)]
#[diesel(table_name = skill_domains)]
pub struct Domain {
    pub id: i32,
    pub code: String,
    pub name: String,
    pub pix_code: Option<String>,
    pub digcomp_code: Option<String>,
    pub position: i32,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Serialize, Debug, Clone)]
#[diesel(table_name = skills)]
pub struct Skill {
    pub id: i32,
    pub domain_id: i32,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub position: i32,
    pub retired_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
    #[serde(skip)]
    pub updated_at: NaiveDateTime,
}

/// Every domain with its skills, in order (retired skills included when asked).
pub fn catalogue(
    conn: &mut DbConn,
    with_retired: bool,
) -> Result<Vec<(Domain, Vec<Skill>)>, AppError> {
    let domains: Vec<Domain> = skill_domains::table
        .select(Domain::as_select())
        .order((skill_domains::position, skill_domains::code))
        .load(conn)?;
    let mut all: Vec<Skill> = skills::table
        .select(Skill::as_select())
        .order((skills::position, skills::code))
        .load(conn)?;
    if !with_retired {
        all.retain(|s| s.retired_at.is_none());
    }
    Ok(domains
        .into_iter()
        .map(|d| {
            let mine = all
                .iter()
                .filter(|s| s.domain_id == d.id)
                .cloned()
                .collect();
            (d, mine)
        })
        .collect())
}

/// Active skills by code.
pub fn active_skill_ids(
    conn: &mut DbConn,
) -> Result<std::collections::HashMap<String, i32>, AppError> {
    Ok(skills::table
        .filter(skills::retired_at.is_null())
        .select((skills::code, skills::id))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .collect())
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct SkillEdit {
    pub domain_code: Option<String>,
    #[schema(pattern = "^\\s*[A-Za-z0-9]{1,10}\\s*$")]
    pub code: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    pub name: Option<String>,
    #[schema(minimum = 0, maximum = 1000)]
    pub position: Option<i32>,
    pub retired: Option<bool>,
}

/// `PATCH /api/v1/skills/{code}`: a [`SkillEdit`] whose code and domain do not change (422).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SkillPatch {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    name: Option<String>,
    #[schema(minimum = 0, maximum = 1000)]
    position: Option<i32>,
    retired: Option<bool>,
}

/// A skill's name: given, 200 characters at most (each said as such).
fn check_skill_name(name: &str, errors: &mut FieldErrors) {
    let message = if name.is_empty() {
        "Le nom est obligatoire."
    } else if name.chars().count() > 200 {
        "200 caractères au plus."
    } else {
        return;
    };
    errors.insert("name".into(), vec![message.into()]);
}

/// Admins add a skill (`code`, `name`, `domain_code`).
pub fn add_skill(conn: &mut DbConn, user: &StaffUser, edit: SkillEdit) -> Result<Skill, AppError> {
    user.require(&[Role::Admin])?;
    let code = edit.code.unwrap_or_default().trim().to_uppercase();
    let name = edit.name.unwrap_or_default().trim().to_string();
    // Every field's mistake at once.
    let mut errors = FieldErrors::new();
    if code.is_empty() || code.len() > 10 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        errors.insert(
            "code".into(),
            vec![
                "Un code court (10 caractères au plus), lettres et chiffres, par exemple A5."
                    .into(),
            ],
        );
    }
    check_skill_name(&name, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    crate::db::transaction(conn, |conn| {
        let domain_id: i32 = skill_domains::table
            .filter(skill_domains::code.eq(edit.domain_code.clone().unwrap_or_default()))
            .select(skill_domains::id)
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::field("domain_code", "Ce domaine n'existe pas."))?;
        let taken: i64 = skills::table
            .filter(skills::code.eq(&code))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(AppError::Conflict {
                code: "code_taken",
                message: format!("Le code {code} existe déjà."),
            });
        }
        let position: Option<i32> = skills::table
            .filter(skills::domain_id.eq(domain_id))
            .select(diesel::dsl::max(skills::position))
            .first(conn)?;
        let id: i32 = diesel::insert_into(skills::table)
            .values((
                skills::domain_id.eq(domain_id),
                skills::code.eq(&code),
                skills::name.eq(&name),
                skills::position.eq(edit.position.unwrap_or(position.unwrap_or(0) + 1)),
                skills::created_at.eq(now()),
                skills::updated_at.eq(now()),
            ))
            .returning(skills::id)
            .get_result(conn)?;
        crate::audit::record(conn, Some(user), "create", "skill", Some(id), None)?;
        Ok(skills::table
            .find(id)
            .select(Skill::as_select())
            .first(conn)?)
    })
}

/// The mistakes of a skill's edit, every one (nothing read from the database).
pub fn edit_errors(edit: &SkillEdit) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for (field, given) in [
        ("code", edit.code.is_some()),
        ("domain_code", edit.domain_code.is_some()),
    ] {
        if given {
            errors.insert(
                field.into(),
                vec!["Ne change pas : ajoutez une autre compétence.".into()],
            );
        }
    }
    if let Some(name) = &edit.name {
        check_skill_name(name.trim(), &mut errors);
    }
    if edit.position.is_some_and(|p| !(0..=1000).contains(&p)) {
        errors.insert("position".into(), vec!["Position entre 0 et 1000.".into()]);
    }
    errors
}

/// Admins rename, reorder, retire or bring back a skill. History is never touched.
pub fn edit_skill(
    conn: &mut DbConn,
    user: &StaffUser,
    code: &str,
    edit: SkillEdit,
) -> Result<Skill, AppError> {
    user.require(&[Role::Admin])?;
    // A skill's code and domain are what assessments and logs refer to: they never change.
    let errors = edit_errors(&edit);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    crate::db::transaction(conn, |conn| {
        let skill: Skill = skills::table
            .filter(skills::code.eq(code))
            .select(Skill::as_select())
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        if let Some(name) = &edit.name {
            diesel::update(skills::table.find(skill.id))
                .set(skills::name.eq(name.trim()))
                .execute(conn)?;
        }
        if let Some(position) = edit.position {
            diesel::update(skills::table.find(skill.id))
                .set(skills::position.eq(position))
                .execute(conn)?;
        }
        if let Some(retired) = edit.retired {
            let at = retired.then(now);
            diesel::update(skills::table.find(skill.id))
                .set(skills::retired_at.eq(at))
                .execute(conn)?;
        }
        diesel::update(skills::table.find(skill.id))
            .set(skills::updated_at.eq(now()))
            .execute(conn)?;
        crate::audit::record(conn, Some(user), "update", "skill", Some(skill.id), None)?;
        Ok(skills::table
            .find(skill.id)
            .select(Skill::as_select())
            .first(conn)?)
    })
}
