//! Rescheduling from the personal link: the person picks one of the next free slots of the
//! same service, mediator and place, and the booking service moves the appointment with the
//! rules, conflicts and messages of a staff move (the new time goes out on the person's
//! channels; the audit names no one). The slots are the booking service's; nothing here
//! writes a table.

pub mod throttle;

use chrono::{Duration, NaiveDateTime};

use crate::booking::slots::{free_slots_for, Slot, SlotQuery};
use crate::booking::{service, Appointment, ParticipantRow, Service};
use crate::config::Config;
use crate::db::DbConn;
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::time::LocalTime;

/// At most this many slots are offered.
pub const OFFERED: usize = 12;
/// How far ahead the offered slots are looked for (the service's horizon may be shorter).
const SEARCH_DAYS: i64 = 28;

/// Why a move from the link is refused: the id of its text in `locales/` and the status of the
/// page shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The time is not (or no longer) a free slot: taken meanwhile, or never offered.
    Taken,
    TooLate,
    BeyondHorizon,
    /// The appointment cannot be moved from the link (a workshop, cancelled, not booked…).
    NotAllowed,
}

impl Refusal {
    pub fn text_id(self) -> &'static str {
        match self {
            Refusal::Taken => "page-refused-taken",
            Refusal::TooLate => "page-refused-too-late",
            Refusal::BeyondHorizon => "page-refused-beyond-horizon",
            Refusal::NotAllowed => "page-refused-not-allowed",
        }
    }
}

/// Whether the person of `participant` may move `appointment` from their link: it is planned
/// and theirs alone (an individual service that allows it, `self_reschedule`; them booked and
/// nobody else seated or waiting).
pub fn may_move(
    appointment: &Appointment,
    service: &Service,
    participant: &ParticipantRow,
) -> bool {
    appointment.row.status == AppointmentStatus::Planned
        && service.self_reschedule
        && !service.is_workshop()
        && participant.status == ParticipantStatus::Booked
        && appointment.participants.iter().all(|p| {
            p.id == participant.id
                || !matches!(
                    p.status,
                    ParticipantStatus::Booked | ParticipantStatus::Waitlisted
                )
        })
}

fn slots_between(
    conn: &mut DbConn,
    config: &Config,
    appointment: &Appointment,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<Slot>, AppError> {
    let query = SlotQuery {
        service_id: appointment.row.service_id,
        from,
        to,
        mediator_id: Some(appointment.row.mediator_id),
        place_id: Some(appointment.row.place_id),
    };
    Ok(free_slots_for(conn, None, &query, &config.timezone)?
        .into_iter()
        .filter(|s| s.starts_at != appointment.row.starts_at)
        .collect())
}

/// The next free slots of the appointment's service with the same mediator at the same place
/// (notice and horizon respected), at most [`OFFERED`].
pub fn next_slots(
    conn: &mut DbConn,
    config: &Config,
    appointment: &Appointment,
) -> Result<Vec<Slot>, AppError> {
    let today = crate::time::today(&config.timezone);
    let mut slots = slots_between(
        conn,
        config,
        appointment,
        today,
        today + Duration::days(SEARCH_DAYS - 1),
    )?;
    slots.truncate(OFFERED);
    Ok(slots)
}

/// Moves the appointment to `starts_at` when it is one of its free slots. The slot is checked
/// again by the booking service under the organisation's lock: a slot taken between the page
/// and the choice is refused there, and nothing changes.
pub fn move_to(
    conn: &mut DbConn,
    config: &Config,
    participant: &ParticipantRow,
    appointment: &Appointment,
    service: &Service,
    starts_at: NaiveDateTime,
) -> Result<Result<(), Refusal>, AppError> {
    if !may_move(appointment, service, participant) {
        return Ok(Err(Refusal::NotAllowed));
    }
    if starts_at == appointment.row.starts_at {
        // Already there (the same choice sent twice).
        return Ok(Ok(()));
    }
    let tz = &config.timezone;
    let day = {
        use chrono::TimeZone;
        tz.from_utc_datetime(&starts_at).date_naive()
    };
    let free = slots_between(conn, config, appointment, day, day)?;
    if !free.iter().any(|s| s.starts_at == starts_at) {
        let current = crate::db::now();
        return Ok(Err(
            if starts_at < current + Duration::minutes(i64::from(service.min_notice_minutes)) {
                Refusal::TooLate
            } else if starts_at > current + Duration::days(i64::from(service.horizon_days)) {
                Refusal::BeyondHorizon
            } else {
                Refusal::Taken
            },
        ));
    }
    match service::reschedule_for(conn, None, appointment.row.id, starts_at, false, config) {
        Ok(_) => Ok(Ok(())),
        Err(AppError::Conflict { code, .. }) => Ok(Err(match code {
            "too_late" => Refusal::TooLate,
            "beyond_horizon" => Refusal::BeyondHorizon,
            "not_planned" => Refusal::NotAllowed,
            _ => Refusal::Taken,
        })),
        Err(e) => Err(e),
    }
}

/// `starts_at` as the form sends it (RFC 3339), to the minute.
pub fn parse_choice(text: &str) -> Option<NaiveDateTime> {
    service::parse_start("starts_at", text).ok()
}

/// The value of a slot's button: its start in RFC 3339, local offset.
pub fn choice_value(config: &Config, slot: &Slot) -> String {
    config.timezone.rfc3339(slot.starts_at)
}
