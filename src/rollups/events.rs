//! What a writer tells the roll-ups, one function per event, called inside the transaction
//! that made the change. Writers name what happened; how each roll-up follows (a day noted
//! for the next flush, a person's progress recomputed, a programme's counts moved) is this
//! module's business, so a new roll-up is an edit here, not in every writer.

use diesel::prelude::*;

use super::skill_months::{self, Cells};
use crate::db::schema::participants;
use crate::db::DbConn;
use crate::error::AppError;

/// An appointment was booked, moved, cancelled, logged or changed its seats: its day's
/// activity is noted for recomputing, as it stands now (call it before and after a move).
pub fn appointment_changed(conn: &mut DbConn, appointment_id: i32) -> Result<(), AppError> {
    super::mark(conn, appointment_id)
}

/// A person's assessments or attendance changed: their progress, skill by skill and domain by
/// domain, is recomputed.
pub fn skills_changed(conn: &mut DbConn, person_id: i32) -> Result<(), AppError> {
    super::refresh_skills(conn, person_id)
}

/// The devices handed to these people changed (a handover, a merge moving them): the
/// equipped people's progress follows.
pub fn equipment_changed(conn: &mut DbConn, people: &[i32]) -> Result<(), AppError> {
    super::equipped::refresh(conn, people)
}

/// Runs `change`, which rewrites a person's programmes, and moves what the person counts for
/// in the programme roll-ups from their old programmes to their new ones; the days of their
/// appointments are noted too (activity is broken down by programme).
pub fn programmes_changed<T>(
    conn: &mut DbConn,
    organisation_id: i32,
    person_id: i32,
    change: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    skill_months::lock_for_change(conn, organisation_id)?;
    let before = Cells::of_person(conn, person_id)?;
    let changed = change(conn)?;
    let after = Cells::of_person(conn, person_id)?;
    before.replace_with(conn, after)?;
    let appointments: Vec<i32> = participants::table
        .filter(participants::person_id.eq(person_id))
        .select(participants::appointment_id)
        .load(conn)?;
    for appointment_id in appointments {
        super::mark(conn, appointment_id)?;
    }
    Ok(changed)
}
