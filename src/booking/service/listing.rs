//! The appointments a user may see, by period, mediator, place and person.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::auth::StaffUser;
use crate::booking::model::MAX_SPAN;
use crate::booking::model::{Appointment, AppointmentRow, ParticipantRow};
use crate::booking::model::{AppointmentOut, ListedRow, ParticipantOut};
use crate::db::schema::{appointments, participants};
use crate::db::DbConn;
use crate::error::AppError;
use crate::status::ParticipantStatus;

#[derive(Debug, Default, Clone)]
pub struct AppointmentFilter {
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub mediator_id: Option<i32>,
    pub place_id: Option<i32>,
    pub person_id: Option<i32>,
    /// One organisation's appointments (an admin's agenda of a structure); others are held to
    /// their own organisation whatever this says.
    pub organisation_id: Option<i32>,
    pub limit: i64,
    pub offset: i64,
}

/// The filters of [`list`] on a query that has the appointments table in it. The period is
/// read as a range of `starts_at` bounded at both ends: an appointment that ends after `from`
/// started less than [`MAX_SPAN`] before it, so the index on (mediator, place or organisation,
/// `starts_at`) is walked over the period only, not over the whole history before it.
macro_rules! period_filters {
    ($q:expr, $user:expr, $filter:expr) => {{
        let mut q = $q;
        if let Some(org) = $user.scope() {
            q = q.filter(appointments::organisation_id.eq(org));
        }
        if let Some(org) = $filter.organisation_id {
            q = q.filter(appointments::organisation_id.eq(org));
        }
        if let Some(from) = $filter.from {
            q = q
                .filter(appointments::starts_at.gt(from - MAX_SPAN))
                .filter(appointments::ends_at.gt(from));
        }
        if let Some(to) = $filter.to {
            q = q.filter(appointments::starts_at.lt(to));
        }
        if let Some(id) = $filter.mediator_id {
            q = q.filter(appointments::mediator_id.eq(id));
        }
        if let Some(id) = $filter.place_id {
            q = q.filter(appointments::place_id.eq(id));
        }
        if let Some(id) = $filter.person_id {
            let seats = diesel::alias!(participants as seats);
            q = q.filter(
                appointments::id.eq_any(
                    seats
                        .filter(seats.field(participants::person_id).eq(id))
                        .select(seats.field(participants::appointment_id)),
                ),
            );
        }
        q
    }};
}

/// The appointments of a period (the agenda, a person's appointments, the to-call list…),
/// each with its participants in enrolment order. Both statements keep the same shape whatever
/// the values, so they stay prepared; the participants are read by a join over the page's own
/// range of `starts_at` (no `IN` list, which would be prepared again at every call).
pub fn list(
    conn: &mut DbConn,
    user: &StaffUser,
    filter: &AppointmentFilter,
) -> Result<Vec<Appointment>, AppError> {
    let rows: Vec<AppointmentRow> = period_filters!(
        appointments::table
            .select(AppointmentRow::as_select())
            .into_boxed(),
        user,
        filter
    )
    .order((appointments::starts_at, appointments::id))
    .limit(filter.limit)
    .offset(filter.offset)
    .load(conn)?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(Vec::new());
    };
    let (first, last) = (first.starts_at, last.starts_at);
    let found: Vec<ParticipantRow> = period_filters!(
        participants::table
            .inner_join(appointments::table)
            .select(ParticipantRow::as_select())
            .into_boxed(),
        user,
        filter
    )
    .filter(appointments::starts_at.ge(first))
    .filter(appointments::starts_at.le(last))
    .order((participants::created_at, participants::id))
    .load(conn)?;
    let mut by_appointment: std::collections::HashMap<i32, Vec<ParticipantRow>> =
        std::collections::HashMap::with_capacity(rows.len());
    for p in found {
        by_appointment.entry(p.appointment_id).or_default().push(p);
    }
    // Appointments of the same start beyond the page bring participants that are left out here.
    Ok(rows
        .into_iter()
        .map(|row| Appointment {
            participants: by_appointment.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// [`list`] as the API answers it: the same appointments in the same order, each with its
/// participants in enrolment order, reading only the columns the answer shows (no bookkeeping
/// times to parse; a participant's confirmation read as a flag).
pub fn list_out(
    conn: &mut DbConn,
    user: &StaffUser,
    filter: &AppointmentFilter,
    tz: &Tz,
) -> Result<Vec<AppointmentOut>, AppError> {
    let rows: Vec<ListedRow> = period_filters!(
        appointments::table
            .select(ListedRow::as_select())
            .into_boxed(),
        user,
        filter
    )
    .order((appointments::starts_at, appointments::id))
    .limit(filter.limit)
    .offset(filter.offset)
    .load(conn)?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(Vec::new());
    };
    let (first, last) = (first.starts_at, last.starts_at);
    let seats: Vec<(i32, i32, ParticipantStatus, bool)> = period_filters!(
        participants::table
            .inner_join(appointments::table)
            .select((
                participants::appointment_id,
                participants::person_id,
                participants::status,
                participants::confirmed_at.is_not_null(),
            ))
            .into_boxed(),
        user,
        filter
    )
    .filter(appointments::starts_at.ge(first))
    .filter(appointments::starts_at.le(last))
    .order((participants::created_at, participants::id))
    .load(conn)?;
    let mut by_appointment: std::collections::HashMap<i32, Vec<ParticipantOut>> =
        std::collections::HashMap::with_capacity(rows.len());
    for (appointment_id, person_id, status, confirmed) in seats {
        by_appointment
            .entry(appointment_id)
            .or_default()
            .push(ParticipantOut {
                person_id,
                status,
                confirmed,
            });
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let participants = by_appointment.remove(&row.id).unwrap_or_default();
            row.out(tz, participants)
        })
        .collect())
}
