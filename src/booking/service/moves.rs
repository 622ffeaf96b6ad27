//! Moving and cancelling an appointment, under the same rules as a booking.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::placement::{check_mediator, check_person, Placement};
use super::{appointment_row, load, load_for, locked, parse_start, planned};
use crate::auth::{Role, StaffUser};
use crate::booking::availability::get_service_for;
use crate::booking::model::Appointment;
use crate::booking::notify::{self, Event};
use crate::config::Config;
use crate::db::schema::{appointments, participants};
use crate::db::{now, BookingKey, BookingLocks, DbConn};
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::text::clean;

/// Moves an appointment, checking the same rules as a booking.
pub fn reschedule(
    conn: &mut DbConn,
    actor: &StaffUser,
    appointment_id: i32,
    starts_at: &str,
    override_opening_hours: bool,
    config: &Config,
) -> Result<Appointment, AppError> {
    let starts_at = parse_start("starts_at", starts_at)?;
    reschedule_for(
        conn,
        Some(actor),
        appointment_id,
        starts_at,
        override_opening_hours,
        config,
    )
}

/// Moves an appointment to `starts_at`, checking the same rules as a booking, in one
/// transaction under the locks of its mediator, of itself and of the people booked in it.
/// `actor` is `None` when the person moves it from their link (never with
/// `override_opening_hours`); the audit then names no one.
pub fn reschedule_for(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    appointment_id: i32,
    starts_at: NaiveDateTime,
    override_opening_hours: bool,
    config: &Config,
) -> Result<Appointment, AppError> {
    let tz = &config.timezone;
    let override_opening_hours = override_opening_hours && actor.is_some();
    locked(conn, |conn, wide| {
        let row = appointment_row(conn, actor, appointment_id)?;
        let mut locks = BookingLocks::take(
            conn,
            row.organisation_id,
            wide,
            &[
                BookingKey::Mediator(row.mediator_id),
                BookingKey::Appointment(appointment_id),
            ],
        )?;
        let appointment = load_for(conn, actor, appointment_id)?;
        planned(&appointment)?;
        // The people booked, as of now that no one else changes the seats.
        let seated: Vec<BookingKey> = appointment
            .participants
            .iter()
            .filter(|p| p.status == ParticipantStatus::Booked)
            .map(|p| BookingKey::Person(p.person_id))
            .collect();
        if !locks.then(conn, &seated)? {
            return Ok(None);
        }
        if let Some(actor) = actor {
            if actor.role == Role::Mediator
                && override_opening_hours
                && actor.id != appointment.row.mediator_id
            {
                return Err(AppError::Forbidden(
                    "Seul le médiateur concerné ou un coordinateur peut forcer un horaire.".into(),
                ));
            }
        }
        let service = get_service_for(conn, actor, appointment.row.service_id)?;
        let ends_at = starts_at + (appointment.row.ends_at - appointment.row.starts_at);
        let blocked_until = ends_at + (appointment.row.blocked_until - appointment.row.ends_at);
        check_mediator(
            conn,
            &Placement {
                mediator_id: appointment.row.mediator_id,
                place_id: appointment.row.place_id,
                service: &service,
                starts_at,
                ends_at,
                blocked_until,
                walk_in: false,
                override_opening_hours,
                except: Some(appointment_id),
            },
            tz,
        )?;
        for p in appointment
            .participants
            .iter()
            .filter(|p| p.status == ParticipantStatus::Booked)
        {
            check_person(
                conn,
                p.person_id,
                starts_at,
                ends_at,
                Some(appointment_id),
                tz,
            )?;
        }
        // The day it leaves; the day it lands on is noted after the move.
        crate::rollups::appointment_changed(conn, appointment_id)?;
        diesel::update(appointments::table.find(appointment_id))
            .set((
                appointments::starts_at.eq(starts_at),
                appointments::ends_at.eq(ends_at),
                appointments::blocked_until.eq(blocked_until),
                appointments::sequence.eq(appointment.row.sequence + 1),
                appointments::updated_at.eq(now()),
            ))
            .execute(conn)?;
        crate::audit::record(
            conn,
            actor,
            "reschedule",
            "appointment",
            Some(appointment_id),
            Some(appointment.row.organisation_id),
        )?;
        crate::rollups::appointment_changed(conn, appointment_id)?;
        let moved = load_for(conn, actor, appointment_id)?;
        crate::webhooks::announce_appointment(conn, &config.timezone, &moved, &Event::Rescheduled)?;
        notify::announce(conn, config, &moved, Event::Rescheduled)?;
        Ok(Some(moved))
    })
}

/// Cancels an appointment, by the person or by the structure.
pub fn cancel(
    conn: &mut DbConn,
    actor: &StaffUser,
    appointment_id: i32,
    by: &str,
    reason: Option<String>,
    config: &Config,
) -> Result<Appointment, AppError> {
    let participant_status = match by {
        "person" => ParticipantStatus::Excused,
        "structure" => ParticipantStatus::Cancelled,
        _ => return Err(AppError::field("by", "Indiquez person ou structure.")),
    };
    let reason = clean(reason);
    if reason.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return Err(AppError::field("reason", "200 caractères au plus."));
    }
    crate::db::transaction(conn, |conn| {
        let row = appointment_row(conn, Some(actor), appointment_id)?;
        BookingLocks::take(
            conn,
            row.organisation_id,
            false,
            &[BookingKey::Appointment(appointment_id)],
        )?;
        let appointment = load(conn, actor, appointment_id)?;
        planned(&appointment)?;
        diesel::update(appointments::table.find(appointment_id))
            .set((
                appointments::status.eq(AppointmentStatus::Cancelled),
                appointments::cancelled_by.eq(by),
                appointments::cancel_reason.eq(reason.as_deref()),
                appointments::sequence.eq(appointment.row.sequence + 1),
                appointments::updated_at.eq(now()),
            ))
            .execute(conn)?;
        diesel::update(
            participants::table
                .filter(participants::appointment_id.eq(appointment_id))
                .filter(
                    participants::status
                        .eq_any([ParticipantStatus::Booked, ParticipantStatus::Waitlisted]),
                ),
        )
        .set((
            participants::status.eq(participant_status),
            participants::updated_at.eq(now()),
        ))
        .execute(conn)?;
        crate::audit::record(
            conn,
            Some(actor),
            "cancel",
            "appointment",
            Some(appointment_id),
            Some(appointment.row.organisation_id),
        )?;
        crate::rollups::appointment_changed(conn, appointment_id)?;
        let seated: Vec<i32> = appointment
            .participants
            .iter()
            .filter(|p| p.status == ParticipantStatus::Booked)
            .map(|p| p.person_id)
            .collect();
        let cancelled = load(conn, actor, appointment_id)?;
        crate::webhooks::announce_appointment(
            conn,
            &config.timezone,
            &cancelled,
            &Event::Cancelled(seated.clone()),
        )?;
        notify::announce(conn, config, &cancelled, Event::Cancelled(seated))?;
        Ok(cancelled)
    })
}
