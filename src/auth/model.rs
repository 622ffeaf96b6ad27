//! Account tables: users, browser sessions, API tokens, login failures, setup tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::identity::{Role, StaffUser, WebUser};
use crate::db::schema::{api_tokens, login_failures, sessions, setup_tokens, users};
use crate::db::{now, DbConn};
use crate::error::AppError;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i32,
    pub organisation_id: i32,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

impl UserRow {
    pub fn staff(&self) -> StaffUser {
        StaffUser {
            id: self.id,
            organisation_id: self.organisation_id,
            email: self.email.clone(),
            name: self.name.clone(),
            role: Role::parse(&self.role).unwrap_or(Role::Mediator),
        }
    }

    pub fn public(&self) -> UserOut {
        UserOut {
            id: self.id,
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
            organisation_id: self.organisation_id,
            active: self.active,
        }
    }
}

/// A user as the API shows it: never the password hash.
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserOut {
    pub id: i32,
    pub email: String,
    pub name: String,
    #[schema(value_type = super::Role)]
    pub role: String,
    pub organisation_id: i32,
    pub active: bool,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub organisation_id: i32,
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

pub fn user_by_email(conn: &mut DbConn, email: &str) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn user_by_id(conn: &mut DbConn, id: i32) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list_users(
    conn: &mut DbConn,
    scope: Option<i32>,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserRow>, AppError> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(org) = scope {
        query = query.filter(users::organisation_id.eq(org));
    }
    Ok(query
        .order(users::name)
        .limit(limit)
        .offset(offset)
        .load(conn)?)
}

pub fn count_users(conn: &mut DbConn) -> Result<i64, AppError> {
    Ok(users::table.count().get_result(conn)?)
}

/// What a guard needs of the signed-in user (not the password hash).
#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct StaffColumns {
    id: i32,
    organisation_id: i32,
    email: String,
    name: String,
    role: String,
}

impl StaffColumns {
    fn staff(self) -> StaffUser {
        StaffUser {
            id: self.id,
            organisation_id: self.organisation_id,
            email: self.email,
            name: self.name,
            role: Role::parse(&self.role).unwrap_or(Role::Mediator),
        }
    }
}

pub fn user_for_api_token(conn: &mut DbConn, hash: &str) -> Result<Option<StaffUser>, AppError> {
    let row = api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(hash))
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expires_at.gt(now()))
        .filter(users::active.eq(true))
        .select(StaffColumns::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(StaffColumns::staff))
}

pub fn user_for_session(conn: &mut DbConn, hash: &str) -> Result<Option<WebUser>, AppError> {
    let row = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(hash))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now()))
        .filter(users::active.eq(true))
        .select((
            StaffColumns::as_select(),
            sessions::id,
            sessions::csrf_token,
        ))
        .first::<(StaffColumns, i32, String)>(conn)
        .optional()?;
    Ok(row.map(|(user, session_id, csrf_token)| WebUser {
        user: user.staff(),
        csrf_token,
        session_id,
        section: "",
    }))
}

pub fn insert_session(
    conn: &mut DbConn,
    user_id: i32,
    token_hash: &str,
    csrf_token: &str,
    expires_at: NaiveDateTime,
) -> Result<(), AppError> {
    // Alone, through the writer (see `db::write`).
    crate::db::write(conn, |conn| {
        diesel::insert_into(sessions::table)
            .values((
                sessions::token_hash.eq(token_hash),
                sessions::user_id.eq(user_id),
                sessions::csrf_token.eq(csrf_token),
                sessions::created_at.eq(now()),
                sessions::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(())
    })
}

pub fn revoke_session(conn: &mut DbConn, session_id: i32) -> Result<(), AppError> {
    // Alone, through the writer (see `db::write`).
    crate::db::write(conn, |conn| {
        diesel::update(sessions::table.find(session_id))
            .set(sessions::revoked_at.eq(Some(now())))
            .execute(conn)?;
        Ok(())
    })
}

pub fn insert_api_token(
    conn: &mut DbConn,
    user_id: i32,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> Result<(), AppError> {
    // Alone, through the writer (see `db::write`).
    crate::db::write(conn, |conn| {
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::token_hash.eq(token_hash),
                api_tokens::user_id.eq(user_id),
                api_tokens::created_at.eq(now()),
                api_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Revokes one API token by its clear value; false when it is unknown or belongs to someone else.
pub fn revoke_api_token(conn: &mut DbConn, user_id: i32, hash: &str) -> Result<bool, AppError> {
    // Alone, through the writer (see `db::write`).
    crate::db::write(conn, |conn| {
        let n = diesel::update(
            api_tokens::table
                .filter(api_tokens::token_hash.eq(hash))
                .filter(api_tokens::user_id.eq(user_id))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(Some(now())))
        .execute(conn)?;
        Ok(n > 0)
    })
}

pub fn count_recent_failures(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    since: NaiveDateTime,
) -> Result<(i64, i64), AppError> {
    let by_email = login_failures::table
        .filter(login_failures::email.eq(email))
        .filter(login_failures::at.gt(since))
        .count()
        .get_result(conn)?;
    let by_ip = login_failures::table
        .filter(login_failures::ip.eq(ip))
        .filter(login_failures::at.gt(since))
        .count()
        .get_result(conn)?;
    Ok((by_email, by_ip))
}

pub fn insert_failure(conn: &mut DbConn, email: &str, ip: &str) -> Result<(), AppError> {
    // Alone, through the writer (see `db::write`).
    crate::db::write(conn, |conn| {
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::email.eq(email),
                login_failures::ip.eq(ip),
                login_failures::at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    })
}

pub fn clear_failures(
    conn: &mut DbConn,
    email: &str,
    before: NaiveDateTime,
) -> Result<(), AppError> {
    // Alone, through the writer (see `db::write`).
    crate::db::write(conn, |conn| {
        diesel::delete(
            login_failures::table.filter(
                login_failures::email
                    .eq(email)
                    .or(login_failures::at.lt(before)),
            ),
        )
        .execute(conn)?;
        Ok(())
    })
}

pub fn insert_setup_token(
    conn: &mut DbConn,
    hash: &str,
    expires_at: NaiveDateTime,
) -> Result<(), AppError> {
    // Alone, through the writer (see `db::write`).
    crate::db::write(conn, |conn| {
        diesel::insert_into(setup_tokens::table)
            .values((
                setup_tokens::token_hash.eq(hash),
                setup_tokens::created_at.eq(now()),
                setup_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Marks a valid setup token used; false when it is unknown, used or expired.
pub fn consume_setup_token(conn: &mut DbConn, hash: &str) -> Result<bool, AppError> {
    // Alone, through the writer (see `db::write`).
    crate::db::write(conn, |conn| {
        let n = diesel::update(
            setup_tokens::table
                .filter(setup_tokens::token_hash.eq(hash))
                .filter(setup_tokens::used_at.is_null())
                .filter(setup_tokens::expires_at.gt(now())),
        )
        .set(setup_tokens::used_at.eq(Some(now())))
        .execute(conn)?;
        Ok(n > 0)
    })
}

pub fn setup_token_is_valid(conn: &mut DbConn, hash: &str) -> Result<bool, AppError> {
    let n: i64 = setup_tokens::table
        .filter(setup_tokens::token_hash.eq(hash))
        .filter(setup_tokens::used_at.is_null())
        .filter(setup_tokens::expires_at.gt(now()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
