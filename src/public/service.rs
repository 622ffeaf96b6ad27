//! What the public pages and the portal API share: the bookable services of an organisation,
//! their free slots, a booking and a referral request.

use std::net::IpAddr;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::schemas;
use crate::booking::model::Service;
use crate::booking::service::{book_as, enrol_as, parse_start, BookingInput};
use crate::booking::sharing::open_to;
use crate::booking::slots::{free_slots_of, SlotQuery};
use crate::config::Config;
use crate::db::schema::{appointments, opening_hours, participants, places, services, users};
use crate::db::{now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::organisations::Organisation;
use crate::people::PersonInput;
use crate::referrals::{NewReferral, Referrer};
use crate::status::{AppointmentStatus, ParticipantStatus, ReferralStatus};
use crate::time::LocalTime;

/// A place as the public sees it.
#[derive(Serialize, Debug, Clone, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = places)]
pub struct PublicPlace {
    pub id: i32,
    pub name: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    #[schema(required = true)]
    pub accessibility_notes: Option<String>,
}

/// A service the public or referrers may book, and the places where it is offered.
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct PublicService {
    pub id: i32,
    pub name: String,
    /// `individual` or `workshop`.
    #[schema(schema_with = schemas::kind_schema)]
    pub kind: String,
    pub duration_minutes: i32,
    #[schema(required = true)]
    pub what_to_bring: Option<String>,
    /// `public` (anyone) or `referrers` (only through a referrer).
    #[schema(schema_with = schemas::bookable_by_schema)]
    pub bookable_by: String,
    pub places: Vec<PublicPlace>,
}

/// A free slot: a time at a place (for a workshop, a session with its seats left; none left
/// means joining the waiting list).
#[derive(Serialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct PublicSlot {
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub place_id: i32,
    /// Ateliers : places restantes (0 : liste d'attente).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub seats_left: Option<i32>,
    #[serde(skip)]
    #[schema(ignore)]
    pub start_utc: NaiveDateTime,
}

/// The person, as given on the public form or by a portal: the minimum to reach them.
#[derive(Deserialize, Serialize, Validate, Debug, Default, Clone, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicPerson {
    #[validate(length(
        min = 1,
        max = 80,
        message = "Le prénom est obligatoire (80 caractères au plus)."
    ))]
    #[schema(min_length = 1, max_length = 80)]
    pub given_name: String,
    #[validate(length(max = 80, message = "80 caractères au plus."))]
    #[schema(max_length = 80)]
    pub family_name: Option<String>,
    /// Téléphone (un portable pour les SMS) ; téléphone ou e-mail obligatoire sans prescripteur.
    pub phone: Option<String>,
    /// Vide ou absent : pas d'e-mail.
    #[schema(schema_with = schemas::optional_email_schema)]
    pub email: Option<String>,
    /// Text messages may go to the phone.
    #[serde(default)]
    pub sms_consent: bool,
    /// Emails may go to the address.
    #[serde(default)]
    pub reminder_consent: bool,
    /// `fr` (default), `en` or `ar`.
    #[schema(schema_with = schemas::language_schema)]
    pub language: Option<String>,
}

/// `POST /api/v1/public/{slug}/bookings`.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PublicBooking)]
pub struct BookingRequest {
    #[schema(minimum = 1, maximum = 2147483647)]
    pub service_id: i32,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub place_id: i32,
    #[schema(format = DateTime)]
    pub starts_at: String,
    pub person: PublicPerson,
    pub referrer: Option<Referrer>,
    /// A referrer's booking may say the needs too.
    #[serde(default)]
    #[schema(schema_with = schemas::booking_topics_schema)]
    pub topics: Vec<String>,
}

/// `POST /api/v1/public/{slug}/referrals`.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PublicReferral)]
pub struct ReferralRequest {
    pub person: PublicPerson,
    pub referrer: Referrer,
    #[schema(schema_with = schemas::referral_topics_schema)]
    pub topics: Vec<String>,
    #[schema(max_length = 500)]
    pub message: Option<String>,
}

/// The answer to a booking.
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
#[schema(as = PublicBookingDone)]
pub struct BookingDone {
    pub appointment_id: i32,
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// The personal page: confirm, cancel, move.
    #[schema(format = Uri)]
    pub link: String,
    /// `booked`, or `waitlisted` for a full workshop.
    #[schema(schema_with = schemas::booking_status_schema)]
    pub status: ParticipantStatus,
    #[serde(skip)]
    #[schema(ignore)]
    pub when: String,
    #[serde(skip)]
    #[schema(ignore)]
    pub place: Option<PublicPlace>,
    #[serde(skip)]
    #[schema(ignore)]
    pub service_name: String,
}

/// The answer to a referral request: it says nothing of the person.
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
#[schema(as = PublicReferralReceived)]
pub struct ReferralReceived {
    #[schema(schema_with = schemas::received_status_schema)]
    pub status: ReferralStatus,
}

const SLOT_TAKEN: &str = "Ce créneau n'est plus disponible. Choisissez-en un autre.";

pub fn organisation(conn: &mut DbConn, slug: &str) -> Result<Organisation, AppError> {
    crate::organisations::by_slug(conn, slug)
}

fn places_of(
    conn: &mut DbConn,
    organisation_id: i32,
    service: &Service,
) -> Result<Vec<PublicPlace>, AppError> {
    let mut ids: Vec<i32> = opening_hours::table
        .inner_join(users::table)
        .filter(users::organisation_id.eq(organisation_id))
        .filter(users::active.eq(true))
        .select(opening_hours::place_id)
        .distinct()
        .load(conn)?;
    if service.is_workshop() {
        ids = appointments::table
            .filter(appointments::service_id.eq(service.id))
            .filter(appointments::status.eq(AppointmentStatus::Planned))
            .filter(appointments::starts_at.gt(now()))
            .select(appointments::place_id)
            .distinct()
            .load(conn)?;
    }
    Ok(places::table
        .filter(places::id.eq_any(ids))
        .filter(places::organisation_id.eq(organisation_id))
        .select(PublicPlace::as_select())
        .order((places::name, places::id))
        .load(conn)?)
}

/// The services of the organisation that the public (or, `referrer`, a referrer) may book.
pub fn bookable_services(
    conn: &mut DbConn,
    organisation_id: i32,
    referrer: bool,
) -> Result<Vec<PublicService>, AppError> {
    let list: Vec<Service> = services::table
        .filter(services::organisation_id.eq(organisation_id))
        .filter(services::bookable_by.ne("staff"))
        .select(Service::as_select())
        .order((services::name, services::id))
        .load(conn)?;
    let mut out = Vec::new();
    for service in list.into_iter().filter(|s| open_to(s, referrer)) {
        let places = places_of(conn, organisation_id, &service)?;
        out.push(PublicService {
            id: service.id,
            name: service.name,
            kind: service.kind,
            duration_minutes: service.duration_minutes,
            what_to_bring: service.what_to_bring,
            bookable_by: service.bookable_by,
            places,
        });
    }
    Ok(out)
}

/// The service `id` of the organisation, if `referrer` (or the public) may book it; any other
/// is told unknown, as one that does not exist.
pub fn bookable_service(
    conn: &mut DbConn,
    organisation_id: i32,
    id: i32,
    referrer: bool,
) -> Result<Service, AppError> {
    let service: Option<Service> = services::table
        .find(id)
        .filter(services::organisation_id.eq(organisation_id))
        .select(Service::as_select())
        .first(conn)
        .optional()?;
    match service {
        Some(s) if open_to(&s, referrer) => Ok(s),
        Some(s) if open_to(&s, true) => Err(AppError::field(
            "service_id",
            "Ce motif se réserve par l'intermédiaire d'un prescripteur (travailleur social, conseiller…).",
        )),
        _ => Err(AppError::field(
            "service_id",
            "Ce motif de rendez-vous n'existe pas.",
        )),
    }
}

fn public_place(conn: &mut DbConn, organisation_id: i32, id: i32) -> Result<PublicPlace, AppError> {
    places::table
        .find(id)
        .filter(places::organisation_id.eq(organisation_id))
        .select(PublicPlace::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::field("place_id", "Ce lieu n'existe pas."))
}

/// Free slots of a service between two local dates (both included), at one place or all.
pub fn slots(
    conn: &mut DbConn,
    service: &Service,
    from: NaiveDate,
    to: NaiveDate,
    place_id: Option<i32>,
    tz: &Tz,
) -> Result<Vec<PublicSlot>, AppError> {
    if let Some(id) = place_id {
        public_place(conn, service.organisation_id, id)?;
    }
    if to < from || (to - from).num_days() >= crate::booking::slots::MAX_DAYS {
        return Err(AppError::field(
            "to",
            "La fin de la période doit suivre son début, 62 jours au plus.",
        ));
    }
    if service.is_workshop() {
        let earliest = now() + Duration::minutes(i64::from(service.min_notice_minutes));
        let mut query = appointments::table
            .filter(appointments::service_id.eq(service.id))
            .filter(appointments::status.eq(AppointmentStatus::Planned))
            .filter(appointments::walk_in.eq(false))
            .filter(appointments::starts_at.ge(tz.to_utc(from, NaiveTime::MIN).max(earliest)))
            .filter(appointments::starts_at.lt(tz.to_utc(to + Duration::days(1), NaiveTime::MIN)))
            .select((
                appointments::id,
                appointments::starts_at,
                appointments::ends_at,
                appointments::place_id,
                appointments::capacity,
            ))
            .order(appointments::starts_at)
            .into_boxed();
        if let Some(id) = place_id {
            query = query.filter(appointments::place_id.eq(id));
        }
        let rows: Vec<(i32, NaiveDateTime, NaiveDateTime, i32, i32)> = query.load(conn)?;
        let mut out = Vec::new();
        for (id, starts_at, ends_at, place, capacity) in rows {
            let booked: i64 = participants::table
                .filter(participants::appointment_id.eq(id))
                .filter(participants::status.eq_any(ParticipantStatus::SEATED))
                .count()
                .get_result(conn)?;
            out.push(PublicSlot {
                starts_at: tz.rfc3339(starts_at),
                ends_at: tz.rfc3339(ends_at),
                place_id: place,
                seats_left: Some((i64::from(capacity) - booked).max(0) as i32),
                start_utc: starts_at,
            });
        }
        return Ok(out);
    }
    let found = free_slots_of(
        conn,
        service,
        &SlotQuery {
            service_id: service.id,
            from,
            to,
            mediator_id: None,
            place_id,
        },
        tz,
    )?;
    let mut out: Vec<PublicSlot> = found
        .iter()
        .map(|s| PublicSlot {
            starts_at: tz.rfc3339(s.starts_at),
            ends_at: tz.rfc3339(s.ends_at),
            place_id: s.place_id,
            seats_left: None,
            start_utc: s.starts_at,
        })
        .collect();
    // Several mediators free at once are one slot to the public.
    out.dedup_by(|a, b| a.start_utc == b.start_utc && a.place_id == b.place_id);
    Ok(out)
}

/// The person's fields checked; with a referrer, the referrer becomes the person's referent
/// (reminders reach them when the person has no channel), and a channel is not required.
fn person_input(
    person: &PublicPerson,
    referrer: Option<&Referrer>,
) -> Result<PersonInput, FieldErrors> {
    let mut errors = FieldErrors::new();
    if let Err(e) = person.validate() {
        if let AppError::Validation(list) = AppError::from(e) {
            for (field, messages) in list {
                errors.insert(format!("person.{field}"), messages);
            }
        }
    }
    let phone = crate::text::clean(person.phone.clone());
    let email = crate::text::clean(person.email.clone());
    if referrer.is_none() && phone.is_none() && email.is_none() {
        errors.insert(
            "person.phone".into(),
            vec!["Donnez un numéro de téléphone ou une adresse e-mail pour recevoir la confirmation.".into()],
        );
    }
    let input = PersonInput {
        given_name: person.given_name.trim().to_string(),
        family_name: person.family_name.clone(),
        phone,
        email,
        sms_consent: person.sms_consent,
        reminder_consent: person.reminder_consent,
        language: person.language.clone(),
        referent_name: referrer.map(|r| r.name.clone()),
        referent_email: referrer.map(|r| r.email.clone()),
        referent_organisation: referrer.map(|r| r.organisation.clone()),
        referent_consent: referrer.is_some(),
        ..Default::default()
    };
    // The people capability's own checks (phone plan, email, language), named `person.*`.
    for (field, messages) in input.clone().field_errors() {
        if field.starts_with("referent") {
            continue;
        }
        errors.entry(format!("person.{field}")).or_insert(messages);
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(errors)
    }
}

/// The phone number as stored (E.164), for throttling; none when it does not parse.
fn phone_key(input: &PersonInput) -> Option<String> {
    input
        .phone
        .as_deref()
        .and_then(crate::phone::parse)
        .map(|p| p.e164)
}

/// A booking request read and checked: every mistake at once, then the person's fields as
/// they will be stored.
struct CheckedBooking {
    referrer: Option<Referrer>,
    topics: Vec<String>,
    starts_at: NaiveDateTime,
    service: Service,
    place: PublicPlace,
    input: PersonInput,
}

/// Reads and checks a booking request against the organisation's bookable services and places.
fn checked_booking(
    conn: &mut DbConn,
    org: &Organisation,
    request: &BookingRequest,
) -> Result<CheckedBooking, AppError> {
    let referrer = match request.referrer.clone().map(Referrer::checked) {
        Some(Ok(r)) => Some(r),
        Some(Err(errors)) => return Err(AppError::Validation(errors)),
        None => None,
    };
    let mut errors = match person_input(&request.person, referrer.as_ref()) {
        Ok(_) => FieldErrors::new(),
        Err(errors) => errors,
    };
    let topics = if referrer.is_some() && !request.topics.is_empty() {
        match crate::referrals::check_topics(&request.topics) {
            Ok(t) => t,
            Err(message) => {
                errors.insert("topics".into(), vec![message]);
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let starts_at = match parse_start("starts_at", &request.starts_at) {
        Ok(t) => Some(t),
        Err(AppError::Validation(e)) => {
            errors.extend(e);
            None
        }
        Err(e) => return Err(e),
    };
    let service = match bookable_service(conn, org.id, request.service_id, referrer.is_some()) {
        Ok(s) => Some(s),
        Err(AppError::Validation(e)) => {
            errors.extend(e);
            None
        }
        Err(e) => return Err(e),
    };
    let place = match public_place(conn, org.id, request.place_id) {
        Ok(p) => Some(p),
        Err(AppError::Validation(e)) => {
            errors.extend(e);
            None
        }
        Err(e) => return Err(e),
    };
    let (Some(starts_at), Some(service), Some(place), true) =
        (starts_at, service, place, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };
    let input = person_input(&request.person, referrer.as_ref()).map_err(AppError::Validation)?;
    Ok(CheckedBooking {
        referrer,
        topics,
        starts_at,
        service,
        place,
        input,
    })
}

/// The refusal when the slot is no longer free.
fn slot_taken() -> AppError {
    AppError::Conflict {
        code: "slot_taken",
        message: SLOT_TAKEN.into(),
    }
}

/// The mediators free at that time and place (individual), or the session (workshop); the
/// slot is taken when there is none.
fn free_at(
    conn: &mut DbConn,
    tz: &Tz,
    service: &Service,
    place_id: i32,
    starts_at: NaiveDateTime,
) -> Result<(Vec<i32>, Option<i32>), AppError> {
    let day = tz.from_utc_datetime(&starts_at).date_naive();
    if service.is_workshop() {
        let id: Option<i32> = appointments::table
            .filter(appointments::service_id.eq(service.id))
            .filter(appointments::place_id.eq(place_id))
            .filter(appointments::starts_at.eq(starts_at))
            .filter(appointments::status.eq(AppointmentStatus::Planned))
            .filter(appointments::walk_in.eq(false))
            .filter(
                appointments::starts_at
                    .ge(now() + Duration::minutes(i64::from(service.min_notice_minutes))),
            )
            .select(appointments::id)
            .first(conn)
            .optional()?;
        Ok((Vec::new(), Some(id.ok_or_else(slot_taken)?)))
    } else {
        let free = free_slots_of(
            conn,
            service,
            &SlotQuery {
                service_id: service.id,
                from: day,
                to: day,
                mediator_id: None,
                place_id: Some(place_id),
            },
            tz,
        )?;
        let ids: Vec<i32> = free
            .iter()
            .filter(|s| s.starts_at == starts_at)
            .map(|s| s.mediator_id)
            .collect();
        if ids.is_empty() {
            return Err(slot_taken());
        }
        Ok((ids, None))
    }
}

/// Enrols the person in the workshop session (its waiting list when full): their status.
fn enrol_in_session(
    conn: &mut DbConn,
    config: &Config,
    id: i32,
    person_id: i32,
) -> Result<ParticipantStatus, AppError> {
    match enrol_as(conn, None, id, person_id, config) {
        Ok(status) => Ok(status),
        // Already in: the same answer as a new enrolment.
        Err(AppError::Conflict {
            code: "already_enrolled",
            ..
        }) => Ok(participants::table
            .filter(participants::appointment_id.eq(id))
            .filter(participants::person_id.eq(person_id))
            .select(participants::status)
            .first(conn)?),
        Err(AppError::Conflict { .. }) => Err(slot_taken()),
        Err(e) => Err(e),
    }
}

/// Books the person with the first of the mediators still free then: the appointment's id.
fn book_first_free(
    conn: &mut DbConn,
    config: &Config,
    booking: &CheckedBooking,
    mediators: &[i32],
    person_id: i32,
) -> Result<i32, AppError> {
    let mut booked = None;
    for mediator_id in mediators {
        let attempt = book_as(
            conn,
            None,
            BookingInput {
                service_id: booking.service.id,
                mediator_id: *mediator_id,
                place_id: booking.place.id,
                starts_at: config.timezone.rfc3339(booking.starts_at),
                person_ids: vec![person_id],
                ..Default::default()
            },
            config,
        );
        match attempt {
            Ok(a) => {
                booked = Some(a.row.id);
                break;
            }
            // Taken meanwhile by someone else (or the person is busy then):
            // the next mediator free at that time, else the same refusal.
            Err(AppError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    booked.ok_or_else(slot_taken)
}

/// The booking's writes, inside its transaction: the person matched or created, enrolled or
/// booked, and the referral recorded. Appointment, participation, status, start and end.
fn write_booking(
    conn: &mut DbConn,
    config: &Config,
    org: &Organisation,
    booking: &CheckedBooking,
    mediators: &[i32],
    session: Option<i32>,
) -> Result<(i32, i32, ParticipantStatus, NaiveDateTime, NaiveDateTime), AppError> {
    let person_id = crate::people::public::find_or_create(conn, org.id, booking.input.clone())?;
    let (appointment_id, status) = match session {
        Some(id) => (id, enrol_in_session(conn, config, id, person_id)?),
        None => (
            book_first_free(conn, config, booking, mediators, person_id)?,
            ParticipantStatus::Booked,
        ),
    };
    let (participant_id, start, end): (i32, NaiveDateTime, NaiveDateTime) = participants::table
        .inner_join(appointments::table)
        .filter(participants::appointment_id.eq(appointment_id))
        .filter(participants::person_id.eq(person_id))
        .select((
            participants::id,
            appointments::starts_at,
            appointments::ends_at,
        ))
        .first(conn)?;
    if let Some(referrer) = &booking.referrer {
        crate::referrals::record(
            conn,
            NewReferral {
                organisation_id: org.id,
                organisation_name: &org.name,
                person_id,
                referrer,
                topics: &booking.topics,
                message: None,
                booked: Some((appointment_id, start)),
            },
            &config.timezone,
        )?;
    }
    Ok((appointment_id, participant_id, status, start, end))
}

/// Books a slot for a person (and, from a referrer, records the referral as booked), or joins a
/// workshop (its waiting list when full). The person is matched or created silently; the answer
/// is the same either way.
pub fn book(
    conn: &mut DbConn,
    config: &Config,
    org: &Organisation,
    request: BookingRequest,
    address: Option<IpAddr>,
) -> Result<BookingDone, AppError> {
    let tz = &config.timezone;
    let booking = checked_booking(conn, org, &request)?;
    super::throttle::admit(conn, config, address, phone_key(&booking.input).as_deref())?;
    let (mediators, session) = free_at(
        conn,
        tz,
        &booking.service,
        booking.place.id,
        booking.starts_at,
    )?;

    let service_name = booking.service.name.clone();
    let (appointment_id, participant_id, status, start, end) =
        crate::db::transaction(conn, |conn| {
            write_booking(conn, config, org, &booking, &mediators, session)
        })?;
    let link = format!(
        "{}/r/{}",
        config.public_url,
        crate::mail::links::sign(
            &config.secret_key,
            participant_id,
            crate::mail::links::expiry_of(end)
        )
    );
    Ok(BookingDone {
        appointment_id,
        starts_at: tz.rfc3339(start),
        link,
        status,
        when: tz.in_words(start),
        place: Some(booking.place),
        service_name,
    })
}

/// A referral request's fields read and checked: every mistake at once.
fn checked_referral(
    request: &ReferralRequest,
) -> Result<(Referrer, PersonInput, Vec<String>, Option<String>), FieldErrors> {
    let referrer = request.referrer.clone().checked();
    let mut errors = referrer.as_ref().err().cloned().unwrap_or_default();
    let input = match person_input(&request.person, referrer.as_ref().ok()) {
        Ok(input) => Some(input),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let topics = match crate::referrals::check_topics(&request.topics) {
        Ok(t) => t,
        Err(message) => {
            errors.insert("topics".into(), vec![message]);
            Vec::new()
        }
    };
    let message = crate::text::clean(request.message.clone());
    if message.as_ref().is_some_and(|m| m.chars().count() > 500) {
        errors.insert("message".into(), vec!["500 caractères au plus.".into()]);
    }
    let (Ok(referrer), Some(input), true) = (referrer, input, errors.is_empty()) else {
        return Err(errors);
    };
    Ok((referrer, input, topics, message))
}

/// The mistakes of a referral request (empty when it would be recorded), without recording it.
pub fn referral_errors(request: &ReferralRequest) -> FieldErrors {
    checked_referral(request).err().unwrap_or_default()
}

/// Records a referral request without a slot; the structure contacts the person.
pub fn refer(
    conn: &mut DbConn,
    config: &Config,
    org: &Organisation,
    request: ReferralRequest,
    address: Option<IpAddr>,
) -> Result<ReferralReceived, AppError> {
    let (referrer, input, topics, message) =
        checked_referral(&request).map_err(AppError::Validation)?;
    super::throttle::admit(conn, config, address, phone_key(&input).as_deref())?;
    crate::db::transaction(conn, |conn| {
        let person_id = crate::people::public::find_or_create(conn, org.id, input)?;
        crate::referrals::record(
            conn,
            NewReferral {
                organisation_id: org.id,
                organisation_name: &org.name,
                person_id,
                referrer: &referrer,
                topics: &topics,
                message: message.as_deref(),
                booked: None,
            },
            &config.timezone,
        )?;
        Ok(ReferralReceived {
            status: ReferralStatus::New,
        })
    })
}
