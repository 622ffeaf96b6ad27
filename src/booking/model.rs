//! Booking rows and what the API shows of them.

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{absences, appointments, opening_hours, participants, services};
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::time::LocalTime;

#[derive(Queryable, Selectable, Serialize, Debug, Clone, utoipa::ToSchema)]
#[diesel(table_name = services)]
pub struct Service {
    pub id: i32,
    pub organisation_id: i32,
    pub name: String,
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    pub duration_minutes: i32,
    pub capacity: i32,
    pub min_notice_minutes: i32,
    pub buffer_minutes: i32,
    pub horizon_days: i32,
    #[serde(skip)]
    #[schema(ignore)]
    pub created_at: NaiveDateTime,
    #[schema(required = true)]
    pub what_to_bring: Option<String>,
    /// Who may book it: `staff`, `referrers` (and staff) or `public` (anyone).
    #[schema(schema_with = bookable_by_schema)]
    pub bookable_by: String,
    /// The person may move an appointment of this service from their personal link.
    pub self_reschedule: bool,
}

/// `individual` or `workshop`.
pub fn kind_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(["individual", "workshop"])
}

/// The values of `bookable_by`, with their French labels.
pub const BOOKABLE_BY: [(&str, &str); 3] = [
    ("staff", "l'équipe seulement"),
    ("referrers", "l'équipe et les prescripteurs"),
    ("public", "tout le monde (page publique)"),
];

pub const BOOKABLE_BY_MESSAGE: &str = "Valeur attendue : staff, referrers ou public.";

/// The error message of a `bookable_by` value, if it is not one.
pub fn check_bookable_by(value: &str) -> Option<&'static str> {
    (!BOOKABLE_BY.iter().any(|(code, _)| *code == value)).then_some(BOOKABLE_BY_MESSAGE)
}

pub fn bookable_by_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(BOOKABLE_BY.map(|(code, _)| code))
}

pub fn bookable_by_or_null_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(BOOKABLE_BY.map(|(code, _)| code))
}

/// Longer than any appointment with its pause (at most 12 h + 4 h): overlaps are looked for
/// among the appointments that start less than this before.
pub const MAX_SPAN: chrono::Duration = chrono::Duration::hours(24);

impl Service {
    pub fn is_workshop(&self) -> bool {
        self.kind == "workshop"
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = opening_hours)]
pub struct OpeningHours {
    pub id: i32,
    pub user_id: i32,
    pub place_id: i32,
    pub weekday: i32,
    pub start_minute: i32,
    pub end_minute: i32,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
}

impl OpeningHours {
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        use chrono::Datelike;
        self.weekday == date.weekday().number_from_monday() as i32
            && self.valid_from.is_none_or(|from| date >= from)
            && self.valid_until.is_none_or(|until| date <= until)
    }
}

/// "09:00"
pub fn minute_text(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OpeningHours)]
pub struct OpeningHoursOut {
    pub id: i32,
    pub user_id: i32,
    pub place_id: i32,
    /// 1 = lundi.
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: i32,
    #[schema(example = "09:00")]
    pub start: String,
    #[schema(example = "12:30")]
    pub end: String,
    #[schema(required = true)]
    pub valid_from: Option<NaiveDate>,
    #[schema(required = true)]
    pub valid_until: Option<NaiveDate>,
}

impl From<&OpeningHours> for OpeningHoursOut {
    fn from(o: &OpeningHours) -> Self {
        OpeningHoursOut {
            id: o.id,
            user_id: o.user_id,
            place_id: o.place_id,
            weekday: o.weekday,
            start: minute_text(o.start_minute),
            end: minute_text(o.end_minute),
            valid_from: o.valid_from,
            valid_until: o.valid_until,
        }
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = absences)]
pub struct Absence {
    pub id: i32,
    pub user_id: i32,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = appointments)]
pub struct AppointmentRow {
    pub id: i32,
    pub organisation_id: i32,
    pub service_id: i32,
    pub mediator_id: i32,
    pub place_id: i32,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub blocked_until: NaiveDateTime,
    pub capacity: i32,
    pub title: Option<String>,
    pub notes: Option<String>,
    pub status: AppointmentStatus,
    pub walk_in: bool,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub sequence: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = participants)]
pub struct ParticipantRow {
    pub id: i32,
    pub appointment_id: i32,
    pub person_id: i32,
    pub status: ParticipantStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
}

/// An appointment with its participants, in enrolment order.
#[derive(Debug, Clone)]
pub struct Appointment {
    pub row: AppointmentRow,
    pub participants: Vec<ParticipantRow>,
}

impl Appointment {
    pub fn booked_count(&self) -> usize {
        self.participants
            .iter()
            .filter(|p| p.status.is_seated())
            .count()
    }

    pub fn out(&self, tz: &Tz) -> AppointmentOut {
        let r = &self.row;
        AppointmentOut {
            id: r.id,
            organisation_id: r.organisation_id,
            service_id: r.service_id,
            mediator_id: r.mediator_id,
            place_id: r.place_id,
            starts_at: tz.rfc3339(r.starts_at),
            ends_at: tz.rfc3339(r.ends_at),
            capacity: r.capacity,
            title: r.title.clone(),
            notes: r.notes.clone(),
            status: r.status,
            walk_in: r.walk_in,
            cancelled_by: r.cancelled_by.clone(),
            cancel_reason: r.cancel_reason.clone(),
            participants: self
                .participants
                .iter()
                .map(|p| ParticipantOut {
                    person_id: p.person_id,
                    status: p.status,
                    confirmed: p.confirmed_at.is_some(),
                })
                .collect(),
        }
    }
}

/// An appointment as the API lists it: the columns of [`AppointmentOut`] and no more (the
/// bookkeeping times, parsed for nothing, were a third of the list's cost).
#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = appointments)]
pub struct ListedRow {
    pub id: i32,
    pub organisation_id: i32,
    pub service_id: i32,
    pub mediator_id: i32,
    pub place_id: i32,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub capacity: i32,
    pub title: Option<String>,
    pub notes: Option<String>,
    pub status: AppointmentStatus,
    pub walk_in: bool,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
}

impl ListedRow {
    /// The appointment as the API shows it, with its participants in enrolment order.
    pub fn out(self, tz: &Tz, participants: Vec<ParticipantOut>) -> AppointmentOut {
        AppointmentOut {
            id: self.id,
            organisation_id: self.organisation_id,
            service_id: self.service_id,
            mediator_id: self.mediator_id,
            place_id: self.place_id,
            starts_at: tz.rfc3339(self.starts_at),
            ends_at: tz.rfc3339(self.ends_at),
            capacity: self.capacity,
            title: self.title,
            notes: self.notes,
            status: self.status,
            walk_in: self.walk_in,
            cancelled_by: self.cancelled_by,
            cancel_reason: self.cancel_reason,
            participants,
        }
    }
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
#[schema(as = Participant)]
pub struct ParticipantOut {
    pub person_id: i32,
    #[schema(schema_with = ParticipantStatus::schema)]
    pub status: ParticipantStatus,
    /// The person confirmed from their link.
    pub confirmed: bool,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
#[schema(as = Appointment)]
pub struct AppointmentOut {
    pub id: i32,
    pub organisation_id: i32,
    pub service_id: i32,
    pub mediator_id: i32,
    pub place_id: i32,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub capacity: i32,
    #[schema(required = true)]
    pub title: Option<String>,
    #[schema(required = true)]
    pub notes: Option<String>,
    #[schema(schema_with = AppointmentStatus::schema)]
    pub status: AppointmentStatus,
    pub walk_in: bool,
    /// `person` or `structure` once cancelled.
    #[schema(schema_with = cancelled_by_schema, required = true)]
    pub cancelled_by: Option<String>,
    #[schema(required = true)]
    pub cancel_reason: Option<String>,
    pub participants: Vec<ParticipantOut>,
}

fn cancelled_by_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(["person", "structure"])
}

/// A participant's status as pages and spreadsheets say it: its label, but `cancelled` reads
/// "annulé", as a cancelled appointment does (what pages and spreadsheets have always shown).
pub fn participant_label(status: ParticipantStatus) -> &'static str {
    match status {
        ParticipantStatus::Cancelled => AppointmentStatus::Cancelled.label(),
        _ => status.label(),
    }
}

/// A service's kind as pages and spreadsheets say it.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "workshop" => "atelier",
        _ => "individuel",
    }
}
