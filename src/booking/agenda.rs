//! The agenda page, by day or week, per mediator or place, with its free slots.
//!
//! Its context is built directly as the template reads it (typed rows, names looked up by id),
//! and its filter lists are those of the organisation in view (an admin's agenda of a
//! mediator or a place is that organisation's, not the whole département's staff and places).

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;
use diesel::prelude::*;
use rocket::State;
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::model::Appointment;
use super::service::{self, AppointmentFilter};
use super::slots::{self, Slot, SlotQuery};
use crate::auth::{Role, StaffUser, WebUser};
use crate::config::Config;
use crate::db::schema::{places, services, users};
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::time::LocalTime;
use crate::web::query::Query;
use crate::web::{Me, Viewer as _};

const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

#[derive(Serialize)]
struct AgendaPage<'a> {
    me: Me<'a>,
    csrf_token: String,
    section: &'static str,
    days: Vec<Day>,
    week: bool,
    /// The week grid's rows: every hour from the first start to the last, 8 h–18 h at least.
    hours: Vec<u32>,
    date: String,
    previous: String,
    next: String,
    mediator_id: Option<i32>,
    place_id: Option<i32>,
    service_id: Option<i32>,
    organisation_id: i32,
    /// The structures an admin may look at (empty for the others: theirs only).
    organisations: Vec<Choice>,
    staff: Vec<Choice>,
    places: Vec<Choice>,
    services: Vec<Choice>,
    /// More appointments than [`SHOWN`] in the period: the first ones are shown, and the page
    /// says so (never a silently shortened agenda).
    more_than: Option<usize>,
}

#[derive(Serialize, Queryable)]
struct Choice {
    id: i32,
    name: String,
}

#[derive(Serialize)]
struct Day {
    date: String,
    label: String,
    appointments: Vec<Summary>,
    slots: Vec<SlotLink>,
}

#[derive(Serialize)]
struct Summary {
    id: i32,
    /// The local hour it starts in: its row in the week grid.
    hour: u32,
    /// The last hour row it still covers (a 9:00–11:00 session shows in 9 h, 10 h).
    last_hour: u32,
    start: String,
    end: String,
    title: String,
    place: String,
    mediator: String,
    status: AppointmentStatus,
    status_label: &'static str,
    booked: usize,
    capacity: i32,
    walk_in: bool,
    /// Who comes (the first few of a workshop), each with whether they confirmed.
    people: Vec<Attendee>,
    /// How many more a workshop holds beyond those named.
    more: usize,
}

#[derive(Serialize)]
struct Attendee {
    name: String,
    confirmed: bool,
}

/// How many people an appointment of the agenda names.
const NAMED: usize = 4;

/// How many appointments an agenda page shows at most (a structure's week is about a hundred;
/// beyond, the page asks to choose a mediator or a place).
const SHOWN: usize = 300;

#[derive(Serialize)]
struct SlotLink {
    hour: u32,
    start: String,
    mediator: String,
    place: String,
    /// The booking form's query, after `service_id=…&`: written as the template's own text (not
    /// a value Tera would escape, `/` as `&#x2F;`), since a week holds hundreds of these links.
    mediator_id: i32,
    place_id: i32,
    /// RFC 3339, URL-encoded (only `%`, letters and digits: nothing to escape in HTML).
    at: String,
}

/// Names by id of the staff, places and services an agenda shows.
#[derive(Default)]
struct Names {
    staff: HashMap<i32, String>,
    places: HashMap<i32, String>,
    services: HashMap<i32, String>,
}

/// What the page read, in one database call.
struct Read {
    organisation: i32,
    organisations: Vec<Choice>,
    appointments: Vec<Appointment>,
    slots: Vec<Slot>,
    staff: Vec<Choice>,
    places: Vec<Choice>,
    /// (id, name, is a workshop)
    services: Vec<(i32, String, bool)>,
    names: Names,
    /// Display names of the people the appointments name.
    people: HashMap<i32, String>,
}

/// The organisation whose agenda and lists the page shows: that of the mediator or place
/// chosen, else the one chosen (an admin may look at any), else the user's own.
fn organisation_in_view(
    conn: &mut DbConn,
    user: &StaffUser,
    mediator_id: Option<i32>,
    place_id: Option<i32>,
    organisation_id: Option<i32>,
) -> Result<i32, AppError> {
    let asked = crate::organisations::in_view(conn, user, organisation_id)?;
    if user.scope().is_some() {
        return Ok(asked);
    }
    let of_mediator = match mediator_id {
        Some(id) => users::table
            .find(id)
            .select(users::organisation_id)
            .first::<i32>(conn)
            .optional()?,
        None => None,
    };
    let of_place = match (of_mediator, place_id) {
        (None, Some(id)) => places::table
            .find(id)
            .select(places::organisation_id)
            .first::<i32>(conn)
            .optional()?,
        _ => None,
    };
    Ok(of_mediator.or(of_place).unwrap_or(asked))
}

/// The names of the appointments' and slots' staff, places and services missing from the
/// lists (an admin's agenda across organisations).
fn complete_names(
    conn: &mut DbConn,
    names: &mut Names,
    appointments: &[Appointment],
    slots: &[Slot],
) -> Result<(), AppError> {
    let missing = |known: &HashMap<i32, String>, ids: &mut dyn Iterator<Item = i32>| {
        let mut ids: Vec<i32> = ids.filter(|id| !known.contains_key(id)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let staff = missing(
        &names.staff,
        &mut appointments
            .iter()
            .map(|a| a.row.mediator_id)
            .chain(slots.iter().map(|s| s.mediator_id)),
    );
    let place_ids = missing(
        &names.places,
        &mut appointments
            .iter()
            .map(|a| a.row.place_id)
            .chain(slots.iter().map(|s| s.place_id)),
    );
    let service_ids = missing(
        &names.services,
        &mut appointments.iter().map(|a| a.row.service_id),
    );
    if !staff.is_empty() {
        let found: Vec<(i32, String)> = users::table
            .filter(users::id.eq_any(&staff))
            .select((users::id, users::name))
            .load(conn)?;
        names.staff.extend(found);
    }
    if !place_ids.is_empty() {
        let found: Vec<(i32, String)> = places::table
            .filter(places::id.eq_any(&place_ids))
            .select((places::id, places::name))
            .load(conn)?;
        names.places.extend(found);
    }
    if !service_ids.is_empty() {
        let found: Vec<(i32, String)> = services::table
            .filter(services::id.eq_any(&service_ids))
            .select((services::id, services::name))
            .load(conn)?;
        names.services.extend(found);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn read(
    conn: &mut DbConn,
    user: &StaffUser,
    tz: &Tz,
    first: NaiveDate,
    last: NaiveDate,
    mediator_id: Option<i32>,
    place_id: Option<i32>,
    service_id: Option<i32>,
    organisation_id: Option<i32>,
) -> Result<Read, AppError> {
    let organisation = organisation_in_view(conn, user, mediator_id, place_id, organisation_id)?;
    let organisations: Vec<Choice> = crate::organisations::choices(conn, user)?
        .into_iter()
        .map(|(id, name)| Choice { id, name })
        .collect();
    let staff: Vec<Choice> = users::table
        .filter(users::organisation_id.eq(organisation))
        .filter(users::active.eq(true))
        .order((users::name, users::id))
        .select((users::id, users::name))
        .load(conn)?;
    let place_list: Vec<Choice> = places::table
        .filter(places::organisation_id.eq(organisation))
        .order((places::name, places::id))
        .select((places::id, places::name))
        .load(conn)?;
    let service_list: Vec<(i32, String, String)> = services::table
        .filter(services::organisation_id.eq(organisation))
        .order((services::name, services::id))
        .select((services::id, services::name, services::kind))
        .load(conn)?;
    let services: Vec<(i32, String, bool)> = service_list
        .into_iter()
        .map(|(id, name, kind)| (id, name, kind == "workshop"))
        .collect();
    let filter = AppointmentFilter {
        from: Some(tz.to_utc(first, NaiveTime::MIN)),
        to: Some(tz.to_utc(last + Duration::days(1), NaiveTime::MIN)),
        mediator_id,
        place_id,
        organisation_id: Some(organisation),
        limit: SHOWN as i64 + 1,
        ..Default::default()
    };
    let appointments = service::list(conn, user, &filter)?;
    let slots = match service_id.or_else(|| services.iter().find(|s| !s.2).map(|s| s.0)) {
        Some(service_id) => slots::free_slots(
            conn,
            user,
            &SlotQuery {
                service_id,
                from: first,
                to: last,
                mediator_id,
                place_id,
            },
            tz,
        )?,
        None => Vec::new(),
    };
    let mut names = Names {
        staff: staff.iter().map(|c| (c.id, c.name.clone())).collect(),
        places: place_list.iter().map(|c| (c.id, c.name.clone())).collect(),
        services: services.iter().map(|s| (s.0, s.1.clone())).collect(),
    };
    complete_names(conn, &mut names, &appointments, &slots)?;
    let named: Vec<i32> = appointments
        .iter()
        .flat_map(|a| coming(a).take(NAMED).map(|p| p.person_id))
        .collect();
    let people = crate::people::picker::names(conn, &named)?;
    Ok(Read {
        organisation,
        organisations,
        people,
        appointments,
        slots,
        staff,
        places: place_list,
        services,
        names,
    })
}

/// The participants who come (or came): booked, waiting, present or absent; not those who
/// cancelled.
fn coming(a: &Appointment) -> impl Iterator<Item = &super::model::ParticipantRow> {
    a.participants.iter().filter(|p| {
        matches!(
            p.status,
            ParticipantStatus::Booked | ParticipantStatus::Attended | ParticipantStatus::NoShow
        )
    })
}

fn name(map: &HashMap<i32, String>, id: i32) -> String {
    map.get(&id).cloned().unwrap_or_default()
}

/// The agenda's query: a day, `view=day|week`, and filters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AgendaQuery {
    #[serde(default, deserialize_with = "crate::web::query::date")]
    pub date: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "agenda_view")]
    pub view: Option<String>,
    pub mediator_id: Option<i32>,
    pub place_id: Option<i32>,
    pub service_id: Option<i32>,
    pub organisation_id: Option<i32>,
}

fn agenda_view<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    crate::web::query::one_of(d, &["day", "week"])
}

/// The first and last day shown: the day itself, or the Monday-to-Sunday week holding it.
fn period(day: NaiveDate, week: bool) -> (NaiveDate, NaiveDate) {
    let first = if week {
        day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
    } else {
        day
    };
    let last = if week {
        first + Duration::days(6)
    } else {
        first
    };
    (first, last)
}

/// The period's days, labelled and still empty.
fn empty_days(first: NaiveDate, last: NaiveDate) -> Vec<Day> {
    (0..=(last - first).num_days())
        .map(|offset| {
            let d = first + Duration::days(offset);
            Day {
                date: d.to_string(),
                label: format!(
                    "{} {}",
                    WEEKDAYS[d.weekday().num_days_from_monday() as usize],
                    d.format("%d/%m")
                ),
                appointments: Vec::new(),
                slots: Vec::new(),
            }
        })
        .collect()
}

/// An appointment as its day and the week grid show it.
fn summary(tz: &Tz, a: &Appointment, names: &Names, people: &HashMap<i32, String>) -> Summary {
    let hour = tz.from_utc_datetime(&a.row.starts_at).hour();
    // The row of its last minute, on the same day (one running past midnight stops at the
    // grid's last row).
    let last_hour = {
        let end = tz.from_utc_datetime(&(a.row.ends_at - Duration::minutes(1)));
        if end.date_naive() == tz.from_utc_datetime(&a.row.starts_at).date_naive() {
            end.hour().max(hour)
        } else {
            23
        }
    };
    Summary {
        id: a.row.id,
        hour,
        last_hour,
        start: tz
            .from_utc_datetime(&a.row.starts_at)
            .format("%H:%M")
            .to_string(),
        end: tz
            .from_utc_datetime(&a.row.ends_at)
            .format("%H:%M")
            .to_string(),
        title: a
            .row
            .title
            .clone()
            .unwrap_or_else(|| name(&names.services, a.row.service_id)),
        place: name(&names.places, a.row.place_id),
        mediator: name(&names.staff, a.row.mediator_id),
        status: a.row.status,
        status_label: a.row.status.label(),
        booked: a.booked_count(),
        capacity: a.row.capacity,
        walk_in: a.row.walk_in,
        people: coming(a)
            .take(NAMED)
            .map(|p| Attendee {
                name: name(people, p.person_id),
                confirmed: p.confirmed_at.is_some(),
            })
            .collect(),
        more: coming(a).count().saturating_sub(NAMED),
    }
}

/// A free slot as its day and the week grid show it: a link to the booking form.
fn slot_link(tz: &Tz, s: &Slot, names: &Names) -> SlotLink {
    SlotLink {
        hour: tz.from_utc_datetime(&s.starts_at).hour(),
        start: tz
            .from_utc_datetime(&s.starts_at)
            .format("%H:%M")
            .to_string(),
        mediator: name(&names.staff, s.mediator_id),
        place: name(&names.places, s.place_id),
        mediator_id: s.mediator_id,
        place_id: s.place_id,
        at: crate::web::urlencode(&tz.rfc3339(s.starts_at)),
    }
}

/// The week grid's rows: from the earliest start to the latest hour covered, 8 h–18 h at least.
fn grid_hours(placed: &[(usize, Summary)], slot_links: &[(usize, SlotLink)]) -> Vec<u32> {
    let first_hour = placed
        .iter()
        .map(|(_, a)| a.hour)
        .chain(slot_links.iter().map(|(_, s)| s.hour))
        .min()
        .unwrap_or(8)
        .min(8);
    let last_hour = placed
        .iter()
        .map(|(_, a)| a.last_hour)
        .chain(slot_links.iter().map(|(_, s)| s.hour))
        .max()
        .unwrap_or(17)
        .max(17);
    (first_hour..=last_hour).collect()
}

/// The agenda's own address for another period, with the same view and filters.
fn period_link(
    d: NaiveDate,
    week: bool,
    mediator_id: Option<i32>,
    place_id: Option<i32>,
    service_id: Option<i32>,
    organisation_id: Option<i32>,
) -> String {
    let mut q = format!(
        "/agenda?date={d}&view={}",
        if week { "week" } else { "day" }
    );
    if let Some(m) = mediator_id {
        q.push_str(&format!("&mediator_id={m}"));
    }
    if let Some(p) = place_id {
        q.push_str(&format!("&place_id={p}"));
    }
    if let Some(s) = service_id {
        q.push_str(&format!("&service_id={s}"));
    }
    if let Some(o) = organisation_id {
        q.push_str(&format!("&organisation_id={o}"));
    }
    q
}

#[rocket::get("/agenda")]
pub async fn agenda(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    query: Query<AgendaQuery>,
) -> Result<Template, AppError> {
    let AgendaQuery {
        date,
        view,
        mediator_id,
        place_id,
        service_id,
        organisation_id,
    } = query.into_inner();
    let tz = config.timezone;
    let day = date.unwrap_or_else(|| tz.from_utc_datetime(&crate::db::now()).date_naive());
    let week = view.as_deref() == Some("week");
    let (first, last) = period(day, week);
    // Mediators see their own agenda unless they pick a place or a colleague.
    let mediator_id = mediator_id
        .or_else(|| (place_id.is_none() && web.user.role == Role::Mediator).then_some(web.user.id));
    let user = web.user.clone();
    let read = db
        .run(move |conn| {
            read(
                conn,
                &user,
                &tz,
                first,
                last,
                mediator_id,
                place_id,
                service_id,
                organisation_id,
            )
        })
        .await?;
    let more_than = (read.appointments.len() > SHOWN).then_some(SHOWN);
    let chosen_service = service_id.or_else(|| read.services.iter().find(|s| !s.2).map(|s| s.0));
    let names = &read.names;
    let mut days = empty_days(first, last);
    let index = |t: chrono::NaiveDateTime| {
        let local = tz.from_utc_datetime(&t);
        let offset = (local.date_naive() - first).num_days();
        usize::try_from(offset).ok().filter(|i| *i < days.len())
    };
    let mut placed: Vec<(usize, Summary)> = Vec::with_capacity(read.appointments.len());
    for a in read.appointments.iter().take(SHOWN) {
        let Some(i) = index(a.row.starts_at) else {
            continue;
        };
        placed.push((i, summary(&tz, a, names, &read.people)));
    }
    let mut slot_links: Vec<(usize, SlotLink)> = Vec::with_capacity(read.slots.len());
    for s in &read.slots {
        let Some(i) = index(s.starts_at) else {
            continue;
        };
        slot_links.push((i, slot_link(&tz, s, names)));
    }
    let hours = grid_hours(&placed, &slot_links);
    for (i, summary) in placed {
        days[i].appointments.push(summary);
    }
    for (i, link) in slot_links {
        days[i].slots.push(link);
    }
    let step = if week { 7 } else { 1 };
    let query =
        |d: NaiveDate| period_link(d, week, mediator_id, place_id, service_id, organisation_id);
    let context = AgendaPage {
        me: web.me(),
        csrf_token: web.csrf_field(),
        section: web.section,
        days,
        week,
        hours,
        date: day.to_string(),
        previous: query(first - Duration::days(step)),
        next: query(first + Duration::days(step)),
        mediator_id,
        place_id,
        service_id: chosen_service,
        organisation_id: read.organisation,
        organisations: read.organisations,
        more_than,
        staff: read.staff,
        places: read.places,
        services: read
            .services
            .into_iter()
            .map(|(id, name, _)| Choice { id, name })
            .collect(),
    };
    Ok(Template::render("booking/agenda", context))
}
