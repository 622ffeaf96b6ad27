//! The writes of a new booking ([`super::service::book_as`], once every rule is checked under
//! its locks): the appointment, its participants in the order given, the audit row and the
//! activity note.
//!
//! On SQLite they are four statements in the process. On PostgreSQL each statement is a round
//! trip to the server, so they go as one `WITH` statement whose members insert into each table
//! (the audit and activity members are written by their own modules,
//! [`crate::audit::pg_record_member`] and [`crate::rollups::pg_mark_member`]). Its
//! text never changes, whatever the number of people (arrays, not lists), and it is a query of a
//! type of its own, so Diesel prepares it once per connection.

use std::sync::LazyLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Integer, Nullable, Text, Timestamp};

use super::model::{Appointment, AppointmentRow, ParticipantRow};
use crate::auth::StaffUser;
use crate::db::schema::{appointments, participants};
use crate::db::DbConn;
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};

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
    people: &[(i32, ParticipantStatus)],
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
            status,
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
            status: AppointmentStatus::Planned,
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
    people: &[(i32, ParticipantStatus)],
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
            appointments::status.eq(AppointmentStatus::Planned),
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
    crate::rollups::appointment_changed(conn, id)?;
    Ok((id, participant_ids))
}

/// The statement of [`in_one_statement`] after its parameters: the participants are inserted
/// in the order of the arrays (`WITH ORDINALITY`, sorted), so their ids, which order a waiting
/// list, follow it. The parameters come first, once each, as the columns of `p`
/// ([`OneStatement::walk_ast`]).
static ONE_STATEMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "appointment AS (\
           INSERT INTO appointments (organisation_id, service_id, mediator_id, place_id, \
             starts_at, ends_at, blocked_until, capacity, title, notes, status, walk_in, \
             created_at, updated_at) \
           SELECT organisation_id, service_id, mediator_id, place_id, starts_at, ends_at, \
             blocked_until, capacity, title, notes, {}, walk_in, stamp, stamp FROM p \
           RETURNING id, organisation_id, mediator_id, place_id, starts_at), \
         seat AS (\
           INSERT INTO participants (appointment_id, person_id, status, created_at, updated_at) \
           SELECT appointment.id, k.person_id, k.status, p.stamp, p.stamp \
           FROM p, appointment, unnest(p.person_ids, p.statuses) WITH ORDINALITY \
             AS k(person_id, status, n) \
           ORDER BY k.n \
           RETURNING id, person_id), \
         audit AS ({}), \
         activity AS ({}) \
         SELECT appointment.id, seat.id AS participant_id, seat.person_id \
         FROM appointment LEFT JOIN seat ON TRUE ORDER BY seat.id",
        AppointmentStatus::Planned.sql(),
        crate::audit::pg_record_member(
            "appointment",
            "create",
            "appointment",
            "(SELECT stamp FROM p)",
            "(SELECT actor_id FROM p)"
        ),
        crate::rollups::pg_mark_member("appointment"),
    )
});

/// [`ONE_STATEMENT`] with its parameters, as a query of a type of its own: Diesel prepares it
/// once per connection and reuses it (a `sql_query` is parsed and planned again at each call,
/// a quarter of a millisecond of the database's time per booking).
struct OneStatement<'a> {
    new: &'a NewAppointment<'a>,
    person_ids: Vec<i32>,
    statuses: Vec<&'a str>,
    actor_id: Option<i32>,
}

impl diesel::query_builder::QueryId for OneStatement<'_> {
    type QueryId = OneStatement<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for OneStatement<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<'a> RunQueryDsl<diesel::PgConnection> for OneStatement<'a> {}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for OneStatement<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        let new = self.new;
        out.push_sql("WITH p AS (SELECT ");
        out.push_bind_param::<Integer, _>(&new.organisation_id)?;
        out.push_sql("::int4 AS organisation_id, ");
        out.push_bind_param::<Integer, _>(&new.service_id)?;
        out.push_sql("::int4 AS service_id, ");
        out.push_bind_param::<Integer, _>(&new.mediator_id)?;
        out.push_sql("::int4 AS mediator_id, ");
        out.push_bind_param::<Integer, _>(&new.place_id)?;
        out.push_sql("::int4 AS place_id, ");
        out.push_bind_param::<Timestamp, _>(&new.starts_at)?;
        out.push_sql("::timestamp AS starts_at, ");
        out.push_bind_param::<Timestamp, _>(&new.ends_at)?;
        out.push_sql("::timestamp AS ends_at, ");
        out.push_bind_param::<Timestamp, _>(&new.blocked_until)?;
        out.push_sql("::timestamp AS blocked_until, ");
        out.push_bind_param::<Integer, _>(&new.capacity)?;
        out.push_sql("::int4 AS capacity, ");
        out.push_bind_param::<Nullable<Text>, _>(&new.title)?;
        out.push_sql("::text AS title, ");
        out.push_bind_param::<Nullable<Text>, _>(&new.notes)?;
        out.push_sql("::text AS notes, ");
        out.push_bind_param::<Bool, _>(&new.walk_in)?;
        out.push_sql("::bool AS walk_in, ");
        out.push_bind_param::<Timestamp, _>(&new.stamp)?;
        out.push_sql("::timestamp AS stamp, ");
        out.push_bind_param::<Array<Integer>, _>(&self.person_ids)?;
        out.push_sql("::int4[] AS person_ids, ");
        out.push_bind_param::<Array<Text>, _>(&self.statuses)?;
        out.push_sql("::text[] AS statuses, ");
        out.push_bind_param::<Nullable<Integer>, _>(&self.actor_id)?;
        out.push_sql("::int4 AS actor_id), ");
        out.push_sql(&ONE_STATEMENT);
        Ok(())
    }
}

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
    people: &[(i32, ParticipantStatus)],
    actor: Option<&StaffUser>,
) -> Result<Ids, AppError> {
    let rows: Vec<Inserted> = OneStatement {
        new,
        person_ids: people.iter().map(|p| p.0).collect(),
        statuses: people.iter().map(|p| p.1.as_str()).collect(),
        actor_id: actor.map(|a| a.id),
    }
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
