//! What managers and funders ask: skills progress, activity and equipment, by period,
//! programme, place, mediator (and organisation, for admins). Reports read the aggregates of
//! [`maintain`], so they stay fast on a département's data.
//!
//! SQL here is assembled from typed values only (integers, dates, times); see [`Where`].

pub mod api;
pub mod breakdowns;
pub mod charts;
pub mod demo;
pub mod export;
pub mod maintain;
pub mod skill_months;
pub mod web;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use serde::Serialize;

use crate::auth::{Role, StaffUser};
use crate::db::schema::{equipment, places, programmes, skill_domains, skills, users};
use crate::db::DbConn;
use crate::error::{AppError, FieldErrors};

/// The filters every report and export shares, as given in the query string.
#[derive(Debug, Default, Clone, serde::Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// Début de période (AAAA-MM-JJ, heure locale)
    #[param(format = Date)]
    pub from: Option<String>,
    /// Fin de période incluse (AAAA-MM-JJ)
    #[param(format = Date)]
    pub to: Option<String>,
    /// Dispositif : les personnes qui en relèvent (matériel : celui du dispositif)
    pub programme_id: Option<i32>,
    pub place_id: Option<i32>,
    pub mediator_id: Option<i32>,
    /// Admins seulement ; ignoré pour les autres rôles (leur structure)
    pub organisation_id: Option<i32>,
}

/// Checked filters, scoped to what the user may see.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Filters {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub programme_id: Option<i32>,
    pub place_id: Option<i32>,
    pub mediator_id: Option<i32>,
    pub organisation_id: Option<i32>,
}

/// Reports are for managers and admins.
pub fn require_reader(user: &StaffUser) -> Result<(), AppError> {
    user.require(&[Role::Admin, Role::Manager])
        .map_err(|_| AppError::Forbidden("Les rapports sont réservés aux coordinateurs.".into()))
}

impl FilterQuery {
    pub fn check(&self, conn: &mut DbConn, user: &StaffUser) -> Result<Filters, AppError> {
        let mut errors = FieldErrors::new();
        let mut date = |field: &str, text: &Option<String>| -> Option<NaiveDate> {
            // Empty on the API is refused (pages leave empty values out before this).
            let text = text.as_deref().map(str::trim)?;
            let parsed = crate::time::parse_date(text);
            if parsed.is_none() {
                errors
                    .entry(field.into())
                    .or_default()
                    .push("Date attendue au format AAAA-MM-JJ.".into());
            }
            parsed
        };
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                errors
                    .entry("to".into())
                    .or_default()
                    .push("La fin de la période précède son début.".into());
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        // Managers see their organisation only; an admin may pick one.
        let organisation_id = match user.scope() {
            Some(own) => Some(own),
            None => self.organisation_id,
        };
        if let Some(id) = self.place_id {
            let owner: Option<i32> = places::table
                .find(id)
                .select(places::organisation_id)
                .first(conn)
                .optional()?;
            if !owner.is_some_and(|o| user.can_see(o)) {
                return Err(AppError::field("place_id", "Lieu inconnu."));
            }
        }
        if let Some(id) = self.mediator_id {
            let owner: Option<i32> = users::table
                .find(id)
                .select(users::organisation_id)
                .first(conn)
                .optional()?;
            if !owner.is_some_and(|o| user.can_see(o)) {
                return Err(AppError::field("mediator_id", "Médiateur inconnu."));
            }
        }
        if let Some(id) = self.programme_id {
            let found: Option<i32> = programmes::table
                .find(id)
                .select(programmes::id)
                .first(conn)
                .optional()?;
            if found.is_none() {
                return Err(AppError::field("programme_id", "Dispositif inconnu."));
            }
        }
        Ok(Filters {
            from,
            to,
            programme_id: self.programme_id,
            place_id: self.place_id,
            mediator_id: self.mediator_id,
            organisation_id,
        })
    }
}

impl Filters {
    /// The query string that reproduces these filters (for links to exports and pages).
    pub fn query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.from {
            parts.push(format!("from={d}"));
        }
        if let Some(d) = self.to {
            parts.push(format!("to={d}"));
        }
        for (name, value) in [
            ("programme_id", self.programme_id),
            ("place_id", self.place_id),
            ("mediator_id", self.mediator_id),
            ("organisation_id", self.organisation_id),
        ] {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        }
        parts.join("&")
    }
}

/// UTC start of a local day.
pub fn day_start(tz: &Tz, day: NaiveDate) -> NaiveDateTime {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(midnight)
}

/// A `WHERE` clause built from typed values only.
#[derive(Default)]
pub struct Where(Vec<String>);

impl Where {
    pub fn int(&mut self, column: &str, value: Option<i32>) -> &mut Self {
        if let Some(v) = value {
            self.0.push(format!("{column} = {v}"));
        }
        self
    }

    pub fn time_from(&mut self, column: &str, value: Option<NaiveDateTime>) -> &mut Self {
        if let Some(v) = value {
            self.0
                .push(format!("{column} >= {}", crate::db::bulk::time(v)));
        }
        self
    }

    pub fn time_before(&mut self, column: &str, value: Option<NaiveDateTime>) -> &mut Self {
        if let Some(v) = value {
            self.0
                .push(format!("{column} < {}", crate::db::bulk::time(v)));
        }
        self
    }

    pub fn date_from(&mut self, column: &str, value: Option<NaiveDate>) -> &mut Self {
        if let Some(v) = value {
            self.0
                .push(format!("{column} >= {}", crate::db::bulk::date(v)));
        }
        self
    }

    pub fn date_before(&mut self, column: &str, value: Option<NaiveDate>) -> &mut Self {
        if let Some(v) = value {
            self.0
                .push(format!("{column} < {}", crate::db::bulk::date(v)));
        }
        self
    }

    pub fn date_until(&mut self, column: &str, value: Option<NaiveDate>) -> &mut Self {
        if let Some(v) = value {
            self.0
                .push(format!("{column} <= {}", crate::db::bulk::date(v)));
        }
        self
    }

    /// A fixed condition written in this module.
    pub fn raw(&mut self, condition: String) -> &mut Self {
        self.0.push(condition);
        self
    }

    pub fn sql(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.0.join(" AND "))
        }
    }
}

/// Tables whose rows the reports and exports name.
#[derive(Clone, Copy)]
pub enum Named {
    Users,
    Places,
    Programmes,
}

/// Every id of the table with its name (the tables are small: staff, places, programmes).
pub fn names(
    conn: &mut DbConn,
    table: Named,
) -> Result<std::collections::HashMap<i32, String>, AppError> {
    let rows: Vec<(i32, String)> = match table {
        Named::Users => users::table.select((users::id, users::name)).load(conn)?,
        Named::Places => places::table
            .select((places::id, places::name))
            .load(conn)?,
        Named::Programmes => programmes::table
            .select((programmes::id, programmes::name))
            .load(conn)?,
    };
    Ok(rows.into_iter().collect())
}

/// Runs a query on whichever backend the connection is.
pub fn query<T>(conn: &mut DbConn, sql: &str) -> Result<Vec<T>, AppError>
where
    T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
{
    Ok(match conn {
        DbConn::Sqlite(c) => diesel::sql_query(sql).load(c)?,
        DbConn::Pg(c) => diesel::sql_query(sql).load(c)?,
    })
}

/// `YYYY-MM` of a date or time column.
fn month_of(conn: &DbConn, column: &str) -> String {
    match conn {
        DbConn::Sqlite(_) => format!("substr(CAST({column} AS TEXT), 1, 7)"),
        DbConn::Pg(_) => format!("to_char({column}, 'YYYY-MM')"),
    }
}

/// A sum that is a 64-bit integer on both backends, 0 when nothing matched.
fn total(expr: &str) -> String {
    format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)")
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Months shown month by month: the period's, or the last twelve up to its end.
fn months(filters: &Filters, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let end = filters.to.unwrap_or(today);
    let end_month = NaiveDate::from_ymd_opt(end.year(), end.month(), 1).expect("valid month");
    let start = filters
        .from
        .map(|f| NaiveDate::from_ymd_opt(f.year(), f.month(), 1).expect("valid month"))
        .unwrap_or_else(|| end_month - Months::new(11));
    (start, end_month)
}

fn month_labels(start: NaiveDate, end: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let mut m = start;
    while m <= end && out.len() < 240 {
        out.push(m.format("%Y-%m").to_string());
        m = m + Months::new(1);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Skills progress

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
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct GroupRow {
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
struct EventMonthRow {
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
struct MonthRow {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The conditions on `skill_progress sp` for these filters (the programme as membership).
fn progress_where(tz: &Tz, filters: &Filters, with_programme: bool) -> Where {
    let (from, before) = period_bounds(tz, filters);
    progress_where_between(filters, from, before, with_programme)
}

/// The UTC bounds of the period: its first instant and the first after it.
fn period_bounds(tz: &Tz, filters: &Filters) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    (
        filters.from.map(|d| day_start(tz, d)),
        filters
            .to
            .and_then(|d| d.succ_opt())
            .map(|d| day_start(tz, d)),
    )
}

/// As [`progress_where`], with the latest assessment between `from` and `before`.
fn progress_where_between(
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
struct ProgressParts {
    months: Option<(Option<NaiveDate>, Option<NaiveDate>)>,
    edges: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)>,
}

fn progress_parts(tz: &Tz, filters: &Filters) -> Option<ProgressParts> {
    if filters.place_id.is_some() || filters.mediator_id.is_some() {
        return None;
    }
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight exists");
    let (from, before) = period_bounds(tz, filters);
    let first = from.map(|t| {
        let m = maintain::month_start(t.date());
        if midnight(m) == t {
            m
        } else {
            m + Months::new(1)
        }
    });
    let end = before.map(|t| maintain::month_start(t.date()));
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
fn months_where(filters: &Filters, first: Option<NaiveDate>, end: Option<NaiveDate>) -> Where {
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
fn merge_groups(rows: Vec<GroupRow>) -> Vec<GroupRow> {
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
fn skill_groups(conn: &mut DbConn, w: &Where) -> Result<Vec<GroupRow>, AppError> {
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
fn groups_for(
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
fn skill_groups_for(
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
fn domain_groups_for(
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
fn equipped_people_sql(filters: &Filters) -> String {
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
fn domain_groups(conn: &mut DbConn, w: &Where) -> Result<Vec<GroupRow>, AppError> {
    let sql = format!(
        "SELECT sp.domain_id AS id, COUNT(*) AS assessed, {} AS progressed, {} AS autonomous, \
         {} AS gain, {} AS pairs, {} AS to_autonomy, {} AS autonomous_pairs, \
         {} AS sessions_to_progress, {} AS sessions_to_autonomy \
         FROM domain_progress sp{} GROUP BY sp.domain_id",
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

fn domain_lines(groups: Vec<GroupRow>, domains: &[(i32, String, String)]) -> Vec<DomainLine> {
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
    let mut ew = progress_where(tz, filters, false);
    ew.raw(format!(
        "sp.person_id IN ({})",
        equipped_people_sql(filters)
    ));
    let equipped_per_domain = domain_lines(domain_groups(conn, &ew)?, &domains);

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

#[derive(Serialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct ActivityFigures {
    pub appointments: i64,
    pub workshops: i64,
    pub cancelled_appointments: i64,
    /// Seats taken: booked, attended, absent or excused.
    pub participants: i64,
    pub booked: i64,
    pub attended: i64,
    pub no_show: i64,
    pub excused: i64,
    pub cancelled: i64,
    /// Hours of mediation received (each attendee's session length).
    pub hours: f64,
    /// attended / (attended + no_show)
    pub attendance_rate: Option<f64>,
    /// no_show / (attended + no_show)
    pub no_show_rate: Option<f64>,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct ActivityMonth {
    pub month: String,
    #[serde(flatten)]
    pub figures: ActivityFigures,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct ActivityPlace {
    pub place_id: i32,
    pub place_name: String,
    #[serde(flatten)]
    pub figures: ActivityFigures,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct TopicLine {
    pub topic: String,
    pub label: String,
    pub sessions: i64,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct Activity {
    #[serde(flatten)]
    pub figures: ActivityFigures,
    pub by_month: Vec<ActivityMonth>,
    pub by_place: Vec<ActivityPlace>,
    pub by_topic: Vec<TopicLine>,
    pub filters: Filters,
}

#[derive(QueryableByName)]
struct ActivityRow {
    #[diesel(sql_type = Nullable<Text>)]
    label: Option<String>,
    #[diesel(sql_type = BigInt)]
    appointments: i64,
    #[diesel(sql_type = BigInt)]
    workshops: i64,
    #[diesel(sql_type = BigInt)]
    cancelled_appointments: i64,
    #[diesel(sql_type = BigInt)]
    booked: i64,
    #[diesel(sql_type = BigInt)]
    attended: i64,
    #[diesel(sql_type = BigInt)]
    no_show: i64,
    #[diesel(sql_type = BigInt)]
    excused: i64,
    #[diesel(sql_type = BigInt)]
    cancelled: i64,
    #[diesel(sql_type = BigInt)]
    minutes: i64,
}

impl ActivityRow {
    fn figures(&self) -> ActivityFigures {
        let known = self.attended + self.no_show;
        ActivityFigures {
            appointments: self.appointments,
            workshops: self.workshops,
            cancelled_appointments: self.cancelled_appointments,
            participants: self.booked + self.attended + self.no_show + self.excused,
            booked: self.booked,
            attended: self.attended,
            no_show: self.no_show,
            excused: self.excused,
            cancelled: self.cancelled,
            hours: round2(self.minutes as f64 / 60.0),
            attendance_rate: ratio(self.attended, known),
            no_show_rate: ratio(self.no_show, known),
        }
    }
}

/// The rows a period reads: whole months from the monthly roll-up, the days at either end
/// from the daily rows. `None` bounds are open.
#[derive(Debug, PartialEq)]
struct Parts {
    months: Option<(Option<NaiveDate>, Option<NaiveDate>)>,
    days: Vec<(NaiveDate, NaiveDate)>,
}

fn split_period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Parts {
    use maintain::{month_end, month_start};
    let first_full = from.map(|f| {
        if f.day() == 1 {
            f
        } else {
            month_start(f) + Months::new(1)
        }
    });
    let last_full = to.map(|t| {
        if t == month_end(t) {
            month_start(t)
        } else {
            month_start(t) - Months::new(1)
        }
    });
    if let (Some(f), Some(l), Some(from), Some(to)) = (first_full, last_full, from, to) {
        if f > l {
            return Parts {
                months: None,
                days: vec![(from, to)],
            };
        }
    }
    let mut days = Vec::new();
    if let Some(f) = from.filter(|f| f.day() != 1) {
        days.push((f, month_end(f)));
    }
    if let Some(t) = to.filter(|t| *t != month_end(*t)) {
        days.push((month_start(t), t));
    }
    Parts {
        months: Some((first_full, last_full)),
        days,
    }
}

/// A sub-select named `ad` with the columns `day` (a month's first day for whole months) and
/// `columns`, holding the rows of the filters and period, from the daily and monthly tables.
fn activity_source(
    conn: &DbConn,
    daily: &str,
    monthly: &str,
    columns: &str,
    filters: &Filters,
) -> String {
    let mut w = Where::default();
    w.raw(format!(
        "programme_id = {}",
        filters.programme_id.unwrap_or(0)
    ))
    .int("organisation_id", filters.organisation_id);
    let mut daily_w = Where(w.0.clone());
    daily_w
        .int("place_id", filters.place_id)
        .int("mediator_id", filters.mediator_id);
    // The thématiques' monthly roll-up has no place nor mediator: with those filters, days.
    let monthly_by_place = monthly != "topic_months";
    if !monthly_by_place && (filters.place_id.is_some() || filters.mediator_id.is_some()) {
        let mut range = Where(daily_w.0.clone());
        range
            .date_from("day", filters.from)
            .date_until("day", filters.to);
        return format!("(SELECT day, {columns} FROM {daily}{}) ad", range.sql());
    }
    if monthly_by_place {
        w = Where(daily_w.0.clone());
    }
    let common = w.0.join(" AND ");
    let daily_common = daily_w.0.join(" AND ");
    let parts = split_period(filters.from, filters.to);
    let date = |d: NaiveDate| maintain::date_literal(conn, d);
    let mut branches = Vec::new();
    if let Some((first, last)) = parts.months {
        let mut range = String::new();
        if let Some(f) = first {
            range.push_str(&format!(" AND month >= {}", date(f)));
        }
        if let Some(l) = last {
            range.push_str(&format!(" AND month <= {}", date(l)));
        }
        branches.push(format!(
            "SELECT month AS day, {columns} FROM {monthly} WHERE {common}{range}"
        ));
    }
    if !parts.days.is_empty() {
        let ranges = parts
            .days
            .iter()
            .map(|(a, b)| format!("(day >= {} AND day <= {})", date(*a), date(*b)))
            .collect::<Vec<_>>()
            .join(" OR ");
        branches.push(format!(
            "SELECT day, {columns} FROM {daily} WHERE {daily_common} AND ({ranges})"
        ));
    }
    format!("({}) ad", branches.join(" UNION ALL "))
}

/// `place_id` is there for the figures by place; the others are summed.
const ACTIVITY_COLUMNS: &str =
    "place_id, appointments, workshops, cancelled_appointments, booked, attended, \
     no_show, excused, cancelled, minutes";

fn activity_rows(
    conn: &mut DbConn,
    label: Option<&str>,
    filters: &Filters,
) -> Result<Vec<ActivityRow>, AppError> {
    let columns = ACTIVITY_COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|c| *c != "place_id")
        .map(|c| format!("{} AS {c}", total(&format!("ad.{c}"))))
        .collect::<Vec<_>>()
        .join(", ");
    let source = activity_source(
        conn,
        "activity_days",
        "activity_months",
        ACTIVITY_COLUMNS,
        filters,
    );
    let sql = match label {
        Some(label) => format!("SELECT {label} AS label, {columns} FROM {source} GROUP BY {label}"),
        None => format!("SELECT CAST(NULL AS TEXT) AS label, {columns} FROM {source}"),
    };
    query(conn, &sql)
}

pub fn activity(conn: &mut DbConn, tz: &Tz, filters: &Filters) -> Result<Activity, AppError> {
    maintain::flush(conn, tz)?;
    let figures = activity_rows(conn, None, filters)?
        .first()
        .map(ActivityRow::figures)
        .unwrap_or_default();

    let today = chrono::Utc::now().with_timezone(tz).date_naive();
    let (first_month, last_month) = months(filters, today);
    let months_filters = Filters {
        from: Some(filters.from.map_or(first_month, |f| f.max(first_month))),
        to: Some(maintain::month_end(last_month)),
        ..filters.clone()
    };
    let month = month_of(conn, "ad.day");
    let monthly = activity_rows(conn, Some(&month), &months_filters)?;
    let by_month = month_labels(first_month, last_month)
        .into_iter()
        .map(|m| ActivityMonth {
            figures: monthly
                .iter()
                .find(|r| r.label.as_deref() == Some(m.as_str()))
                .map(ActivityRow::figures)
                .unwrap_or_default(),
            month: m,
        })
        .collect();

    let per_place = activity_rows(conn, Some("CAST(ad.place_id AS TEXT)"), filters)?;
    let place_names = names(conn, Named::Places)?;
    let mut by_place: Vec<ActivityPlace> = per_place
        .iter()
        .filter_map(|r| {
            let id: i32 = r.label.as_deref()?.parse().ok()?;
            Some(ActivityPlace {
                place_id: id,
                place_name: place_names.get(&id).cloned().unwrap_or_default(),
                figures: r.figures(),
            })
        })
        .collect();
    by_place.sort_by(|a, b| {
        b.figures
            .appointments
            .cmp(&a.figures.appointments)
            .then(a.place_name.cmp(&b.place_name))
    });

    #[derive(QueryableByName)]
    struct TopicRow {
        #[diesel(sql_type = Text)]
        topic: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let topics: Vec<TopicRow> = query(
        conn,
        &format!(
            "SELECT ad.topic AS topic, {} AS n FROM {} GROUP BY ad.topic",
            total("ad.sessions"),
            activity_source(
                conn,
                "topic_days",
                "topic_months",
                "topic, sessions",
                filters
            )
        ),
    )?;
    let mut by_topic: Vec<TopicLine> = topics
        .into_iter()
        .map(|t| TopicLine {
            label: crate::skills::topics::label(&t.topic)
                .unwrap_or(&t.topic)
                .to_string(),
            topic: t.topic,
            sessions: t.n,
        })
        .collect();
    by_topic.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(a.topic.cmp(&b.topic)));

    Ok(Activity {
        figures,
        by_month,
        by_place,
        by_topic,
        filters: filters.clone(),
    })
}

// ---------------------------------------------------------------------------------------
// Equipment

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct Count {
    pub key: String,
    pub label: String,
    pub count: i64,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct ProgrammeCount {
    pub programme_id: Option<i32>,
    pub name: String,
    pub count: i64,
    pub assigned: i64,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct EquipmentReport {
    pub total: i64,
    pub by_kind: Vec<Count>,
    pub by_status: Vec<Count>,
    pub by_programme: Vec<ProgrammeCount>,
    /// Handovers and returns within the period.
    pub handed_over: i64,
    pub returned: i64,
    pub people_equipped: i64,
    pub overdue_loans: i64,
    pub sim_cards_ending_within_30_days: i64,
    pub filters: Filters,
}

pub fn equipment_report(
    conn: &mut DbConn,
    tz: &Tz,
    filters: &Filters,
) -> Result<EquipmentReport, AppError> {
    let today = chrono::Utc::now().with_timezone(tz).date_naive();
    let mut q = equipment::table.into_boxed();
    if let Some(o) = filters.organisation_id {
        q = q.filter(equipment::organisation_id.eq(o));
    }
    if let Some(p) = filters.programme_id {
        q = q.filter(equipment::programme_id.eq(p));
    }
    let items: Vec<(String, String, Option<i32>, Option<NaiveDate>)> = q
        .select((
            equipment::kind,
            equipment::status,
            equipment::programme_id,
            equipment::valid_until,
        ))
        .load(conn)?;
    let mut by_kind: Vec<Count> = crate::equipment::KINDS
        .iter()
        .map(|(k, label)| Count {
            key: k.to_string(),
            label: label.to_string(),
            count: items.iter().filter(|i| i.0 == *k).count() as i64,
        })
        .collect();
    by_kind.retain(|c| c.count > 0);
    let by_status = crate::equipment::STATUSES
        .iter()
        .map(|(k, label)| Count {
            key: k.to_string(),
            label: label.to_string(),
            count: items.iter().filter(|i| i.1 == *k).count() as i64,
        })
        .collect();
    let names = names(conn, Named::Programmes)?;
    let mut per_programme: std::collections::BTreeMap<Option<i32>, (i64, i64)> = Default::default();
    for i in &items {
        let e = per_programme.entry(i.2).or_default();
        e.0 += 1;
        if i.1 == "assigned" {
            e.1 += 1;
        }
    }
    let mut by_programme: Vec<ProgrammeCount> = per_programme
        .into_iter()
        .map(|(id, (count, assigned))| ProgrammeCount {
            programme_id: id,
            name: id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| "Sans dispositif".into()),
            count,
            assigned,
        })
        .collect();
    by_programme.sort_by_key(|p| std::cmp::Reverse(p.count));
    let soon = today + chrono::Duration::days(30);
    let sim_cards_ending_within_30_days = items
        .iter()
        .filter(|i| i.0 == "sim_card" && i.1 == "assigned")
        .filter(|i| i.3.is_some_and(|d| d >= today && d <= soon))
        .count() as i64;

    let mut w = Where::default();
    w.int("e.organisation_id", filters.organisation_id)
        .int("e.programme_id", filters.programme_id);
    let base = format!(
        "FROM assignments a JOIN equipment e ON e.id = a.equipment_id{}",
        w.sql()
    );
    let and = if w.sql().is_empty() { "WHERE" } else { "AND" };
    let count = |conn: &mut DbConn, extra: String| -> Result<i64, AppError> {
        Ok(
            query::<CountRow>(conn, &format!("SELECT COUNT(*) AS n {base} {and} {extra}"))?
                .first()
                .map_or(0, |r| r.n),
        )
    };
    let period = |column: &str| {
        let mut p = Where::default();
        p.raw(format!("{column} IS NOT NULL"))
            .date_from(column, filters.from)
            .date_until(column, filters.to);
        p.0.join(" AND ")
    };
    let handed_over = count(conn, period("a.handed_over_on"))?;
    let returned = count(conn, period("a.returned_on"))?;
    let people_equipped = query::<CountRow>(
        conn,
        &format!(
            "SELECT COUNT(*) AS n FROM ({}) x",
            equipped_people_sql(filters)
        ),
    )?
    .first()
    .map_or(0, |r| r.n);
    let overdue_loans = count(
        conn,
        format!(
            "a.mode = 'loan' AND a.returned_on IS NULL AND a.due_back_on < {}",
            crate::db::bulk::date(today)
        ),
    )?;
    Ok(EquipmentReport {
        total: items.len() as i64,
        by_kind,
        by_status,
        by_programme,
        handed_over,
        returned,
        people_equipped,
        overdue_loans,
        sim_cards_ending_within_30_days,
        filters: filters.clone(),
    })
}

/// Names for the filter form: programmes, places, mediators and (admins) organisations.
#[derive(Serialize, Default)]
pub struct FilterChoices {
    pub programmes: Vec<(i32, String)>,
    pub places: Vec<(i32, String)>,
    pub mediators: Vec<(i32, String)>,
    pub organisations: Vec<(i32, String)>,
    /// An admin who chose no structure: the places and mediators are listed once a structure
    /// is chosen (the département's 150 places and 300 mediators would weigh 30 KB a page).
    pub choose_organisation_first: bool,
}

/// The filter form's lists: the places and mediators of the structure in view (the user's, or
/// the one an admin chose), and those the filters name.
pub fn filter_choices(
    conn: &mut DbConn,
    user: &StaffUser,
    filters: &Filters,
) -> Result<FilterChoices, AppError> {
    use crate::db::schema::organisations;
    let programmes = programmes::table
        .order(programmes::name)
        .select((programmes::id, programmes::name))
        .load(conn)?;
    let in_view = user.scope().or(filters.organisation_id);
    let (places, mediators) = match in_view {
        Some(o) => (
            places::table
                .filter(places::organisation_id.eq(o))
                .order(places::name)
                .select((places::id, places::name))
                .load(conn)?,
            users::table
                .filter(users::role.eq("mediator"))
                .filter(users::organisation_id.eq(o))
                .order(users::name)
                .select((users::id, users::name))
                .load(conn)?,
        ),
        None => (
            places::table
                .filter(places::id.nullable().eq(filters.place_id))
                .select((places::id, places::name))
                .load(conn)?,
            users::table
                .filter(users::id.nullable().eq(filters.mediator_id))
                .select((users::id, users::name))
                .load(conn)?,
        ),
    };
    let organisations = if user.is_admin() {
        organisations::table
            .order(organisations::name)
            .select((organisations::id, organisations::name))
            .load(conn)?
    } else {
        Vec::new()
    };
    Ok(FilterChoices {
        programmes,
        places,
        mediators,
        organisations,
        choose_organisation_first: in_view.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_period_reads_whole_months_and_the_days_at_either_end() {
        let p = split_period(Some(d("2026-01-15")), Some(d("2026-04-10")));
        assert_eq!(
            p.months,
            Some((Some(d("2026-02-01")), Some(d("2026-03-01"))))
        );
        assert_eq!(
            p.days,
            vec![
                (d("2026-01-15"), d("2026-01-31")),
                (d("2026-04-01"), d("2026-04-10"))
            ]
        );
        let whole = split_period(Some(d("2026-02-01")), Some(d("2026-02-28")));
        assert_eq!(
            whole.months,
            Some((Some(d("2026-02-01")), Some(d("2026-02-01"))))
        );
        assert!(whole.days.is_empty());
        let inside = split_period(Some(d("2026-02-03")), Some(d("2026-02-20")));
        assert_eq!(inside.months, None);
        assert_eq!(inside.days, vec![(d("2026-02-03"), d("2026-02-20"))]);
        let next_door = split_period(Some(d("2026-02-20")), Some(d("2026-03-05")));
        assert_eq!(next_door.months, None);
        assert_eq!(next_door.days, vec![(d("2026-02-20"), d("2026-03-05"))]);
        let open = split_period(None, None);
        assert_eq!(open.months, Some((None, None)));
        assert!(open.days.is_empty());
        let from_only = split_period(Some(d("2026-02-20")), None);
        assert_eq!(from_only.months, Some((Some(d("2026-03-01")), None)));
        assert_eq!(from_only.days, vec![(d("2026-02-20"), d("2026-02-28"))]);
    }
}
