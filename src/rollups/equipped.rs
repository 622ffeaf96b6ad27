//! `equipped_progress`: the `domain_progress` rows of the people who received equipment, each
//! with the day of the person's first handover. The skills report sums them for its equipped
//! people per domain, read in domain order, instead of looking up each equipped person's rows.
//! A person's rows are rewritten whenever their progress is refreshed or the devices they were
//! handed change (a handover, a merge).

use diesel::connection::SimpleConnection;

use crate::db::DbConn;
use crate::error::AppError;

const COLUMNS: &str = "domain_id, person_id, equipped_on, organisation_id, last_at, \
    last_place_id, last_author_id, skills, progressed, autonomous, gain, autonomous_skills, \
    assessments_to_autonomy, sessions_to_progress, sessions_to_autonomy";

/// The rows of the people whose ids pass `people` (a condition on `person_id`).
fn copy(people: &str) -> String {
    format!(
        "INSERT INTO equipped_progress ({COLUMNS}) \
         SELECT dp.domain_id, dp.person_id, e.first_on, dp.organisation_id, dp.last_at, \
         dp.last_place_id, dp.last_author_id, dp.skills, dp.progressed, dp.autonomous, dp.gain, \
         dp.autonomous_skills, dp.assessments_to_autonomy, dp.sessions_to_progress, \
         dp.sessions_to_autonomy \
         FROM domain_progress dp \
         JOIN (SELECT person_id, MIN(handed_over_on) AS first_on FROM assignments \
         WHERE {people} GROUP BY person_id) e ON e.person_id = dp.person_id \
         WHERE dp.{people}"
    )
}

/// Rewrites these people's rows, in the caller's transaction.
pub(super) fn refresh(conn: &mut DbConn, people: &[i32]) -> Result<(), AppError> {
    if people.is_empty() {
        return Ok(());
    }
    let ids = people
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let people = format!("person_id IN ({ids})");
    conn.batch_execute(&format!(
        "DELETE FROM equipped_progress WHERE {people}; {}",
        copy(&people)
    ))?;
    Ok(())
}

/// Recomputes every row (after `domain_progress` was rebuilt).
pub(super) fn rebuild(conn: &mut DbConn) -> Result<(), AppError> {
    conn.batch_execute(&format!(
        "DELETE FROM equipped_progress; {}",
        copy("person_id IS NOT NULL")
    ))?;
    Ok(())
}
