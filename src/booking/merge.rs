//! A person merged into another: their participations move to the kept person.

use diesel::prelude::*;

use crate::db::schema::participants;
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::status::ParticipantStatus;

/// How much a participation says: when both people were in one appointment, the one that
/// says most is kept (attended, then absent, excused, booked, waitlisted, cancelled).
fn rank(status: ParticipantStatus) -> u8 {
    match status {
        ParticipantStatus::Attended => 5,
        ParticipantStatus::NoShow => 4,
        ParticipantStatus::Excused => 3,
        ParticipantStatus::Booked => 2,
        ParticipantStatus::Waitlisted => 1,
        ParticipantStatus::Cancelled => 0,
    }
}

/// What moving the participations did.
pub struct Moved {
    /// Every appointment whose participants changed (its activity rows are to recompute).
    pub appointments: Vec<i32>,
    /// Appointments both were in, where one participation was dropped: with `true` when the
    /// merged person's said more (its status was kept).
    pub conflicts: Vec<(i32, bool)>,
}

/// Moves `from`'s participations to `to`, inside the caller's transaction.
pub fn move_participations(conn: &mut DbConn, from: i32, to: i32) -> Result<Moved, AppError> {
    let theirs: Vec<(i32, i32, ParticipantStatus)> = participants::table
        .filter(participants::person_id.eq(from))
        .select((
            participants::id,
            participants::appointment_id,
            participants::status,
        ))
        .load(conn)?;
    let mut moved = Moved {
        appointments: Vec::new(),
        conflicts: Vec::new(),
    };
    for (id, appointment_id, status) in theirs {
        let kept: Option<(i32, ParticipantStatus)> = participants::table
            .filter(participants::appointment_id.eq(appointment_id))
            .filter(participants::person_id.eq(to))
            .select((participants::id, participants::status))
            .first(conn)
            .optional()?;
        match kept {
            None => {
                diesel::update(participants::table.find(id))
                    .set((
                        participants::person_id.eq(to),
                        participants::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
            }
            Some((kept_id, kept_status)) => {
                let theirs_wins = rank(status) > rank(kept_status);
                if theirs_wins {
                    diesel::update(participants::table.find(kept_id))
                        .set((
                            participants::status.eq(status),
                            participants::updated_at.eq(now()),
                        ))
                        .execute(conn)?;
                }
                diesel::delete(participants::table.find(id)).execute(conn)?;
                moved.conflicts.push((appointment_id, theirs_wins));
            }
        }
        moved.appointments.push(appointment_id);
    }
    Ok(moved)
}
