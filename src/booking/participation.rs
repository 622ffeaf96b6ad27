//! The writes of a session's life that are not a booking: the attendance a session log records,
//! a seat at a drop-in session for whoever came, the appointment done once logged, and the
//! person's confirmation (from their personal link or by text message). With them,
//! `participants` and `appointments` are written only under `booking/`.

use diesel::prelude::*;

use crate::db::schema::{appointments, participants};
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};

/// The attendance of a seat (`attended`, `no_show`, `excused`…), as a session log records it.
pub fn set_attendance(
    conn: &mut DbConn,
    participant_id: i32,
    status: ParticipantStatus,
) -> Result<(), AppError> {
    diesel::update(participants::table.find(participant_id))
        .set((
            participants::status.eq(status),
            participants::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A seat at a drop-in session for a person who came, with their attendance.
pub fn seat_walk_in(
    conn: &mut DbConn,
    appointment_id: i32,
    person_id: i32,
    status: ParticipantStatus,
) -> Result<(), AppError> {
    diesel::insert_into(participants::table)
        .values((
            participants::appointment_id.eq(appointment_id),
            participants::person_id.eq(person_id),
            participants::status.eq(status),
            participants::created_at.eq(now()),
            participants::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The person confirms they will come; a seat already confirmed keeps its first confirmation.
pub fn confirm(conn: &mut DbConn, participant_id: i32) -> Result<(), AppError> {
    diesel::update(
        participants::table
            .find(participant_id)
            .filter(participants::confirmed_at.is_null()),
    )
    .set(participants::confirmed_at.eq(Some(now())))
    .execute(conn)?;
    Ok(())
}

/// The appointment is done: its session log is written.
pub fn appointment_done(conn: &mut DbConn, appointment_id: i32) -> Result<(), AppError> {
    diesel::update(appointments::table.find(appointment_id))
        .set((
            appointments::status.eq(AppointmentStatus::Done),
            appointments::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}
