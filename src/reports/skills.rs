//! The skills report: progress by skill and domain, month by month, from the roll-ups.

use chrono::{Months, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use serde::Serialize;

use crate::db::schema::{skill_domains, skills};
use crate::db::DbConn;
use crate::error::AppError;

use super::filters::*;

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct SkillLine {
    pub skill_code: String,
    pub skill_name: String,
    pub domain_code: String,
    pub people_assessed: i64,
    pub people_progressed: i64,
    pub people_autonomous: i64,
    pub average_gain: f64,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct DomainLine {
    pub domain_code: String,
    pub domain_name: String,
    pub people_assessed: i64,
    pub people_progressed: i64,
    pub people_autonomous: i64,
    pub average_gain: f64,
    /// Among the skills that became autonomous: how many assessments it took, on average.
    pub average_assessments_to_autonomy: Option<f64>,
    /// Among the people who progressed in the domain: the sessions they had attended by their
    /// first progress in it, on average.
    pub average_sessions_to_progress: Option<f64>,
    /// Among the skills that became autonomous: the sessions attended by then, on average.
    pub average_sessions_to_autonomy: Option<f64>,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct ProgressMonth {
    pub month: String,
    pub started: i64,
    pub progressed: i64,
    pub autonomous: i64,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct SkillsProgress {
    /// People in scope (organisation and programme filters).
    pub people: i64,
    /// People with an assessment whose latest falls in the period.
    pub assessed_people: i64,
    pub per_skill: Vec<SkillLine>,
    pub per_domain: Vec<DomainLine>,
    pub by_month: Vec<ProgressMonth>,
    /// People who received equipment (through the programme, when one is chosen).
    pub equipped_people: i64,
    pub equipped_and_autonomous_on_any: i64,
    /// The funder's question: the equipped people's progress, domain by domain.
    pub equipped_per_domain: Vec<DomainLine>,
    pub filters: Filters,
}

#[derive(QueryableByName)]
pub(super) struct CountRow {
    #[diesel(sql_type = BigInt)]
    pub(super) n: i64,
}

#[derive(QueryableByName)]
pub(super) struct GroupRow {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = BigInt)]
    assessed: i64,
    #[diesel(sql_type = BigInt)]
    progressed: i64,
    #[diesel(sql_type = BigInt)]
    autonomous: i64,
    #[diesel(sql_type = BigInt)]
    gain: i64,
    #[diesel(sql_type = BigInt)]
    pairs: i64,
    #[diesel(sql_type = BigInt)]
    to_autonomy: i64,
    #[diesel(sql_type = BigInt)]
    autonomous_pairs: i64,
    #[diesel(sql_type = BigInt)]
    sessions_to_progress: i64,
    #[diesel(sql_type = BigInt)]
    sessions_to_autonomy: i64,
}

#[derive(QueryableByName)]
pub(super) struct EventMonthRow {
    #[diesel(sql_type = diesel::sql_types::Date)]
    month: NaiveDate,
    #[diesel(sql_type = BigInt)]
    started: i64,
    #[diesel(sql_type = BigInt)]
    progressed: i64,
    #[diesel(sql_type = BigInt)]
    autonomous: i64,
}

#[derive(QueryableByName)]
pub(super) struct MonthRow {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The conditions on `skill_progress sp` for these filters (the programme as membership).
pub(super) fn progress_where(tz: &Tz, filters: &Filters, with_programme: bool) -> Where {
    let (from, before) = period_bounds(tz, filters);
    progress_where_between(filters, from, before, with_programme)
}

/// The UTC bounds of the period: its first instant and the first after it.
pub(super) fn period_bounds(
    tz: &Tz,
    filters: &Filters,
) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    (
        filters.from.map(|d| day_start(tz, d)),
        filters
            .to
            .and_then(|d| d.succ_opt())
            .map(|d| day_start(tz, d)),
    )
}

/// As [`progress_where`], with the latest assessment between `from` and `before`.
pub(super) fn progress_where_between(
    filters: &Filters,
    from: Option<NaiveDateTime>,
    before: Option<NaiveDateTime>,
    with_programme: bool,
) -> Where {
    let mut w = Where::default();
    w.int("sp.organisation_id", filters.organisation_id)
        .int("sp.last_place_id", filters.place_id)
        .int("sp.last_author_id", filters.mediator_id)
        .time_from("sp.last_at", from)
        .time_before("sp.last_at", before);
    if with_programme {
        if let Some(p) = filters.programme_id {
            w.raw(format!(
                "sp.person_id IN (SELECT person_id FROM person_programmes WHERE programme_id = {p})"
            ));
        }
    }
    w
}

/// How the skills report reads a period from the monthly roll-ups: the whole UTC months
/// inside it (`first..end`, open where the period is), and the instants before and after
/// them from the rows. `None` when a place or a mediator is chosen, which the roll-ups do not
/// know: then everything comes from the rows.
pub(super) struct ProgressParts {
    months: Option<(Option<NaiveDate>, Option<NaiveDate>)>,
    edges: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)>,
}

pub(super) fn progress_parts(tz: &Tz, filters: &Filters) -> Option<ProgressParts> {
    if filters.place_id.is_some() || filters.mediator_id.is_some() {
        return None;
    }
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight exists");
    let (from, before) = period_bounds(tz, filters);
    let first = from.map(|t| {
        let m = crate::rollups::month_start(t.date());
        if midnight(m) == t {
            m
        } else {
            m + Months::new(1)
        }
    });
    let end = before.map(|t| crate::rollups::month_start(t.date()));
    if let (Some(f), Some(e)) = (first, end) {
        if f >= e {
            return Some(ProgressParts {
                months: None,
                edges: vec![(from, before)],
            });
        }
    }
    let mut edges = Vec::new();
    if let (Some(from), Some(first)) = (from, first) {
        if from < midnight(first) {
            edges.push((Some(from), Some(midnight(first))));
        }
    }
    if let (Some(before), Some(end)) = (before, end) {
        if midnight(end) < before {
            edges.push((Some(midnight(end)), Some(before)));
        }
    }
    Some(ProgressParts {
        months: Some((first, end)),
        edges,
    })
}

/// The conditions on a roll-up `m` for these filters and months.
pub(super) fn months_where(
    filters: &Filters,
    first: Option<NaiveDate>,
    end: Option<NaiveDate>,
) -> Where {
    let mut w = Where::default();
    w.raw(format!(
        "m.programme_id = {}",
        filters.programme_id.unwrap_or(0)
    ))
    .int("m.organisation_id", filters.organisation_id)
    .date_from("m.month", first)
    .date_before("m.month", end);
    w
}

/// Sums rows of the same id (a period read from the roll-ups and from the rows).
pub(super) fn merge_groups(rows: Vec<GroupRow>) -> Vec<GroupRow> {
    let mut merged: Vec<GroupRow> = Vec::new();
    for r in rows {
        match merged.iter_mut().find(|m| m.id == r.id) {
            Some(m) => {
                m.assessed += r.assessed;
                m.progressed += r.progressed;
                m.autonomous += r.autonomous;
                m.gain += r.gain;
                m.pairs += r.pairs;
                m.to_autonomy += r.to_autonomy;
                m.autonomous_pairs += r.autonomous_pairs;
                m.sessions_to_progress += r.sessions_to_progress;
                m.sessions_to_autonomy += r.sessions_to_autonomy;
            }
            None => merged.push(r),
        }
    }
    merged
}

/// Per skill: from the rows of `skill_progress sp` under `w`.
pub(super) fn skill_groups(conn: &mut DbConn, w: &Where) -> Result<Vec<GroupRow>, AppError> {
    query(
        conn,
        &format!(
            "SELECT sp.skill_id AS id, COUNT(*) AS assessed, \
             {} AS progressed, {} AS autonomous, {} AS gain, COUNT(*) AS pairs, \
             {} AS to_autonomy, COUNT(sp.autonomous_after) AS autonomous_pairs, \
             CAST(0 AS BIGINT) AS sessions_to_progress, CAST(0 AS BIGINT) AS sessions_to_autonomy \
             FROM skill_progress sp{} GROUP BY sp.skill_id",
            total("CASE WHEN sp.last_level > sp.first_level THEN 1 ELSE 0 END"),
            total(&format!(
                "CASE WHEN sp.last_level >= {} THEN 1 ELSE 0 END",
                crate::skills::TOP_LEVEL
            )),
            total("sp.last_level - sp.first_level"),
            total("COALESCE(sp.autonomous_after, 0)"),
            w.sql()
        ),
    )
}

/// The groups of a roll-up for the filters: whole months from `roll_up` (a query of the
/// roll-up `m` under a `WHERE`), the rest from the per-person rows (`from_rows`).
pub(super) fn groups_for(
    conn: &mut DbConn,
    tz: &Tz,
    filters: &Filters,
    roll_up: impl Fn(&Where) -> String,
    from_rows: fn(&mut DbConn, &Where) -> Result<Vec<GroupRow>, AppError>,
) -> Result<Vec<GroupRow>, AppError> {
    let Some(parts) = progress_parts(tz, filters) else {
        return from_rows(conn, &progress_where(tz, filters, true));
    };
    let mut rows = Vec::new();
    if let Some((first, end)) = parts.months {
        rows.extend(query::<GroupRow>(
            conn,
            &roll_up(&months_where(filters, first, end)),
        )?);
    }
    for (from, before) in parts.edges {
        rows.extend(from_rows(
            conn,
            &progress_where_between(filters, from, before, true),
        )?);
    }
    Ok(merge_groups(rows))
}

/// Per skill, for the filters.
pub(super) fn skill_groups_for(
    conn: &mut DbConn,
    tz: &Tz,
    filters: &Filters,
) -> Result<Vec<GroupRow>, AppError> {
    let roll_up = |w: &Where| {
        format!(
            "SELECT m.skill_id AS id, {people} AS assessed, {} AS progressed, \
             {} AS autonomous, {} AS gain, {people} AS pairs, {} AS to_autonomy, \
             {} AS autonomous_pairs, CAST(0 AS BIGINT) AS sessions_to_progress, \
             CAST(0 AS BIGINT) AS sessions_to_autonomy FROM skill_months m{} \
             GROUP BY m.skill_id HAVING SUM(m.people) > 0",
            total("m.progressed"),
            total("m.autonomous"),
            total("m.gain"),
            total("m.to_autonomy"),
            total("m.autonomous_pairs"),
            w.sql(),
            people = total("m.people"),
        )
    };
    groups_for(conn, tz, filters, roll_up, skill_groups)
}

/// Per domain, for the filters.
pub(super) fn domain_groups_for(
    conn: &mut DbConn,
    tz: &Tz,
    filters: &Filters,
) -> Result<Vec<GroupRow>, AppError> {
    let roll_up = |w: &Where| {
        format!(
            "SELECT m.domain_id AS id, {} AS assessed, {} AS progressed, {} AS autonomous, \
             {} AS gain, {} AS pairs, {} AS to_autonomy, {} AS autonomous_pairs, \
             {} AS sessions_to_progress, {} AS sessions_to_autonomy \
             FROM domain_months m{} GROUP BY m.domain_id HAVING SUM(m.people) > 0",
            total("m.people"),
            total("m.progressed"),
            total("m.autonomous"),
            total("m.gain"),
            total("m.skills"),
            total("m.assessments_to_autonomy"),
            total("m.autonomous_skills"),
            total("m.sessions_to_progress"),
            total("m.sessions_to_autonomy"),
            w.sql(),
        )
    };
    groups_for(conn, tz, filters, roll_up, domain_groups)
}

/// People who received equipment, as a sub-select.
pub(super) fn equipped_people_sql(filters: &Filters) -> String {
    let mut w = Where::default();
    w.int("e.programme_id", filters.programme_id)
        .int("e.organisation_id", filters.organisation_id)
        .date_until("a.handed_over_on", filters.to);
    // The items are read only when one of their columns is asked for.
    let items = if filters.programme_id.is_some() || filters.organisation_id.is_some() {
        " JOIN equipment e ON e.id = a.equipment_id"
    } else {
        ""
    };
    format!(
        "SELECT DISTINCT a.person_id FROM assignments a{items}{}",
        w.sql()
    )
}

/// Per domain, from `domain_progress` (one row per person and domain).
pub(super) fn domain_groups(conn: &mut DbConn, w: &Where) -> Result<Vec<GroupRow>, AppError> {
    domain_groups_in(conn, "domain_progress", w)
}

/// The equipped people's progress per domain. With no organisation or programme chosen (they
/// choose the devices too), from `equipped_progress`: the rows of the people handed a device,
/// with the day of their first; otherwise from the rows of `domain_progress` whose person was
/// handed one of the chosen devices.
fn equipped_groups(
    conn: &mut DbConn,
    tz: &Tz,
    filters: &Filters,
) -> Result<Vec<GroupRow>, AppError> {
    let mut w = progress_where(tz, filters, false);
    if filters.organisation_id.is_none() && filters.programme_id.is_none() {
        w.date_until("sp.equipped_on", filters.to);
        return domain_groups_in(conn, "equipped_progress", &w);
    }
    w.raw(format!(
        "sp.person_id IN ({})",
        equipped_people_sql(filters)
    ));
    domain_groups(conn, &w)
}

/// Per domain, from `table`: `domain_progress` or a table of the same columns.
fn domain_groups_in(conn: &mut DbConn, table: &str, w: &Where) -> Result<Vec<GroupRow>, AppError> {
    let sql = format!(
        "SELECT sp.domain_id AS id, COUNT(*) AS assessed, {} AS progressed, {} AS autonomous, \
         {} AS gain, {} AS pairs, {} AS to_autonomy, {} AS autonomous_pairs, \
         {} AS sessions_to_progress, {} AS sessions_to_autonomy \
         FROM {table} sp{} GROUP BY sp.domain_id",
        total("sp.progressed"),
        total("sp.autonomous"),
        total("sp.gain"),
        total("sp.skills"),
        total("sp.assessments_to_autonomy"),
        total("sp.autonomous_skills"),
        total("sp.sessions_to_progress"),
        total("sp.sessions_to_autonomy"),
        w.sql(),
    );
    query(conn, &sql)
}

pub(super) fn domain_lines(
    groups: Vec<GroupRow>,
    domains: &[(i32, String, String)],
) -> Vec<DomainLine> {
    domains
        .iter()
        .map(|(id, code, name)| {
            let g = groups.iter().find(|g| g.id == *id);
            DomainLine {
                domain_code: code.clone(),
                domain_name: name.clone(),
                people_assessed: g.map_or(0, |g| g.assessed),
                people_progressed: g.map_or(0, |g| g.progressed),
                people_autonomous: g.map_or(0, |g| g.autonomous),
                average_gain: g
                    .filter(|g| g.pairs > 0)
                    .map_or(0.0, |g| round2(g.gain as f64 / g.pairs as f64)),
                average_assessments_to_autonomy: g
                    .filter(|g| g.autonomous_pairs > 0)
                    .map(|g| round2(g.to_autonomy as f64 / g.autonomous_pairs as f64)),
                average_sessions_to_progress: g
                    .filter(|g| g.progressed > 0)
                    .map(|g| round2(g.sessions_to_progress as f64 / g.progressed as f64)),
                average_sessions_to_autonomy: g
                    .filter(|g| g.autonomous_pairs > 0)
                    .map(|g| round2(g.sessions_to_autonomy as f64 / g.autonomous_pairs as f64)),
            }
        })
        .collect()
}

/// The headline figures of the skills report (what the summary page shows).
#[derive(Serialize, Debug, Clone)]
pub struct SkillsSummary {
    pub people: i64,
    pub assessed_people: i64,
    pub equipped_people: i64,
    pub equipped_and_autonomous_on_any: i64,
}

pub fn skills_summary(
    conn: &mut DbConn,
    tz: &Tz,
    filters: &Filters,
) -> Result<SkillsSummary, AppError> {
    let w = progress_where(tz, filters, true);
    let mut people_w = Where::default();
    people_w
        .raw("p.merged_into IS NULL".into())
        .int("p.organisation_id", filters.organisation_id);
    if let Some(pid) = filters.programme_id {
        people_w.raw(format!(
            "p.id IN (SELECT person_id FROM person_programmes WHERE programme_id = {pid})"
        ));
    }
    if let Some(to) = filters.to.and_then(|d| d.succ_opt()) {
        people_w.time_before("p.created_at", Some(day_start(tz, to)));
    }
    let people_count = query::<CountRow>(
        conn,
        &format!("SELECT COUNT(*) AS n FROM people p{}", people_w.sql()),
    )?
    .first()
    .map_or(0, |r| r.n);

    let assessed_people = query::<CountRow>(
        conn,
        &format!(
            "SELECT COUNT(*) AS n FROM (SELECT DISTINCT sp.person_id FROM skill_progress sp{}) x",
            w.sql()
        ),
    )?
    .first()
    .map_or(0, |r| r.n);

    // The funder's question, on the people equipped (through the programme, when chosen).
    let equipped = equipped_people_sql(filters);
    let equipped_people =
        query::<CountRow>(conn, &format!("SELECT COUNT(*) AS n FROM ({equipped}) x"))?
            .first()
            .map_or(0, |r| r.n);
    let mut ew = progress_where(tz, filters, false);
    ew.raw(format!("sp.person_id IN ({equipped})"));
    let equipped_and_autonomous_on_any = query::<CountRow>(
        conn,
        &format!(
            "SELECT COUNT(*) AS n FROM (SELECT DISTINCT sp.person_id FROM skill_progress sp{} \
             {} sp.last_level >= {}) x",
            ew.sql(),
            if ew.sql().is_empty() { "WHERE" } else { "AND" },
            crate::skills::TOP_LEVEL
        ),
    )?
    .first()
    .map_or(0, |r| r.n);
    Ok(SkillsSummary {
        people: people_count,
        assessed_people,
        equipped_people,
        equipped_and_autonomous_on_any,
    })
}

pub fn skills_progress(
    conn: &mut DbConn,
    tz: &Tz,
    filters: &Filters,
) -> Result<SkillsProgress, AppError> {
    let skill_rows = skill_groups_for(conn, tz, filters)?;
    let referential: Vec<(i32, String, String, String, Option<NaiveDateTime>)> = skills::table
        .inner_join(skill_domains::table)
        .order((skill_domains::position, skills::position))
        .select((
            skills::id,
            skills::code,
            skills::name,
            skill_domains::code,
            skills::retired_at,
        ))
        .load(conn)?;
    let per_skill = referential
        .iter()
        .filter_map(|(id, code, name, domain_code, retired)| {
            let row = skill_rows.iter().find(|r| r.id == *id);
            // A retired skill shows only where it was assessed.
            if retired.is_some() && row.is_none() {
                return None;
            }
            Some(SkillLine {
                skill_code: code.clone(),
                skill_name: name.clone(),
                domain_code: domain_code.clone(),
                people_assessed: row.map_or(0, |r| r.assessed),
                people_progressed: row.map_or(0, |r| r.progressed),
                people_autonomous: row.map_or(0, |r| r.autonomous),
                average_gain: row
                    .filter(|r| r.assessed > 0)
                    .map_or(0.0, |r| round2(r.gain as f64 / r.assessed as f64)),
            })
        })
        .collect();
    let domains: Vec<(i32, String, String)> = skill_domains::table
        .order(skill_domains::position)
        .select((skill_domains::id, skill_domains::code, skill_domains::name))
        .load(conn)?;
    let per_domain = domain_lines(domain_groups_for(conn, tz, filters)?, &domains);

    // Month by month: skills started, progressed and become autonomous.
    let today = chrono::Utc::now().with_timezone(tz).date_naive();
    let (first_month, last_month) = months(filters, today);
    let labels = month_labels(first_month, last_month);
    let mut by_month: Vec<ProgressMonth> = labels
        .iter()
        .map(|m| ProgressMonth {
            month: m.clone(),
            started: 0,
            progressed: 0,
            autonomous: 0,
        })
        .collect();
    // By UTC month, as the roll-ups count them.
    let window_start = first_month.and_hms_opt(0, 0, 0).expect("midnight");
    let window_end = (last_month + Months::new(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    let mut counted = |month: &str, slot: usize, n: i64| {
        if let Some(m) = by_month.iter_mut().find(|m| m.month == month) {
            match slot {
                0 => m.started += n,
                1 => m.progressed += n,
                _ => m.autonomous += n,
            }
        }
    };
    if progress_parts(tz, filters).is_some() {
        let rows: Vec<EventMonthRow> = query(
            conn,
            &format!(
                "SELECT m.month AS month, {} AS started, {} AS progressed, {} AS autonomous \
                 FROM progress_months m{} GROUP BY m.month",
                total("m.started"),
                total("m.progressed"),
                total("m.autonomous"),
                months_where(
                    filters,
                    Some(first_month),
                    Some(last_month + Months::new(1))
                )
                .sql(),
            ),
        )?;
        for r in rows {
            let label = r.month.format("%Y-%m").to_string();
            counted(&label, 0, r.started);
            counted(&label, 1, r.progressed);
            counted(&label, 2, r.autonomous);
        }
    } else {
        for (column, slot) in [("first_at", 0), ("progressed_at", 1), ("autonomous_at", 2)] {
            let mut mw = progress_where_between(filters, None, None, true);
            mw.time_from(&format!("sp.{column}"), Some(window_start))
                .time_before(&format!("sp.{column}"), Some(window_end));
            let month = month_of(conn, &format!("sp.{column}"));
            let rows: Vec<MonthRow> = query(
                conn,
                &format!(
                    "SELECT {month} AS month, COUNT(*) AS n FROM skill_progress sp{} GROUP BY {month}",
                    mw.sql()
                ),
            )?;
            for r in rows {
                counted(&r.month, slot, r.n);
            }
        }
    }

    let summary = skills_summary(conn, tz, filters)?;
    let equipped_per_domain = domain_lines(equipped_groups(conn, tz, filters)?, &domains);

    Ok(SkillsProgress {
        people: summary.people,
        assessed_people: summary.assessed_people,
        per_skill,
        per_domain,
        by_month,
        equipped_people: summary.equipped_people,
        equipped_and_autonomous_on_any: summary.equipped_and_autonomous_on_any,
        equipped_per_domain,
        filters: filters.clone(),
    })
}

// ---------------------------------------------------------------------------------------
// Activity
