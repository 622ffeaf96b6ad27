//! Keeps the report aggregates (`skill_progress`, `activity_days`, `topic_days`, `served_days`) in step with
//! their sources. The code that changes a source refreshes the rows it touched in the same
//! transaction; [`rebuild`] recomputes everything with the same functions (at first start after
//! the upgrade that added them, and after `passerelle demo`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::bulk::{self, BulkInsert};
use crate::db::schema::{
    activity_days, activity_dirty, activity_months, appointments, assessments, domain_progress,
    participants, people, person_programmes, served_days, session_logs, skill_progress, skills,
    topic_days, topic_months,
};
use crate::db::DbConn;
use crate::error::AppError;
use crate::skills::TOP_LEVEL;

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

/// The key of an appointment as it is stored now.
pub fn key_of(conn: &mut DbConn, tz: &Tz, appointment_id: i32) -> Result<DayKey, AppError> {
    let (starts_at, mediator_id, place_id) = appointments::table
        .find(appointment_id)
        .select((
            appointments::starts_at,
            appointments::mediator_id,
            appointments::place_id,
        ))
        .first::<(NaiveDateTime, i32, i32)>(conn)?;
    Ok(DayKey::of(tz, starts_at, mediator_id, place_id))
}

/// UTC bounds of a local day.
fn day_bounds(tz: &Tz, day: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
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

type ActivityRows = BTreeMap<(DayKey, i32), Counts>;
type TopicRows = BTreeMap<(DayKey, i32, String), (i32, i32)>;
/// Rows of `served_days`: (person, key, organisation).
type ServedRows = BTreeSet<(i32, DayKey, i32)>;

struct AppointmentRow {
    id: i32,
    organisation_id: i32,
    mediator_id: i32,
    place_id: i32,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    capacity: i32,
    status: String,
}

/// The participants of these appointments: (person, status) by appointment.
fn seats_of(conn: &mut DbConn, ids: &[i32]) -> Result<HashMap<i32, Vec<(i32, String)>>, AppError> {
    let mut seats: HashMap<i32, Vec<(i32, String)>> = HashMap::new();
    for (appointment_id, person_id, status) in participants::table
        .filter(participants::appointment_id.eq_any(ids))
        .select((
            participants::appointment_id,
            participants::person_id,
            participants::status,
        ))
        .load::<(i32, i32, String)>(conn)?
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
fn add_served(
    tz: &Tz,
    rows: &[AppointmentRow],
    seats: &HashMap<i32, Vec<(i32, String)>>,
    served: &mut ServedRows,
) {
    for a in rows.iter().filter(|a| a.status != "cancelled") {
        let key = DayKey::of(tz, a.starts_at, a.mediator_id, a.place_id);
        for (person_id, status) in seats.get(&a.id).into_iter().flatten() {
            if status == "attended" {
                served.insert((*person_id, key, a.organisation_id));
            }
        }
    }
}

/// Adds the appointments (with their participants, the participants' programmes and the
/// current session logs) to the aggregate rows. The one place where the counting rules live.
fn accumulate(
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
            if a.status == "cancelled" {
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
                match status.as_str() {
                    "booked" => counts.booked += 1,
                    "attended" => {
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
                    "no_show" => counts.no_show += 1,
                    "excused" => counts.excused += 1,
                    "cancelled" => counts.cancelled += 1,
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

fn write_activity(
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

/// Writes `served_days` rows; a row already stored is kept (a rebuild meets a key in two chunks).
fn write_served(conn: &mut DbConn, served: &ServedRows) -> Result<(), AppError> {
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

fn load_appointments<Q>(conn: &mut DbConn, query: Q) -> Result<Vec<AppointmentRow>, AppError>
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
            String,
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

const COUNT_COLUMNS: [&str; 9] = [
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

/// A date literal of the connection's backend.
pub fn date_literal(conn: &DbConn, day: NaiveDate) -> String {
    match conn {
        DbConn::Sqlite(_) => bulk::date(day),
        DbConn::Pg(_) => format!("DATE {}", bulk::date(day)),
    }
}

pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("the first exists")
}

pub fn month_end(day: NaiveDate) -> NaiveDate {
    (month_start(day) + chrono::Months::new(1))
        .pred_opt()
        .expect("a day before")
}

/// Recomputes the monthly roll-up of `activity_days` and `topic_days` for some rows (all of
/// them when `cell` is `None`, or one month of one mediator at one place).
fn roll_up_months(conn: &mut DbConn, cell: Option<(NaiveDate, i32, i32)>) -> Result<(), AppError> {
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
        diesel::delete(
            served_days::table
                .filter(served_days::mediator_id.eq(key.mediator_id))
                .filter(served_days::day.eq(key.day))
                .filter(served_days::place_id.eq(key.place_id)),
        )
        .execute(conn)?;
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

const FLUSH_LOCK: i32 = 60;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub first_level: i32,
    pub first_at: NaiveDateTime,
    pub last_level: i32,
    pub last_at: NaiveDateTime,
    pub progressed_at: Option<NaiveDateTime>,
    pub autonomous_at: Option<NaiveDateTime>,
    pub assessments: i32,
    pub autonomous_after: Option<i32>,
    pub sessions_to_progress: Option<i32>,
    pub sessions_to_autonomy: Option<i32>,
    pub last_place_id: Option<i32>,
    pub last_author_id: i32,
}

/// One assessment, as the progress needs it.
pub struct Observation {
    pub level: i32,
    pub at: NaiveDateTime,
    pub place_id: Option<i32>,
    pub author_id: i32,
}

/// Where a person stands on one skill, from their assessments in time order and the start
/// times of the sessions they attended (in order).
pub fn progress(observations: &[Observation], attended: &[NaiveDateTime]) -> Option<Progress> {
    let first = observations.first()?;
    let last = observations.last()?;
    let mut out = Progress {
        first_level: first.level,
        first_at: first.at,
        last_level: last.level,
        last_at: last.at,
        progressed_at: None,
        autonomous_at: None,
        assessments: observations.len() as i32,
        autonomous_after: None,
        sessions_to_progress: None,
        sessions_to_autonomy: None,
        last_place_id: last.place_id,
        last_author_id: last.author_id,
    };
    let sessions_until = |at: NaiveDateTime| attended.partition_point(|t| *t <= at) as i32;
    for (i, o) in observations.iter().enumerate() {
        if out.progressed_at.is_none() && o.level > first.level {
            out.progressed_at = Some(o.at);
            out.sessions_to_progress = Some(sessions_until(o.at));
        }
        if out.autonomous_at.is_none() && o.level >= TOP_LEVEL {
            out.autonomous_at = Some(o.at);
            out.autonomous_after = Some(i as i32 + 1);
            out.sessions_to_autonomy = Some(sessions_until(o.at));
        }
    }
    Some(out)
}

/// Active assessments of these people (and skills), in time order, with the place of the
/// session they were made in.
fn observations(
    conn: &mut DbConn,
    person_ids: &[i32],
    skill_ids: Option<&[i32]>,
) -> Result<BTreeMap<(i32, i32), Vec<Observation>>, AppError> {
    let mut query = assessments::table
        .left_join(
            session_logs::table.on(session_logs::id.nullable().eq(assessments::session_log_id)),
        )
        .left_join(appointments::table.on(appointments::id.eq(session_logs::appointment_id)))
        .filter(assessments::person_id.eq_any(person_ids))
        .filter(assessments::active.eq(true))
        .select((
            assessments::person_id,
            assessments::skill_id,
            assessments::level,
            assessments::assessed_at,
            appointments::place_id.nullable(),
            assessments::author_id,
        ))
        .order((
            assessments::person_id,
            assessments::skill_id,
            assessments::assessed_at,
            assessments::id,
        ))
        .into_boxed();
    if let Some(ids) = skill_ids {
        query = query.filter(assessments::skill_id.eq_any(ids));
    }
    let mut out: BTreeMap<(i32, i32), Vec<Observation>> = BTreeMap::new();
    for (person_id, skill_id, level, at, place_id, author_id) in
        query.load::<(i32, i32, i32, NaiveDateTime, Option<i32>, i32)>(conn)?
    {
        out.entry((person_id, skill_id))
            .or_default()
            .push(Observation {
                level,
                at,
                place_id,
                author_id,
            });
    }
    Ok(out)
}

/// Start times of the sessions these people attended, in order.
fn attended_sessions(
    conn: &mut DbConn,
    person_ids: &[i32],
) -> Result<HashMap<i32, Vec<NaiveDateTime>>, AppError> {
    let mut out: HashMap<i32, Vec<NaiveDateTime>> = HashMap::new();
    for (person_id, at) in participants::table
        .inner_join(appointments::table)
        .filter(participants::person_id.eq_any(person_ids))
        .filter(participants::status.eq("attended"))
        .select((participants::person_id, appointments::starts_at))
        .load::<(i32, NaiveDateTime)>(conn)?
    {
        out.entry(person_id).or_default().push(at);
    }
    for list in out.values_mut() {
        list.sort_unstable();
    }
    Ok(out)
}

#[derive(Default)]
struct DomainRow {
    organisation_id: i32,
    last_at: Option<NaiveDateTime>,
    last_place_id: Option<i32>,
    last_author_id: i32,
    skills: i32,
    progressed: bool,
    autonomous: bool,
    gain: i32,
    autonomous_skills: i32,
    assessments_to_autonomy: i32,
    sessions_to_progress: Option<i32>,
    sessions_to_autonomy: i32,
}

fn write_progress(
    conn: &mut DbConn,
    observed: &BTreeMap<(i32, i32), Vec<Observation>>,
    attended: &HashMap<i32, Vec<NaiveDateTime>>,
    organisation_of: &HashMap<i32, i32>,
    domain_of: &HashMap<i32, i32>,
) -> Result<(), AppError> {
    let mut out = BulkInsert::new(
        "skill_progress",
        &[
            "person_id",
            "skill_id",
            "domain_id",
            "organisation_id",
            "first_level",
            "first_at",
            "last_level",
            "last_at",
            "progressed_at",
            "autonomous_at",
            "assessments",
            "autonomous_after",
            "sessions_to_progress",
            "sessions_to_autonomy",
            "last_place_id",
            "last_author_id",
        ],
    );
    let mut per_domain: BTreeMap<(i32, i32), DomainRow> = BTreeMap::new();
    for ((person_id, skill_id), list) in observed {
        let sessions = attended.get(person_id).map(Vec::as_slice).unwrap_or(&[]);
        let (Some(p), Some(org), Some(domain)) = (
            progress(list, sessions),
            organisation_of.get(person_id),
            domain_of.get(skill_id),
        ) else {
            continue;
        };
        let d = per_domain
            .entry((*person_id, *domain))
            .or_insert_with(|| DomainRow {
                autonomous: true,
                ..DomainRow::default()
            });
        d.organisation_id = *org;
        if d.last_at.is_none_or(|at| p.last_at >= at) {
            d.last_at = Some(p.last_at);
            d.last_place_id = p.last_place_id;
            d.last_author_id = p.last_author_id;
        }
        d.skills += 1;
        if p.last_level > p.first_level {
            d.progressed = true;
            d.sessions_to_progress = match (d.sessions_to_progress, p.sessions_to_progress) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        d.autonomous &= p.last_level >= TOP_LEVEL;
        d.gain += p.last_level - p.first_level;
        if let Some(after) = p.autonomous_after {
            d.autonomous_skills += 1;
            d.assessments_to_autonomy += after;
            d.sessions_to_autonomy += p.sessions_to_autonomy.unwrap_or(0);
        }
        out.push(
            conn,
            &[
                bulk::int((*person_id).into()),
                bulk::int((*skill_id).into()),
                bulk::int((*domain).into()),
                bulk::int((*org).into()),
                bulk::int(p.first_level.into()),
                bulk::time(p.first_at),
                bulk::int(p.last_level.into()),
                bulk::time(p.last_at),
                bulk::opt_time(p.progressed_at),
                bulk::opt_time(p.autonomous_at),
                bulk::int(p.assessments.into()),
                bulk::opt_int(p.autonomous_after.map(i64::from)),
                bulk::opt_int(p.sessions_to_progress.map(i64::from)),
                bulk::opt_int(p.sessions_to_autonomy.map(i64::from)),
                bulk::opt_int(p.last_place_id.map(i64::from)),
                bulk::int(p.last_author_id.into()),
            ],
        )?;
    }
    out.flush(conn)?;
    let mut out = BulkInsert::new(
        "domain_progress",
        &[
            "person_id",
            "domain_id",
            "organisation_id",
            "last_at",
            "last_place_id",
            "last_author_id",
            "skills",
            "progressed",
            "autonomous",
            "gain",
            "autonomous_skills",
            "assessments_to_autonomy",
            "sessions_to_progress",
            "sessions_to_autonomy",
        ],
    );
    for ((person_id, domain_id), d) in per_domain {
        let Some(last_at) = d.last_at else {
            continue;
        };
        out.push(
            conn,
            &[
                bulk::int(person_id.into()),
                bulk::int(domain_id.into()),
                bulk::int(d.organisation_id.into()),
                bulk::time(last_at),
                bulk::opt_int(d.last_place_id.map(i64::from)),
                bulk::int(d.last_author_id.into()),
                bulk::int(d.skills.into()),
                bulk::int(i64::from(d.progressed)),
                bulk::int(i64::from(d.autonomous)),
                bulk::int(d.gain.into()),
                bulk::int(d.autonomous_skills.into()),
                bulk::int(d.assessments_to_autonomy.into()),
                bulk::opt_int(d.sessions_to_progress.map(i64::from)),
                bulk::int(d.sessions_to_autonomy.into()),
            ],
        )?;
    }
    out.flush(conn)
}

fn domains(conn: &mut DbConn) -> Result<HashMap<i32, i32>, AppError> {
    Ok(skills::table
        .select((skills::id, skills::domain_id))
        .load::<(i32, i32)>(conn)?
        .into_iter()
        .collect())
}

/// Recomputes one person's progress, skill by skill and domain by domain. Call inside the
/// transaction that added or deactivated their assessments, or changed their attendance.
pub fn refresh_skills(conn: &mut DbConn, person_id: i32) -> Result<(), AppError> {
    let organisation_id: i32 = people::table
        .find(person_id)
        .select(people::organisation_id)
        .first(conn)?;
    super::skill_months::lock_for_change(conn, organisation_id)?;
    let before = super::skill_months::Cells::of_person(conn, person_id)?;
    let observed = observations(conn, &[person_id], None)?;
    diesel::delete(skill_progress::table.filter(skill_progress::person_id.eq(person_id)))
        .execute(conn)?;
    diesel::delete(domain_progress::table.filter(domain_progress::person_id.eq(person_id)))
        .execute(conn)?;
    let organisation_of = HashMap::from([(person_id, organisation_id)]);
    let domain_of = domains(conn)?;
    let attended = attended_sessions(conn, &[person_id])?;
    write_progress(conn, &observed, &attended, &organisation_of, &domain_of)?;
    let after = super::skill_months::Cells::of_person(conn, person_id)?;
    before.replace_with(conn, after)
}

/// Recomputes every aggregate from the sources, reporting progress as (done, total) steps.
pub fn rebuild(
    conn: &mut DbConn,
    tz: &Tz,
    mut on_progress: impl FnMut(u64, u64),
) -> Result<(), AppError> {
    const PEOPLE_CHUNK: i64 = 2000;
    const APPOINTMENT_CHUNK: i64 = 20000;
    let max_person: i64 = people::table
        .select(diesel::dsl::max(people::id))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0)
        .into();
    let max_appointment: i64 = appointments::table
        .select(diesel::dsl::max(appointments::id))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0)
        .into();
    let total = max_person / PEOPLE_CHUNK + max_appointment / APPOINTMENT_CHUNK + 2;
    let mut done = 0;

    crate::db::transaction(conn, |conn| {
        diesel::delete(activity_dirty::table).execute(conn)?;
        diesel::delete(activity_months::table).execute(conn)?;
        diesel::delete(topic_months::table).execute(conn)?;
        diesel::delete(skill_progress::table).execute(conn)?;
        diesel::delete(domain_progress::table).execute(conn)?;
        diesel::delete(activity_days::table).execute(conn)?;
        diesel::delete(topic_days::table).execute(conn)?;
        diesel::delete(served_days::table).execute(conn)?;
        Ok(())
    })?;
    let domain_of = domains(conn)?;
    let mut from = 0i64;
    while from <= max_person {
        let to = from + PEOPLE_CHUNK;
        crate::db::transaction(conn, |conn| {
            let organisation_of: HashMap<i32, i32> = people::table
                .filter(people::id.ge(from as i32))
                .filter(people::id.lt(to as i32))
                .select((people::id, people::organisation_id))
                .load::<(i32, i32)>(conn)?
                .into_iter()
                .collect();
            let ids: Vec<i32> = organisation_of.keys().copied().collect();
            if ids.is_empty() {
                return Ok(());
            }
            let observed = observations(conn, &ids, None)?;
            let attended = attended_sessions(conn, &ids)?;
            write_progress(conn, &observed, &attended, &organisation_of, &domain_of)
        })?;
        from = to;
        done += 1;
        on_progress(done, total as u64);
    }
    super::skill_months::rebuild(conn, false)?;
    // Appointments of one key may fall in two chunks: accumulate everything, then write.
    let mut activity = ActivityRows::new();
    let mut topics = TopicRows::new();
    let mut from = 0i64;
    while from <= max_appointment {
        let to = from + APPOINTMENT_CHUNK;
        let rows = load_appointments(
            conn,
            appointments::table
                .filter(appointments::id.ge(from as i32))
                .filter(appointments::id.lt(to as i32))
                .select(appointment_columns!()),
        )?;
        let mut served = ServedRows::new();
        accumulate(conn, tz, rows, &mut activity, &mut topics, &mut served)?;
        crate::db::transaction(conn, |conn| write_served(conn, &served))?;
        from = to;
        done += 1;
        on_progress(done, total as u64);
    }
    crate::db::transaction(conn, |conn| {
        write_activity(conn, &activity, &topics)?;
        roll_up_months(conn, None)
    })?;
    on_progress(total as u64, total as u64);
    Ok(())
}

/// Builds the aggregates when they are missing but their sources are not (the first start
/// after the upgrade that added them).
pub fn rebuild_if_missing(conn: &mut DbConn, tz: &Tz) -> Result<bool, AppError> {
    let has_progress = skill_progress::table
        .select(skill_progress::person_id)
        .first::<i32>(conn)
        .optional()?
        .is_some();
    let has_sources = appointments::table
        .select(appointments::id)
        .first::<i32>(conn)
        .optional()?
        .is_some()
        || assessments::table
            .select(assessments::id)
            .first::<i32>(conn)
            .optional()?
            .is_some();
    let has_aggregates = has_progress
        || activity_days::table
            .select(activity_days::day)
            .first::<NaiveDate>(conn)
            .optional()?
            .is_some();
    if has_sources && !has_aggregates {
        rebuild(conn, tz, |_, _| {})?;
        return Ok(true);
    }
    // Added later: the monthly roll-ups of skill progress, and who was served.
    let mut rebuilt = false;
    if has_progress && super::skill_months::is_empty(conn)? {
        rebuilt |= super::skill_months::rebuild(conn, true)?;
    }
    if has_aggregates && served_is_missing(conn)? {
        rebuild_served(conn, tz)?;
        rebuilt = true;
    }
    Ok(rebuilt)
}

/// No `served_days` row while someone attended an appointment that was not cancelled.
fn served_is_missing(conn: &mut DbConn) -> Result<bool, AppError> {
    let has_served = served_days::table
        .select(served_days::person_id)
        .first::<i32>(conn)
        .optional()?
        .is_some();
    if has_served {
        return Ok(false);
    }
    Ok(participants::table
        .inner_join(appointments::table)
        .filter(participants::status.eq("attended"))
        .filter(appointments::status.ne("cancelled"))
        .select(participants::id)
        .first::<i32>(conn)
        .optional()?
        .is_some())
}

/// Fills `served_days` from the participations, 20,000 appointments per transaction (the
/// first start after the upgrade that added it).
fn rebuild_served(conn: &mut DbConn, tz: &Tz) -> Result<(), AppError> {
    const APPOINTMENT_CHUNK: i32 = 20000;
    let max_appointment = appointments::table
        .select(diesel::dsl::max(appointments::id))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0);
    let mut from = 0;
    while from <= max_appointment {
        let to = from.saturating_add(APPOINTMENT_CHUNK);
        crate::db::transaction(conn, |conn| {
            let rows = load_appointments(
                conn,
                appointments::table
                    .filter(appointments::id.ge(from))
                    .filter(appointments::id.lt(to))
                    .filter(appointments::status.ne("cancelled"))
                    .select(appointment_columns!()),
            )?;
            let ids: Vec<i32> = rows.iter().map(|a| a.id).collect();
            let seats = seats_of(conn, &ids)?;
            let mut served = ServedRows::new();
            add_served(tz, &rows, &seats, &mut served);
            write_served(conn, &served)
        })?;
        from = to;
    }
    Ok(())
}
