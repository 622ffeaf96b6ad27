//! A person's appointments as her page lists them: the upcoming ones (soonest first) and the
//! past ones (latest first), each list one bounded query.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::StaffUser;
use crate::db::schema::{appointments, participants, places, services};
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::time::LocalTime;

/// How many appointments each list shows.
pub const SHOWN: i64 = 50;

#[derive(Serialize, Debug)]
pub struct PersonAppointment {
    pub id: i32,
    pub when: String,
    pub title: String,
    pub place: String,
    /// The appointment's status label (prévu, tenu, annulé).
    pub status: &'static str,
    /// The person's own status label in it (inscrit·e, venu·e, absent·e…).
    pub attendance: &'static str,
    pub attendance_code: ParticipantStatus,
    /// She confirmed from her link or by text message.
    pub confirmed: bool,
}

type Row = (
    i32,
    NaiveDateTime,
    Option<String>,
    String,
    String,
    AppointmentStatus,
    ParticipantStatus,
    Option<NaiveDateTime>,
);

/// (upcoming, past) appointments of the person, who must be of the user's organisation.
pub fn of_person(
    conn: &mut DbConn,
    user: &StaffUser,
    person_id: i32,
    tz: &Tz,
) -> Result<(Vec<PersonAppointment>, Vec<PersonAppointment>), AppError> {
    crate::people::get(conn, user, person_id)?;
    let current = now();
    let base = || {
        participants::table
            .inner_join(
                appointments::table
                    .inner_join(services::table)
                    .inner_join(places::table),
            )
            .filter(participants::person_id.eq(person_id))
            .select((
                appointments::id,
                appointments::starts_at,
                appointments::title,
                services::name,
                places::name,
                appointments::status,
                participants::status,
                participants::confirmed_at,
            ))
            .limit(SHOWN)
            .into_boxed()
    };
    let upcoming: Vec<Row> = base()
        .filter(appointments::starts_at.ge(current))
        .order((appointments::starts_at.asc(), appointments::id.asc()))
        .load(conn)?;
    let past: Vec<Row> = base()
        .filter(appointments::starts_at.lt(current))
        .order((appointments::starts_at.desc(), appointments::id.desc()))
        .load(conn)?;
    let out = |rows: Vec<Row>| -> Vec<PersonAppointment> {
        rows.into_iter()
            .map(
                |(id, starts_at, title, service, place, status, attendance, confirmed)| {
                    PersonAppointment {
                        id,
                        when: tz.in_words(starts_at),
                        title: title.unwrap_or(service),
                        place,
                        status: status.label(),
                        attendance: super::model::participant_label(attendance),
                        attendance_code: attendance,
                        confirmed: confirmed.is_some(),
                    }
                },
            )
            .collect()
    };
    Ok((out(upcoming), out(past)))
}
