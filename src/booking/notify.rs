//! What booking announces: the messages an appointment's events call for (a confirmation and
//! its reminders, the notice of a move, a promotion from the waitlist, a cancellation), written
//! into the outbox inside the transaction of the change, and the reminders a change makes moot
//! dropped.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Appointment;
use crate::config::Config;
use crate::db::schema::{messages, people};
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::outbox::{self, due_before};
use crate::people::contact::{Contact, Recipient};

/// What happened to an appointment, for whom messages are written.
#[derive(Debug, Clone)]
pub enum Event {
    /// A new appointment: its booked participants get a confirmation and reminders.
    Booked,
    /// A person got a seat in an existing appointment.
    Enrolled(i32),
    /// A waitlisted person got a freed seat.
    Promoted(i32),
    /// The appointment moved: new notice and reminders, the old reminders are dropped.
    Rescheduled,
    /// The appointment was cancelled; these people held a seat.
    Cancelled(Vec<i32>),
    /// This person no longer takes part.
    Withdrawn(i32),
}

#[allow(clippy::too_many_arguments)]
fn insert(
    conn: &mut DbConn,
    appointment: &Appointment,
    person_id: i32,
    kind: &str,
    recipient: &Recipient,
    due_at: NaiveDateTime,
) -> Result<(), AppError> {
    outbox::enqueue(
        conn,
        (
            messages::organisation_id.eq(appointment.row.organisation_id),
            messages::appointment_id.eq(appointment.row.id),
            messages::person_id.eq(person_id),
            messages::kind.eq(kind),
            messages::recipient.eq(&recipient.address),
            messages::recipient_kind.eq(recipient.kind),
            messages::channel.eq(recipient.channel),
            messages::sequence.eq(appointment.row.sequence),
            messages::due_at.eq(due_at),
            outbox::waiting(),
            messages::created_at.eq(now()),
        ),
    )
}

/// Drops the reminders not yet sent (of one person, or of everyone).
fn cancel_pending(
    conn: &mut DbConn,
    appointment_id: i32,
    person_id: Option<i32>,
) -> Result<(), AppError> {
    // A cancellation notice already written still goes out.
    let mut query = diesel::update(messages::table)
        .filter(messages::appointment_id.eq(appointment_id))
        .filter(messages::status.eq(crate::status::MessageStatus::Pending))
        .filter(messages::kind.ne("cancellation"))
        .into_boxed();
    if let Some(person) = person_id {
        query = query.filter(messages::person_id.eq(person));
    }
    query
        .set(messages::status.eq(crate::status::MessageStatus::Cancelled))
        .execute(conn)?;
    Ok(())
}

/// Writes the messages an event calls for. Call it inside the transaction of the change.
pub fn announce(
    conn: &mut DbConn,
    config: &Config,
    appointment: &Appointment,
    event: Event,
) -> Result<(), AppError> {
    announce_known(conn, config, appointment, event, None)
}

/// [`announce`], with one person's [`Contact`] already read in the same transaction (`None`
/// for an anonymised person, or none left): a booking reads its first person's within the
/// statement of its checks, one round trip fewer.
pub fn announce_known(
    conn: &mut DbConn,
    config: &Config,
    appointment: &Appointment,
    event: Event,
    known: Option<(i32, Option<Contact>)>,
) -> Result<(), AppError> {
    if appointment.row.walk_in {
        return Ok(());
    }
    let seated = |a: &Appointment| -> Vec<i32> {
        a.participants
            .iter()
            .filter(|p| p.status.is_seated())
            .map(|p| p.person_id)
            .collect()
    };
    let (kind, targets, with_reminders) = match &event {
        Event::Booked => ("confirmation", seated(appointment), true),
        Event::Enrolled(p) => ("confirmation", vec![*p], true),
        Event::Promoted(p) => ("promotion", vec![*p], true),
        Event::Rescheduled => {
            cancel_pending(conn, appointment.row.id, None)?;
            ("reschedule", seated(appointment), true)
        }
        Event::Cancelled(people) => {
            cancel_pending(conn, appointment.row.id, None)?;
            ("cancellation", people.clone(), false)
        }
        Event::Withdrawn(p) => {
            cancel_pending(conn, appointment.row.id, Some(*p))?;
            ("cancellation", vec![*p], false)
        }
    };
    let current = now();
    for person_id in targets {
        let contact: Option<Contact> = match &known {
            Some((id, contact)) if *id == person_id => contact.clone(),
            _ => people::table
                .find(person_id)
                .filter(people::anonymised_at.is_null())
                .select(Contact::columns())
                .first(conn)
                .optional()?,
        };
        let Some(contact) = contact else {
            continue;
        };
        for recipient in contact.recipients() {
            insert(conn, appointment, person_id, kind, &recipient, current)?;
            if with_reminders {
                for lead in &config.reminder_lead_times {
                    let due = due_before(appointment.row.starts_at, *lead, &config.timezone);
                    // A lead time already past is skipped; the confirmation always goes.
                    if due > current {
                        insert(conn, appointment, person_id, "reminder", &recipient, due)?;
                    }
                }
            }
        }
    }
    Ok(())
}
