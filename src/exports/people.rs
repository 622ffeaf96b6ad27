//! The people export: one row per person within the filters (pseudonymised on request), with
//! their programmes, read in batches of [`BATCH`] and written through a [`RowWriter`].

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::sheet::{walk, Format, Row, RowWriter};
use super::tables::{dense_range, period, BATCH};
use crate::db::schema::{people, person_programmes};
use crate::db::DbConn;
use crate::error::AppError;
use crate::reports::{names, Filters, Named};

/// People who met this mediator or came to this place.
fn seen_by(filters: &Filters) -> Option<String> {
    if filters.place_id.is_none() && filters.mediator_id.is_none() {
        return None;
    }
    let mut w = crate::reports::Where::default();
    w.int("a.place_id", filters.place_id)
        .int("a.mediator_id", filters.mediator_id);
    Some(format!(
        "SELECT pa.person_id FROM participants pa JOIN appointments a ON a.id = pa.appointment_id{}",
        w.sql()
    ))
}

pub fn people(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut dyn RowWriter,
) -> Result<(), AppError> {
    let programme_names = names(conn, Named::Programmes)?;
    people_header(format, w)?;
    let (from, to) = period(&format.tz, filters);
    // The age bands of the whole file are as of one year (not a clock read for each row).
    let year = chrono::Datelike::year(&chrono::Utc::now());
    let seen = seen_ids(conn, filters)?;
    walk(conn, w, |conn, w, last| {
        let rows = people_batch(conn, filters, from, to, last)?;
        let Some(end) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
        let memberships = memberships(conn, &ids, &programme_names)?;
        for r in rows {
            if seen.as_ref().is_some_and(|s| !s.contains(&r.0)) {
                continue;
            }
            let programmes = memberships
                .get(&r.0)
                .map(|v| v.join("|"))
                .unwrap_or_default();
            w.row(&person_row(format, year, &r, &programmes))?;
        }
        Ok(Some(end))
    })
}

/// The people export's columns: without names and contacts when pseudonymised.
fn people_header(format: &Format, w: &mut dyn RowWriter) -> Result<(), AppError> {
    if format.pseudonymise {
        w.header(&[
            "pseudonyme",
            "annee_naissance",
            "code_postal",
            "commune",
            "dispositifs",
            "cree_le",
            "anonymise",
            "genre",
            "tranche_age",
            "statut_social",
            "code_insee",
        ])?;
    } else {
        w.header(&[
            "id",
            "prenom",
            "nom",
            "annee_naissance",
            "code_postal",
            "commune",
            "email",
            "telephone",
            "consentement_rappels",
            "referent",
            "referent_email",
            "referent_structure",
            "dispositifs",
            "cree_le",
            "anonymise",
            "genre",
            "tranche_age",
            "statut_social",
            "code_insee",
        ])?;
    }
    Ok(())
}

/// Who was seen at a place or by a mediator: a set of ids, read once (`None`: no such filter).
fn seen_ids(
    conn: &mut DbConn,
    filters: &Filters,
) -> Result<Option<std::collections::HashSet<i32>>, AppError> {
    Ok(match seen_by(filters) {
        Some(sql) => {
            #[derive(QueryableByName)]
            struct Id {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                person_id: i32,
            }
            Some(
                crate::reports::query::<Id>(conn, &sql)?
                    .into_iter()
                    .map(|r| r.person_id)
                    .collect(),
            )
        }
        None => None,
    })
}

/// A person as exported: id, given and family name, birth year, postal code, city, email,
/// phone, reminder consent, referent (name, email, organisation), created, anonymised, and
/// (gender, social status, INSEE code).
type PersonRow = (
    i32,
    String,
    Option<String>,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    (Option<String>, Option<String>, Option<String>),
    NaiveDateTime,
    Option<NaiveDateTime>,
    (Option<String>, Option<String>, Option<String>),
);

/// The next batch of people after `last`, in id order, within the filters.
fn people_batch(
    conn: &mut DbConn,
    filters: &Filters,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    last: i32,
) -> Result<Vec<PersonRow>, AppError> {
    let mut q = people::table
        .filter(people::id.gt(last))
        .order(people::id)
        .limit(BATCH)
        .into_boxed();
    if let Some(o) = filters.organisation_id {
        q = q.filter(people::organisation_id.eq(o));
    }
    if let Some(p) = filters.programme_id {
        q = q.filter(
            people::id.eq_any(
                person_programmes::table
                    .filter(person_programmes::programme_id.eq(p))
                    .select(person_programmes::person_id),
            ),
        );
    }
    if let Some(t) = from {
        q = q.filter(people::created_at.ge(t));
    }
    if let Some(t) = to {
        q = q.filter(people::created_at.lt(t));
    }
    Ok(q.select((
        people::id,
        people::given_name,
        people::family_name,
        people::birth_year,
        people::postal_code,
        people::city,
        people::email,
        people::phone,
        people::reminder_consent,
        (
            people::referent_name,
            people::referent_email,
            people::referent_organisation,
        ),
        people::created_at,
        people::anonymised_at,
        (people::gender, people::social_status, people::commune_insee),
    ))
    .load(conn)?)
}

/// The names of the programmes of each of the people `ids`.
fn memberships<'a>(
    conn: &mut DbConn,
    ids: &[i32],
    programme_names: &'a HashMap<i32, String>,
) -> Result<HashMap<i32, Vec<&'a str>>, AppError> {
    let mut memberships: HashMap<i32, Vec<&str>> = HashMap::with_capacity(ids.len());
    let columns = (
        person_programmes::person_id,
        person_programmes::programme_id,
    );
    let found = match dense_range(ids) {
        Some((first, last)) => person_programmes::table
            .filter(person_programmes::person_id.between(first, last))
            .select(columns)
            .load::<(i32, i32)>(conn)?,
        None => person_programmes::table
            .filter(person_programmes::person_id.eq_any(ids))
            .select(columns)
            .load::<(i32, i32)>(conn)?,
    };
    for (person_id, programme_id) in found {
        if let Some(name) = programme_names.get(&programme_id) {
            memberships.entry(person_id).or_default().push(name);
        }
    }
    Ok(memberships)
}

/// One person in the export's columns; age band as of `year`.
fn person_row<'a>(format: &Format, year: i32, r: &'a PersonRow, programmes: &'a str) -> Row<'a> {
    let mut row = Row::new();
    if format.pseudonymise {
        row.cell(format.person(r.0))
            .opt_int(r.3)
            .opt_text(r.4.as_deref())
            .opt_text(r.5.as_deref())
            .text(programmes)
            .time(format.local(r.10))
            .flag(r.11.is_some());
    } else {
        row.int(r.0)
            .text(r.1.as_str())
            .opt_text(r.2.as_deref())
            .opt_int(r.3)
            .opt_text(r.4.as_deref())
            .opt_text(r.5.as_deref())
            .opt_text(r.6.as_deref())
            .opt_text(r.7.as_deref())
            .flag(r.8)
            .opt_text(r.9 .0.as_deref())
            .opt_text(r.9 .1.as_deref())
            .opt_text(r.9 .2.as_deref())
            .text(programmes)
            .time(format.local(r.10))
            .flag(r.11.is_some());
    }
    row.opt_text(r.12 .0.as_deref())
        .text(crate::people::funder::age_band(r.3, year))
        .opt_text(r.12 .1.as_deref())
        .opt_text(r.12 .2.as_deref());
    row
}
