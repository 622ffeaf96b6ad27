//! The booking invariants, each in one function that owns its transaction:
//! a mediator never has two overlapping appointments (buffers included), a person is never in
//! two overlapping appointments, a workshop never exceeds its capacity, and outside opening
//! hours is refused unless explicitly overridden.
//!
//! **Which lock covers which invariant** (PostgreSQL, several instances on one database; see
//! [`crate::db::locks`] for the order that rules out deadlocks; on SQLite the write transaction
//! is exclusive and covers them all). Each check runs after its lock, in the transaction that
//! writes, so it reads what the previous holder committed:
//!
//! - *A mediator is never double-booked*: whoever places an appointment of a mediator in time
//!   ([`book_as`], [`reschedule_for`]) holds [`BookingKey::Mediator`] while checking the
//!   mediator's overlaps and writing. (An appointment never changes mediator; a cancellation
//!   only frees time.)
//! - *A person is never in two overlapping appointments*: whoever seats a person or moves a
//!   seat in time holds [`BookingKey::Person`] for each person seated: the people booked by
//!   [`book_as`], the one [`enrol_as`] books, the waiting people [`withdraw`] considers for
//!   promotion, the people booked in the appointment [`reschedule_for`] moves.
//! - *A workshop never exceeds its capacity*, and *its waiting list is served in order*: every
//!   change of an appointment's seats, status or time ([`enrol_as`], [`withdraw`], [`cancel`],
//!   [`reschedule_for`]) holds [`BookingKey::Appointment`], so enrolments are decided one at a
//!   time, in the order they get the lock, which is the order of their `created_at` and id.
//! - Merges and anonymisation take the organisation's lock exclusively, which every booking
//!   transaction holds shared: they never interleave with one.
//!
//! Bookings of different mediators, and enrolments in different workshops, no longer wait for
//! each other.

use chrono::{Duration, NaiveDateTime, Timelike};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Deserialize;

use super::availability::{absences_between, get_service_for, opening_hours_of, RFC3339_HINT};
use super::checks::{local_window, read_context, read_facts, Facts, Slot};
use super::model::MAX_SPAN;
use super::model::{Appointment, AppointmentRow, ParticipantRow, Service, SEATED};
use crate::auth::{Role, StaffUser};
use crate::config::Config;
use crate::db::schema::{appointments, participants, people};
use crate::db::{now, BookingKey, BookingLocks, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::mail::outbox::{self, Event};
use crate::text::clean;
use crate::time::{parse_rfc3339, LocalTime};

/// How far in the future a walk-in may start (clock drift between devices).
const WALK_IN_TOLERANCE_MINUTES: i64 = 15;

/// `POST /appointments`'s body (read from the JSON value kept for idempotent replays).
#[derive(Deserialize, Debug, Default, Clone, utoipa::ToSchema)]
pub struct BookingInput {
    #[schema(minimum = 1, maximum = 2147483647)]
    pub service_id: i32,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub mediator_id: i32,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub place_id: i32,
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// The people booked (a workshop may start empty).
    #[serde(default)]
    #[schema(schema_with = positive_ids)]
    pub person_ids: Vec<i32>,
    #[schema(max_length = 120)]
    pub title: Option<String>,
    /// A workshop's seats (the service's capacity when absent).
    #[schema(minimum = 1, maximum = 500)]
    pub capacity: Option<i32>,
    #[schema(max_length = 500)]
    pub notes: Option<String>,
    #[serde(default)]
    #[schema(default = false)]
    pub walk_in: bool,
    /// The mediator books outside their opening hours on purpose.
    #[serde(default)]
    #[schema(default = false)]
    pub override_opening_hours: bool,
}

/// A list of ids (positive 32-bit integers), in the OpenAPI document.
fn positive_ids() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(i32::MAX)),
        )
        .build()
}

fn conflict(code: &'static str, message: String) -> AppError {
    AppError::Conflict { code, message }
}

/// Parses an input time and drops seconds: appointments are to the minute.
pub fn parse_start(field: &str, text: &str) -> Result<NaiveDateTime, AppError> {
    let t = parse_rfc3339(text).ok_or_else(|| AppError::field(field, RFC3339_HINT))?;
    Ok(t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t))
}

pub fn load(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<Appointment, AppError> {
    load_for(conn, Some(user), id)
}

/// The appointment, if `user` may see it; `None` is a beneficiary whose signed link already
/// named the participation.
pub fn load_for(
    conn: &mut DbConn,
    user: Option<&StaffUser>,
    id: i32,
) -> Result<Appointment, AppError> {
    let row = appointment_row(conn, user, id)?;
    let participants = participants::table
        .filter(participants::appointment_id.eq(id))
        .select(ParticipantRow::as_select())
        // Enrolment order: a person who comes back joins the end of the queue.
        .order((participants::created_at, participants::id))
        .load(conn)?;
    Ok(Appointment { row, participants })
}

/// The appointment without its participants, if `user` may see it (as [`load_for`]).
fn appointment_row(
    conn: &mut DbConn,
    user: Option<&StaffUser>,
    id: i32,
) -> Result<AppointmentRow, AppError> {
    appointments::table
        .find(id)
        .select(AppointmentRow::as_select())
        .first(conn)
        .optional()?
        .filter(|a: &AppointmentRow| user.is_none_or(|u| u.can_see(a.organisation_id)))
        .ok_or(AppError::NotFound)
}

/// Marks an attempt under fine locks that needs keys it cannot take in order (see [`locked`]).
const WIDEN: &str = "booking transaction to run again under the organisation's lock";

/// Runs `f` in a transaction under fine locks (`wide` false); when `f` answers `None`, having
/// found that it needs keys it cannot take in order any more (and written nothing), rolls it
/// back, which releases its locks, and runs it once more under the organisation's lock held
/// exclusively (`wide` true).
fn locked<T>(
    conn: &mut DbConn,
    f: impl Fn(&mut DbConn, bool) -> Result<Option<T>, AppError>,
) -> Result<T, AppError> {
    let attempt = |conn: &mut DbConn, wide: bool| {
        crate::db::transaction(conn, |conn| {
            f(conn, wide)?.ok_or_else(|| AppError::Internal(WIDEN.into()))
        })
    };
    match attempt(conn, false) {
        Err(AppError::Internal(message)) if message == WIDEN => attempt(conn, true),
        other => other,
    }
}

#[derive(Debug, Default, Clone)]
pub struct AppointmentFilter {
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub mediator_id: Option<i32>,
    pub place_id: Option<i32>,
    pub person_id: Option<i32>,
    /// One organisation's appointments (an admin's agenda of a structure); others are held to
    /// their own organisation whatever this says.
    pub organisation_id: Option<i32>,
    pub limit: i64,
    pub offset: i64,
}

/// The filters of [`list`] on a query that has the appointments table in it. The period is
/// read as a range of `starts_at` bounded at both ends: an appointment that ends after `from`
/// started less than [`MAX_SPAN`] before it, so the index on (mediator, place or organisation,
/// `starts_at`) is walked over the period only, not over the whole history before it.
macro_rules! period_filters {
    ($q:expr, $user:expr, $filter:expr) => {{
        let mut q = $q;
        if let Some(org) = $user.scope() {
            q = q.filter(appointments::organisation_id.eq(org));
        }
        if let Some(org) = $filter.organisation_id {
            q = q.filter(appointments::organisation_id.eq(org));
        }
        if let Some(from) = $filter.from {
            q = q
                .filter(appointments::starts_at.gt(from - MAX_SPAN))
                .filter(appointments::ends_at.gt(from));
        }
        if let Some(to) = $filter.to {
            q = q.filter(appointments::starts_at.lt(to));
        }
        if let Some(id) = $filter.mediator_id {
            q = q.filter(appointments::mediator_id.eq(id));
        }
        if let Some(id) = $filter.place_id {
            q = q.filter(appointments::place_id.eq(id));
        }
        if let Some(id) = $filter.person_id {
            let seats = diesel::alias!(participants as seats);
            q = q.filter(
                appointments::id.eq_any(
                    seats
                        .filter(seats.field(participants::person_id).eq(id))
                        .select(seats.field(participants::appointment_id)),
                ),
            );
        }
        q
    }};
}

/// The appointments of a period (the agenda, a person's appointments, the to-call list…),
/// each with its participants in enrolment order. Both statements keep the same shape whatever
/// the values, so they stay prepared; the participants are read by a join over the page's own
/// range of `starts_at` (no `IN` list, which would be prepared again at every call).
pub fn list(
    conn: &mut DbConn,
    user: &StaffUser,
    filter: &AppointmentFilter,
) -> Result<Vec<Appointment>, AppError> {
    let rows: Vec<AppointmentRow> = period_filters!(
        appointments::table
            .select(AppointmentRow::as_select())
            .into_boxed(),
        user,
        filter
    )
    .order((appointments::starts_at, appointments::id))
    .limit(filter.limit)
    .offset(filter.offset)
    .load(conn)?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(Vec::new());
    };
    let (first, last) = (first.starts_at, last.starts_at);
    let found: Vec<ParticipantRow> = period_filters!(
        participants::table
            .inner_join(appointments::table)
            .select(ParticipantRow::as_select())
            .into_boxed(),
        user,
        filter
    )
    .filter(appointments::starts_at.ge(first))
    .filter(appointments::starts_at.le(last))
    .order((participants::created_at, participants::id))
    .load(conn)?;
    let mut by_appointment: std::collections::HashMap<i32, Vec<ParticipantRow>> =
        std::collections::HashMap::with_capacity(rows.len());
    for p in found {
        by_appointment.entry(p.appointment_id).or_default().push(p);
    }
    // Appointments of the same start beyond the page bring participants that are left out here.
    Ok(rows
        .into_iter()
        .map(|row| Appointment {
            participants: by_appointment.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// What a new or moved appointment must respect.
struct Placement<'a> {
    mediator_id: i32,
    place_id: i32,
    service: &'a Service,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    blocked_until: NaiveDateTime,
    walk_in: bool,
    override_opening_hours: bool,
    /// The appointment being moved, which does not conflict with itself.
    except: Option<i32>,
}

fn mediator_name(conn: &mut DbConn, id: i32) -> String {
    crate::auth::model::user_by_id(conn, id)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| "Le médiateur".into())
}

fn person_label(conn: &mut DbConn, id: i32) -> String {
    people::table
        .find(id)
        .select((people::given_name, people::family_name))
        .first::<(String, Option<String>)>(conn)
        .map(
            |(given, family)| match family.and_then(|f| f.chars().next()) {
                Some(initial) => format!("{given} {initial}."),
                None => given,
            },
        )
        .unwrap_or_else(|_| "Cette personne".into())
}

/// Time rules (notice, horizon, opening hours, absences) and the mediator's overlaps.
fn check_mediator(conn: &mut DbConn, p: &Placement, tz: &Tz) -> Result<(), AppError> {
    check_time_rules(conn, p, tz)?;
    check_mediator_overlap(conn, p, tz)
}

/// Notice, horizon, opening hours and absences: rules about the time itself, which need no lock.
fn check_time_rules(conn: &mut DbConn, p: &Placement, tz: &Tz) -> Result<(), AppError> {
    time_rules(conn, p, tz, None)
}

/// [`check_time_rules`], with the opening hours and absences already known (`facts`) or read
/// here (`None`).
fn time_rules(
    conn: &mut DbConn,
    p: &Placement,
    tz: &Tz,
    facts: Option<&Facts>,
) -> Result<(), AppError> {
    let current = now();
    if p.walk_in {
        if p.starts_at > current + Duration::minutes(WALK_IN_TOLERANCE_MINUTES) {
            return Err(AppError::field(
                "starts_at",
                "Une séance sans rendez-vous a déjà commencé ou eu lieu.",
            ));
        }
    } else {
        let earliest = current + Duration::minutes(i64::from(p.service.min_notice_minutes));
        if p.starts_at < earliest {
            return Err(conflict(
                "too_late",
                if p.starts_at < current {
                    "Ce créneau est déjà passé.".to_string()
                } else {
                    format!(
                        "Il faut réserver au moins {} minutes à l'avance (au plus tôt {}).",
                        p.service.min_notice_minutes,
                        tz.in_words(earliest)
                    )
                },
            ));
        }
        let latest = current + Duration::days(i64::from(p.service.horizon_days));
        if p.starts_at > latest {
            return Err(conflict(
                "beyond_horizon",
                format!(
                    "On ne réserve pas plus de {} jours à l'avance.",
                    p.service.horizon_days
                ),
            ));
        }
        let open = |conn: &mut DbConn| match facts {
            Some(facts) => Ok(facts.open),
            None => within_opening_hours(conn, p, tz),
        };
        if !p.override_opening_hours && !open(conn)? {
            return Err(conflict(
                "outside_opening_hours",
                format!(
                    "{} n'assure pas de permanence dans ce lieu le {} : choisissez un créneau libre ou forcez la réservation.",
                    mediator_name(conn, p.mediator_id),
                    tz.in_words(p.starts_at)
                ),
            ));
        }
        // Read again when known to exist, for the message.
        let absences = if facts.is_none_or(|f| f.absent) {
            absences_between(conn, &[p.mediator_id], p.starts_at, p.ends_at)?
        } else {
            Vec::new()
        };
        if let Some(absence) = absences.first() {
            return Err(conflict(
                "mediator_busy",
                format!(
                    "{} est absent·e du {} au {}.",
                    mediator_name(conn, p.mediator_id),
                    tz.in_words(absence.starts_at),
                    tz.in_words(absence.ends_at)
                ),
            ));
        }
    }
    Ok(())
}

/// The mediator's other appointments (pauses included) must not overlap. Run it under the
/// mediator's lock, in the transaction that writes.
fn check_mediator_overlap(conn: &mut DbConn, p: &Placement, tz: &Tz) -> Result<(), AppError> {
    let clash: Option<AppointmentRow> = appointments::table
        .filter(appointments::mediator_id.eq(p.mediator_id))
        .filter(appointments::status.ne("cancelled"))
        // No appointment lasts a day: this bounds the index range to scan.
        .filter(appointments::starts_at.gt(p.starts_at - MAX_SPAN))
        .filter(appointments::starts_at.lt(p.blocked_until))
        .filter(appointments::blocked_until.gt(p.starts_at))
        .filter(appointments::id.ne(p.except.unwrap_or(-1)))
        .select(AppointmentRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(other) = clash {
        return Err(conflict(
            "mediator_busy",
            format!(
                "{} a déjà un rendez-vous le {} (jusqu'à {}, pause comprise).",
                mediator_name(conn, p.mediator_id),
                tz.in_words(other.starts_at),
                tz.short(other.blocked_until)
                    .split(' ')
                    .nth(1)
                    .unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

fn within_opening_hours(conn: &mut DbConn, p: &Placement, tz: &Tz) -> Result<bool, AppError> {
    let Some((date, _, start_minute, end_minute)) = local_window(p.starts_at, p.ends_at, tz) else {
        return Ok(false);
    };
    Ok(opening_hours_of(conn, &[p.mediator_id])?.iter().any(|o| {
        o.place_id == p.place_id
            && o.applies_on(date)
            && o.start_minute <= start_minute
            && end_minute <= o.end_minute
    }))
}

/// A person's overlapping seat elsewhere, if any.
fn person_clash(
    conn: &mut DbConn,
    person_id: i32,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    except: Option<i32>,
) -> Result<Option<AppointmentRow>, AppError> {
    Ok(appointments::table
        .inner_join(participants::table)
        .filter(participants::person_id.eq(person_id))
        // Spelt out rather than `eq_any(SEATED)`, which SQLite would prepare again at each call.
        .filter(
            participants::status
                .eq(SEATED[0])
                .or(participants::status.eq(SEATED[1])),
        )
        .filter(appointments::status.ne("cancelled"))
        .filter(appointments::starts_at.gt(starts_at - MAX_SPAN))
        .filter(appointments::starts_at.lt(ends_at))
        .filter(appointments::ends_at.gt(starts_at))
        .filter(appointments::id.ne(except.unwrap_or(-1)))
        .select(AppointmentRow::as_select())
        .first(conn)
        .optional()?)
}

fn check_person(
    conn: &mut DbConn,
    person_id: i32,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    except: Option<i32>,
    tz: &Tz,
) -> Result<(), AppError> {
    if let Some(other) = person_clash(conn, person_id, starts_at, ends_at, except)? {
        return Err(conflict(
            "person_busy",
            format!(
                "{} a déjà un rendez-vous le {}.",
                person_label(conn, person_id),
                tz.in_words(other.starts_at)
            ),
        ));
    }
    Ok(())
}

fn insert_participant(
    conn: &mut DbConn,
    appointment_id: i32,
    person_id: i32,
    status: &str,
) -> Result<ParticipantRow, AppError> {
    let stamp = now();
    let id: i32 = diesel::insert_into(participants::table)
        .values((
            participants::appointment_id.eq(appointment_id),
            participants::person_id.eq(person_id),
            participants::status.eq(status),
            participants::created_at.eq(stamp),
            participants::updated_at.eq(stamp),
        ))
        .returning(participants::id)
        .get_result(conn)?;
    Ok(ParticipantRow {
        id,
        appointment_id,
        person_id,
        status: status.to_string(),
        created_at: stamp,
        updated_at: stamp,
        confirmed_at: None,
    })
}

/// The mistakes a booking's input shows on its own, without the database: a form shows them
/// with its own.
pub fn input_errors(input: &BookingInput) -> FieldErrors {
    let title = clean(input.title.clone());
    let notes = clean(input.notes.clone());
    let mut errors = FieldErrors::new();
    if title.as_ref().is_some_and(|t| t.chars().count() > 120) {
        errors
            .entry("title".into())
            .or_default()
            .push("120 caractères au plus.".into());
    }
    if notes.as_ref().is_some_and(|t| t.chars().count() > 500) {
        errors
            .entry("notes".into())
            .or_default()
            .push("500 caractères au plus.".into());
    }
    if input.capacity.is_some_and(|c| !(1..=500).contains(&c)) {
        errors
            .entry("capacity".into())
            .or_default()
            .push("La capacité doit être comprise entre 1 et 500.".into());
    }
    let person_ids = &input.person_ids;
    let mut distinct = person_ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != person_ids.len() {
        errors
            .entry("person_ids".into())
            .or_default()
            .push("Une personne figure deux fois.".into());
    }
    errors
}

/// Books an appointment: checks every rule, then inserts it with its participants (the first
/// `capacity` booked, the others waitlisted).
pub fn book(
    conn: &mut DbConn,
    actor: &StaffUser,
    input: BookingInput,
    config: &Config,
) -> Result<Appointment, AppError> {
    book_as(conn, Some(actor), input, config)
}

/// [`book`], by a member of staff or (`None`) from the public pages, whose caller has already
/// checked that the service may be booked by them: audited with no actor.
pub fn book_as(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    input: BookingInput,
    config: &Config,
) -> Result<Appointment, AppError> {
    let tz = &config.timezone;
    let starts_at = parse_start("starts_at", &input.starts_at)?;
    let title = clean(input.title.clone());
    let notes = clean(input.notes.clone());
    let person_ids = input.person_ids.clone();
    let errors = input_errors(&input);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    // What the request names, read in one statement before any lock (see `super::checks`):
    // whether it makes sense at all needs no lock.
    let context = read_context(
        conn,
        input.service_id,
        input.mediator_id,
        input.place_id,
        person_ids.first().copied(),
    )?
    .filter(|c| actor.is_none_or(|a| a.can_see(c.service.organisation_id)))
    .ok_or_else(|| AppError::field("service_id", "Ce motif de rendez-vous n'existe pas."))?;
    let service = context.service;
    let organisation_id = service.organisation_id;
    let mediator_id = input.mediator_id;
    context
        .mediator
        .as_ref()
        .filter(|(org, active, _)| *org == organisation_id && *active)
        .ok_or_else(|| {
            AppError::field(
                "mediator_id",
                "Ce médiateur n'existe pas dans la structure.",
            )
        })?;
    match actor {
        Some(actor)
            if actor.role == Role::Mediator
                && input.override_opening_hours
                && actor.id != mediator_id =>
        {
            return Err(AppError::Forbidden(
                "Seul le médiateur concerné ou un coordinateur peut forcer un horaire.".into(),
            ));
        }
        None if input.override_opening_hours || input.walk_in => {
            return Err(AppError::forbidden());
        }
        _ => {}
    }
    let place_id = context
        .place_organisation
        .filter(|org| *org == organisation_id)
        .filter(|org| actor.is_none_or(|a| a.can_see(*org)))
        .map(|_| input.place_id)
        .ok_or_else(|| AppError::field("place_id", "Ce lieu n'existe pas dans la structure."))?;
    for (i, id) in person_ids.iter().enumerate() {
        let found = if i == 0 {
            context.first_person
        } else {
            people::table
                .find(id)
                .select((people::organisation_id, people::anonymised_at))
                .first(conn)
                .optional()?
        };
        if !matches!(found, Some((org, None)) if org == organisation_id) {
            return Err(AppError::field(
                "person_ids",
                format!("La personne {id} n'existe pas dans la structure."),
            ));
        }
    }
    let capacity = match (service.is_workshop(), input.capacity) {
        (true, Some(c)) => c,
        (true, None) => service.capacity,
        (false, _) => 1,
    };
    let ends_at = starts_at + Duration::minutes(i64::from(service.duration_minutes));
    let blocked_until = ends_at + Duration::minutes(i64::from(service.buffer_minutes));
    let placement = Placement {
        mediator_id,
        place_id,
        service: &service,
        starts_at,
        ends_at,
        blocked_until,
        walk_in: input.walk_in,
        override_opening_hours: input.override_opening_hours,
        except: None,
    };
    let seated = person_ids.len().min(capacity as usize);
    let slot = Slot {
        organisation_id,
        mediator_id,
        place_id,
        starts_at,
        ends_at,
        blocked_until,
        first_person: person_ids[..seated].first().copied(),
    };
    // The waiting people are not checked, so not locked: their promotion locks them.
    let mut keys = vec![BookingKey::Mediator(mediator_id)];
    keys.extend(
        person_ids[..seated]
            .iter()
            .map(|id| BookingKey::Person(*id)),
    );
    BookingLocks::transaction(conn, organisation_id, &keys, |conn, _locks| {
        // The time rules, the mediator's overlaps and the first person's, in one statement;
        // refused in the order the rules are listed (time, mediator, people).
        let facts = read_facts(conn, &slot, tz)?.ok_or_else(|| {
            AppError::field(
                "mediator_id",
                "Ce médiateur n'existe pas dans la structure.",
            )
        })?;
        time_rules(conn, &placement, tz, Some(&facts))?;
        if facts.mediator_busy {
            check_mediator_overlap(conn, &placement, tz)?;
        }
        for (i, id) in person_ids[..seated].iter().enumerate() {
            if i > 0 || facts.person_busy {
                check_person(conn, *id, starts_at, ends_at, None, tz)?;
            }
        }
        let stamp = now();
        let people: Vec<(i32, &str)> = person_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, if i < seated { "booked" } else { "waitlisted" }))
            .collect();
        let appointment = super::insert::appointment(
            conn,
            &super::insert::NewAppointment {
                organisation_id,
                service_id: service.id,
                mediator_id,
                place_id,
                starts_at,
                ends_at,
                blocked_until,
                capacity,
                title: title.as_deref(),
                notes: notes.as_deref(),
                walk_in: input.walk_in,
                stamp,
            },
            &people,
            actor,
        )?;
        // Read with the facts: no webhook, no further read; the first person's contact known.
        crate::webhooks::announce_new_appointment(
            conn,
            &config.timezone,
            &appointment,
            facts.webhooks,
        )?;
        outbox::announce_known(
            conn,
            config,
            &appointment,
            Event::Booked,
            slot.first_person.map(|id| (id, facts.contact.clone())),
        )?;
        Ok(appointment)
    })
}

fn planned(appointment: &Appointment) -> Result<(), AppError> {
    planned_row(&appointment.row)
}

fn planned_row(row: &AppointmentRow) -> Result<(), AppError> {
    if row.status != "planned" {
        return Err(conflict(
            "not_planned",
            "Ce rendez-vous est annulé ou déjà tenu : il ne peut plus être modifié.".into(),
        ));
    }
    Ok(())
}

/// Enrols a person: booked while seats remain, waitlisted after.
pub fn enrol(
    conn: &mut DbConn,
    actor: &StaffUser,
    appointment_id: i32,
    person_id: i32,
    config: &Config,
) -> Result<String, AppError> {
    enrol_as(conn, Some(actor), appointment_id, person_id, config)
}

/// [`enrol`], by a member of staff or (`None`) from the public pages: audited with no actor.
///
/// Under the appointment's lock, the seats are counted rather than the participants loaded: a
/// workshop announced to many people at once has a long waiting list, and every enrolment of
/// the burst waits for the one before.
pub fn enrol_as(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    appointment_id: i32,
    person_id: i32,
    config: &Config,
) -> Result<String, AppError> {
    let tz = &config.timezone;
    locked(conn, |conn, wide| {
        let row = appointment_row(conn, actor, appointment_id)?;
        let mut locks = BookingLocks::take(
            conn,
            row.organisation_id,
            wide,
            &[BookingKey::Appointment(appointment_id)],
        )?;
        let row = appointment_row(conn, actor, appointment_id)?;
        planned_row(&row)?;
        let found: Option<(i32, Option<NaiveDateTime>)> = people::table
            .find(person_id)
            .select((people::organisation_id, people::anonymised_at))
            .first(conn)
            .optional()?;
        found
            .filter(|(org, anonymised)| *org == row.organisation_id && anonymised.is_none())
            .ok_or_else(|| {
                AppError::field(
                    "person_id",
                    "Cette personne n'existe pas dans la structure.",
                )
            })?;
        let existing: Option<(i32, String)> = participants::table
            .filter(participants::appointment_id.eq(appointment_id))
            .filter(participants::person_id.eq(person_id))
            .select((participants::id, participants::status))
            .first(conn)
            .optional()?;
        if existing.as_ref().is_some_and(|(_, status)| {
            matches!(status.as_str(), "booked" | "waitlisted" | "attended")
        }) {
            return Err(conflict(
                "already_enrolled",
                "Cette personne est déjà inscrite.".into(),
            ));
        }
        let seated: i64 = participants::table
            .filter(participants::appointment_id.eq(appointment_id))
            .filter(
                participants::status
                    .eq(SEATED[0])
                    .or(participants::status.eq(SEATED[1])),
            )
            .count()
            .get_result(conn)?;
        let status = if seated < i64::from(row.capacity) {
            // After the appointment's key: in order.
            if !locks.then(conn, &[BookingKey::Person(person_id)])? {
                return Ok(None);
            }
            check_person(
                conn,
                person_id,
                row.starts_at,
                row.ends_at,
                Some(appointment_id),
                tz,
            )?;
            "booked"
        } else {
            "waitlisted"
        };
        match existing {
            Some((id, _)) => {
                // Enrolled again: as of now, behind those already waiting.
                diesel::update(participants::table.find(id))
                    .set((
                        participants::status.eq(status),
                        participants::created_at.eq(now()),
                        participants::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
            }
            None => {
                insert_participant(conn, appointment_id, person_id, status)?;
            }
        }
        crate::audit::record(
            conn,
            actor,
            "enrol",
            "appointment",
            Some(appointment_id),
            Some(row.organisation_id),
        )?;
        crate::rollups::mark(conn, appointment_id)?;
        if status == "booked" {
            let appointment = load_for(conn, actor, appointment_id)?;
            crate::webhooks::announce_appointment(
                conn,
                &config.timezone,
                &appointment,
                &Event::Enrolled(person_id),
            )?;
            outbox::announce(conn, config, &appointment, Event::Enrolled(person_id))?;
        }
        Ok(Some(status.to_string()))
    })
}

/// The waiting people of `appointment` to seat, in order, skipping those busy elsewhere then,
/// while `seats` remain; `None` when that takes people it could not lock (see [`locked`]).
/// Reads only: the caller seats them.
fn waitlist_to_promote(
    conn: &mut DbConn,
    locks: &mut BookingLocks,
    appointment: &Appointment,
    leaving: i32,
    seats: usize,
) -> Result<Option<Vec<ParticipantRow>>, AppError> {
    let waiting: Vec<&ParticipantRow> = appointment
        .participants
        .iter()
        .filter(|p| p.status == "waitlisted" && p.id != leaving)
        .collect();
    if seats == 0 || waiting.is_empty() {
        return Ok(Some(Vec::new()));
    }
    // The first of the list, locked together (after the appointment's key, so in order); the
    // whole list when the organisation is locked.
    let reach = if locks.is_wide() {
        waiting.len()
    } else {
        waiting.len().min(crate::db::locks::MAX_PERSON_KEYS)
    };
    let keys: Vec<BookingKey> = waiting[..reach]
        .iter()
        .map(|p| BookingKey::Person(p.person_id))
        .collect();
    if !locks.then(conn, &keys)? {
        return Ok(None);
    }
    let mut promoted = Vec::new();
    for candidate in &waiting[..reach] {
        if promoted.len() == seats {
            break;
        }
        let busy = person_clash(
            conn,
            candidate.person_id,
            appointment.row.starts_at,
            appointment.row.ends_at,
            Some(appointment.row.id),
        )?;
        if busy.is_none() {
            promoted.push((*candidate).clone());
        }
    }
    if promoted.len() < seats && reach < waiting.len() {
        // Seats remain and people further down were not locked.
        return Ok(None);
    }
    Ok(Some(promoted))
}

/// Withdraws a person (`cancelled` by the structure, `excused` by the person) and promotes the
/// waitlist. `actor` is `None` when the person cancels from their link. Returns the promoted
/// people.
pub fn withdraw(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    appointment_id: i32,
    person_id: i32,
    new_status: &str,
    config: &Config,
) -> Result<Vec<i32>, AppError> {
    locked(conn, |conn, wide| {
        let row = appointment_row(conn, actor, appointment_id)?;
        let mut locks = BookingLocks::take(
            conn,
            row.organisation_id,
            wide,
            &[BookingKey::Appointment(appointment_id)],
        )?;
        let appointment = load_for(conn, actor, appointment_id)?;
        planned(&appointment)?;
        let row = appointment
            .participants
            .iter()
            .find(|p| {
                p.person_id == person_id && matches!(p.status.as_str(), "booked" | "waitlisted")
            })
            .ok_or(AppError::NotFound)?;
        let seated_after = appointment.booked_count() - usize::from(row.status == "booked");
        let seats = (appointment.row.capacity as usize).saturating_sub(seated_after);
        // Who moves up is decided (and locked) before anything is written.
        let Some(promoted) = waitlist_to_promote(conn, &mut locks, &appointment, row.id, seats)?
        else {
            return Ok(None);
        };
        diesel::update(participants::table.find(row.id))
            .set((
                participants::status.eq(new_status),
                participants::updated_at.eq(now()),
            ))
            .execute(conn)?;
        for candidate in &promoted {
            diesel::update(participants::table.find(candidate.id))
                .set((
                    participants::status.eq("booked"),
                    participants::updated_at.eq(now()),
                ))
                .execute(conn)?;
        }
        let promoted: Vec<i32> = promoted.iter().map(|p| p.person_id).collect();
        crate::audit::record(
            conn,
            actor,
            "withdraw",
            "appointment",
            Some(appointment_id),
            Some(appointment.row.organisation_id),
        )?;
        crate::rollups::mark(conn, appointment_id)?;
        let appointment = load_for(conn, actor, appointment_id)?;
        crate::webhooks::announce_appointment(
            conn,
            &config.timezone,
            &appointment,
            &Event::Withdrawn(person_id),
        )?;
        outbox::announce(conn, config, &appointment, Event::Withdrawn(person_id))?;
        for person in &promoted {
            crate::webhooks::announce_appointment(
                conn,
                &config.timezone,
                &appointment,
                &Event::Promoted(*person),
            )?;
            outbox::announce(conn, config, &appointment, Event::Promoted(*person))?;
        }
        Ok(Some(promoted))
    })
}

/// Moves an appointment, checking the same rules as a booking.
pub fn reschedule(
    conn: &mut DbConn,
    actor: &StaffUser,
    appointment_id: i32,
    starts_at: &str,
    override_opening_hours: bool,
    config: &Config,
) -> Result<Appointment, AppError> {
    let starts_at = parse_start("starts_at", starts_at)?;
    reschedule_for(
        conn,
        Some(actor),
        appointment_id,
        starts_at,
        override_opening_hours,
        config,
    )
}

/// Moves an appointment to `starts_at`, checking the same rules as a booking, in one
/// transaction under the locks of its mediator, of itself and of the people booked in it.
/// `actor` is `None` when the person moves it from their link (never with
/// `override_opening_hours`); the audit then names no one.
pub fn reschedule_for(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    appointment_id: i32,
    starts_at: NaiveDateTime,
    override_opening_hours: bool,
    config: &Config,
) -> Result<Appointment, AppError> {
    let tz = &config.timezone;
    let override_opening_hours = override_opening_hours && actor.is_some();
    locked(conn, |conn, wide| {
        let row = appointment_row(conn, actor, appointment_id)?;
        let mut locks = BookingLocks::take(
            conn,
            row.organisation_id,
            wide,
            &[
                BookingKey::Mediator(row.mediator_id),
                BookingKey::Appointment(appointment_id),
            ],
        )?;
        let appointment = load_for(conn, actor, appointment_id)?;
        planned(&appointment)?;
        // The people booked, as of now that no one else changes the seats.
        let seated: Vec<BookingKey> = appointment
            .participants
            .iter()
            .filter(|p| p.status == "booked")
            .map(|p| BookingKey::Person(p.person_id))
            .collect();
        if !locks.then(conn, &seated)? {
            return Ok(None);
        }
        if let Some(actor) = actor {
            if actor.role == Role::Mediator
                && override_opening_hours
                && actor.id != appointment.row.mediator_id
            {
                return Err(AppError::Forbidden(
                    "Seul le médiateur concerné ou un coordinateur peut forcer un horaire.".into(),
                ));
            }
        }
        let service = get_service_for(conn, actor, appointment.row.service_id)?;
        let ends_at = starts_at + (appointment.row.ends_at - appointment.row.starts_at);
        let blocked_until = ends_at + (appointment.row.blocked_until - appointment.row.ends_at);
        check_mediator(
            conn,
            &Placement {
                mediator_id: appointment.row.mediator_id,
                place_id: appointment.row.place_id,
                service: &service,
                starts_at,
                ends_at,
                blocked_until,
                walk_in: false,
                override_opening_hours,
                except: Some(appointment_id),
            },
            tz,
        )?;
        for p in appointment
            .participants
            .iter()
            .filter(|p| p.status == "booked")
        {
            check_person(
                conn,
                p.person_id,
                starts_at,
                ends_at,
                Some(appointment_id),
                tz,
            )?;
        }
        // The day it leaves; the day it lands on is noted after the move.
        crate::rollups::mark(conn, appointment_id)?;
        diesel::update(appointments::table.find(appointment_id))
            .set((
                appointments::starts_at.eq(starts_at),
                appointments::ends_at.eq(ends_at),
                appointments::blocked_until.eq(blocked_until),
                appointments::sequence.eq(appointment.row.sequence + 1),
                appointments::updated_at.eq(now()),
            ))
            .execute(conn)?;
        crate::audit::record(
            conn,
            actor,
            "reschedule",
            "appointment",
            Some(appointment_id),
            Some(appointment.row.organisation_id),
        )?;
        crate::rollups::mark(conn, appointment_id)?;
        let moved = load_for(conn, actor, appointment_id)?;
        crate::webhooks::announce_appointment(conn, &config.timezone, &moved, &Event::Rescheduled)?;
        outbox::announce(conn, config, &moved, Event::Rescheduled)?;
        Ok(Some(moved))
    })
}

/// Cancels an appointment, by the person or by the structure.
pub fn cancel(
    conn: &mut DbConn,
    actor: &StaffUser,
    appointment_id: i32,
    by: &str,
    reason: Option<String>,
    config: &Config,
) -> Result<Appointment, AppError> {
    let participant_status = match by {
        "person" => "excused",
        "structure" => "cancelled",
        _ => return Err(AppError::field("by", "Indiquez person ou structure.")),
    };
    let reason = clean(reason);
    if reason.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return Err(AppError::field("reason", "200 caractères au plus."));
    }
    crate::db::transaction(conn, |conn| {
        let row = appointment_row(conn, Some(actor), appointment_id)?;
        BookingLocks::take(
            conn,
            row.organisation_id,
            false,
            &[BookingKey::Appointment(appointment_id)],
        )?;
        let appointment = load(conn, actor, appointment_id)?;
        planned(&appointment)?;
        diesel::update(appointments::table.find(appointment_id))
            .set((
                appointments::status.eq("cancelled"),
                appointments::cancelled_by.eq(by),
                appointments::cancel_reason.eq(reason.as_deref()),
                appointments::sequence.eq(appointment.row.sequence + 1),
                appointments::updated_at.eq(now()),
            ))
            .execute(conn)?;
        diesel::update(
            participants::table
                .filter(participants::appointment_id.eq(appointment_id))
                .filter(participants::status.eq_any(["booked", "waitlisted"])),
        )
        .set((
            participants::status.eq(participant_status),
            participants::updated_at.eq(now()),
        ))
        .execute(conn)?;
        crate::audit::record(
            conn,
            Some(actor),
            "cancel",
            "appointment",
            Some(appointment_id),
            Some(appointment.row.organisation_id),
        )?;
        crate::rollups::mark(conn, appointment_id)?;
        let seated: Vec<i32> = appointment
            .participants
            .iter()
            .filter(|p| p.status == "booked")
            .map(|p| p.person_id)
            .collect();
        let cancelled = load(conn, actor, appointment_id)?;
        crate::webhooks::announce_appointment(
            conn,
            &config.timezone,
            &cancelled,
            &Event::Cancelled(seated.clone()),
        )?;
        outbox::announce(conn, config, &cancelled, Event::Cancelled(seated))?;
        Ok(cancelled)
    })
}
