//! Monthly roll-ups of the skills aggregates: `skill_months` and `domain_months` (by UTC month
//! of the latest assessment, organisation, programme and skill or domain) and
//! `progress_months` (skills started, progressed and become autonomous, by UTC month of the
//! event). The département-wide skills report reads a few thousand of these rows instead of
//! every person's. Programme 0 counts everyone; each programme counts its members.
//!
//! The writers keep them: a person's refresh (or a change of their programmes) takes the
//! person's cells before and after, and adds the difference, in the same transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::months::{date_literal, month_start};
use super::TOP_LEVEL;
use crate::db::bulk::{self, BulkInsert};
use crate::db::schema::{
    domain_months, domain_progress, person_programmes, progress_months, skill_months,
    skill_progress,
};
use crate::db::DbConn;
use crate::error::AppError;

/// (month, organisation, programme, skill or domain)
type Key = (NaiveDate, i32, i32, i32);

const SKILL_COLUMNS: [&str; 6] = [
    "people",
    "progressed",
    "autonomous",
    "gain",
    "to_autonomy",
    "autonomous_pairs",
];
const DOMAIN_COLUMNS: [&str; 9] = [
    "people",
    "progressed",
    "autonomous",
    "gain",
    "skills",
    "assessments_to_autonomy",
    "autonomous_skills",
    "sessions_to_progress",
    "sessions_to_autonomy",
];
const EVENT_COLUMNS: [&str; 3] = ["started", "progressed", "autonomous"];

/// Held alone by a rebuild of the roll-ups, shared by the changes of one person.
const REBUILD_LOCK: i32 = 70;
/// Plus an organisation's id: one change of the organisation's roll-ups at a time.
const ORGANISATION_LOCKS: i32 = 1_000_000;

/// Call before reading a person's cells, in the transaction that will change them: on
/// PostgreSQL, two changes of the same organisation's roll-ups run one after the other (each
/// reads the person's cells before, and adds a difference; read at the same time, both would
/// add theirs to the same starting point), and none runs during a rebuild. (SQLite's write
/// transaction is exclusive already.)
pub fn lock_for_change(conn: &mut DbConn, organisation_id: i32) -> Result<(), AppError> {
    crate::db::lock_key_shared(conn, REBUILD_LOCK)?;
    crate::db::lock_key(conn, ORGANISATION_LOCKS + organisation_id)
}

/// What some people add to the roll-ups.
#[derive(Default, Debug, PartialEq)]
pub struct Cells {
    skills: BTreeMap<Key, [i64; 6]>,
    domains: BTreeMap<Key, [i64; 9]>,
    events: BTreeMap<(NaiveDate, i32, i32), [i64; 3]>,
}

fn month(at: NaiveDateTime) -> NaiveDate {
    month_start(at.date())
}

fn add<const N: usize>(into: &mut [i64; N], values: [i64; N], sign: i64) {
    for (cell, value) in into.iter_mut().zip(values) {
        *cell += sign * value;
    }
}

type SkillRow = (
    i32,
    i32,
    i32,
    i32,
    i32,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<i32>,
);
type DomainRow = (
    i32,
    i32,
    i32,
    NaiveDateTime,
    i32,
    i32,
    i32,
    i32,
    i32,
    i32,
    Option<i32>,
    i32,
);

impl Cells {
    /// The cells of the people whose ids are in `from..to`, from their progress rows and
    /// their programmes as they are now.
    pub fn of_people(conn: &mut DbConn, from: i32, to: i32) -> Result<Cells, AppError> {
        let mut groups: HashMap<i32, Vec<i32>> = HashMap::new();
        for (person, programme) in person_programmes::table
            .filter(person_programmes::person_id.ge(from))
            .filter(person_programmes::person_id.lt(to))
            .select((
                person_programmes::person_id,
                person_programmes::programme_id,
            ))
            .load::<(i32, i32)>(conn)?
        {
            groups
                .entry(person)
                .or_insert_with(|| vec![0])
                .push(programme);
        }
        let everyone = vec![0];
        let mut cells = Cells::default();
        let skills: Vec<SkillRow> = skill_progress::table
            .filter(skill_progress::person_id.ge(from))
            .filter(skill_progress::person_id.lt(to))
            .select((
                skill_progress::person_id,
                skill_progress::skill_id,
                skill_progress::organisation_id,
                skill_progress::first_level,
                skill_progress::last_level,
                skill_progress::first_at,
                skill_progress::last_at,
                skill_progress::progressed_at,
                skill_progress::autonomous_at,
                skill_progress::autonomous_after,
            ))
            .load(conn)?;
        for (
            person,
            skill,
            org,
            first,
            last,
            first_at,
            last_at,
            progressed_at,
            autonomous_at,
            after,
        ) in skills
        {
            for &programme in groups.get(&person).unwrap_or(&everyone) {
                let values = [
                    1,
                    i64::from(last > first),
                    i64::from(last >= TOP_LEVEL),
                    i64::from(last - first),
                    i64::from(after.unwrap_or(0)),
                    i64::from(after.is_some()),
                ];
                add(
                    cells
                        .skills
                        .entry((month(last_at), org, programme, skill))
                        .or_default(),
                    values,
                    1,
                );
                let events = [
                    (Some(first_at), [1, 0, 0]),
                    (progressed_at, [0, 1, 0]),
                    (autonomous_at, [0, 0, 1]),
                ];
                for (at, values) in events {
                    if let Some(at) = at {
                        add(
                            cells.events.entry((month(at), org, programme)).or_default(),
                            values,
                            1,
                        );
                    }
                }
            }
        }
        let domains: Vec<DomainRow> = domain_progress::table
            .filter(domain_progress::person_id.ge(from))
            .filter(domain_progress::person_id.lt(to))
            .select((
                domain_progress::person_id,
                domain_progress::domain_id,
                domain_progress::organisation_id,
                domain_progress::last_at,
                domain_progress::progressed,
                domain_progress::autonomous,
                domain_progress::gain,
                domain_progress::skills,
                domain_progress::assessments_to_autonomy,
                domain_progress::autonomous_skills,
                domain_progress::sessions_to_progress,
                domain_progress::sessions_to_autonomy,
            ))
            .load(conn)?;
        for (
            person,
            domain,
            org,
            last_at,
            progressed,
            autonomous,
            gain,
            skills,
            to_autonomy,
            autonomous_skills,
            to_progress,
            sessions_to_autonomy,
        ) in domains
        {
            for &programme in groups.get(&person).unwrap_or(&everyone) {
                add(
                    cells
                        .domains
                        .entry((month(last_at), org, programme, domain))
                        .or_default(),
                    [
                        1,
                        progressed.into(),
                        autonomous.into(),
                        gain.into(),
                        skills.into(),
                        to_autonomy.into(),
                        autonomous_skills.into(),
                        to_progress.unwrap_or(0).into(),
                        sessions_to_autonomy.into(),
                    ],
                    1,
                );
            }
        }
        Ok(cells)
    }

    /// One person's cells.
    pub fn of_person(conn: &mut DbConn, person_id: i32) -> Result<Cells, AppError> {
        Cells::of_people(conn, person_id, person_id + 1)
    }

    fn merge(&mut self, other: Cells, sign: i64) {
        for (key, values) in other.skills {
            add(self.skills.entry(key).or_default(), values, sign);
        }
        for (key, values) in other.domains {
            add(self.domains.entry(key).or_default(), values, sign);
        }
        for (key, values) in other.events {
            add(self.events.entry(key).or_default(), values, sign);
        }
    }

    /// Adds `after - self` to the roll-ups: what a change of one person's rows or programmes
    /// changed. Cells are written in key order, so that two transactions on PostgreSQL lock
    /// shared rows in the same order.
    pub fn replace_with(self, conn: &mut DbConn, after: Cells) -> Result<(), AppError> {
        let mut delta = after;
        delta.merge(self, -1);
        for ((m, org, programme, skill), values) in &delta.skills {
            upsert(
                conn,
                "skill_months",
                "skill_id",
                (*m, *org, *programme, Some(*skill)),
                &SKILL_COLUMNS,
                values,
            )?;
        }
        for ((m, org, programme, domain), values) in &delta.domains {
            upsert(
                conn,
                "domain_months",
                "domain_id",
                (*m, *org, *programme, Some(*domain)),
                &DOMAIN_COLUMNS,
                values,
            )?;
        }
        for ((m, org, programme), values) in &delta.events {
            upsert(
                conn,
                "progress_months",
                "",
                (*m, *org, *programme, None),
                &EVENT_COLUMNS,
                values,
            )?;
        }
        Ok(())
    }
}

/// Adds `values` to one roll-up row, creating it if needed (`INSERT … ON CONFLICT`, which both
/// backends read the same).
fn upsert(
    conn: &mut DbConn,
    table: &str,
    item: &str,
    (m, org, programme, id): (NaiveDate, i32, i32, Option<i32>),
    columns: &[&str],
    values: &[i64],
) -> Result<(), AppError> {
    use diesel::connection::SimpleConnection;
    if values.iter().all(|v| *v == 0) {
        return Ok(());
    }
    let (item_column, item_value, item_key) = match id {
        Some(id) => (format!(", {item}"), format!(", {id}"), format!(", {item}")),
        None => (String::new(), String::new(), String::new()),
    };
    let updates = columns
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let values = values
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    conn.batch_execute(&format!(
        "INSERT INTO {table} (month, organisation_id, programme_id{item_column}, {columns}) \
         VALUES ({month}, {org}, {programme}{item_value}, {values}) \
         ON CONFLICT (month, organisation_id, programme_id{item_key}) DO UPDATE SET {updates}",
        columns = columns.join(", "),
        month = date_literal(conn, m),
    ))?;
    Ok(())
}

/// Recomputes the three roll-ups from `skill_progress` and `domain_progress`, in one
/// transaction that keeps the writers of the roll-ups out; with `only_if_empty`, only when
/// they hold nothing (another instance may have just built them).
pub fn rebuild(conn: &mut DbConn, only_if_empty: bool) -> Result<bool, AppError> {
    const CHUNK: i32 = 5000;
    crate::db::transaction(conn, |conn| {
        crate::db::lock_key(conn, REBUILD_LOCK)?;
        if only_if_empty && !is_empty(conn)? {
            return Ok(false);
        }
        let max_person: i32 = skill_progress::table
            .select(diesel::dsl::max(skill_progress::person_id))
            .first::<Option<i32>>(conn)?
            .unwrap_or(0);
        let mut all = Cells::default();
        let mut from = 0;
        while from <= max_person {
            all.merge(Cells::of_people(conn, from, from + CHUNK)?, 1);
            from += CHUNK;
        }
        diesel::delete(skill_months::table).execute(conn)?;
        diesel::delete(domain_months::table).execute(conn)?;
        diesel::delete(progress_months::table).execute(conn)?;
        let key = ["month", "organisation_id", "programme_id"];
        insert_all(
            conn,
            "skill_months",
            &[&key[..], &["skill_id"], &SKILL_COLUMNS[..]].concat(),
            all.skills
                .iter()
                .map(|((m, org, p, skill), values)| row((*m, *org, *p, Some(*skill)), values)),
        )?;
        insert_all(
            conn,
            "domain_months",
            &[&key[..], &["domain_id"], &DOMAIN_COLUMNS[..]].concat(),
            all.domains
                .iter()
                .map(|((m, org, p, domain), values)| row((*m, *org, *p, Some(*domain)), values)),
        )?;
        insert_all(
            conn,
            "progress_months",
            &[&key[..], &EVENT_COLUMNS[..]].concat(),
            all.events
                .iter()
                .map(|((m, org, p), values)| row((*m, *org, *p, None), values)),
        )?;
        Ok(true)
    })
}

/// The literals of one roll-up row: its key, then its values.
fn row(
    (m, org, programme, item): (NaiveDate, i32, i32, Option<i32>),
    values: &[i64],
) -> Vec<String> {
    let mut row = vec![
        bulk::date(m),
        bulk::int(org.into()),
        bulk::int(programme.into()),
    ];
    row.extend(item.map(|id| bulk::int(id.into())));
    row.extend(values.iter().map(|v| bulk::int(*v)));
    row
}

fn insert_all(
    conn: &mut DbConn,
    table: &str,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<(), AppError> {
    let mut out = BulkInsert::new(table, columns);
    for row in rows {
        out.push(conn, &row)?;
    }
    out.flush(conn)
}

/// Whether the roll-ups hold nothing (before their first rebuild).
pub fn is_empty(conn: &mut DbConn) -> Result<bool, AppError> {
    Ok(skill_months::table
        .select(skill_months::skill_id)
        .first::<i32>(conn)
        .optional()?
        .is_none())
}
