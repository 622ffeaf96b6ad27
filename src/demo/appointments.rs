//! The demo's activity: appointments, mediator by mediator, in their opening hours, with
//! their participants, the session logs of those who came (or did not) and the assessments
//! of the skills worked on, which progress over sessions. Written one mediator at a time,
//! each in its own transaction.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use rand::rngs::StdRng;
use rand::Rng;

use super::people::Followed;
use super::structures::Structures;
use super::{max_id, Calendar, Size, Summary};
use crate::db::bulk::{self, BulkInsert};
use crate::db::DbConn;
use crate::error::AppError;
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::time::LocalTime;

/// The slots' starting hours: three in the morning, three in the afternoon.
const HOURS: [u32; 6] = [9, 10, 11, 14, 15, 16];

/// A mediator, the organisation they work for, where they receive and the two services.
struct Desk {
    mediator: i32,
    org: i32,
    place: i32,
    individual: i32,
    workshop: i32,
}

/// An appointment as written, for its participants.
#[derive(Clone, Copy)]
struct Session {
    id: i64,
    mediator: i32,
    minutes: i64,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    past: bool,
    cancelled: bool,
}

/// The rows waiting to be written, the next ids, and what sessions draw from.
struct Writer {
    calendar: Calendar,
    /// The share of slots taken, so that the appointments come near the scale's number.
    fill: f64,
    appointments: BulkInsert,
    participants: BulkInsert,
    logs: BulkInsert,
    assessments: BulkInsert,
    next_appointment: i64,
    next_participant: i64,
    next_log: i64,
    next_assessment: i64,
    /// The last level of each (person, skill), so that skills progress over sessions.
    levels: HashMap<(i32, i32), i32>,
    digital: Vec<&'static str>,
    procedures: Vec<&'static str>,
}

/// Writes the appointments of every mediator over the calendar, and counts them in `summary`.
#[allow(clippy::too_many_arguments)]
pub(super) fn write(
    conn: &mut DbConn,
    rng: &mut StdRng,
    calendar: &Calendar,
    size: &Size,
    structures: &Structures,
    followed_by_org: &HashMap<i32, Vec<Followed>>,
    summary: &mut Summary,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<(), AppError> {
    let mediators = &structures.mediators;
    let slots_per_day = HOURS.len();
    let working_days = (calendar.span() * 5 / 7).max(1) as f64;
    let fill = (size.appointments as f64
        / (mediators.len() as f64 * working_days * slots_per_day as f64))
        .min(0.95);
    let mut writer = Writer::new(conn, *calendar, fill)?;
    let total_mediators = mediators.len() as u64;
    for (m, (mediator, org)) in mediators.iter().enumerate() {
        let (individual, workshop) = structures.services_of[org];
        let desk = Desk {
            mediator: *mediator,
            org: *org,
            place: structures.home_place[mediator],
            individual,
            workshop,
        };
        let cohort = followed_by_org.get(org).map(Vec::as_slice).unwrap_or(&[]);
        if cohort.is_empty() {
            continue;
        }
        let mut day = calendar.first_day;
        while day <= calendar.last_day {
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                writer.day(conn, rng, &desk, cohort, day, summary)?;
            }
            day += Duration::days(1);
        }
        writer.flush(conn)?;
        progress(
            "rendez-vous, comptes rendus et évaluations",
            m as u64 + 1,
            total_mediators,
        );
    }
    Ok(())
}

/// Up to `seats` people of the cohort whose follow-up covers the day `offset` (anyone of the
/// cohort when nobody's does).
fn attendees<'c>(
    rng: &mut StdRng,
    cohort: &'c [Followed],
    offset: i64,
    seats: usize,
) -> Vec<&'c Followed> {
    let upper = cohort.partition_point(|f| f.start <= offset);
    let lower = cohort[..upper].partition_point(|f| f.start < offset - 300);
    let mut chosen: Vec<&Followed> = Vec::new();
    for _ in 0..seats * 4 {
        if chosen.len() == seats {
            break;
        }
        let candidate = if upper > lower {
            &cohort[rng.gen_range(lower..upper)]
        } else {
            &cohort[rng.gen_range(0..cohort.len())]
        };
        if (candidate.end >= offset || upper <= lower)
            && !chosen.iter().any(|c| c.id == candidate.id)
        {
            chosen.push(candidate);
        }
    }
    chosen
}

impl Writer {
    fn new(conn: &mut DbConn, calendar: Calendar, fill: f64) -> Result<Self, AppError> {
        let ids = |table: &str, conn: &mut DbConn| max_id(conn, table);
        Ok(Writer {
            calendar,
            fill,
            next_appointment: ids("appointments", conn)?,
            next_participant: ids("participants", conn)?,
            next_log: ids("session_logs", conn)?,
            next_assessment: ids("assessments", conn)?,
            levels: HashMap::new(),
            digital: crate::skills::topics::DIGITAL.iter().map(|t| t.0).collect(),
            procedures: crate::skills::topics::PROCEDURES
                .iter()
                .map(|t| t.0)
                .collect(),
            appointments: BulkInsert::deferred(
                "appointments",
                &[
                    "id",
                    "organisation_id",
                    "service_id",
                    "mediator_id",
                    "place_id",
                    "starts_at",
                    "ends_at",
                    "blocked_until",
                    "capacity",
                    "title",
                    "status",
                    "walk_in",
                    "sequence",
                    "created_at",
                    "updated_at",
                ],
            ),
            participants: BulkInsert::deferred(
                "participants",
                &[
                    "id",
                    "appointment_id",
                    "person_id",
                    "status",
                    "created_at",
                    "updated_at",
                ],
            ),
            logs: BulkInsert::deferred(
                "session_logs",
                &[
                    "id",
                    "appointment_id",
                    "person_id",
                    "version",
                    "current",
                    "attendance",
                    "duration_minutes",
                    "topics",
                    "device",
                    "autonomy",
                    "author_id",
                    "created_at",
                ],
            ),
            assessments: BulkInsert::deferred(
                "assessments",
                &[
                    "id",
                    "person_id",
                    "skill_id",
                    "level",
                    "kind",
                    "session_log_id",
                    "active",
                    "assessed_at",
                    "author_id",
                    "created_at",
                ],
            ),
        })
    }

    /// Writes the rows waiting, in reference order, in one transaction.
    fn flush(&mut self, conn: &mut DbConn) -> Result<(), AppError> {
        crate::db::transaction(conn, |conn| {
            self.appointments.flush(conn)?;
            self.participants.flush(conn)?;
            self.logs.flush(conn)?;
            self.assessments.flush(conn)
        })
    }

    /// A mediator's working day: each slot taken or not, at random; a workshop takes two.
    fn day(
        &mut self,
        conn: &mut DbConn,
        rng: &mut StdRng,
        desk: &Desk,
        cohort: &[Followed],
        day: NaiveDate,
        summary: &mut Summary,
    ) -> Result<(), AppError> {
        let offset = (day - self.calendar.first_day).num_days();
        // Slots: three in the morning, three in the afternoon; a workshop takes two.
        let mut slot = 0;
        while slot < HOURS.len() {
            let hour = HOURS[slot];
            let is_workshop = slot == 3 && rng.gen_bool((0.6 * self.fill).min(0.9));
            if !is_workshop && !rng.gen_bool(self.fill) {
                slot += 1;
                continue;
            }
            let session = self.appointment(conn, rng, desk, day, hour, is_workshop)?;
            summary.appointments += 1;
            // Who comes: people whose follow-up covers the day.
            let seats = if is_workshop { rng.gen_range(3..=8) } else { 1 };
            for person in attendees(rng, cohort, offset, seats) {
                self.participant(conn, rng, &session, person, summary)?;
            }
            slot += if is_workshop { 2 } else { 1 };
        }
        Ok(())
    }

    /// One appointment at `hour`: done when over, planned otherwise, about 3 % cancelled.
    fn appointment(
        &mut self,
        conn: &mut DbConn,
        rng: &mut StdRng,
        desk: &Desk,
        day: NaiveDate,
        hour: u32,
        is_workshop: bool,
    ) -> Result<Session, AppError> {
        let minutes = if is_workshop { 120 } else { 60 };
        let starts_at = self
            .calendar
            .tz
            .to_utc(day, NaiveTime::from_hms_opt(hour, 0, 0).expect("valid"));
        let ends_at = starts_at + Duration::minutes(minutes);
        let past = ends_at <= self.calendar.stamp;
        let cancelled = rng.gen_bool(0.03);
        let status = match (cancelled, past) {
            (true, _) => AppointmentStatus::Cancelled,
            (false, true) => AppointmentStatus::Done,
            (false, false) => AppointmentStatus::Planned,
        };
        self.next_appointment += 1;
        let appointment_id = self.next_appointment;
        self.appointments.push(
            conn,
            &[
                bulk::int(appointment_id),
                bulk::int(desk.org.into()),
                bulk::int(
                    if is_workshop {
                        desk.workshop
                    } else {
                        desk.individual
                    }
                    .into(),
                ),
                bulk::int(desk.mediator.into()),
                bulk::int(desk.place.into()),
                bulk::time(starts_at),
                bulk::time(ends_at),
                bulk::time(ends_at),
                bulk::int(if is_workshop { 8 } else { 1 }),
                bulk::opt_text(is_workshop.then_some("Atelier : démarches en ligne")),
                bulk::text(status.as_str()),
                bulk::boolean(false),
                bulk::int(0),
                bulk::time(starts_at - Duration::days(7)),
                bulk::time(starts_at - Duration::days(7)),
            ],
        )?;
        Ok(Session {
            id: appointment_id,
            mediator: desk.mediator,
            minutes,
            starts_at,
            ends_at,
            past,
            cancelled,
        })
    }

    /// A person booked on the session, with their outcome (about 15 % no-shows, 3 % excused);
    /// a session log when they came or did not show up, and assessments when they came.
    fn participant(
        &mut self,
        conn: &mut DbConn,
        rng: &mut StdRng,
        session: &Session,
        person: &Followed,
        summary: &mut Summary,
    ) -> Result<(), AppError> {
        let Session {
            id: appointment_id,
            mediator,
            minutes,
            starts_at,
            ends_at,
            past,
            cancelled,
        } = *session;
        let outcome = if cancelled {
            if rng.gen_bool(0.5) {
                ParticipantStatus::Excused
            } else {
                ParticipantStatus::Cancelled
            }
        } else if !past {
            ParticipantStatus::Booked
        } else {
            let roll: f64 = rng.gen();
            if roll < 0.15 {
                ParticipantStatus::NoShow
            } else if roll < 0.18 {
                ParticipantStatus::Excused
            } else {
                ParticipantStatus::Attended
            }
        };
        self.next_participant += 1;
        self.participants.push(
            conn,
            &[
                bulk::int(self.next_participant),
                bulk::int(appointment_id),
                bulk::int(person.id.into()),
                bulk::text(outcome.as_str()),
                bulk::time(starts_at - Duration::days(7)),
                bulk::time(if past {
                    ends_at
                } else {
                    starts_at - Duration::days(7)
                }),
            ],
        )?;
        summary.participants += 1;
        if !matches!(
            outcome,
            ParticipantStatus::Attended | ParticipantStatus::NoShow
        ) {
            return Ok(());
        }
        self.next_log += 1;
        let log_id = self.next_log;
        let mut topics = vec![self.digital[rng.gen_range(0..self.digital.len())]];
        if rng.gen_bool(0.4) {
            topics.push(self.procedures[rng.gen_range(0..self.procedures.len())]);
        }
        let attended = outcome == ParticipantStatus::Attended;
        self.logs.push(
            conn,
            &[
                bulk::int(log_id),
                bulk::int(appointment_id),
                bulk::int(person.id.into()),
                bulk::int(1),
                bulk::boolean(true),
                bulk::text(outcome.as_str()),
                bulk::opt_int(attended.then_some(minutes)),
                bulk::text(&if attended {
                    topics.join(",")
                } else {
                    String::new()
                }),
                bulk::opt_text(
                    attended.then(|| ["own", "lent", "structure", "none"][rng.gen_range(0..4)]),
                ),
                bulk::opt_text(
                    attended.then(|| ["accompanied", "partly", "autonomous"][rng.gen_range(0..3)]),
                ),
                bulk::int(mediator.into()),
                bulk::time(ends_at),
            ],
        )?;
        summary.logs += 1;
        if attended {
            self.assess(conn, rng, session, person, log_id, summary)?;
        }
        Ok(())
    }

    /// Two to four of the person's skills observed in the session: a diagnostic the first
    /// time, then a level that sometimes rises (up to 3).
    fn assess(
        &mut self,
        conn: &mut DbConn,
        rng: &mut StdRng,
        session: &Session,
        person: &Followed,
        log_id: i64,
        summary: &mut Summary,
    ) -> Result<(), AppError> {
        let observed = rng.gen_range(2..=4).min(person.focus.len());
        let start = rng.gen_range(0..person.focus.len());
        for k in 0..observed {
            let skill = person.focus[(start + k) % person.focus.len()];
            let (level, kind) = match self.levels.get(&(person.id, skill)) {
                None => (rng.gen_range(0..=1), "diagnostic"),
                Some(l) if *l < 3 && rng.gen_bool(0.3) => (l + 1, "session"),
                Some(l) => (*l, "session"),
            };
            self.levels.insert((person.id, skill), level);
            self.next_assessment += 1;
            self.assessments.push(
                conn,
                &[
                    bulk::int(self.next_assessment),
                    bulk::int(person.id.into()),
                    bulk::int(skill.into()),
                    bulk::int(level.into()),
                    bulk::text(kind),
                    bulk::int(log_id),
                    bulk::boolean(true),
                    bulk::time(session.starts_at),
                    bulk::int(session.mediator.into()),
                    bulk::time(session.ends_at),
                ],
            )?;
            summary.assessments += 1;
        }
        Ok(())
    }
}
