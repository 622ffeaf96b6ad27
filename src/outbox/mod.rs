//! The outbox: a queue of messages, whatever their channel, below the capabilities that write
//! them. A capability announcing something (booking's appointment events, equipment's handover,
//! a referral's receipt, the answer to an SMS reply) writes its message with [`enqueue`] inside
//! its own transaction, so a message exists if and only if the change it announces was
//! committed. Workers claim due messages with
//! a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the write transaction is exclusive),
//! so several workers never send one message twice; a lease left by a killed worker expires and
//! the message is claimed again. The queue knows no capability: what it reads of an appointment
//! or a handover to tell whether a message still matters, it reads from their tables.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::query_builder::InsertStatement;
use diesel::query_dsl::methods::ExecuteDsl;

use crate::config::Config;
use crate::db::schema::messages;
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::status::MessageStatus;
use crate::time::LocalTime;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i32,
    pub organisation_id: i32,
    /// Set for every kind but `handover`.
    pub appointment_id: Option<i32>,
    pub person_id: i32,
    pub kind: String,
    pub recipient: String,
    pub recipient_kind: String,
    pub sequence: i32,
    pub due_at: NaiveDateTime,
    pub status: MessageStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub locked_by: Option<String>,
    pub locked_until: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub created_at: NaiveDateTime,
    /// Set for a `handover` message only.
    pub assignment_id: Option<i32>,
    /// `email` or `sms`.
    pub channel: String,
    /// What the SMS gateway reported: `delivered` or `failed`.
    pub delivery: Option<String>,
}

/// The channels a message can travel on.
pub const CHANNELS: [&str; 2] = ["email", "sms"];

/// When a reminder `lead` before `starts_at` is due. Whole days keep the local wall-clock time
/// ("48h" before Monday 10:00 is Saturday 10:00, across a daylight-saving change too); other
/// leads are exact durations.
pub fn due_before(starts_at: NaiveDateTime, lead: Duration, tz: &Tz) -> NaiveDateTime {
    let secs = lead.as_secs();
    if secs > 0 && secs.is_multiple_of(86_400) {
        let local = tz.from_utc_datetime(&starts_at).naive_local();
        let day = local.date() - chrono::Days::new(secs / 86_400);
        tz.to_utc(day, local.time())
    } else {
        starts_at - chrono::Duration::seconds(secs as i64)
    }
}

/// The queue's own columns of a message just written: waiting to be sent, never tried.
pub type Waiting = (
    diesel::dsl::Eq<messages::status, MessageStatus>,
    diesel::dsl::Eq<messages::attempts, i32>,
);

/// The columns [`enqueue`] expects after `due_at`: the message waits to be sent, never tried.
pub fn waiting() -> Waiting {
    (
        messages::status.eq(MessageStatus::Pending),
        messages::attempts.eq(0),
    )
}

/// Writes one message: `values` name its columns, whom it is for and when it is due
/// (organisation, what it is about, person, kind, recipient, channel, sequence, `due_at`), then
/// [`waiting`], then what it says (subject, text, `created_at`). Call it inside the transaction
/// of the change it announces.
pub fn enqueue<V>(conn: &mut DbConn, values: V) -> Result<(), AppError>
where
    V: Insertable<messages::table>,
    InsertStatement<messages::table, V::Values>: ExecuteDsl<DbConn>,
{
    diesel::insert_into(messages::table)
        .values(values)
        .execute(conn)?;
    Ok(())
}

/// Records what the SMS gateway reported about a sent message (`delivered` or `failed`); a
/// report for no message changes nothing. Returns whether a message was found.
pub fn record_delivery(conn: &mut DbConn, id: i32, delivery: &str) -> Result<bool, AppError> {
    let n = diesel::update(messages::table.find(id).filter(messages::channel.eq("sms")))
        .set(messages::delivery.eq(Some(delivery)))
        .execute(conn)?;
    Ok(n == 1)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    id: i32,
}

/// Claims up to `limit` due messages for `worker` until `now + lease`.
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    limit: i64,
    lease: Duration,
) -> Result<Vec<MessageRow>, AppError> {
    // To the microsecond: a lease of one second must not last two.
    let current = chrono::Utc::now().naive_utc();
    let until =
        current + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    crate::db::transaction(conn, |conn| {
        let ids: Vec<i32> = match conn {
            DbConn::Pg(pg) => diesel::sql_query(format!(
                "SELECT id FROM messages WHERE (status = {} AND due_at <= $1) \
                 OR (status = {} AND locked_until < $1) \
                 ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
                MessageStatus::Pending.sql(),
                MessageStatus::Sending.sql(),
            ))
            .bind::<diesel::sql_types::Timestamp, _>(current)
            .bind::<diesel::sql_types::BigInt, _>(limit)
            .load::<Id>(pg)?
            .into_iter()
            .map(|r| r.id)
            .collect(),
            // The write transaction is exclusive on SQLite: the select-then-update cannot interleave.
            DbConn::Sqlite(_) => messages::table
                .filter(
                    messages::status
                        .eq(MessageStatus::Pending)
                        .and(messages::due_at.le(current))
                        .or(messages::status
                            .eq(MessageStatus::Sending)
                            .and(messages::locked_until.lt(current))),
                )
                .order((messages::due_at, messages::id))
                .limit(limit)
                .select(messages::id)
                .load(conn)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(messages::table.filter(messages::id.eq_any(&ids)))
            .set((
                messages::status.eq(MessageStatus::Sending),
                messages::locked_by.eq(worker),
                messages::locked_until.eq(until),
            ))
            .execute(conn)?;
        Ok(messages::table
            .filter(messages::id.eq_any(&ids))
            .order((messages::due_at, messages::id))
            .select(MessageRow::as_select())
            .load(conn)?)
    })
}

/// Whether a claimed message still says something true: a reminder of an appointment since
/// cancelled or moved, or for a person who left it, is dropped rather than sent; so is the
/// request to accept a handover already accepted, or of an item since returned.
pub fn still_relevant(conn: &mut DbConn, message: &MessageRow) -> Result<bool, AppError> {
    use crate::db::schema::{appointments, assignments, participants};
    if message.kind == "cancellation" || message.kind == "reply" || message.kind == "receipt" {
        return Ok(true);
    }
    if message.kind == "handover" {
        let Some(assignment_id) = message.assignment_id else {
            return Ok(false);
        };
        let open: i64 = assignments::table
            .find(assignment_id)
            .filter(assignments::returned_on.is_null())
            .filter(assignments::accepted_at.is_null())
            .count()
            .get_result(conn)?;
        return Ok(open > 0);
    }
    let Some(appointment_id) = message.appointment_id else {
        return Ok(false);
    };
    let appointment: Option<(crate::status::AppointmentStatus, i32, NaiveDateTime)> =
        appointments::table
            .find(appointment_id)
            .select((
                appointments::status,
                appointments::sequence,
                appointments::starts_at,
            ))
            .first(conn)
            .optional()?;
    // A gateway or mail server away for a day must not send yesterday's reminders tomorrow.
    if message.kind == "reminder"
        && matches!(appointment, Some((_, _, starts_at)) if starts_at <= now())
    {
        return Ok(false);
    }
    let seated: i64 = participants::table
        .filter(participants::appointment_id.eq(appointment_id))
        .filter(participants::person_id.eq(message.person_id))
        .filter(participants::status.eq(crate::status::ParticipantStatus::Booked))
        .count()
        .get_result(conn)?;
    Ok(
        matches!(appointment, Some((status, sequence, _)) if status == crate::status::AppointmentStatus::Planned && sequence == message.sequence)
            && seated > 0,
    )
}

/// Drops a claimed message that no longer applies.
pub fn drop_stale(conn: &mut DbConn, worker: &str, id: i32) -> Result<(), AppError> {
    diesel::update(
        messages::table
            .find(id)
            .filter(messages::locked_by.eq(worker)),
    )
    .set((
        messages::status.eq(MessageStatus::Cancelled),
        messages::locked_by.eq(None::<String>),
        messages::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Extends this worker's lease on a message right before sending it; false when the lease was
/// lost (it expired and another worker took the message).
pub fn renew(conn: &mut DbConn, worker: &str, id: i32, lease: Duration) -> Result<bool, AppError> {
    let current = chrono::Utc::now().naive_utc();
    let until =
        current + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    let n = diesel::update(
        messages::table
            .find(id)
            .filter(messages::locked_by.eq(worker))
            .filter(messages::status.eq(MessageStatus::Sending))
            .filter(messages::locked_until.gt(current)),
    )
    .set(messages::locked_until.eq(until))
    .execute(conn)?;
    Ok(n == 1)
}

/// Forgets the addresses and texts of an erased person's messages; what was still to send is
/// cancelled.
pub fn forget_person(conn: &mut DbConn, person_id: i32) -> Result<(), AppError> {
    diesel::update(
        messages::table
            .filter(messages::person_id.eq(person_id))
            .filter(messages::status.eq_any([
                MessageStatus::Pending,
                MessageStatus::Sending,
                MessageStatus::Dead,
            ])),
    )
    .set(messages::status.eq(MessageStatus::Cancelled))
    .execute(conn)?;
    diesel::update(messages::table.filter(messages::person_id.eq(person_id)))
        .set((
            messages::recipient.eq(""),
            messages::subject.eq(None::<String>),
            messages::body.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// A person merged into another: their messages move to the kept person.
pub fn move_person(conn: &mut DbConn, from: i32, to: i32) -> Result<(), AppError> {
    diesel::update(messages::table.filter(messages::person_id.eq(from)))
        .set(messages::person_id.eq(to))
        .execute(conn)?;
    Ok(())
}

/// Records a delivery.
pub fn sent(
    conn: &mut DbConn,
    worker: &str,
    id: i32,
    subject: &str,
    body: &str,
) -> Result<(), AppError> {
    diesel::update(
        messages::table
            .find(id)
            .filter(messages::locked_by.eq(worker)),
    )
    .set((
        messages::status.eq(MessageStatus::Sent),
        messages::sent_at.eq(Some(now())),
        messages::attempts.eq(messages::attempts + 1),
        messages::subject.eq(subject),
        messages::body.eq(body),
        messages::last_error.eq(None::<String>),
        messages::locked_by.eq(None::<String>),
        messages::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: retried later with exponential backoff, `dead` after the last.
pub fn failed(
    conn: &mut DbConn,
    config: &Config,
    worker: &str,
    message: &MessageRow,
    error: &str,
) -> Result<(), AppError> {
    let attempts = message.attempts + 1;
    let dead = attempts >= config.mail_max_attempts;
    let backoff = config
        .mail_retry_base
        .as_secs()
        .saturating_mul(1u64 << (attempts - 1).clamp(0, 16) as u64)
        .min(3600);
    let error: String = error.chars().take(500).collect();
    diesel::update(
        messages::table
            .find(message.id)
            .filter(messages::locked_by.eq(worker)),
    )
    .set((
        messages::status.eq(if dead {
            MessageStatus::Dead
        } else {
            MessageStatus::Pending
        }),
        messages::attempts.eq(attempts),
        messages::last_error.eq(Some(error)),
        messages::due_at.eq(now() + chrono::Duration::seconds(backoff as i64)),
        messages::locked_by.eq(None::<String>),
        messages::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Gives back the messages a stopping worker still holds.
pub fn release(conn: &mut DbConn, worker: &str, ids: &[i32]) -> Result<(), AppError> {
    diesel::update(
        messages::table
            .filter(messages::id.eq_any(ids))
            .filter(messages::locked_by.eq(worker))
            .filter(messages::status.eq(MessageStatus::Sending)),
    )
    .set((
        messages::status.eq(MessageStatus::Pending),
        messages::locked_by.eq(None::<String>),
        messages::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Messages, latest due first: of one organisation (all when `None`), of one status (all when
/// `None`; an unknown status is refused).
pub fn rows(
    conn: &mut DbConn,
    organisation_id: Option<i32>,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<MessageRow>, AppError> {
    let mut query = messages::table.select(MessageRow::as_select()).into_boxed();
    if let Some(org) = organisation_id {
        query = query.filter(messages::organisation_id.eq(org));
    }
    if let Some(status) = status {
        let Some(status) = MessageStatus::parse(status) else {
            return Err(AppError::field(
                "status",
                "Statut inconnu : pending, sending, sent, dead ou cancelled.",
            ));
        };
        query = query.filter(messages::status.eq(status));
    }
    Ok(query
        .order((messages::due_at.desc(), messages::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?)
}

/// One message.
pub fn row(conn: &mut DbConn, id: i32) -> Result<Option<MessageRow>, AppError> {
    Ok(messages::table
        .find(id)
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// Puts a message back in the queue, due now, as if never tried.
pub fn requeue(conn: &mut DbConn, id: i32) -> Result<(), AppError> {
    diesel::update(messages::table.find(id))
        .set((
            messages::status.eq(MessageStatus::Pending),
            messages::attempts.eq(0),
            messages::due_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}
