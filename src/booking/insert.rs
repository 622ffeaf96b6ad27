//! The writes of a new booking ([`super::service::book_as`], once every rule is checked under
//! its locks): the appointment, its participants in the order given, the audit row and the
//! activity note.
//!
//! On SQLite they are four statements in the process. On PostgreSQL each statement is a round
//! trip to the server, so they go as one `WITH` statement whose members insert into each table
//! (the audit and activity members are written by their own modules,
//! [`crate::audit::pg_record_member`] and [`crate::reports::maintain::pg_mark_member`]). Its
//! text never changes, whatever the number of people (arrays, not lists), so it stays prepared.

use std::sync::LazyLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Integer, Nullable, Text, Timestamp};

use super::model::{Appointment, AppointmentRow, ParticipantRow};
use crate::auth::StaffUser;
use crate::db::schema::{appointments, participants};
use crate::db::DbConn;
use crate::error::AppError;

/// An appointment to insert, its rules checked.
pub struct NewAppointment<'a> {
    pub organisation_id: i32,
    pub service_id: i32,
    pub mediator_id: i32,
    pub place_id: i32,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub blocked_until: NaiveDateTime,
    pub capacity: i32,
    pub title: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub walk_in: bool,
    /// Creation time of the appointment, its participants and its audit row.
    pub stamp: NaiveDateTime,
}

/// Inserts `new` with `people` (each with its status, in enrolment order), the audit row of its
/// creation by `actor` (`None`: from the public pages) and its activity note; returns the
/// appointment as stored, its participants in the order given.
pub fn appointment(
    conn: &mut DbConn,
    new: &NewAppointment,
    people: &[(i32, &str)],
    actor: Option<&StaffUser>,
) -> Result<Appointment, AppError> {
    let ids = match conn {
        DbConn::Pg(pg) => in_one_statement(pg, new, people, actor)?,
        DbConn::Sqlite(_) => one_by_one(conn, new, people, actor)?,
    };
    let (id, participant_ids) = ids;
    let participants = people
        .iter()
        .zip(participant_ids)
        .map(|(&(person_id, status), participant_id)| ParticipantRow {
            id: participant_id,
            appointment_id: id,
            person_id,
            status: status.to_string(),
            created_at: new.stamp,
            updated_at: new.stamp,
            confirmed_at: None,
        })
        .collect();
    Ok(Appointment {
        row: AppointmentRow {
            id,
            organisation_id: new.organisation_id,
            service_id: new.service_id,
            mediator_id: new.mediator_id,
            place_id: new.place_id,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            blocked_until: new.blocked_until,
            capacity: new.capacity,
            title: new.title.map(str::to_string),
            notes: new.notes.map(str::to_string),
            status: "planned".into(),
            walk_in: new.walk_in,
            cancelled_by: None,
            cancel_reason: None,
            sequence: 0,
            created_at: new.stamp,
            updated_at: new.stamp,
        },
        participants,
    })
}

/// The appointment's id and its participants' ids, in the order of `people`.
type Ids = (i32, Vec<i32>);

fn one_by_one(
    conn: &mut DbConn,
    new: &NewAppointment,
    people: &[(i32, &str)],
    actor: Option<&StaffUser>,
) -> Result<Ids, AppError> {
    let id: i32 = diesel::insert_into(appointments::table)
        .values((
            appointments::organisation_id.eq(new.organisation_id),
            appointments::service_id.eq(new.service_id),
            appointments::mediator_id.eq(new.mediator_id),
            appointments::place_id.eq(new.place_id),
            appointments::starts_at.eq(new.starts_at),
            appointments::ends_at.eq(new.ends_at),
            appointments::blocked_until.eq(new.blocked_until),
            appointments::capacity.eq(new.capacity),
            appointments::title.eq(new.title),
            appointments::notes.eq(new.notes),
            appointments::status.eq("planned"),
            appointments::walk_in.eq(new.walk_in),
            appointments::created_at.eq(new.stamp),
            appointments::updated_at.eq(new.stamp),
        ))
        .returning(appointments::id)
        .get_result(conn)?;
    let mut participant_ids = Vec::with_capacity(people.len());
    for (person_id, status) in people {
        participant_ids.push(
            diesel::insert_into(participants::table)
                .values((
                    participants::appointment_id.eq(id),
                    participants::person_id.eq(person_id),
                    participants::status.eq(status),
                    participants::created_at.eq(new.stamp),
                    participants::updated_at.eq(new.stamp),
                ))
                .returning(participants::id)
                .get_result(conn)?,
        );
    }
    crate::audit::record(
        conn,
        actor,
        "create",
        "appointment",
        Some(id),
        Some(new.organisation_id),
    )?;
    crate::reports::maintain::mark(conn, id)?;
    Ok((id, participant_ids))
}

/// The statement of [`in_one_statement`]: the participants are inserted in the order of the
/// arrays (`WITH ORDINALITY`, sorted), so their ids, which order a waiting list, follow it.
static ONE_STATEMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH appointment AS (\
           INSERT INTO appointments (organisation_id, service_id, mediator_id, place_id, \
             starts_at, ends_at, blocked_until, capacity, title, notes, status, walk_in, \
             created_at, updated_at) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'planned', $11, $12, $12) \
           RETURNING id, organisation_id, mediator_id, place_id, starts_at), \
         seat AS (\
           INSERT INTO participants (appointment_id, person_id, status, created_at, updated_at) \
           SELECT appointment.id, k.person_id, k.status, $12, $12 \
           FROM appointment, unnest($13::int4[], $14::text[]) WITH ORDINALITY \
             AS k(person_id, status, n) \
           ORDER BY k.n \
           RETURNING id, person_id), \
         audit AS ({}), \
         activity AS ({}) \
         SELECT appointment.id, seat.id AS participant_id, seat.person_id \
         FROM appointment LEFT JOIN seat ON TRUE ORDER BY seat.id",
        crate::audit::pg_record_member("appointment", "create", "appointment", "$12", "$15"),
        crate::reports::maintain::pg_mark_member("appointment"),
    )
});

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    participant_id: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    person_id: Option<i32>,
}

fn in_one_statement(
    pg: &mut diesel::PgConnection,
    new: &NewAppointment,
    people: &[(i32, &str)],
    actor: Option<&StaffUser>,
) -> Result<Ids, AppError> {
    let person_ids: Vec<i32> = people.iter().map(|p| p.0).collect();
    let statuses: Vec<&str> = people.iter().map(|p| p.1).collect();
    let rows: Vec<Inserted> = diesel::sql_query(ONE_STATEMENT.as_str())
        .bind::<Integer, _>(new.organisation_id)
        .bind::<Integer, _>(new.service_id)
        .bind::<Integer, _>(new.mediator_id)
        .bind::<Integer, _>(new.place_id)
        .bind::<Timestamp, _>(new.starts_at)
        .bind::<Timestamp, _>(new.ends_at)
        .bind::<Timestamp, _>(new.blocked_until)
        .bind::<Integer, _>(new.capacity)
        .bind::<Nullable<Text>, _>(new.title)
        .bind::<Nullable<Text>, _>(new.notes)
        .bind::<Bool, _>(new.walk_in)
        .bind::<Timestamp, _>(new.stamp)
        .bind::<Array<Integer>, _>(person_ids)
        .bind::<Array<Text>, _>(statuses)
        .bind::<Nullable<Integer>, _>(actor.map(|a| a.id))
        .load(pg)?;
    let id = rows
        .first()
        .map(|r| r.id)
        .ok_or_else(|| AppError::Internal("the appointment's insert returned no row".into()))?;
    // Rows in the order of the participants' ids, which is the order of `people`; checked
    // person by person all the same.
    let mut participant_ids = Vec::with_capacity(people.len());
    for (person_id, _) in people {
        let row = rows
            .iter()
            .find(|r| r.person_id == Some(*person_id))
            .and_then(|r| r.participant_id)
            .ok_or_else(|| AppError::Internal("a participant's insert returned no row".into()))?;
        participant_ids.push(row);
    }
    Ok((id, participant_ids))
}
