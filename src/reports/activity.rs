//! The activity report: appointments, attendance, places and thématiques by month.

use chrono::{Datelike, Months, NaiveDate};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::Serialize;

use crate::db::DbConn;
use crate::error::AppError;

use super::filters::*;

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
pub(super) struct ActivityRow {
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
pub(super) struct Parts {
    months: Option<(Option<NaiveDate>, Option<NaiveDate>)>,
    days: Vec<(NaiveDate, NaiveDate)>,
}

pub(super) fn split_period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Parts {
    use crate::rollups::{month_end, month_start};
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
pub(super) fn activity_source(
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
    let date = |d: NaiveDate| crate::rollups::date_literal(conn, d);
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
pub(super) const ACTIVITY_COLUMNS: &str =
    "place_id, appointments, workshops, cancelled_appointments, booked, attended, \
     no_show, excused, cancelled, minutes";

pub(super) fn activity_rows(
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
    crate::rollups::flush(conn, tz)?;
    let figures = activity_rows(conn, None, filters)?
        .first()
        .map(ActivityRow::figures)
        .unwrap_or_default();

    let today = chrono::Utc::now().with_timezone(tz).date_naive();
    let (first_month, last_month) = months(filters, today);
    let months_filters = Filters {
        from: Some(filters.from.map_or(first_month, |f| f.max(first_month))),
        to: Some(crate::rollups::month_end(last_month)),
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
