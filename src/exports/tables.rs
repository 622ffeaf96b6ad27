//! The rows of four exports (appointments, session logs, assessments, equipment; people are in
//! `people.rs`), read in batches and written through a [`RowWriter`] (CSV or XLSX, `crate::exports`).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::sheet::{self, walk, Format, Row, RowWriter};
use crate::db::schema::{
    appointments, assessments, assignments, equipment, participants, people, person_programmes,
    services, session_logs, skill_domains, skills,
};
use crate::db::DbConn;
use crate::error::AppError;
use crate::reports::{day_start, names, Filters, Named};
use crate::skills::topics;
use crate::status::{AppointmentStatus, ParticipantStatus};

pub(super) const BATCH: i64 = 10_000;

/// A batch's ids (ascending) as one range, when they fill most of it: its details are then
/// read by a range of the index (one statement, prepared once, no list of 10,000 values to
/// bind); a sparse batch (a filtered export) keeps the list, so that it never reads the rows
/// of everyone between its first and last id.
pub(super) fn dense_range(ids: &[i32]) -> Option<(i32, i32)> {
    let (first, last) = (*ids.first()?, *ids.last()?);
    let span = i64::from(last) - i64::from(first) + 1;
    (span <= 2 * ids.len() as i64).then_some((first, last))
}

pub fn period(tz: &Tz, filters: &Filters) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    (
        filters.from.map(|d| day_start(tz, d)),
        filters
            .to
            .and_then(|d| d.succ_opt())
            .map(|d| day_start(tz, d)),
    )
}

/// The report filters on a boxed query that has the appointments table in it.
macro_rules! appointment_filters {
    ($q:expr, $filters:expr, $from:expr, $to:expr) => {{
        let mut q = $q;
        if let Some(o) = $filters.organisation_id {
            q = q.filter(appointments::organisation_id.eq(o));
        }
        if let Some(p) = $filters.place_id {
            q = q.filter(appointments::place_id.eq(p));
        }
        if let Some(m) = $filters.mediator_id {
            q = q.filter(appointments::mediator_id.eq(m));
        }
        if let Some(t) = $from {
            q = q.filter(appointments::starts_at.ge(t));
        }
        if let Some(t) = $to {
            q = q.filter(appointments::starts_at.lt(t));
        }
        q
    }};
}
pub(crate) use appointment_filters;

pub fn appointments(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut dyn RowWriter,
) -> Result<(), AppError> {
    let user_names = names(conn, Named::Users)?;
    let place_names = names(conn, Named::Places)?;
    let service_names: HashMap<i32, (String, String)> = services::table
        .select((services::id, services::name, services::kind))
        .load::<(i32, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, kind)| (id, (name, kind)))
        .collect();
    w.header(&[
        "id",
        "debut",
        "fin",
        "statut",
        "motif",
        "type",
        "mediateur",
        "lieu",
        "capacite",
        "inscrits",
        "presents",
        "absents",
        "excuses",
        "annules",
        "liste_attente",
        "sans_rendez_vous",
    ])?;
    let (from, to) = period(&format.tz, filters);
    walk(conn, w, |conn, w, last| {
        let mut q = appointments::table
            .filter(appointments::id.gt(last))
            .order(appointments::id)
            .limit(BATCH)
            .into_boxed();
        q = appointment_filters!(q, filters, from, to);
        if let Some(p) = filters.programme_id {
            q = q.filter(
                appointments::id.eq_any(
                    participants::table
                        .inner_join(
                            person_programmes::table
                                .on(person_programmes::person_id.eq(participants::person_id)),
                        )
                        .filter(person_programmes::programme_id.eq(p))
                        .select(participants::appointment_id),
                ),
            );
        }
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            i32,
            NaiveDateTime,
            NaiveDateTime,
            AppointmentStatus,
            i32,
            i32,
            i32,
            i32,
            bool,
        )> = q
            .select((
                appointments::id,
                appointments::starts_at,
                appointments::ends_at,
                appointments::status,
                appointments::service_id,
                appointments::mediator_id,
                appointments::place_id,
                appointments::capacity,
                appointments::walk_in,
            ))
            .load(conn)?;
        let Some(end) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        let first = rows[0].0;
        let mut seats: HashMap<i32, [i64; 6]> = HashMap::new();
        for (appointment_id, status) in participants::table
            .filter(participants::appointment_id.ge(first))
            .filter(participants::appointment_id.le(end))
            .select((participants::appointment_id, participants::status))
            .load::<(i32, ParticipantStatus)>(conn)?
        {
            let slot = match status {
                ParticipantStatus::Booked => 0,
                ParticipantStatus::Attended => 1,
                ParticipantStatus::NoShow => 2,
                ParticipantStatus::Excused => 3,
                ParticipantStatus::Cancelled => 4,
                ParticipantStatus::Waitlisted => 5,
            };
            seats.entry(appointment_id).or_default()[slot] += 1;
        }
        for r in rows {
            let s = seats.get(&r.0).copied().unwrap_or_default();
            let (service, kind) = service_names
                .get(&r.4)
                .map(|(n, k)| (n.as_str(), k.as_str()))
                .unwrap_or(("", ""));
            let mut row = Row::new();
            row.int(r.0)
                .time(format.local(r.1))
                .time(format.local(r.2))
                .label(r.3.label())
                .text(service)
                .label(crate::booking::model::kind_label(kind))
                .text(user_names.get(&r.5).map_or("", String::as_str))
                .text(place_names.get(&r.6).map_or("", String::as_str))
                .int(r.7);
            for n in s {
                row.int(n);
            }
            row.flag(r.8);
            w.row(&row)?;
        }
        Ok(Some(end))
    })
}

fn skill_codes(conn: &mut DbConn) -> Result<HashMap<i32, (String, String)>, AppError> {
    Ok(skills::table
        .inner_join(skill_domains::table)
        .select((skills::id, skills::code, skill_domains::code))
        .load::<(i32, String, String)>(conn)?
        .into_iter()
        .map(|(id, code, domain)| (id, (code, domain)))
        .collect())
}

pub fn logs(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut dyn RowWriter,
) -> Result<(), AppError> {
    let user_names = names(conn, Named::Users)?;
    let place_names = names(conn, Named::Places)?;
    let codes = skill_codes(conn)?;
    let mut header = vec![
        "rendez_vous",
        "date",
        "personne",
        "presence",
        "duree_minutes",
        "thematiques",
        "materiel",
        "autonomie",
        "competences",
        "mediateur",
        "lieu",
    ];
    if !format.pseudonymise {
        header.extend(["orientation", "note"]);
    }
    w.header(&header)?;
    let (from, to) = period(&format.tz, filters);
    walk(conn, w, |conn, w, last| {
        let mut q = session_logs::table
            .inner_join(appointments::table)
            .filter(session_logs::id.gt(last))
            .filter(session_logs::current.eq(true))
            .order(session_logs::id)
            .limit(BATCH)
            .into_boxed();
        q = appointment_filters!(q, filters, from, to);
        if let Some(p) = filters.programme_id {
            q = q.filter(
                session_logs::person_id.eq_any(
                    person_programmes::table
                        .filter(person_programmes::programme_id.eq(p))
                        .select(person_programmes::person_id),
                ),
            );
        }
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            i32,
            i32,
            NaiveDateTime,
            i32,
            String,
            Option<i32>,
            String,
            Option<String>,
            Option<String>,
            i32,
            i32,
            (Option<String>, Option<String>),
        )> = q
            .select((
                session_logs::id,
                session_logs::appointment_id,
                appointments::starts_at,
                session_logs::person_id,
                session_logs::attendance,
                session_logs::duration_minutes,
                session_logs::topics,
                session_logs::device,
                session_logs::autonomy,
                appointments::mediator_id,
                appointments::place_id,
                (session_logs::orientation, session_logs::note),
            ))
            .load(conn)?;
        let Some(end) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
        // `code:level|code:level` of each log, written into one string per log.
        let mut observed: HashMap<i32, String> = HashMap::with_capacity(ids.len());
        let columns = (
            assessments::session_log_id.assume_not_null(),
            assessments::skill_id,
            assessments::level,
        );
        let found = match dense_range(&ids) {
            Some((first, last)) => assessments::table
                .filter(assessments::session_log_id.between(first, last))
                .select(columns)
                .load::<(i32, i32, i32)>(conn)?,
            None => assessments::table
                .filter(assessments::session_log_id.eq_any(ids.iter().map(|i| Some(*i))))
                .select(columns)
                .load::<(i32, i32, i32)>(conn)?,
        };
        for (log_id, skill_id, level) in found {
            let code = codes.get(&skill_id).map_or("?", |(c, _)| c.as_str());
            let list = observed.entry(log_id).or_default();
            if !list.is_empty() {
                list.push('|');
            }
            list.push_str(code);
            list.push(':');
            list.push_str(itoa::Buffer::new().format(level));
        }
        for r in rows {
            let mut row = Row::new();
            row.int(r.1)
                .time(format.local(r.2))
                .cell(format.person(r.3))
                .label_of(&topics::ATTENDANCE, Some(r.4.as_str()))
                .opt_int(r.5)
                .code(pipes(r.6))
                .label_of(&topics::DEVICES, r.7.as_deref())
                .label_of(&topics::AUTONOMY, r.8.as_deref())
                .code(observed.remove(&r.0).unwrap_or_default())
                .text(user_names.get(&r.9).map_or("", String::as_str))
                .text(place_names.get(&r.10).map_or("", String::as_str));
            if !format.pseudonymise {
                row.opt_text(r.11 .0.as_deref())
                    .opt_text(r.11 .1.as_deref());
            }
            w.row(&row)?;
        }
        Ok(Some(end))
    })
}

/// A stored list (`a,b`) as the exports write lists (`a|b`), in place.
fn pipes(list: String) -> String {
    let mut bytes = list.into_bytes();
    for b in bytes.iter_mut().filter(|b| **b == b',') {
        *b = b'|';
    }
    // ASCII for ASCII: still UTF-8.
    String::from_utf8(bytes).unwrap_or_default()
}

pub fn assessments(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut dyn RowWriter,
) -> Result<(), AppError> {
    let user_names = names(conn, Named::Users)?;
    let codes = skill_codes(conn)?;
    w.header(&[
        "id",
        "personne",
        "competence",
        "domaine",
        "niveau",
        "type",
        "evalue_le",
        "evaluateur",
        "compte_rendu",
    ])?;
    let (from, to) = period(&format.tz, filters);
    walk(conn, w, |conn, w, last| {
        let mut q = assessments::table
            .filter(assessments::id.gt(last))
            .filter(assessments::active.eq(true))
            .order(assessments::id)
            .limit(BATCH)
            .into_boxed();
        // The person is looked up only to filter by organisation: the whole département's
        // export reads no people row (it joined one for each of its 3 million rows).
        if let Some(o) = filters.organisation_id {
            q = q.filter(diesel::dsl::exists(
                people::table
                    .filter(people::id.eq(assessments::person_id))
                    .filter(people::organisation_id.eq(o)),
            ));
        }
        if let Some(m) = filters.mediator_id {
            q = q.filter(assessments::author_id.eq(m));
        }
        if let Some(p) = filters.place_id {
            q = q.filter(
                assessments::session_log_id.eq_any(
                    session_logs::table
                        .inner_join(appointments::table)
                        .filter(appointments::place_id.eq(p))
                        .select(session_logs::id.nullable()),
                ),
            );
        }
        if let Some(t) = from {
            q = q.filter(assessments::assessed_at.ge(t));
        }
        if let Some(t) = to {
            q = q.filter(assessments::assessed_at.lt(t));
        }
        if let Some(p) = filters.programme_id {
            q = q.filter(
                assessments::person_id.eq_any(
                    person_programmes::table
                        .filter(person_programmes::programme_id.eq(p))
                        .select(person_programmes::person_id),
                ),
            );
        }
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i32, i32, i32, i32, String, NaiveDateTime, i32, Option<i32>)> = q
            .select((
                assessments::id,
                assessments::person_id,
                assessments::skill_id,
                assessments::level,
                assessments::kind,
                assessments::assessed_at,
                assessments::author_id,
                assessments::session_log_id,
            ))
            .load(conn)?;
        let Some(end) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        for r in rows {
            let (code, domain) = codes
                .get(&r.2)
                .map(|(c, d)| (c.as_str(), d.as_str()))
                .unwrap_or(("", ""));
            let mut row = Row::new();
            row.int(r.0)
                .cell(format.person(r.1))
                .code(code)
                .code(domain)
                .int(r.3)
                .label_of(&crate::skills::profile::KINDS, Some(r.4.as_str()))
                .time(format.local(r.5))
                .text(user_names.get(&r.6).map_or("", String::as_str))
                .opt_int(r.7);
            w.row(&row)?;
        }
        Ok(Some(end))
    })
}

pub fn equipment(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut dyn RowWriter,
) -> Result<(), AppError> {
    let programme_names = names(conn, Named::Programmes)?;
    w.header(&[
        "id",
        "type",
        "modele",
        "numero_serie",
        "imei",
        "iccid",
        "numero_ligne",
        "operateur",
        "fin_validite",
        "dispositif",
        "statut",
        "detenteur",
        "mode",
        "remis_le",
        "retour_prevu",
    ])?;
    walk(conn, w, |conn, w, last| {
        let mut q = equipment::table
            .filter(equipment::id.gt(last))
            .order(equipment::id)
            .limit(BATCH)
            .into_boxed();
        if let Some(o) = filters.organisation_id {
            q = q.filter(equipment::organisation_id.eq(o));
        }
        if let Some(p) = filters.programme_id {
            q = q.filter(equipment::programme_id.eq(p));
        }
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            i32,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<NaiveDate>,
            Option<i32>,
            crate::status::EquipmentStatus,
            Option<i32>,
        )> = q
            .select((
                equipment::id,
                equipment::kind,
                equipment::model,
                equipment::serial,
                equipment::imei,
                equipment::iccid,
                equipment::phone_number,
                equipment::operator,
                equipment::valid_until,
                equipment::programme_id,
                equipment::status,
                equipment::current_holder_id,
            ))
            .load(conn)?;
        let Some(end) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
        let current: HashMap<i32, (String, NaiveDate, Option<NaiveDate>)> = assignments::table
            .filter(assignments::equipment_id.eq_any(&ids))
            .filter(assignments::returned_on.is_null())
            .select((
                assignments::equipment_id,
                assignments::mode,
                assignments::handed_over_on,
                assignments::due_back_on,
            ))
            .load::<(i32, String, NaiveDate, Option<NaiveDate>)>(conn)?
            .into_iter()
            .map(|(id, mode, on, due)| (id, (mode, on, due)))
            .collect();
        for r in rows {
            let a = current.get(&r.0);
            let mut row = Row::new();
            // IMEI and ICCID stay text: 15 to 20 digits are no number a spreadsheet keeps.
            row.int(r.0)
                .label_of(&crate::equipment::KINDS, Some(r.1.as_str()))
                .opt_text(r.2.as_deref())
                .opt_text(r.3.as_deref())
                .opt_code(r.4.as_deref())
                .opt_code(r.5.as_deref());
            // A line number reaches a person: a contact, left out when pseudonymised.
            if format.pseudonymise {
                row.text("");
            } else {
                row.opt_text(r.6.as_deref());
            }
            row.opt_text(r.7.as_deref())
                .opt_date(r.8)
                .text(
                    r.9.and_then(|p| programme_names.get(&p))
                        .map_or("", String::as_str),
                )
                .cell(sheet::Cell::Code(r.10.label().into()))
                .cell(r.11.map_or(sheet::Cell::Empty, |p| format.person(p)))
                .label_of(&crate::equipment::MODES, a.map(|a| a.0.as_str()))
                .opt_date(a.map(|a| a.1))
                .opt_date(a.and_then(|a| a.2));
            w.row(&row)?;
        }
        Ok(Some(end))
    })
}

#[cfg(test)]
mod tests {
    use super::dense_range;

    #[test]
    fn a_batch_is_read_by_range_only_when_its_ids_fill_it() {
        assert_eq!(dense_range(&[]), None);
        assert_eq!(dense_range(&[7]), Some((7, 7)));
        assert_eq!(dense_range(&[1, 2, 3, 5]), Some((1, 5)));
        // Half the range or more: still one range.
        assert_eq!(dense_range(&[10, 12, 14, 16]), Some((10, 16)));
        // A filtered export's scattered ids keep their list.
        assert_eq!(dense_range(&[1, 500, 9_000]), None);
        assert_eq!(dense_range(&[i32::MIN, i32::MAX]), None);
    }
}
