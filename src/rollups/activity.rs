//! `activity_days`, `topic_days`, `served_days` and their months: an appointment's day
//! refreshed by its writer, or marked dirty and flushed later.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::bulk::{self, BulkInsert};
use crate::db::schema::{
    activity_days, activity_dirty, appointments, participants, person_programmes, served_days,
    session_logs, topic_days,
};
use crate::db::DbConn;
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};

use super::months::{date_literal, month_end, month_start};

/// The rows of `activity_days` one appointment counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DayKey {
    pub day: NaiveDate,
    pub mediator_id: i32,
    pub place_id: i32,
}

impl DayKey {
    pub fn of(tz: &Tz, starts_at: NaiveDateTime, mediator_id: i32, place_id: i32) -> DayKey {
        DayKey {
            day: tz.from_utc_datetime(&starts_at).date_naive(),
            mediator_id,
            place_id,
        }
    }
}

/// UTC bounds of a local day.
pub(super) fn day_bounds(tz: &Tz, day: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let start = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        tz.from_local_datetime(&midnight)
            .earliest()
            // A day that starts in a DST gap: its first hour.
            .or_else(|| {
                tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|t| t.naive_utc())
            .unwrap_or(midnight)
    };
    (start(day), start(day.succ_opt().unwrap_or(day)))
}

#[derive(Default, Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    pub organisation_id: i32,
    pub appointments: i32,
    pub workshops: i32,
    pub cancelled_appointments: i32,
    pub booked: i32,
    pub attended: i32,
    pub no_show: i32,
    pub excused: i32,
    pub cancelled: i32,
    pub minutes: i32,
}

pub(super) type ActivityRows = BTreeMap<(DayKey, i32), Counts>;
pub(super) type TopicRows = BTreeMap<(DayKey, i32, String), (i32, i32)>;
/// Rows of `served_days`: (person, key, organisation).
pub(super) type ServedRows = BTreeSet<(i32, DayKey, i32)>;

pub(super) struct AppointmentRow {
    pub(super) id: i32,
    organisation_id: i32,
    mediator_id: i32,
    place_id: i32,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    capacity: i32,
    status: AppointmentStatus,
}

/// The participants of these appointments: (person, status) by appointment.
pub(super) fn seats_of(
    conn: &mut DbConn,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<(i32, ParticipantStatus)>>, AppError> {
    let mut seats: HashMap<i32, Vec<(i32, ParticipantStatus)>> = HashMap::new();
    for (appointment_id, person_id, status) in participants::table
        .filter(participants::appointment_id.eq_any(ids))
        .select((
            participants::appointment_id,
            participants::person_id,
            participants::status,
        ))
        .load::<(i32, i32, ParticipantStatus)>(conn)?
    {
        seats
            .entry(appointment_id)
            .or_default()
            .push((person_id, status));
    }
    Ok(seats)
}

/// Who was served: each person who attended an appointment that was not cancelled, at the
/// appointment's key.
pub(super) fn add_served(
    tz: &Tz,
    rows: &[AppointmentRow],
    seats: &HashMap<i32, Vec<(i32, ParticipantStatus)>>,
    served: &mut ServedRows,
) {
    for a in rows
        .iter()
        .filter(|a| a.status != AppointmentStatus::Cancelled)
    {
        let key = DayKey::of(tz, a.starts_at, a.mediator_id, a.place_id);
        for (person_id, status) in seats.get(&a.id).into_iter().flatten() {
            if *status == ParticipantStatus::Attended {
                served.insert((*person_id, key, a.organisation_id));
            }
        }
    }
}

/// Adds the appointments (with their participants, the participants' programmes and the
/// current session logs) to the aggregate rows. The one place where the counting rules live.
pub(super) fn accumulate(
    conn: &mut DbConn,
    tz: &Tz,
    rows: Vec<AppointmentRow>,
    activity: &mut ActivityRows,
    topics: &mut TopicRows,
    served: &mut ServedRows,
) -> Result<(), AppError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<i32> = rows.iter().map(|a| a.id).collect();
    let seats = seats_of(conn, &ids)?;
    add_served(tz, &rows, &seats, served);
    let mut person_ids: Vec<i32> = seats.values().flatten().map(|(p, _)| *p).collect();
    person_ids.sort_unstable();
    person_ids.dedup();
    let mut programmes: HashMap<i32, Vec<i32>> = HashMap::new();
    for chunk in person_ids.chunks(5000) {
        for (person_id, programme_id) in person_programmes::table
            .filter(person_programmes::person_id.eq_any(chunk))
            .select((
                person_programmes::person_id,
                person_programmes::programme_id,
            ))
            .load::<(i32, i32)>(conn)?
        {
            programmes.entry(person_id).or_default().push(programme_id);
        }
    }
    let mut logs: HashMap<(i32, i32), (Option<i32>, String)> = HashMap::new();
    for (appointment_id, person_id, minutes, topic_list) in session_logs::table
        .filter(session_logs::appointment_id.eq_any(&ids))
        .filter(session_logs::current.eq(true))
        .select((
            session_logs::appointment_id,
            session_logs::person_id,
            session_logs::duration_minutes,
            session_logs::topics,
        ))
        .load::<(i32, i32, Option<i32>, String)>(conn)?
    {
        logs.insert((appointment_id, person_id), (minutes, topic_list));
    }

    for a in rows {
        let key = DayKey::of(tz, a.starts_at, a.mediator_id, a.place_id);
        let length = (a.ends_at - a.starts_at).num_minutes() as i32;
        let empty = Vec::new();
        let seated = seats.get(&a.id).unwrap_or(&empty);
        // 0 counts everyone; each programme counts its own people.
        let mut groups: Vec<i32> = vec![0];
        for (person_id, _) in seated {
            for p in programmes.get(person_id).into_iter().flatten() {
                if !groups.contains(p) {
                    groups.push(*p);
                }
            }
        }
        for programme in groups {
            let counts = activity.entry((key, programme)).or_default();
            counts.organisation_id = a.organisation_id;
            if a.status == AppointmentStatus::Cancelled {
                counts.cancelled_appointments += 1;
            } else {
                counts.appointments += 1;
                if a.capacity > 1 {
                    counts.workshops += 1;
                }
            }
            for (person_id, status) in seated {
                if programme != 0
                    && !programmes
                        .get(person_id)
                        .is_some_and(|list| list.contains(&programme))
                {
                    continue;
                }
                match status {
                    ParticipantStatus::Booked => counts.booked += 1,
                    ParticipantStatus::Attended => {
                        counts.attended += 1;
                        let log = logs.get(&(a.id, *person_id));
                        counts.minutes += log.and_then(|(m, _)| *m).unwrap_or(length);
                        if let Some((_, list)) = log {
                            for topic in list.split(',').filter(|t| !t.is_empty()) {
                                let entry = topics
                                    .entry((key, programme, topic.to_string()))
                                    .or_insert((a.organisation_id, 0));
                                entry.1 += 1;
                            }
                        }
                    }
                    ParticipantStatus::NoShow => counts.no_show += 1,
                    ParticipantStatus::Excused => counts.excused += 1,
                    ParticipantStatus::Cancelled => counts.cancelled += 1,
                    ParticipantStatus::Waitlisted => {}
                }
            }
        }
    }
    Ok(())
}

pub(super) fn write_activity(
    conn: &mut DbConn,
    activity: &ActivityRows,
    topics: &TopicRows,
) -> Result<(), AppError> {
    let mut out = BulkInsert::new(
        "activity_days",
        &[
            &[
                "day",
                "mediator_id",
                "place_id",
                "programme_id",
                "organisation_id",
            ][..],
            &COUNT_COLUMNS[..],
        ]
        .concat(),
    );
    for ((key, programme), c) in activity {
        out.push(
            conn,
            &[
                bulk::date(key.day),
                bulk::int(key.mediator_id.into()),
                bulk::int(key.place_id.into()),
                bulk::int((*programme).into()),
                bulk::int(c.organisation_id.into()),
                bulk::int(c.appointments.into()),
                bulk::int(c.workshops.into()),
                bulk::int(c.cancelled_appointments.into()),
                bulk::int(c.booked.into()),
                bulk::int(c.attended.into()),
                bulk::int(c.no_show.into()),
                bulk::int(c.excused.into()),
                bulk::int(c.cancelled.into()),
                bulk::int(c.minutes.into()),
            ],
        )?;
    }
    out.flush(conn)?;
    let mut out = BulkInsert::new(
        "topic_days",
        &[
            "day",
            "mediator_id",
            "place_id",
            "programme_id",
            "organisation_id",
            "topic",
            "sessions",
        ],
    );
    for ((key, programme, topic), (organisation_id, sessions)) in topics {
        out.push(
            conn,
            &[
                bulk::date(key.day),
                bulk::int(key.mediator_id.into()),
                bulk::int(key.place_id.into()),
                bulk::int((*programme).into()),
                bulk::int((*organisation_id).into()),
                bulk::text(topic),
                bulk::int((*sessions).into()),
            ],
        )?;
    }
    out.flush(conn)
}

/// Brings `served_people` in step with `served_days` for these people: their first and last
/// days recomputed, their row gone when no day is left.
pub(super) fn refresh_served_people(
    conn: &mut DbConn,
    people: &BTreeSet<i32>,
) -> Result<(), AppError> {
    use diesel::connection::SimpleConnection;
    let ids: Vec<i32> = people.iter().copied().collect();
    for chunk in ids.chunks(500) {
        let list = chunk
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        conn.batch_execute(&format!(
            "DELETE FROM served_people WHERE person_id IN ({list}); {} WHERE person_id IN ({list}) \
             GROUP BY person_id;",
            SERVED_PEOPLE_FROM_DAYS
        ))?;
    }
    Ok(())
}

/// `served_people` recomputed from the whole of `served_days` (after a rebuild of it).
pub(super) fn rebuild_served_people(conn: &mut DbConn) -> Result<(), AppError> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute(&format!(
        "DELETE FROM served_people; {SERVED_PEOPLE_FROM_DAYS} GROUP BY person_id;"
    ))?;
    Ok(())
}

/// Each person's first and last day in `served_days` (a `WHERE` and the `GROUP BY` follow).
const SERVED_PEOPLE_FROM_DAYS: &str = "INSERT INTO served_people (person_id, first_day, last_day) \
     SELECT person_id, MIN(day), MAX(day) FROM served_days";

/// Writes `served_days` rows; a row already stored is kept (a rebuild meets a key in two chunks).
pub(super) fn write_served(conn: &mut DbConn, served: &ServedRows) -> Result<(), AppError> {
    let mut out = BulkInsert::new(
        "served_days",
        &[
            "person_id",
            "day",
            "mediator_id",
            "place_id",
            "organisation_id",
        ],
    )
    .ignoring_duplicates();
    for (person_id, key, organisation_id) in served {
        out.push(
            conn,
            &[
                bulk::int((*person_id).into()),
                bulk::date(key.day),
                bulk::int(key.mediator_id.into()),
                bulk::int(key.place_id.into()),
                bulk::int((*organisation_id).into()),
            ],
        )?;
    }
    out.flush(conn)
}

pub(super) fn load_appointments<Q>(
    conn: &mut DbConn,
    query: Q,
) -> Result<Vec<AppointmentRow>, AppError>
where
    Q: diesel::query_dsl::methods::LoadQuery<
        'static,
        DbConn,
        (
            i32,
            i32,
            i32,
            i32,
            NaiveDateTime,
            NaiveDateTime,
            i32,
            AppointmentStatus,
        ),
    >,
{
    Ok(query
        .load(conn)?
        .into_iter()
        .map(
            |(id, organisation_id, mediator_id, place_id, starts_at, ends_at, capacity, status)| {
                AppointmentRow {
                    id,
                    organisation_id,
                    mediator_id,
                    place_id,
                    starts_at,
                    ends_at,
                    capacity,
                    status,
                }
            },
        )
        .collect())
}

macro_rules! appointment_columns {
    () => {
        (
            appointments::id,
            appointments::organisation_id,
            appointments::mediator_id,
            appointments::place_id,
            appointments::starts_at,
            appointments::ends_at,
            appointments::capacity,
            appointments::status,
        )
    };
}
pub(super) use appointment_columns;

pub(super) const COUNT_COLUMNS: [&str; 9] = [
    "appointments",
    "workshops",
    "cancelled_appointments",
    "booked",
    "attended",
    "no_show",
    "excused",
    "cancelled",
    "minutes",
];

/// Recomputes the monthly roll-up of `activity_days` and `topic_days` for some rows (all of
/// them when `cell` is `None`, or one month of one mediator at one place).
pub(super) fn roll_up_months(
    conn: &mut DbConn,
    cell: Option<(NaiveDate, i32, i32)>,
) -> Result<(), AppError> {
    use diesel::connection::SimpleConnection;
    let month_of_day = match conn {
        DbConn::Sqlite(_) => "date(day, 'start of month')".to_string(),
        DbConn::Pg(_) => "CAST(date_trunc('month', day) AS DATE)".to_string(),
    };
    let (month, only) = match cell {
        Some((month, mediator_id, place_id)) => (
            date_literal(conn, month),
            format!(
                " WHERE mediator_id = {mediator_id} AND place_id = {place_id} AND day >= {} AND day <= {}",
                date_literal(conn, month),
                date_literal(conn, month_end(month))
            ),
        ),
        None => (month_of_day.clone(), String::new()),
    };
    let doomed = match cell {
        Some((m, mediator_id, place_id)) => format!(
            " WHERE mediator_id = {mediator_id} AND place_id = {place_id} AND month = {}",
            date_literal(conn, m)
        ),
        None => String::new(),
    };
    // Thématiques roll up per organisation: the mediator's, for one cell.
    let (topic_doomed, topic_only) = match cell {
        Some((m, mediator_id, _)) => {
            let organisation =
                format!("(SELECT organisation_id FROM users WHERE id = {mediator_id})");
            (
                format!(
                    " WHERE organisation_id = {organisation} AND month = {}",
                    date_literal(conn, m)
                ),
                format!(
                    " WHERE organisation_id = {organisation} AND day >= {} AND day <= {}",
                    date_literal(conn, m),
                    date_literal(conn, month_end(m))
                ),
            )
        }
        None => (String::new(), String::new()),
    };
    let sums = COUNT_COLUMNS
        .iter()
        .map(|c| format!("SUM({c})"))
        .collect::<Vec<_>>()
        .join(", ");
    let (group, topic_group) = match cell {
        Some(_) => (
            "mediator_id, place_id, programme_id".to_string(),
            "organisation_id, programme_id, topic".to_string(),
        ),
        None => (
            format!("{month_of_day}, mediator_id, place_id, programme_id"),
            format!("{month_of_day}, organisation_id, programme_id, topic"),
        ),
    };
    conn.batch_execute(&format!(
        "DELETE FROM activity_months{doomed}; \
         INSERT INTO activity_months (month, mediator_id, place_id, programme_id, organisation_id, {columns}) \
         SELECT {month}, mediator_id, place_id, programme_id, MAX(organisation_id), {sums} \
         FROM activity_days{only} GROUP BY {group}; \
         DELETE FROM topic_months{topic_doomed}; \
         INSERT INTO topic_months (month, organisation_id, programme_id, topic, sessions) \
         SELECT {month}, organisation_id, programme_id, topic, SUM(sessions) \
         FROM topic_days{topic_only} GROUP BY {topic_group};",
        columns = COUNT_COLUMNS.join(", "),
    ))?;
    Ok(())
}

/// Recomputes the activity rows of the given keys (an appointment's key before and after a
/// change, say). Call inside the transaction that made the change.
pub fn refresh_activity(conn: &mut DbConn, tz: &Tz, keys: &[DayKey]) -> Result<(), AppError> {
    let mut keys = keys.to_vec();
    keys.sort();
    keys.dedup();
    let mut served_people = BTreeSet::new();
    for key in keys.iter().copied() {
        let (start, end) = day_bounds(tz, key.day);
        let rows = load_appointments(
            conn,
            appointments::table
                .filter(appointments::mediator_id.eq(key.mediator_id))
                .filter(appointments::starts_at.ge(start))
                .filter(appointments::starts_at.lt(end))
                .filter(appointments::place_id.eq(key.place_id))
                .select(appointment_columns!()),
        )?;
        let mut activity = ActivityRows::new();
        let mut topics = TopicRows::new();
        let mut served = ServedRows::new();
        accumulate(conn, tz, rows, &mut activity, &mut topics, &mut served)?;
        let key_rows = served_days::table
            .filter(served_days::mediator_id.eq(key.mediator_id))
            .filter(served_days::day.eq(key.day))
            .filter(served_days::place_id.eq(key.place_id));
        // Whoever was served at this key before or is now: their first and last days follow.
        served_people.extend(key_rows.select(served_days::person_id).load::<i32>(conn)?);
        served_people.extend(served.iter().map(|(person_id, _, _)| *person_id));
        diesel::delete(key_rows).execute(conn)?;
        write_served(conn, &served)?;
        diesel::delete(
            activity_days::table
                .filter(activity_days::day.eq(key.day))
                .filter(activity_days::mediator_id.eq(key.mediator_id))
                .filter(activity_days::place_id.eq(key.place_id)),
        )
        .execute(conn)?;
        diesel::delete(
            topic_days::table
                .filter(topic_days::day.eq(key.day))
                .filter(topic_days::mediator_id.eq(key.mediator_id))
                .filter(topic_days::place_id.eq(key.place_id)),
        )
        .execute(conn)?;
        write_activity(conn, &activity, &topics)?;
    }
    refresh_served_people(conn, &served_people)?;
    let mut months: Vec<(NaiveDate, i32, i32)> = keys
        .iter()
        .map(|k| (month_start(k.day), k.mediator_id, k.place_id))
        .collect();
    months.sort_unstable();
    months.dedup();
    for cell in months {
        roll_up_months(conn, Some(cell))?;
    }
    Ok(())
}

/// Notes that an appointment's activity rows need recomputing, as it stands now (call it
/// before and after moving one). One insert, cheap enough for the booking path.
pub fn mark(conn: &mut DbConn, appointment_id: i32) -> Result<(), AppError> {
    diesel::insert_into(activity_dirty::table)
        .values(
            appointments::table
                .filter(appointments::id.eq(appointment_id))
                .select((
                    appointments::mediator_id,
                    appointments::place_id,
                    appointments::starts_at,
                )),
        )
        .into_columns((
            activity_dirty::mediator_id,
            activity_dirty::place_id,
            activity_dirty::starts_at,
        ))
        .execute(conn)?;
    Ok(())
}

/// PostgreSQL: [`mark`] as one member of a `WITH` statement, one of whose earlier members,
/// `source`, inserts the appointment and returns its `mediator_id`, `place_id` and
/// `starts_at`: a booking and its note in one round trip.
pub fn pg_mark_member(source: &str) -> String {
    format!(
        "INSERT INTO activity_dirty (mediator_id, place_id, starts_at) \
         SELECT mediator_id, place_id, starts_at FROM {source}"
    )
}

/// Brings the activity rows of every noted appointment up to date. Reports call it first.
pub fn flush(conn: &mut DbConn, tz: &Tz) -> Result<(), AppError> {
    // Nothing noted (the usual case for a report): no write transaction to queue for.
    let noted = activity_dirty::table
        .select(activity_dirty::id)
        .first::<i32>(conn)
        .optional()?;
    if noted.is_none() {
        return Ok(());
    }
    crate::db::transaction(conn, |conn| {
        // One flusher at a time across instances; the others wait, then find nothing to do.
        crate::db::lock_key(conn, FLUSH_LOCK)?;
        let noted: Vec<(i32, i32, i32, NaiveDateTime)> = activity_dirty::table
            .select((
                activity_dirty::id,
                activity_dirty::mediator_id,
                activity_dirty::place_id,
                activity_dirty::starts_at,
            ))
            .order(activity_dirty::id)
            .limit(50_000)
            .load(conn)?;
        let Some(last) = noted.last().map(|n| n.0) else {
            return Ok(());
        };
        let keys: Vec<DayKey> = noted
            .iter()
            .map(|(_, mediator_id, place_id, starts_at)| {
                DayKey::of(tz, *starts_at, *mediator_id, *place_id)
            })
            .collect();
        refresh_activity(conn, tz, &keys)?;
        diesel::delete(activity_dirty::table.filter(activity_dirty::id.le(last))).execute(conn)?;
        Ok(())
    })
}

pub(super) const FLUSH_LOCK: i32 = 60;
