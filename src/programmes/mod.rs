//! Programmes (dispositifs): RSA, ASE, mission locale… Shared by every organisation of the
//! département, since one funder's programme runs through several structures.

pub mod api;
pub mod web;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::auth::{Role, StaffUser};
use crate::db::schema::programmes;
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::text::clean;

#[derive(Queryable, Selectable, Serialize, Debug, Clone, utoipa::ToSchema)]
#[diesel(table_name = programmes)]
pub struct Programme {
    pub id: i32,
    pub name: String,
    #[schema(required = true)]
    pub funder: Option<String>,
    #[schema(required = true)]
    pub starts_on: Option<NaiveDate>,
    #[schema(required = true)]
    pub ends_on: Option<NaiveDate>,
    #[serde(skip)]
    #[schema(ignore)]
    pub created_at: NaiveDateTime,
}

#[derive(Deserialize, Validate, Debug, Default, Clone, utoipa::ToSchema)]
pub struct ProgrammeInput {
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
    #[validate(length(max = 120, message = "120 caractères au plus."))]
    #[schema(max_length = 120)]
    pub funder: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

pub fn list(conn: &mut DbConn, limit: i64, offset: i64) -> Result<Vec<Programme>, AppError> {
    Ok(programmes::table
        .select(Programme::as_select())
        .order((programmes::name, programmes::id))
        .limit(limit)
        .offset(offset)
        .load(conn)?)
}

pub fn create(
    conn: &mut DbConn,
    user: &StaffUser,
    mut input: ProgrammeInput,
) -> Result<Programme, AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    input.name = input.name.trim().to_string();
    input.funder = clean(input.funder);
    input.validate()?;
    if let (Some(start), Some(end)) = (input.starts_on, input.ends_on) {
        if end < start {
            return Err(AppError::field("ends_on", "La fin doit suivre le début."));
        }
    }
    crate::db::transaction(conn, |conn| {
        let taken: i64 = programmes::table
            .filter(programmes::name.eq(&input.name))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(AppError::Conflict {
                code: "name_taken",
                message: format!("Un dispositif s'appelle déjà « {} ».", input.name),
            });
        }
        let id: i32 = diesel::insert_into(programmes::table)
            .values((
                programmes::name.eq(&input.name),
                programmes::funder.eq(input.funder.as_deref()),
                programmes::starts_on.eq(input.starts_on),
                programmes::ends_on.eq(input.ends_on),
                programmes::created_at.eq(now()),
            ))
            .returning(programmes::id)
            .get_result(conn)?;
        crate::audit::record(conn, Some(user), "create", "programme", Some(id), None)?;
        Ok(programmes::table
            .find(id)
            .select(Programme::as_select())
            .first(conn)?)
    })
}
