//! The equipment report: devices by status and programme, people equipped.

use chrono::NaiveDate;
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::equipment;
use crate::db::DbConn;
use crate::error::AppError;
use crate::status::EquipmentStatus;

use super::filters::*;
use super::skills::{equipped_people_sql, CountRow};

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
    let items: Vec<(String, EquipmentStatus, Option<i32>, Option<NaiveDate>)> = q
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
    let by_status = EquipmentStatus::ALL
        .iter()
        .map(|status| Count {
            key: status.as_str().to_string(),
            label: status.label().to_string(),
            count: items.iter().filter(|i| i.1 == *status).count() as i64,
        })
        .collect();
    let names = names(conn, Named::Programmes)?;
    let mut per_programme: std::collections::BTreeMap<Option<i32>, (i64, i64)> = Default::default();
    for i in &items {
        let e = per_programme.entry(i.2).or_default();
        e.0 += 1;
        if i.1 == EquipmentStatus::Assigned {
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
        .filter(|i| i.0 == "sim_card" && i.1 == EquipmentStatus::Assigned)
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
