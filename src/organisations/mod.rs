//! Organisations (structures): the unit of data scoping.

pub mod api;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::auth::StaffUser;
use crate::db::schema::organisations;
use crate::db::{now, DbConn};
use crate::error::AppError;

#[derive(Queryable, Selectable, Serialize, Debug, Clone, utoipa::ToSchema)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: i32,
    pub name: String,
    #[serde(skip)]
    #[schema(ignore)]
    pub created_at: NaiveDateTime,
    /// L'adresse de ses pages de rendez-vous : `/rdv/{slug}`.
    #[schema(required = true)]
    pub slug: Option<String>,
}

#[derive(Deserialize, Validate, Debug, Default, utoipa::ToSchema)]
pub struct OrganisationInput {
    #[validate(length(
        min = 1,
        max = 120,
        message = "Le nom est obligatoire (120 caractères au plus)."
    ))]
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    pub name: String,
}

pub fn list(conn: &mut DbConn, limit: i64, offset: i64) -> Result<Vec<Organisation>, AppError> {
    Ok(organisations::table
        .select(Organisation::as_select())
        .order(organisations::name)
        .limit(limit)
        .offset(offset)
        .load(conn)?)
}

pub fn find(conn: &mut DbConn, id: i32) -> Result<Organisation, AppError> {
    Ok(organisations::table
        .find(id)
        .select(Organisation::as_select())
        .first(conn)?)
}

/// The structure a page about one structure shows (the agenda, the people to call): the one
/// asked for — an admin may ask for any, the others only for their own — else the user's own.
pub fn in_view(conn: &mut DbConn, user: &StaffUser, asked: Option<i32>) -> Result<i32, AppError> {
    match (asked, user.scope()) {
        (None, _) => Ok(user.organisation_id),
        (Some(id), Some(own)) if id != own => Err(AppError::field(
            "organisation_id",
            "Vous ne voyez que votre structure.",
        )),
        (Some(id), Some(_)) => Ok(id),
        (Some(id), None) => match find(conn, id) {
            Ok(_) => Ok(id),
            Err(AppError::NotFound) => {
                Err(AppError::field("organisation_id", "Structure inconnue."))
            }
            Err(e) => Err(e),
        },
    }
}

/// The structures a user may pick on such a page, by name: every one for an admin, none for
/// the others (they see theirs).
pub fn choices(conn: &mut DbConn, user: &StaffUser) -> Result<Vec<(i32, String)>, AppError> {
    if user.scope().is_some() {
        return Ok(Vec::new());
    }
    Ok(organisations::table
        .order((organisations::name, organisations::id))
        .select((organisations::id, organisations::name))
        .load(conn)?)
}

fn find_by_name(conn: &mut DbConn, name: &str) -> Result<Option<Organisation>, AppError> {
    Ok(organisations::table
        .filter(organisations::name.eq(name))
        .select(Organisation::as_select())
        .first(conn)
        .optional()?)
}

fn insert(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    name: &str,
) -> Result<Organisation, AppError> {
    let slug = free_slug(conn, name, None)?;
    let id: i32 = diesel::insert_into(organisations::table)
        .values((
            organisations::name.eq(name),
            organisations::slug.eq(slug),
            organisations::created_at.eq(now()),
        ))
        .returning(organisations::id)
        .get_result(conn)?;
    let org = find(conn, id)?;
    crate::audit::record(
        conn,
        actor,
        "create",
        "organisation",
        Some(org.id),
        Some(org.id),
    )?;
    Ok(org)
}

/// Creates an organisation; its name must be new.
pub fn create(
    conn: &mut DbConn,
    actor: &StaffUser,
    mut input: OrganisationInput,
) -> Result<Organisation, AppError> {
    input.name = input.name.trim().to_string();
    input.validate()?;
    crate::db::transaction(conn, |conn| {
        if find_by_name(conn, &input.name)?.is_some() {
            return Err(AppError::Conflict {
                code: "name_taken",
                message: format!("Une structure s'appelle déjà « {} ».", input.name),
            });
        }
        insert(conn, Some(actor), &input.name)
    })
}

/// The organisation of that name, created when missing (command line, first setup).
pub fn find_or_create(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    name: &str,
) -> Result<Organisation, AppError> {
    let name = name.trim();
    OrganisationInput {
        name: name.to_string(),
    }
    .validate()?;
    crate::db::transaction(conn, |conn| match find_by_name(conn, name)? {
        Some(org) => Ok(org),
        None => insert(conn, actor, name),
    })
}

/// A public slug: 2 to 60 lowercase letters, digits and single dashes, not at either end.
pub fn is_valid_slug(slug: &str) -> bool {
    (2..=60).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
}

/// "Association Les Écrans" → "association-les-ecrans".
pub fn slug_of(name: &str) -> String {
    let folded = crate::text::fold(name);
    let mut slug = String::new();
    for c in folded.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.trim_end_matches('-').chars().take(50).collect();
    slug = slug.trim_end_matches('-').to_string();
    if slug.len() < 2 {
        slug = format!("structure{}", if slug.is_empty() { "" } else { "-" }) + &slug;
    }
    slug
}

/// The slug derived from `name`, numbered (`-2`, `-3`…) when another organisation has it.
fn free_slug(conn: &mut DbConn, name: &str, except: Option<i32>) -> Result<String, AppError> {
    let base = slug_of(name);
    let mut candidate = base.clone();
    for n in 2.. {
        let taken: i64 = organisations::table
            .filter(organisations::slug.eq(&candidate))
            .filter(organisations::id.ne(except.unwrap_or(-1)))
            .count()
            .get_result(conn)?;
        if taken == 0 {
            break;
        }
        candidate = format!("{base}-{n}");
    }
    Ok(candidate)
}

/// Gives a slug to the organisations created before slugs existed. Runs at start; cheap once
/// done.
pub fn fill_slugs(conn: &mut DbConn) -> Result<usize, AppError> {
    let missing: Vec<(i32, String)> = organisations::table
        .filter(organisations::slug.is_null())
        .select((organisations::id, organisations::name))
        .order(organisations::id)
        .load(conn)?;
    for (id, name) in &missing {
        crate::db::transaction(conn, |conn| {
            let slug = free_slug(conn, name, Some(*id))?;
            diesel::update(organisations::table.find(id))
                .set(organisations::slug.eq(slug))
                .execute(conn)?;
            Ok(())
        })?;
    }
    Ok(missing.len())
}

/// The organisation whose public pages live at `/rdv/{slug}`.
pub fn by_slug(conn: &mut DbConn, slug: &str) -> Result<Organisation, AppError> {
    if !is_valid_slug(slug) {
        return Err(AppError::NotFound);
    }
    organisations::table
        .filter(organisations::slug.eq(slug))
        .select(Organisation::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

/// `PATCH /api/v1/organisations/{id}`: a new name and/or slug (admins).
#[derive(Deserialize, Debug, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationPatch {
    #[schema(nullable = false, min_length = 1, max_length = 120)]
    pub name: Option<String>,
    #[schema(
        nullable = false,
        min_length = 2,
        max_length = 60,
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: Option<String>,
}

pub const SLUG_MESSAGE: &str =
    "De 2 à 60 lettres minuscules sans accent, chiffres et tirets (par exemple : mediation-roubaix).";

/// Renames an organisation or changes its public slug (admins only); audited.
pub fn update(
    conn: &mut DbConn,
    actor: &StaffUser,
    id: i32,
    patch: OrganisationPatch,
) -> Result<Organisation, AppError> {
    actor.require(&[crate::auth::Role::Admin])?;
    let name = patch.name.map(|n| n.trim().to_string());
    let slug = patch.slug.map(|s| s.trim().to_string());
    let mut errors = crate::error::FieldErrors::new();
    if let Some(name) = &name {
        if let Err(e) = (OrganisationInput { name: name.clone() }).validate() {
            if let AppError::Validation(e) = AppError::from(e) {
                errors.extend(e);
            }
        }
    }
    if slug.as_deref().is_some_and(|s| !is_valid_slug(s)) {
        errors.insert("slug".into(), vec![SLUG_MESSAGE.into()]);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    crate::db::transaction(conn, |conn| {
        let current = find(conn, id).map_err(|_| AppError::NotFound)?;
        if let Some(name) = &name {
            if find_by_name(conn, name)?.is_some_and(|o| o.id != id) {
                return Err(AppError::Conflict {
                    code: "name_taken",
                    message: format!("Une structure s'appelle déjà « {name} »."),
                });
            }
        }
        if let Some(slug) = &slug {
            let taken: i64 = organisations::table
                .filter(organisations::slug.eq(slug))
                .filter(organisations::id.ne(id))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(AppError::Conflict {
                    code: "slug_taken",
                    message: format!("L'adresse « {slug} » est déjà celle d'une autre structure."),
                });
            }
        }
        diesel::update(organisations::table.find(id))
            .set((
                organisations::name.eq(name.as_deref().unwrap_or(&current.name)),
                organisations::slug.eq(slug.as_deref().or(current.slug.as_deref())),
            ))
            .execute(conn)?;
        crate::audit::record(
            conn,
            Some(actor),
            "update",
            "organisation",
            Some(id),
            Some(id),
        )?;
        find(conn, id)
    })
}
