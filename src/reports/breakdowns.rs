//! Who the people served are, as funders ask: by gender, age band (the Coop's), social status
//! and commune. "Served" is a distinct person who attended at least one appointment matching
//! the filters (period, organisation, place, mediator, programme).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use serde::Serialize;

use super::{query, Filters, Where};
use crate::db::DbConn;
use crate::error::AppError;
use crate::people::funder::{age_band, AGE_BANDS, GENDERS, SOCIAL_STATUSES};

/// Counts of distinct people; every known key is present (0 when nobody), so a table of them
/// has fixed columns. People without a value count as `undisclosed` (gender, status) or
/// `unknown` (age band, commune).
#[derive(Serialize, Debug, Clone, Default, PartialEq, utoipa::ToSchema)]
pub struct Breakdowns {
    pub gender: BTreeMap<String, i64>,
    pub age_band: BTreeMap<String, i64>,
    pub social_status: BTreeMap<String, i64>,
    pub commune: BTreeMap<String, i64>,
}

#[derive(diesel::QueryableByName)]
struct Group {
    #[diesel(sql_type = Nullable<Text>)]
    gender: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    social_status: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    commune_insee: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    birth_year: Option<i32>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub fn breakdowns(conn: &mut DbConn, tz: &Tz, filters: &Filters) -> Result<Breakdowns, AppError> {
    // Who was served is read from its roll-ups, brought up to date first.
    crate::rollups::flush(conn, tz)?;
    let mut people = Where::default();
    if filters.organisation_id.is_some()
        || filters.place_id.is_some()
        || filters.mediator_id.is_some()
    {
        // The days of that organisation, place or mediator, found by their index, then their
        // people, looked up one by one.
        let mut days = Where::default();
        days.int("s.organisation_id", filters.organisation_id)
            .int("s.place_id", filters.place_id)
            .int("s.mediator_id", filters.mediator_id)
            .date_from("s.day", filters.from)
            .date_until("s.day", filters.to);
        people.raw(format!(
            "p.id IN (SELECT s.person_id FROM served_days s{})",
            days.sql()
        ));
    } else {
        // Everyone's: one row per person served, with their first and last day; most people
        // are in it, so the grouped columns' index is scanned and each person looked up among
        // them (the unary `+` keeps SQLite from probing the people table once per person).
        people.raw(format!(
            "+p.id IN (SELECT sp.person_id FROM served_people sp{})",
            served_between(filters.from, filters.to).sql()
        ));
    }
    if let Some(programme) = filters.programme_id {
        // The programme's people (as the activity report counts them).
        people.raw(format!(
            "p.id IN (SELECT pp.person_id FROM person_programmes pp WHERE pp.programme_id = {programme})"
        ));
    }
    let groups: Vec<Group> = query(
        conn,
        &format!(
            "SELECT p.gender AS gender, p.social_status AS social_status, \
             p.commune_insee AS commune_insee, p.birth_year AS birth_year, \
             CAST(COUNT(*) AS BIGINT) AS n FROM people p{} \
             GROUP BY p.gender, p.social_status, p.commune_insee, p.birth_year",
            people.sql()
        ),
    )?;
    let year = filters
        .to
        .map(|d| d.year())
        .unwrap_or_else(|| chrono::Utc::now().with_timezone(tz).year());
    Ok(fold(&groups, year))
}

/// The people of `served_people sp` served between `from` and `to` (inclusive, either open):
/// their first or last day falls in the period, or, for those served before and after it, a
/// day of theirs in `served_days` does.
fn served_between(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Where {
    let mut w = Where::default();
    w.date_from("sp.last_day", from)
        .date_until("sp.first_day", to);
    if let (Some(from), Some(to)) = (from, to) {
        let (from, to) = (crate::db::bulk::date(from), crate::db::bulk::date(to));
        w.raw(format!(
            "(sp.first_day >= {from} OR sp.last_day <= {to} OR EXISTS (SELECT 1 FROM served_days s \
             WHERE s.person_id = sp.person_id AND s.day >= {from} AND s.day <= {to}))"
        ));
    }
    w
}

fn fold(groups: &[Group], year: i32) -> Breakdowns {
    let zeroes = |keys: &mut dyn Iterator<Item = &str>| -> BTreeMap<String, i64> {
        keys.map(|k| (k.to_string(), 0)).collect()
    };
    let mut out = Breakdowns {
        gender: zeroes(&mut GENDERS.iter().map(|(c, _)| *c)),
        age_band: zeroes(&mut AGE_BANDS.iter().map(|(c, _)| *c).chain(["unknown"])),
        social_status: zeroes(&mut SOCIAL_STATUSES.iter().map(|(c, _)| *c)),
        commune: BTreeMap::new(),
    };
    for g in groups {
        *out.gender
            .entry(g.gender.clone().unwrap_or_else(|| "undisclosed".into()))
            .or_default() += g.n;
        *out.social_status
            .entry(
                g.social_status
                    .clone()
                    .unwrap_or_else(|| "undisclosed".into()),
            )
            .or_default() += g.n;
        *out.age_band
            .entry(age_band(g.birth_year, year).to_string())
            .or_default() += g.n;
        *out.commune
            .entry(g.commune_insee.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += g.n;
    }
    out
}
