//! Every roll-up recomputed from its sources, with the functions the writers use.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::schema::{
    activity_days, activity_dirty, activity_months, appointments, assessments, domain_progress,
    participants, people, served_days, served_people, skill_progress, topic_days, topic_months,
};
use crate::db::DbConn;
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};

use super::activity::{appointment_columns, *};
use super::progress::*;

/// Recomputes every aggregate from the sources, reporting progress as (done, total) steps.
pub fn rebuild(
    conn: &mut DbConn,
    tz: &Tz,
    mut on_progress: impl FnMut(u64, u64),
) -> Result<(), AppError> {
    const PEOPLE_CHUNK: i64 = 2000;
    const APPOINTMENT_CHUNK: i64 = 20000;
    let max_person: i64 = people::table
        .select(diesel::dsl::max(people::id))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0)
        .into();
    let max_appointment: i64 = appointments::table
        .select(diesel::dsl::max(appointments::id))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0)
        .into();
    let total = max_person / PEOPLE_CHUNK + max_appointment / APPOINTMENT_CHUNK + 2;
    let mut done = 0;

    crate::db::transaction(conn, |conn| {
        diesel::delete(activity_dirty::table).execute(conn)?;
        diesel::delete(activity_months::table).execute(conn)?;
        diesel::delete(topic_months::table).execute(conn)?;
        diesel::delete(skill_progress::table).execute(conn)?;
        diesel::delete(domain_progress::table).execute(conn)?;
        diesel::delete(activity_days::table).execute(conn)?;
        diesel::delete(topic_days::table).execute(conn)?;
        diesel::delete(served_days::table).execute(conn)?;
        diesel::delete(served_people::table).execute(conn)?;
        Ok(())
    })?;
    let domain_of = domains(conn)?;
    let mut from = 0i64;
    while from <= max_person {
        let to = from + PEOPLE_CHUNK;
        crate::db::transaction(conn, |conn| {
            let organisation_of: HashMap<i32, i32> = people::table
                .filter(people::id.ge(from as i32))
                .filter(people::id.lt(to as i32))
                .select((people::id, people::organisation_id))
                .load::<(i32, i32)>(conn)?
                .into_iter()
                .collect();
            let ids: Vec<i32> = organisation_of.keys().copied().collect();
            if ids.is_empty() {
                return Ok(());
            }
            let observed = observations(conn, &ids, None)?;
            let attended = attended_sessions(conn, &ids)?;
            write_progress(conn, &observed, &attended, &organisation_of, &domain_of)
        })?;
        from = to;
        done += 1;
        on_progress(done, total as u64);
    }
    super::skill_months::rebuild(conn, false)?;
    crate::db::transaction(conn, super::equipped::rebuild)?;
    // Appointments of one key may fall in two chunks: accumulate everything, then write.
    let mut activity = ActivityRows::new();
    let mut topics = TopicRows::new();
    let mut from = 0i64;
    while from <= max_appointment {
        let to = from + APPOINTMENT_CHUNK;
        let rows = load_appointments(
            conn,
            appointments::table
                .filter(appointments::id.ge(from as i32))
                .filter(appointments::id.lt(to as i32))
                .select(appointment_columns!()),
        )?;
        let mut served = ServedRows::new();
        accumulate(conn, tz, rows, &mut activity, &mut topics, &mut served)?;
        crate::db::transaction(conn, |conn| write_served(conn, &served))?;
        from = to;
        done += 1;
        on_progress(done, total as u64);
    }
    crate::db::transaction(conn, |conn| {
        write_activity(conn, &activity, &topics)?;
        rebuild_served_people(conn)?;
        roll_up_months(conn, None)
    })?;
    on_progress(total as u64, total as u64);
    Ok(())
}

/// Builds the aggregates when they are missing but their sources are not (the first start
/// after the upgrade that added them).
pub fn rebuild_if_missing(conn: &mut DbConn, tz: &Tz) -> Result<bool, AppError> {
    let has_progress = skill_progress::table
        .select(skill_progress::person_id)
        .first::<i32>(conn)
        .optional()?
        .is_some();
    let has_sources = appointments::table
        .select(appointments::id)
        .first::<i32>(conn)
        .optional()?
        .is_some()
        || assessments::table
            .select(assessments::id)
            .first::<i32>(conn)
            .optional()?
            .is_some();
    let has_aggregates = has_progress
        || activity_days::table
            .select(activity_days::day)
            .first::<NaiveDate>(conn)
            .optional()?
            .is_some();
    if has_sources && !has_aggregates {
        rebuild(conn, tz, |_, _| {})?;
        return Ok(true);
    }
    // Added later: the monthly roll-ups of skill progress, and who was served.
    let mut rebuilt = false;
    if has_progress && super::skill_months::is_empty(conn)? {
        rebuilt |= super::skill_months::rebuild(conn, true)?;
    }
    if has_aggregates && served_is_missing(conn)? {
        rebuild_served(conn, tz)?;
        rebuilt = true;
    }
    Ok(rebuilt)
}

/// No `served_days` row while someone attended an appointment that was not cancelled.
fn served_is_missing(conn: &mut DbConn) -> Result<bool, AppError> {
    let has_served = served_days::table
        .select(served_days::person_id)
        .first::<i32>(conn)
        .optional()?
        .is_some();
    if has_served {
        return Ok(false);
    }
    Ok(participants::table
        .inner_join(appointments::table)
        .filter(participants::status.eq(ParticipantStatus::Attended))
        .filter(appointments::status.ne(AppointmentStatus::Cancelled))
        .select(participants::id)
        .first::<i32>(conn)
        .optional()?
        .is_some())
}

/// Fills `served_days` from the participations, 20,000 appointments per transaction (the
/// first start after the upgrade that added it).
fn rebuild_served(conn: &mut DbConn, tz: &Tz) -> Result<(), AppError> {
    const APPOINTMENT_CHUNK: i32 = 20000;
    let max_appointment = appointments::table
        .select(diesel::dsl::max(appointments::id))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0);
    let mut from = 0;
    while from <= max_appointment {
        let to = from.saturating_add(APPOINTMENT_CHUNK);
        crate::db::transaction(conn, |conn| {
            let rows = load_appointments(
                conn,
                appointments::table
                    .filter(appointments::id.ge(from))
                    .filter(appointments::id.lt(to))
                    .filter(appointments::status.ne(AppointmentStatus::Cancelled))
                    .select(appointment_columns!()),
            )?;
            let ids: Vec<i32> = rows.iter().map(|a| a.id).collect();
            let seats = seats_of(conn, &ids)?;
            let mut served = ServedRows::new();
            add_served(tz, &rows, &seats, &mut served);
            write_served(conn, &served)
        })?;
        from = to;
    }
    crate::db::transaction(conn, rebuild_served_people)
}
