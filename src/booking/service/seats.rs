//! A workshop's seats: enrolment (booked while seats remain, waitlisted after), withdrawal
//! and the promotion of the waiting list, in order.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::placement::{check_person, insert_participant, person_clash};
use super::{appointment_row, conflict, load_for, locked, planned, planned_row};
use crate::auth::StaffUser;
use crate::booking::model::{Appointment, ParticipantRow};
use crate::booking::notify::{self, Event};
use crate::config::Config;
use crate::db::schema::{participants, people};
use crate::db::{now, BookingKey, BookingLocks, DbConn};
use crate::error::AppError;
use crate::status::ParticipantStatus;

/// Enrols a person: booked while seats remain, waitlisted after.
pub fn enrol(
    conn: &mut DbConn,
    actor: &StaffUser,
    appointment_id: i32,
    person_id: i32,
    config: &Config,
) -> Result<ParticipantStatus, AppError> {
    enrol_as(conn, Some(actor), appointment_id, person_id, config)
}

/// [`enrol`], by a member of staff or (`None`) from the public pages: audited with no actor.
///
/// Under the appointment's lock, the seats are counted rather than the participants loaded: a
/// workshop announced to many people at once has a long waiting list, and every enrolment of
/// the burst waits for the one before.
pub fn enrol_as(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    appointment_id: i32,
    person_id: i32,
    config: &Config,
) -> Result<ParticipantStatus, AppError> {
    let tz = &config.timezone;
    locked(conn, |conn, wide| {
        let row = appointment_row(conn, actor, appointment_id)?;
        let mut locks = BookingLocks::take(
            conn,
            row.organisation_id,
            wide,
            &[BookingKey::Appointment(appointment_id)],
        )?;
        let row = appointment_row(conn, actor, appointment_id)?;
        planned_row(&row)?;
        let found: Option<(i32, Option<NaiveDateTime>)> = people::table
            .find(person_id)
            .select((people::organisation_id, people::anonymised_at))
            .first(conn)
            .optional()?;
        found
            .filter(|(org, anonymised)| *org == row.organisation_id && anonymised.is_none())
            .ok_or_else(|| {
                AppError::field(
                    "person_id",
                    "Cette personne n'existe pas dans la structure.",
                )
            })?;
        let existing: Option<(i32, ParticipantStatus)> = participants::table
            .filter(participants::appointment_id.eq(appointment_id))
            .filter(participants::person_id.eq(person_id))
            .select((participants::id, participants::status))
            .first(conn)
            .optional()?;
        if existing.as_ref().is_some_and(|(_, status)| {
            matches!(
                status,
                ParticipantStatus::Booked
                    | ParticipantStatus::Waitlisted
                    | ParticipantStatus::Attended
            )
        }) {
            return Err(conflict(
                "already_enrolled",
                "Cette personne est déjà inscrite.".into(),
            ));
        }
        let seated: i64 = participants::table
            .filter(participants::appointment_id.eq(appointment_id))
            .filter(
                participants::status
                    .eq(ParticipantStatus::SEATED[0])
                    .or(participants::status.eq(ParticipantStatus::SEATED[1])),
            )
            .count()
            .get_result(conn)?;
        let status = if seated < i64::from(row.capacity) {
            // After the appointment's key: in order.
            if !locks.then(conn, &[BookingKey::Person(person_id)])? {
                return Ok(None);
            }
            check_person(
                conn,
                person_id,
                row.starts_at,
                row.ends_at,
                Some(appointment_id),
                tz,
            )?;
            ParticipantStatus::Booked
        } else {
            ParticipantStatus::Waitlisted
        };
        match existing {
            Some((id, _)) => {
                // Enrolled again: as of now, behind those already waiting.
                diesel::update(participants::table.find(id))
                    .set((
                        participants::status.eq(status),
                        participants::created_at.eq(now()),
                        participants::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
            }
            None => {
                insert_participant(conn, appointment_id, person_id, status)?;
            }
        }
        crate::audit::record(
            conn,
            actor,
            "enrol",
            "appointment",
            Some(appointment_id),
            Some(row.organisation_id),
        )?;
        crate::rollups::appointment_changed(conn, appointment_id)?;
        if status == ParticipantStatus::Booked {
            let appointment = load_for(conn, actor, appointment_id)?;
            crate::webhooks::announce_appointment(
                conn,
                &config.timezone,
                &appointment,
                &Event::Enrolled(person_id),
            )?;
            notify::announce(conn, config, &appointment, Event::Enrolled(person_id))?;
        }
        Ok(Some(status))
    })
}

/// The waiting people of `appointment` to seat, in order, skipping those busy elsewhere then,
/// while `seats` remain; `None` when that takes people it could not lock (see [`locked`]).
/// Reads only: the caller seats them.
pub(super) fn waitlist_to_promote(
    conn: &mut DbConn,
    locks: &mut BookingLocks,
    appointment: &Appointment,
    leaving: i32,
    seats: usize,
) -> Result<Option<Vec<ParticipantRow>>, AppError> {
    let waiting: Vec<&ParticipantRow> = appointment
        .participants
        .iter()
        .filter(|p| p.status == ParticipantStatus::Waitlisted && p.id != leaving)
        .collect();
    if seats == 0 || waiting.is_empty() {
        return Ok(Some(Vec::new()));
    }
    // The first of the list, locked together (after the appointment's key, so in order); the
    // whole list when the organisation is locked.
    let reach = if locks.is_wide() {
        waiting.len()
    } else {
        waiting.len().min(crate::db::locks::MAX_PERSON_KEYS)
    };
    let keys: Vec<BookingKey> = waiting[..reach]
        .iter()
        .map(|p| BookingKey::Person(p.person_id))
        .collect();
    if !locks.then(conn, &keys)? {
        return Ok(None);
    }
    let mut promoted = Vec::new();
    for candidate in &waiting[..reach] {
        if promoted.len() == seats {
            break;
        }
        let busy = person_clash(
            conn,
            candidate.person_id,
            appointment.row.starts_at,
            appointment.row.ends_at,
            Some(appointment.row.id),
        )?;
        if busy.is_none() {
            promoted.push((*candidate).clone());
        }
    }
    if promoted.len() < seats && reach < waiting.len() {
        // Seats remain and people further down were not locked.
        return Ok(None);
    }
    Ok(Some(promoted))
}

/// Withdraws a person (`cancelled` by the structure, `excused` by the person) and promotes the
/// waitlist. `actor` is `None` when the person cancels from their link. Returns the promoted
/// people.
pub fn withdraw(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    appointment_id: i32,
    person_id: i32,
    new_status: ParticipantStatus,
    config: &Config,
) -> Result<Vec<i32>, AppError> {
    locked(conn, |conn, wide| {
        let row = appointment_row(conn, actor, appointment_id)?;
        let mut locks = BookingLocks::take(
            conn,
            row.organisation_id,
            wide,
            &[BookingKey::Appointment(appointment_id)],
        )?;
        let appointment = load_for(conn, actor, appointment_id)?;
        planned(&appointment)?;
        let row = appointment
            .participants
            .iter()
            .find(|p| {
                p.person_id == person_id
                    && matches!(
                        p.status,
                        ParticipantStatus::Booked | ParticipantStatus::Waitlisted
                    )
            })
            .ok_or(AppError::NotFound)?;
        let seated_after =
            appointment.booked_count() - usize::from(row.status == ParticipantStatus::Booked);
        let seats = (appointment.row.capacity as usize).saturating_sub(seated_after);
        // Who moves up is decided (and locked) before anything is written.
        let Some(promoted) = waitlist_to_promote(conn, &mut locks, &appointment, row.id, seats)?
        else {
            return Ok(None);
        };
        diesel::update(participants::table.find(row.id))
            .set((
                participants::status.eq(new_status),
                participants::updated_at.eq(now()),
            ))
            .execute(conn)?;
        for candidate in &promoted {
            diesel::update(participants::table.find(candidate.id))
                .set((
                    participants::status.eq(ParticipantStatus::Booked),
                    participants::updated_at.eq(now()),
                ))
                .execute(conn)?;
        }
        let promoted: Vec<i32> = promoted.iter().map(|p| p.person_id).collect();
        crate::audit::record(
            conn,
            actor,
            "withdraw",
            "appointment",
            Some(appointment_id),
            Some(appointment.row.organisation_id),
        )?;
        crate::rollups::appointment_changed(conn, appointment_id)?;
        let appointment = load_for(conn, actor, appointment_id)?;
        crate::webhooks::announce_appointment(
            conn,
            &config.timezone,
            &appointment,
            &Event::Withdrawn(person_id),
        )?;
        notify::announce(conn, config, &appointment, Event::Withdrawn(person_id))?;
        for person in &promoted {
            crate::webhooks::announce_appointment(
                conn,
                &config.timezone,
                &appointment,
                &Event::Promoted(*person),
            )?;
            notify::announce(conn, config, &appointment, Event::Promoted(*person))?;
        }
        Ok(Some(promoted))
    })
}
