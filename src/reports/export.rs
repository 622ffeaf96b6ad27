//! CSV exports, streamed in constant memory: a blocking task walks the table by id in batches
//! and hands each encoded batch to the response through a small channel, so a million rows
//! never sit in memory at once.
//!
//! `sep=;` gives semicolons and a UTF-8 byte-order mark for French spreadsheets;
//! `pseudonymise=true` leaves out names and contacts and replaces person ids by a keyed
//! pseudonym (stable across files, not reversible without the server's secret key).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use rocket::http::{ContentType, Header};
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder};
use rocket::tokio::sync::mpsc;
use rocket::State;
use sha2::Sha256;

use super::{day_start, names, FilterQuery, Filters, Named};
use crate::auth::{ApiUser, StaffUser, WebUser};
use crate::config::Config;
use crate::db::schema::{
    appointments, assessments, assignments, equipment, participants, people, person_programmes,
    services, session_logs, skill_domains, skills,
};
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::web::query::Query;

const BATCH: i64 = 10_000;

/// Exports answer a Bearer token (scripts) or the browser session (the dashboard's links).
pub struct ExportUser(pub StaffUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ExportUser {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        if req.headers().get_one("Authorization").is_some() {
            // Outside the API's request scope: the token is checked by the guard itself.
            return ApiUser::from_request(req)
                .await
                .map(|a| ExportUser(a.0.staff()));
        }
        WebUser::from_request(req).await.map(|w| ExportUser(w.user))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    People,
    Appointments,
    Logs,
    Assessments,
    Equipment,
}

impl Kind {
    pub fn from_file(name: &str) -> Option<Kind> {
        Some(match name {
            "people.csv" => Kind::People,
            "appointments.csv" => Kind::Appointments,
            "logs.csv" => Kind::Logs,
            "assessments.csv" => Kind::Assessments,
            "equipment.csv" => Kind::Equipment,
            _ => return None,
        })
    }

    fn file(self) -> &'static str {
        match self {
            Kind::People => "people.csv",
            Kind::Appointments => "appointments.csv",
            Kind::Logs => "logs.csv",
            Kind::Assessments => "assessments.csv",
            Kind::Equipment => "equipment.csv",
        }
    }
}

/// How rows are written.
#[derive(Clone)]
pub struct Format {
    pub separator: u8,
    pub pseudonymise: bool,
    key: Vec<u8>,
    tz: Tz,
}

impl Format {
    pub fn new(separator: u8, pseudonymise: bool, config: &Config) -> Format {
        Format {
            separator,
            pseudonymise,
            key: config.secret_key.clone(),
            tz: config.timezone,
        }
    }

    fn person(&self, id: i32) -> String {
        if !self.pseudonymise {
            return id.to_string();
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(format!("export-person:{id}").as_bytes());
        format!("P{}", &hex::encode(mac.finalize().into_bytes())[..12])
    }

    fn time(&self, t: NaiveDateTime) -> String {
        self.tz.short_iso(t)
    }
}

trait ShortIso {
    fn short_iso(&self, t: NaiveDateTime) -> String;
}

impl ShortIso for Tz {
    fn short_iso(&self, t: NaiveDateTime) -> String {
        use chrono::TimeZone;
        self.from_utc_datetime(&t)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

/// One CSV line at a time into a buffer.
pub struct Writer {
    buf: Vec<u8>,
    sep: u8,
    first: bool,
}

impl Writer {
    fn new(sep: u8) -> Writer {
        Writer {
            buf: Vec::with_capacity(1 << 20),
            sep,
            first: true,
        }
    }

    /// A number, date or code: written as is.
    fn plain(&mut self, value: impl std::fmt::Display) -> &mut Self {
        self.separator();
        use std::io::Write;
        let _ = write!(self.buf, "{value}");
        self
    }

    fn opt_plain(&mut self, value: Option<impl std::fmt::Display>) -> &mut Self {
        match value {
            Some(v) => self.plain(v),
            None => self.text(""),
        }
    }

    /// Text someone typed: quoted when needed, and kept from being read as a formula.
    fn text(&mut self, value: &str) -> &mut Self {
        self.separator();
        let formula =
            value.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_phone_number(value);
        let quote = formula
            || value
                .bytes()
                .any(|b| b == self.sep || b == b'"' || b == b'\n' || b == b'\r');
        if quote {
            self.buf.push(b'"');
            if formula {
                self.buf.push(b'\'');
            }
            for b in value.bytes() {
                if b == b'"' {
                    self.buf.push(b'"');
                }
                self.buf.push(b);
            }
            self.buf.push(b'"');
        } else {
            self.buf.extend_from_slice(value.as_bytes());
        }
        self
    }

    fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        self.text(value.unwrap_or(""))
    }

    fn separator(&mut self) {
        if !self.first {
            self.buf.push(self.sep);
        }
        self.first = false;
    }

    fn end(&mut self) {
        self.buf.extend_from_slice(b"\r\n");
        self.first = true;
    }

    fn header(&mut self, names: &[&str]) {
        for n in names {
            self.text(n);
        }
        self.end();
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::replace(&mut self.buf, Vec::with_capacity(1 << 20))
    }
}

/// Sends a batch; false when the client went away.
fn send(tx: &mpsc::Sender<Vec<u8>>, w: &mut Writer) -> bool {
    tx.blocking_send(w.take()).is_ok()
}

/// Walks a table by id, batch after batch: `batch(conn, w, after)` loads the rows after that
/// id (in id order), writes them, and answers the last id read, or `None` when none is left.
/// Each batch goes to the client before the next is read; a client gone stops the walk.
fn walk(
    conn: &mut DbConn,
    w: &mut Writer,
    tx: &mpsc::Sender<Vec<u8>>,
    mut batch: impl FnMut(&mut DbConn, &mut Writer, i32) -> Result<Option<i32>, AppError>,
) -> Result<(), AppError> {
    let mut last = 0;
    while let Some(end) = batch(conn, w, last)? {
        last = end;
        if !send(tx, w) {
            return Ok(());
        }
    }
    send(tx, w);
    Ok(())
}

fn period(tz: &Tz, filters: &Filters) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    (
        filters.from.map(|d| day_start(tz, d)),
        filters
            .to
            .and_then(|d| d.succ_opt())
            .map(|d| day_start(tz, d)),
    )
}

/// Writes the whole export into `tx`, batch by batch.
pub fn produce(
    conn: &mut DbConn,
    kind: Kind,
    filters: &Filters,
    format: &Format,
    tx: &mpsc::Sender<Vec<u8>>,
) -> Result<(), AppError> {
    let mut w = Writer::new(format.separator);
    if format.separator == b';' {
        w.buf.extend_from_slice("\u{feff}".as_bytes());
    }
    match kind {
        Kind::People => people_csv(conn, filters, format, &mut w, tx),
        Kind::Appointments => appointments_csv(conn, filters, format, &mut w, tx),
        Kind::Logs => logs_csv(conn, filters, format, &mut w, tx),
        Kind::Assessments => assessments_csv(conn, filters, format, &mut w, tx),
        Kind::Equipment => equipment_csv(conn, filters, format, &mut w, tx),
    }
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

/// People who met this mediator or came to this place.
fn seen_by(filters: &Filters) -> Option<String> {
    if filters.place_id.is_none() && filters.mediator_id.is_none() {
        return None;
    }
    let mut w = super::Where::default();
    w.int("a.place_id", filters.place_id)
        .int("a.mediator_id", filters.mediator_id);
    Some(format!(
        "SELECT pa.person_id FROM participants pa JOIN appointments a ON a.id = pa.appointment_id{}",
        w.sql()
    ))
}

#[allow(clippy::type_complexity)]
fn people_csv(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut Writer,
    tx: &mpsc::Sender<Vec<u8>>,
) -> Result<(), AppError> {
    let programme_names = names(conn, Named::Programmes)?;
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
        ]);
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
        ]);
    }
    let (from, to) = period(&format.tz, filters);
    // Who was seen at a place or by a mediator: a set of ids, read once.
    let seen: Option<std::collections::HashSet<i32>> = match seen_by(filters) {
        Some(sql) => {
            #[derive(QueryableByName)]
            struct Id {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                person_id: i32,
            }
            Some(
                super::query::<Id>(conn, &sql)?
                    .into_iter()
                    .map(|r| r.person_id)
                    .collect(),
            )
        }
        None => None,
    };
    walk(conn, w, tx, |conn, w, last| {
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
        let rows: Vec<(
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
        )> = q
            .select((
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
            .load(conn)?;
        let Some(end) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
        let mut memberships: HashMap<i32, Vec<&str>> = HashMap::new();
        for (person_id, programme_id) in person_programmes::table
            .filter(person_programmes::person_id.eq_any(&ids))
            .select((
                person_programmes::person_id,
                person_programmes::programme_id,
            ))
            .load::<(i32, i32)>(conn)?
        {
            if let Some(name) = programme_names.get(&programme_id) {
                memberships.entry(person_id).or_default().push(name);
            }
        }
        for r in rows {
            if seen.as_ref().is_some_and(|s| !s.contains(&r.0)) {
                continue;
            }
            let programmes = memberships
                .get(&r.0)
                .map(|v| v.join("|"))
                .unwrap_or_default();
            if format.pseudonymise {
                w.plain(format.person(r.0))
                    .opt_plain(r.3)
                    .opt_text(r.4.as_deref())
                    .opt_text(r.5.as_deref())
                    .text(&programmes)
                    .plain(format.time(r.10))
                    .plain(if r.11.is_some() { "oui" } else { "non" });
            } else {
                w.plain(r.0)
                    .text(&r.1)
                    .opt_text(r.2.as_deref())
                    .opt_plain(r.3)
                    .opt_text(r.4.as_deref())
                    .opt_text(r.5.as_deref())
                    .opt_text(r.6.as_deref())
                    .opt_text(r.7.as_deref())
                    .plain(if r.8 { "oui" } else { "non" })
                    .opt_text(r.9 .0.as_deref())
                    .opt_text(r.9 .1.as_deref())
                    .opt_text(r.9 .2.as_deref())
                    .text(&programmes)
                    .plain(format.time(r.10))
                    .plain(if r.11.is_some() { "oui" } else { "non" });
            }
            w.opt_text(r.12 .0.as_deref())
                .text(crate::people::funder::age_band_now(r.3))
                .opt_text(r.12 .1.as_deref())
                .opt_text(r.12 .2.as_deref());
            w.end();
        }
        Ok(Some(end))
    })
}

fn appointments_csv(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut Writer,
    tx: &mpsc::Sender<Vec<u8>>,
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
    ]);
    let (from, to) = period(&format.tz, filters);
    walk(conn, w, tx, |conn, w, last| {
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
            String,
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
            .load::<(i32, String)>(conn)?
        {
            let slot = match status.as_str() {
                "booked" => 0,
                "attended" => 1,
                "no_show" => 2,
                "excused" => 3,
                "cancelled" => 4,
                _ => 5,
            };
            seats.entry(appointment_id).or_default()[slot] += 1;
        }
        for r in rows {
            let s = seats.get(&r.0).copied().unwrap_or_default();
            let (service, kind) = service_names
                .get(&r.4)
                .map(|(n, k)| (n.as_str(), k.as_str()))
                .unwrap_or(("", ""));
            w.plain(r.0)
                .plain(format.time(r.1))
                .plain(format.time(r.2))
                .plain(&r.3)
                .text(service)
                .plain(kind)
                .text(user_names.get(&r.5).map_or("", String::as_str))
                .text(place_names.get(&r.6).map_or("", String::as_str))
                .plain(r.7);
            for n in s {
                w.plain(n);
            }
            w.plain(if r.8 { "oui" } else { "non" });
            w.end();
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

fn logs_csv(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut Writer,
    tx: &mpsc::Sender<Vec<u8>>,
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
    w.header(&header);
    let (from, to) = period(&format.tz, filters);
    walk(conn, w, tx, |conn, w, last| {
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
        let mut observed: HashMap<i32, Vec<String>> = HashMap::new();
        for (log_id, skill_id, level) in assessments::table
            .filter(assessments::session_log_id.eq_any(ids.iter().map(|i| Some(*i))))
            .select((
                assessments::session_log_id.assume_not_null(),
                assessments::skill_id,
                assessments::level,
            ))
            .load::<(i32, i32, i32)>(conn)?
        {
            let code = codes.get(&skill_id).map_or("?", |(c, _)| c.as_str());
            observed
                .entry(log_id)
                .or_default()
                .push(format!("{code}:{level}"));
        }
        for r in rows {
            w.plain(r.1)
                .plain(format.time(r.2))
                .plain(format.person(r.3))
                .plain(&r.4)
                .opt_plain(r.5)
                .plain(r.6.replace(',', "|"))
                .opt_plain(r.7.as_deref())
                .opt_plain(r.8.as_deref())
                .plain(observed.get(&r.0).map(|v| v.join("|")).unwrap_or_default())
                .text(user_names.get(&r.9).map_or("", String::as_str))
                .text(place_names.get(&r.10).map_or("", String::as_str));
            if !format.pseudonymise {
                w.opt_text(r.11 .0.as_deref()).opt_text(r.11 .1.as_deref());
            }
            w.end();
        }
        Ok(Some(end))
    })
}

fn assessments_csv(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut Writer,
    tx: &mpsc::Sender<Vec<u8>>,
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
    ]);
    let (from, to) = period(&format.tz, filters);
    walk(conn, w, tx, |conn, w, last| {
        let mut q = assessments::table
            .inner_join(people::table)
            .filter(assessments::id.gt(last))
            .filter(assessments::active.eq(true))
            .order(assessments::id)
            .limit(BATCH)
            .into_boxed();
        if let Some(o) = filters.organisation_id {
            q = q.filter(people::organisation_id.eq(o));
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
            w.plain(r.0)
                .plain(format.person(r.1))
                .plain(code)
                .plain(domain)
                .plain(r.3)
                .plain(&r.4)
                .plain(format.time(r.5))
                .text(user_names.get(&r.6).map_or("", String::as_str))
                .opt_plain(r.7);
            w.end();
        }
        Ok(Some(end))
    })
}

fn equipment_csv(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut Writer,
    tx: &mpsc::Sender<Vec<u8>>,
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
    ]);
    walk(conn, w, tx, |conn, w, last| {
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
            String,
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
            w.plain(r.0)
                .plain(&r.1)
                .opt_text(r.2.as_deref())
                .opt_text(r.3.as_deref())
                .opt_plain(r.4.as_deref());
            w.opt_plain(r.5.as_deref());
            // A line number reaches a person: a contact, left out when pseudonymised.
            if format.pseudonymise {
                w.text("");
            } else {
                w.opt_text(r.6.as_deref());
            }
            w.opt_text(r.7.as_deref())
                .opt_plain(r.8)
                .text(
                    r.9.and_then(|p| programme_names.get(&p))
                        .map_or("", String::as_str),
                )
                .plain(&r.10)
                .plain(r.11.map(|p| format.person(p)).unwrap_or_default())
                .plain(a.map(|a| a.0.as_str()).unwrap_or(""))
                .opt_plain(a.map(|a| a.1))
                .opt_plain(a.and_then(|a| a.2));
            w.end();
        }
        Ok(Some(end))
    })
}

/// The streamed answer.
pub struct CsvDownload {
    file: &'static str,
    rx: mpsc::Receiver<Vec<u8>>,
}

impl<'r> Responder<'r, 'r> for CsvDownload {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'r> {
        let stream = rocket::futures::stream::unfold(self.rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        let mut response = rocket::response::stream::ByteStream::from(stream).respond_to(req)?;
        response.set_header(ContentType::new("text", "csv").with_params(("charset", "utf-8")));
        response.set_header(Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", self.file),
        ));
        response.set_header(Header::new("Cache-Control", "no-store"));
        Ok(response)
    }
}

/// The export's own parameters, beside the report filters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ExportQuery {
    /// `,` (default) or `;`.
    pub sep: Option<String>,
    /// `true|false|1|0`: names, contacts and notes left out, people by a stable pseudonym.
    #[serde(default, deserialize_with = "crate::web::query::flag")]
    pub pseudonymise: Option<bool>,
}

#[rocket::get("/exports/<file>")]
pub async fn download(
    db: &State<Db>,
    config: &State<Config>,
    user: ExportUser,
    file: &str,
    filters: Query<FilterQuery>,
    options: Query<ExportQuery>,
) -> Result<CsvDownload, AppError> {
    let ExportQuery { sep, pseudonymise } = options.into_inner();
    let filters = filters.into_inner();
    let kind = Kind::from_file(file).ok_or(AppError::NotFound)?;
    let user = user.0;
    super::require_reader(&user)?;
    let separator = match sep.as_deref() {
        None | Some(",") | Some("") => b',',
        Some(";") => b';',
        Some(_) => return Err(AppError::field("sep", "Séparateur : « ; » ou « , ».")),
    };
    let format = Format::new(separator, pseudonymise.unwrap_or(false), config);
    let checked = {
        let user = user.clone();
        db.run(move |conn| {
            let checked = filters.check(conn, &user)?;
            // Personal data leaving the server is recorded, before the first byte goes.
            crate::audit::record(
                conn,
                Some(&user),
                "export",
                kind.file(),
                None,
                checked.organisation_id,
            )?;
            Ok(checked)
        })
        .await?
    };
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let db = db.inner().clone();
    rocket::tokio::task::spawn_blocking(move || {
        let mut conn = match db.get() {
            Ok(conn) => conn,
            Err(e) => {
                log::error!("export {}: {}", kind.file(), e.detail());
                return;
            }
        };
        // A whole table read once: on SQLite, through the page cache rather than the memory
        // map, so that the export does not grow the server's memory by the file's size.
        use diesel::connection::SimpleConnection;
        let sqlite = matches!(&*conn, DbConn::Sqlite(_));
        if sqlite {
            let _ = conn.batch_execute("PRAGMA mmap_size = 0");
        }
        if let Err(e) = produce(&mut conn, kind, &checked, &format, &tx) {
            // The header is gone already: the file ends early, and the log says why.
            log::error!("export {} stopped: {}", kind.file(), e.detail());
        }
        if sqlite {
            let _ = conn.batch_execute(&format!(
                "PRAGMA mmap_size = {}",
                crate::db::SQLITE_MMAP_SIZE
            ));
        }
    });
    Ok(CsvDownload {
        file: kind.file(),
        rx,
    })
}

/// An E.164 phone number (`+33612345678`): a spreadsheet reads it as the number it is, so it
/// is written as is rather than defused like a formula.
fn is_phone_number(value: &str) -> bool {
    value.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}
