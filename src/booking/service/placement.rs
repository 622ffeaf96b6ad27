//! The rules a new or moved appointment must respect: time rules (opening hours, absences,
//! walk-ins), the mediator's overlaps and each person's, and seating a person.

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::{conflict, WALK_IN_TOLERANCE_MINUTES};
use crate::booking::availability::{absences_between, opening_hours_of};
use crate::booking::checks::{local_window, Facts};
use crate::booking::model::MAX_SPAN;
use crate::booking::model::{AppointmentRow, ParticipantRow, Service};
use crate::db::schema::{appointments, participants, people};
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::time::LocalTime;

/// What a new or moved appointment must respect.
pub(super) struct Placement<'a> {
    pub(super) mediator_id: i32,
    pub(super) place_id: i32,
    pub(super) service: &'a Service,
    pub(super) starts_at: NaiveDateTime,
    pub(super) ends_at: NaiveDateTime,
    pub(super) blocked_until: NaiveDateTime,
    pub(super) walk_in: bool,
    pub(super) override_opening_hours: bool,
    /// The appointment being moved, which does not conflict with itself.
    pub(super) except: Option<i32>,
}

pub(super) fn mediator_name(conn: &mut DbConn, id: i32) -> String {
    crate::auth::model::user_by_id(conn, id)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| "Le médiateur".into())
}

pub(super) fn person_label(conn: &mut DbConn, id: i32) -> String {
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
pub(super) fn check_mediator(conn: &mut DbConn, p: &Placement, tz: &Tz) -> Result<(), AppError> {
    check_time_rules(conn, p, tz)?;
    check_mediator_overlap(conn, p, tz)
}

/// Notice, horizon, opening hours and absences: rules about the time itself, which need no lock.
pub(super) fn check_time_rules(conn: &mut DbConn, p: &Placement, tz: &Tz) -> Result<(), AppError> {
    time_rules(conn, p, tz, None)
}

/// [`check_time_rules`], with the opening hours and absences already known (`facts`) or read
/// here (`None`).
pub(super) fn time_rules(
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
pub(super) fn check_mediator_overlap(
    conn: &mut DbConn,
    p: &Placement,
    tz: &Tz,
) -> Result<(), AppError> {
    let clash: Option<AppointmentRow> = appointments::table
        .filter(appointments::mediator_id.eq(p.mediator_id))
        .filter(appointments::status.ne(AppointmentStatus::Cancelled))
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

pub(super) fn within_opening_hours(
    conn: &mut DbConn,
    p: &Placement,
    tz: &Tz,
) -> Result<bool, AppError> {
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
pub(super) fn person_clash(
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
                .eq(ParticipantStatus::SEATED[0])
                .or(participants::status.eq(ParticipantStatus::SEATED[1])),
        )
        .filter(appointments::status.ne(AppointmentStatus::Cancelled))
        .filter(appointments::starts_at.gt(starts_at - MAX_SPAN))
        .filter(appointments::starts_at.lt(ends_at))
        .filter(appointments::ends_at.gt(starts_at))
        .filter(appointments::id.ne(except.unwrap_or(-1)))
        .select(AppointmentRow::as_select())
        .first(conn)
        .optional()?)
}

pub(super) fn check_person(
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

pub(super) fn insert_participant(
    conn: &mut DbConn,
    appointment_id: i32,
    person_id: i32,
    status: ParticipantStatus,
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
        status,
        created_at: stamp,
        updated_at: stamp,
        confirmed_at: None,
    })
}
