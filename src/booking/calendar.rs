//! Private calendar feeds: one secret token per mediator, stored hashed, revocable.

use diesel::prelude::*;

use crate::auth::{hash_token, random_token, StaffUser};
use crate::db::schema::{calendar_feeds, users};
use crate::db::{now, DbConn};
use crate::error::AppError;

pub fn user_for_feed(conn: &mut DbConn, hash: &str) -> Result<Option<StaffUser>, AppError> {
    let row = calendar_feeds::table
        .inner_join(users::table)
        .filter(calendar_feeds::token_hash.eq(hash))
        .filter(calendar_feeds::revoked_at.is_null())
        .filter(users::active.eq(true))
        .select(crate::auth::model::UserRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(|u| u.staff()))
}

pub fn has_feed(conn: &mut DbConn, user_id: i32) -> Result<bool, AppError> {
    let n: i64 = calendar_feeds::table
        .filter(calendar_feeds::user_id.eq(user_id))
        .filter(calendar_feeds::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Revokes the current feed, if any.
pub fn revoke(conn: &mut DbConn, user: &StaffUser) -> Result<(), AppError> {
    crate::db::transaction(conn, |conn| {
        if revoke_current(conn, user)? > 0 {
            crate::audit::record(
                conn,
                Some(user),
                "revoke",
                "calendar_feed",
                Some(user.id),
                Some(user.organisation_id),
            )?;
        }
        Ok(())
    })
}

fn revoke_current(conn: &mut DbConn, user: &StaffUser) -> Result<usize, AppError> {
    Ok(diesel::update(
        calendar_feeds::table
            .filter(calendar_feeds::user_id.eq(user.id))
            .filter(calendar_feeds::revoked_at.is_null()),
    )
    .set(calendar_feeds::revoked_at.eq(Some(now())))
    .execute(conn)?)
}

/// Replaces the feed's token; returns the new one (shown once).
pub fn renew(conn: &mut DbConn, user: &StaffUser) -> Result<String, AppError> {
    crate::db::transaction(conn, |conn| {
        revoke_current(conn, user)?;
        let token = random_token();
        diesel::insert_into(calendar_feeds::table)
            .values((
                calendar_feeds::user_id.eq(user.id),
                calendar_feeds::token_hash.eq(hash_token(&token)),
                calendar_feeds::created_at.eq(now()),
            ))
            .execute(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "renew",
            "calendar_feed",
            Some(user.id),
            Some(user.organisation_id),
        )?;
        Ok(token)
    })
}
