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

#[derive(Queryable, Selectable, Serialize, Debug, Clone)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: i32,
    pub name: String,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
}

#[derive(Deserialize, Validate, Debug, Default)]
pub struct OrganisationInput {
    #[validate(length(
        min = 1,
        max = 120,
        message = "Le nom est obligatoire (120 caractères au plus)."
    ))]
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
    let id: i32 = diesel::insert_into(organisations::table)
        .values((
            organisations::name.eq(name),
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
