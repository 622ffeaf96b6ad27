//! What a new booking ([`super::service::book_as`]) reads, in as few statements as the rules
//! allow: on PostgreSQL each statement is a round trip, and a booking made ten of them for
//! reads alone.
//!
//! - [`read_context`]: the service, the mediator, the place and the first person, in one
//!   statement (before any lock: they only say whether the request makes sense);
//! - [`read_facts`]: under the booking's locks, in the transaction that writes, whether the
//!   mediator holds opening hours covering the slot, is absent, already has an appointment then,
//!   and whether the first person is seated elsewhere then: four `EXISTS` in one `SELECT`.
//!
//! Each statement keeps one shape whatever the values (no `IN` list), so it stays prepared. The
//! details of a refusal (which appointment, which absence) are read again only to word it.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use chrono_tz::Tz;
use diesel::dsl::exists;
use diesel::prelude::*;

use super::model::Service;
use super::model::MAX_SPAN;
use crate::db::schema::{
    absences, appointments, opening_hours, participants, people, places, services, users,
};
use crate::db::DbConn;
use crate::error::AppError;
use crate::people::contact::Contact;
use crate::status::{AppointmentStatus, ParticipantStatus};

/// The rows a booking refers to, each `None` when its id names nothing.
pub struct Context {
    pub service: Service,
    /// The mediator: organisation, active, name.
    pub mediator: Option<(i32, bool, String)>,
    /// The place's organisation.
    pub place_organisation: Option<i32>,
    /// The first person: organisation, anonymised when.
    pub first_person: Option<(i32, Option<NaiveDateTime>)>,
}

/// What [`read_context`] reads: the service, the mediator, the place and the first person.
type ContextRow = (
    Service,
    Option<(i32, bool, String)>,
    Option<i32>,
    Option<(i32, Option<NaiveDateTime>)>,
);

/// The service `service_id` with the mediator, place and person the booking names (`None`:
/// no such service).
pub fn read_context(
    conn: &mut DbConn,
    service_id: i32,
    mediator_id: i32,
    place_id: i32,
    first_person: Option<i32>,
) -> Result<Option<Context>, AppError> {
    let row: Option<ContextRow> = services::table
        .left_join(users::table.on(users::id.eq(mediator_id)))
        .left_join(places::table.on(places::id.eq(place_id)))
        // No person: an id that no row has (ids start at 1).
        .left_join(people::table.on(people::id.eq(first_person.unwrap_or(-1))))
        .filter(services::id.eq(service_id))
        .select((
            Service::as_select(),
            (users::organisation_id, users::active, users::name).nullable(),
            places::organisation_id.nullable(),
            (people::organisation_id, people::anonymised_at).nullable(),
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(service, mediator, place_organisation, first_person)| Context {
            service,
            mediator,
            place_organisation,
            first_person,
        },
    ))
}

/// What the database says of a slot (see [`read_facts`]).
#[derive(Debug, Clone)]
pub struct Facts {
    /// The mediator holds opening hours at the place covering the whole slot.
    pub open: bool,
    /// The mediator is absent during part of the slot.
    pub absent: bool,
    /// Another appointment of the mediator (its pause included) overlaps the slot's.
    pub mediator_busy: bool,
    /// The first person is seated in another appointment overlapping the slot.
    pub person_busy: bool,
    /// The organisation has a live webhook (the booking announces itself to them).
    pub webhooks: bool,
    /// How the first person may be reached (`None`: no first person, or anonymised).
    pub contact: Option<Contact>,
}

/// The slot a booking asks for.
pub struct Slot {
    pub organisation_id: i32,
    pub mediator_id: i32,
    pub place_id: i32,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    /// The end of the appointment's pause (buffer).
    pub blocked_until: NaiveDateTime,
    pub first_person: Option<i32>,
}

/// The local day, weekday (1 = Monday) and minutes of the day a slot covers; `None` when it
/// runs past midnight (no opening hours cover it).
pub fn local_window(
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    tz: &Tz,
) -> Option<(NaiveDate, i32, i32, i32)> {
    use chrono::TimeZone;
    let start = tz.from_utc_datetime(&starts_at).naive_local();
    let end = tz.from_utc_datetime(&ends_at).naive_local();
    if start.date() != end.date() && end.time() != chrono::NaiveTime::MIN {
        return None;
    }
    let start_minute = (start.hour() * 60 + start.minute()) as i32;
    let end_minute = if start.date() != end.date() {
        1440
    } else {
        (end.hour() * 60 + end.minute()) as i32
    };
    Some((
        start.date(),
        start.date().weekday().number_from_monday() as i32,
        start_minute,
        end_minute,
    ))
}

/// The four facts of `slot`, with whether the organisation has a live webhook and the first
/// person's contact (what announcing the booking needs), in one statement. Run it under the
/// mediator's and the person's locks, in the transaction that writes (the overlaps are only
/// true there). It reads from the mediator's row, which the booking's lock covers; `None` when
/// it is gone.
pub fn read_facts(conn: &mut DbConn, slot: &Slot, tz: &Tz) -> Result<Option<Facts>, AppError> {
    // A slot past midnight: a weekday that no opening hours have (and a date that both
    // databases hold: PostgreSQL refuses chrono's `NaiveDate::MIN`).
    let (date, weekday, start_minute, end_minute) =
        local_window(slot.starts_at, slot.ends_at, tz).unwrap_or((slot.starts_at.date(), 0, 0, 0));
    let open = exists(
        opening_hours::table
            .filter(opening_hours::user_id.eq(slot.mediator_id))
            .filter(opening_hours::place_id.eq(slot.place_id))
            .filter(opening_hours::weekday.eq(weekday))
            .filter(opening_hours::start_minute.le(start_minute))
            .filter(opening_hours::end_minute.ge(end_minute))
            .filter(
                opening_hours::valid_from
                    .is_null()
                    .or(opening_hours::valid_from.le(date)),
            )
            .filter(
                opening_hours::valid_until
                    .is_null()
                    .or(opening_hours::valid_until.ge(date)),
            ),
    );
    let absent = exists(
        absences::table
            .filter(absences::user_id.eq(slot.mediator_id))
            .filter(absences::starts_at.lt(slot.ends_at))
            .filter(absences::ends_at.gt(slot.starts_at)),
    );
    // As `check_mediator_overlap` and `person_clash` of the booking service.
    let mediator_busy = exists(
        appointments::table
            .filter(appointments::mediator_id.eq(slot.mediator_id))
            .filter(appointments::status.ne(AppointmentStatus::Cancelled))
            .filter(appointments::starts_at.gt(slot.starts_at - MAX_SPAN))
            .filter(appointments::starts_at.lt(slot.blocked_until))
            .filter(appointments::blocked_until.gt(slot.starts_at)),
    );
    let person_busy = exists(
        appointments::table
            .inner_join(participants::table)
            .filter(participants::person_id.eq(slot.first_person.unwrap_or(-1)))
            .filter(
                participants::status
                    .eq(ParticipantStatus::SEATED[0])
                    .or(participants::status.eq(ParticipantStatus::SEATED[1])),
            )
            .filter(appointments::status.ne(AppointmentStatus::Cancelled))
            .filter(appointments::starts_at.gt(slot.starts_at - MAX_SPAN))
            .filter(appointments::starts_at.lt(slot.ends_at))
            .filter(appointments::ends_at.gt(slot.starts_at)),
    );
    let webhooks = crate::webhooks::any_live(slot.organisation_id);
    let row: Option<FactsRow> = users::table
        // No person: an id that no row has (ids start at 1).
        .left_join(
            people::table.on(people::id
                .eq(slot.first_person.unwrap_or(-1))
                .and(people::anonymised_at.is_null())),
        )
        .filter(users::id.eq(slot.mediator_id))
        .select((
            open,
            absent,
            mediator_busy,
            person_busy,
            webhooks,
            Contact::columns().nullable(),
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(open, absent, mediator_busy, person_busy, webhooks, contact)| Facts {
            open,
            absent,
            mediator_busy,
            person_busy,
            webhooks,
            contact,
        },
    ))
}

/// What [`read_facts`] reads.
type FactsRow = (bool, bool, bool, bool, bool, Option<Contact>);
