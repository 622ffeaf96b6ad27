//! The messages sent (or to send) to one person or about her, as her page lists them: the
//! latest first, bounded.

use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;

use super::web::{channel_label, delivery_label, kind_label};
use crate::auth::StaffUser;
use crate::db::schema::messages;
use crate::db::DbConn;
use crate::error::AppError;
use crate::status::MessageStatus;
use crate::time::LocalTime;

/// How many messages the person page shows.
pub const SHOWN: i64 = 30;

#[derive(Serialize, Debug)]
pub struct PersonMessage {
    pub kind: &'static str,
    pub channel: &'static str,
    /// `person` or `referent`: whom it went to.
    pub to_referent: bool,
    pub when: String,
    pub status: &'static str,
    pub delivery: &'static str,
    pub appointment_id: Option<i32>,
}

/// (kind, channel, recipient kind, due, sent, status, delivery, appointment)
type Row = (
    String,
    String,
    String,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
    MessageStatus,
    Option<String>,
    Option<i32>,
);

/// The person's messages, latest first; the person must be of the user's organisation.
pub fn of_person(
    conn: &mut DbConn,
    user: &StaffUser,
    person_id: i32,
    tz: &Tz,
) -> Result<Vec<PersonMessage>, AppError> {
    let person = crate::people::get(conn, user, person_id)?;
    let rows: Vec<Row> = messages::table
        .filter(messages::person_id.eq(person_id))
        .filter(messages::organisation_id.eq(person.organisation_id))
        .order((messages::due_at.desc(), messages::id.desc()))
        .limit(SHOWN)
        .select((
            messages::kind,
            messages::channel,
            messages::recipient_kind,
            messages::due_at,
            messages::sent_at,
            messages::status,
            messages::delivery,
            messages::appointment_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(kind, channel, recipient_kind, due_at, sent_at, status, delivery, appointment_id)| {
                PersonMessage {
                    kind: kind_label(&kind),
                    channel: channel_label(&channel),
                    to_referent: recipient_kind == "referent",
                    when: tz.short(sent_at.unwrap_or(due_at)),
                    status: status.label(),
                    delivery: delivery_label(delivery.as_deref()),
                    appointment_id,
                }
            },
        )
        .collect())
}
