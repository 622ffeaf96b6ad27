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
use diesel::prelude::*;
use serde::Deserialize;

use super::availability::RFC3339_HINT;
use super::checks::{read_context, read_facts, Slot};
use super::model::{Appointment, AppointmentRow, ParticipantRow, Service};
use crate::auth::{Role, StaffUser};
use crate::booking::notify::{self, Event};
use crate::config::Config;
use crate::db::schema::{appointments, participants, people};
use crate::db::{now, BookingKey, BookingLocks, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::text::clean;
use crate::time::parse_rfc3339;

mod listing;
mod moves;
mod placement;
mod seats;

pub use listing::{list, list_out, AppointmentFilter};
pub use moves::{cancel, reschedule, reschedule_for};
use placement::*;
pub use seats::{enrol, enrol_as, withdraw};

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
    let (service, place_id) = check_names(conn, actor, &input)?;
    let organisation_id = service.organisation_id;
    let mediator_id = input.mediator_id;
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
        let people: Vec<(i32, ParticipantStatus)> = person_ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let status = if i < seated {
                    ParticipantStatus::Booked
                } else {
                    ParticipantStatus::Waitlisted
                };
                (*id, status)
            })
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
        notify::announce_known(
            conn,
            config,
            &appointment,
            Event::Booked,
            slot.first_person.map(|id| (id, facts.contact.clone())),
        )?;
        Ok(appointment)
    })
}

/// What a booking names, checked before any lock: the service (one the actor sees), an active
/// mediator and a place of its organisation, people of the organisation, and whether the actor
/// may force opening hours or a walk-in. Gives the service and the place.
fn check_names(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    input: &BookingInput,
) -> Result<(Service, i32), AppError> {
    // What the request names, read in one statement before any lock (see `super::checks`):
    // whether it makes sense at all needs no lock.
    let context = read_context(
        conn,
        input.service_id,
        input.mediator_id,
        input.place_id,
        input.person_ids.first().copied(),
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
    for (i, id) in input.person_ids.iter().enumerate() {
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
    Ok((service, place_id))
}

fn planned(appointment: &Appointment) -> Result<(), AppError> {
    planned_row(&appointment.row)
}

fn planned_row(row: &AppointmentRow) -> Result<(), AppError> {
    if row.status != AppointmentStatus::Planned {
        return Err(conflict(
            "not_planned",
            "Ce rendez-vous est annulé ou déjà tenu : il ne peut plus être modifié.".into(),
        ));
    }
    Ok(())
}
