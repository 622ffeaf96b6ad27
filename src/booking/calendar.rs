//! Private calendar feeds: one secret token per mediator, stored hashed, revocable.

use diesel::prelude::*;

use crate::auth::{hash_token, random_token, StaffUser};
use crate::config::Config;
use crate::db::schema::{calendar_feeds, users};
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::time::LocalTime;

use super::model::Appointment;

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

/// The `.ics` file of one appointment the user may see.
pub fn appointment_file(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    config: &Config,
) -> Result<String, AppError> {
    let a = super::service::load(conn, user, id)?;
    let place = crate::places::get(conn, user, a.row.place_id)?;
    let service = super::availability::get_service(conn, user, a.row.service_id)?;
    let event = event_for(config, &a, &service.name, &place);
    Ok(super::ics::calendar(&[event], None))
}

/// The VEVENT of an appointment, as the mediator's feed and the `.ics` download show it (no
/// beneficiary's name).
pub fn event_for(
    config: &Config,
    a: &Appointment,
    service: &str,
    place: &crate::places::Place,
) -> String {
    let tz = &config.timezone;
    super::ics::event(&super::ics::EventInfo {
        appointment: a,
        summary: a.row.title.clone().unwrap_or_else(|| service.to_string()),
        location: format!(
            "{}, {}, {} {}",
            place.name, place.address, place.postal_code, place.city
        ),
        description: format!(
            "{} — {} participant(s) inscrit(s)",
            tz.in_words(a.row.starts_at),
            a.booked_count()
        ),
        uid_key: &config.secret_key,
        sequence: None,
        cancelled: false,
        organizer: None,
        attendee: None,
    })
}
