//! Free slots: opening hours minus absences, existing appointments and buffers, honouring the
//! service's minimum notice and horizon. Local wall-clock times are turned into UTC day by day,
//! so a Monday 09:00 opening is 09:00 local in March and in November.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;

use super::availability::{absences_between, get_service_for, opening_hours_of};
use super::model::Service;
use crate::auth::StaffUser;
use crate::db::schema::{appointments, opening_hours, users};
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::status::AppointmentStatus;
use crate::time::LocalTime;

/// At most this many days per search.
pub const MAX_DAYS: i64 = 62;

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub mediator_id: i32,
    pub place_id: i32,
}

pub struct SlotQuery {
    pub service_id: i32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub mediator_id: Option<i32>,
    pub place_id: Option<i32>,
}

/// Free slots of `service` between two local dates (both included), sorted by time, for a
/// member of staff who may see the service.
pub fn free_slots(
    conn: &mut DbConn,
    user: &StaffUser,
    query: &SlotQuery,
    tz: &Tz,
) -> Result<Vec<Slot>, AppError> {
    free_slots_for(conn, Some(user), query, tz)
}

/// As [`free_slots`]; `None` is a beneficiary whose signed link already named the appointment
/// (and so its service and organisation).
pub fn free_slots_for(
    conn: &mut DbConn,
    user: Option<&StaffUser>,
    query: &SlotQuery,
    tz: &Tz,
) -> Result<Vec<Slot>, AppError> {
    if query.to < query.from {
        return Err(AppError::field(
            "to",
            "La fin de la période doit suivre son début.",
        ));
    }
    if (query.to - query.from).num_days() >= MAX_DAYS {
        return Err(AppError::field(
            "to",
            format!("Cherchez sur {MAX_DAYS} jours au plus."),
        ));
    }
    let service = get_service_for(conn, user, query.service_id)
        .map_err(|_| AppError::field("service_id", "Ce motif de rendez-vous n'existe pas."))?;
    free_slots_of(conn, &service, query, tz)
}

/// Free slots of a service already found (the public pages find it by their organisation).
pub fn free_slots_of(
    conn: &mut DbConn,
    service: &Service,
    query: &SlotQuery,
    tz: &Tz,
) -> Result<Vec<Slot>, AppError> {
    if query.to < query.from || (query.to - query.from).num_days() >= MAX_DAYS {
        return Err(AppError::field(
            "to",
            format!("La fin de la période doit suivre son début, {MAX_DAYS} jours au plus."),
        ));
    }
    // Mediators of the service's organisation with opening hours (at that place).
    let mut mediators = opening_hours::table
        .inner_join(users::table)
        .filter(users::organisation_id.eq(service.organisation_id))
        .filter(users::active.eq(true))
        .select(users::id)
        .distinct()
        .into_boxed();
    if let Some(id) = query.mediator_id {
        mediators = mediators.filter(users::id.eq(id));
    }
    if let Some(id) = query.place_id {
        mediators = mediators.filter(opening_hours::place_id.eq(id));
    }
    let mediator_ids: Vec<i32> = mediators.load(conn)?;
    if mediator_ids.is_empty() {
        return Ok(Vec::new());
    }
    let range_start = tz.to_utc(query.from, NaiveTime::MIN);
    let range_end = tz.to_utc(query.to + Duration::days(1), NaiveTime::MIN);
    let rules = opening_hours_of(conn, &mediator_ids)?;
    let absences = absences_between(conn, &mediator_ids, range_start, range_end)?;
    let busy: Vec<(i32, NaiveDateTime, NaiveDateTime)> = appointments::table
        .filter(appointments::mediator_id.eq_any(&mediator_ids))
        .filter(appointments::status.ne(AppointmentStatus::Cancelled))
        .filter(appointments::starts_at.gt(range_start - super::model::MAX_SPAN))
        .filter(appointments::starts_at.lt(range_end))
        .filter(appointments::blocked_until.gt(range_start))
        .select((
            appointments::mediator_id,
            appointments::starts_at,
            appointments::blocked_until,
        ))
        .load(conn)?;
    // Each mediator's appointments by start, so that a day's opening reads only its own.
    let mut busy_of: HashMap<i32, Vec<(NaiveDateTime, NaiveDateTime)>> = HashMap::new();
    for (mediator_id, starts_at, blocked_until) in busy {
        busy_of
            .entry(mediator_id)
            .or_default()
            .push((starts_at, blocked_until));
    }
    for list in busy_of.values_mut() {
        list.sort_unstable();
    }

    let current = now();
    let earliest = current + Duration::minutes(i64::from(service.min_notice_minutes));
    let latest = current + Duration::days(i64::from(service.horizon_days));
    let mut slots = Vec::new();
    let mut day = query.from;
    while day <= query.to {
        for rule in rules.iter().filter(|r| r.applies_on(day)) {
            if query.place_id.is_some_and(|p| p != rule.place_id) {
                continue;
            }
            let open = tz.to_utc(day, minute_time(rule.start_minute));
            let close = if rule.end_minute >= 1440 {
                tz.to_utc(day + Duration::days(1), NaiveTime::MIN)
            } else {
                tz.to_utc(day, minute_time(rule.end_minute))
            };
            let theirs = busy_of.get(&rule.user_id).map_or(&[][..], Vec::as_slice);
            // No appointment lasts a day: those that can meet the opening, or the pause after
            // its last slot, start less than a day around it.
            let span = super::model::MAX_SPAN;
            let first = theirs.partition_point(|(start, _)| *start <= open - span);
            let last = theirs.partition_point(|(start, _)| *start < close + span);
            let blocks: Vec<(NaiveDateTime, NaiveDateTime)> = theirs[first..last.max(first)]
                .iter()
                .filter(|(_, until)| *until > open)
                .copied()
                .chain(
                    absences
                        .iter()
                        .filter(|a| a.user_id == rule.user_id)
                        .map(|a| (a.starts_at, a.ends_at)),
                )
                .collect();
            slots_in(
                service,
                rule.user_id,
                rule.place_id,
                open,
                close,
                &blocks,
                earliest,
                latest,
                &mut slots,
            );
        }
        day += Duration::days(1);
    }
    slots.sort_by_key(|s| (s.starts_at, s.mediator_id, s.place_id));
    slots.dedup();
    Ok(slots)
}

fn minute_time(minute: i32) -> NaiveTime {
    NaiveTime::from_hms_opt((minute / 60) as u32, (minute % 60) as u32, 0).unwrap_or(NaiveTime::MIN)
}

/// Walks one opening interval: a slot every duration + buffer, starting again right after
/// whatever blocks the way.
#[allow(clippy::too_many_arguments)]
fn slots_in(
    service: &Service,
    mediator_id: i32,
    place_id: i32,
    open: NaiveDateTime,
    close: NaiveDateTime,
    blocks: &[(NaiveDateTime, NaiveDateTime)],
    earliest: NaiveDateTime,
    latest: NaiveDateTime,
    out: &mut Vec<Slot>,
) {
    let duration = Duration::minutes(i64::from(service.duration_minutes));
    let step = duration + Duration::minutes(i64::from(service.buffer_minutes));
    let mut start = open;
    while start + duration <= close && start <= latest {
        let occupied_until = start + step;
        if let Some(block_end) = blocks
            .iter()
            .filter(|(b_start, b_end)| *b_start < occupied_until && *b_end > start)
            .map(|(_, b_end)| *b_end)
            .max()
        {
            start = block_end.max(start + Duration::minutes(1));
            continue;
        }
        if start >= earliest {
            out.push(Slot {
                starts_at: start,
                ends_at: start + duration,
                mediator_id,
                place_id,
            });
        }
        start += step;
    }
}

/// A slot as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Slot)]
pub struct SlotOut {
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub mediator_id: i32,
    pub place_id: i32,
}

impl Slot {
    pub fn out(&self, tz: &Tz) -> SlotOut {
        SlotOut {
            starts_at: tz.rfc3339(self.starts_at),
            ends_at: tz.rfc3339(self.ends_at),
            mediator_id: self.mediator_id,
            place_id: self.place_id,
        }
    }
}
