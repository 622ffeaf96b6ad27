//! Erasure and anonymisation: names, contacts, notes and referent removed, the person
//! withdrawn from their upcoming appointments; the statistics stay.

use diesel::prelude::*;

use crate::auth::{Role, StaffUser};
use crate::config::Config;
use crate::db::schema::people;
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::people::{get, ANONYMISED_NAME};
use crate::status::{AppointmentStatus, ParticipantStatus};

/// Erasure: names, contacts, notes and referent removed; the person is withdrawn from their
/// upcoming appointments (the waitlist moves up) and their messages forgotten. The record, its
/// programmes, past participations, logs, assessments and equipment history stay, so every
/// statistic built on them does too.
pub fn erase(
    conn: &mut DbConn,
    config: &Config,
    user: &StaffUser,
    id: i32,
) -> Result<(), AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    crate::db::transaction(conn, |conn| {
        let current = get(conn, user, id)?;
        anonymise(
            conn,
            config,
            Some(user),
            id,
            current.organisation_id,
            "erase",
        )?;
        Ok(())
    })
}

/// Anonymises a person inside the caller's transaction, and audits it as `action` (by
/// `actor`, or the system when `None`). False when they already were: nothing is done.
pub(crate) fn anonymise(
    conn: &mut DbConn,
    config: &Config,
    actor: Option<&StaffUser>,
    id: i32,
    organisation_id: i32,
    action: &str,
) -> Result<bool, AppError> {
    use crate::db::schema::{appointments, assignments, participants, session_logs};
    // Same order as a booking (organisation, then rows), so the two never deadlock.
    crate::db::lock_organisation(conn, organisation_id)?;
    let stamp = now();
    let changed = diesel::update(
        people::table
            .find(id)
            .filter(people::anonymised_at.is_null()),
    )
    .set((
        people::given_name.eq(ANONYMISED_NAME),
        people::family_name.eq(None::<String>),
        people::birth_year.eq(None::<i32>),
        people::email.eq(None::<String>),
        people::phone.eq(None::<String>),
        people::city.eq(None::<String>),
        people::reminder_consent.eq(false),
        people::sms_consent.eq(false),
        people::referent_name.eq(None::<String>),
        people::referent_email.eq(None::<String>),
        people::referent_organisation.eq(None::<String>),
        people::referent_consent.eq(false),
        people::notes.eq(None::<String>),
        people::search_key.eq(""),
        people::name_key.eq(""),
        people::anonymised_at.eq(Some(stamp)),
        people::updated_at.eq(stamp),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    // Upcoming seats are given up through the booking service, which moves the waitlist up.
    let upcoming: Vec<i32> = participants::table
        .inner_join(appointments::table)
        .filter(participants::person_id.eq(id))
        .filter(
            participants::status.eq_any([ParticipantStatus::Booked, ParticipantStatus::Waitlisted]),
        )
        .filter(appointments::status.eq(AppointmentStatus::Planned))
        .filter(appointments::starts_at.gt(stamp))
        .select(appointments::id)
        .load(conn)?;
    for appointment_id in upcoming {
        crate::booking::service::withdraw(
            conn,
            actor,
            appointment_id,
            id,
            ParticipantStatus::Cancelled,
            config,
        )?;
    }
    crate::outbox::forget_person(conn, id)?;
    crate::referrals::forget_person(conn, id)?;
    // Free texts written about them: the log notes, the name typed to accept a device, and the
    // notes of appointments they were alone in. Counts, levels and dates stay.
    diesel::update(session_logs::table.filter(session_logs::person_id.eq(id)))
        .set((
            session_logs::note.eq(None::<String>),
            session_logs::orientation_note.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::update(assignments::table.filter(assignments::person_id.eq(id)))
        .set(assignments::accepted_by_name.eq(None::<String>))
        .execute(conn)?;
    diesel::update(
        appointments::table
            .filter(
                appointments::id.eq_any(
                    participants::table
                        .filter(participants::person_id.eq(id))
                        .select(participants::appointment_id),
                ),
            )
            .filter(diesel::dsl::not(diesel::dsl::exists(
                participants::table
                    .filter(participants::appointment_id.eq(appointments::id))
                    .filter(participants::person_id.ne(id)),
            ))),
    )
    .set(appointments::notes.eq(None::<String>))
    .execute(conn)?;
    crate::webhooks::announce_anonymised(conn, &config.timezone, organisation_id, id)?;
    crate::audit::record(
        conn,
        actor,
        action,
        "person",
        Some(id),
        Some(organisation_id),
    )?;
    Ok(true)
}
