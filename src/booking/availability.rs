//! Services, opening hours and absences: what the slots are computed from.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use validator::Validate;

use super::model::{Absence, OpeningHours, Service};
use crate::auth::{Role, StaffUser};
use crate::db::schema::{absences, opening_hours, services, users};
use crate::db::{now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::text::clean;
use crate::time::parse_rfc3339;

#[derive(Deserialize, Validate, Debug, Default, Clone, utoipa::ToSchema)]
pub struct ServiceInput {
    #[validate(length(
        min = 1,
        max = 120,
        message = "Le nom est obligatoire (120 caractères au plus)."
    ))]
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    pub name: String,
    #[schema(schema_with = crate::booking::model::kind_schema)]
    pub kind: String,
    #[validate(range(
        min = 5,
        max = 720,
        message = "La durée doit être comprise entre 5 et 720 minutes."
    ))]
    #[schema(minimum = 5, maximum = 720)]
    pub duration_minutes: i32,
    #[validate(range(
        min = 1,
        max = 500,
        message = "La capacité doit être comprise entre 1 et 500."
    ))]
    #[schema(minimum = 1, maximum = 500)]
    pub capacity: Option<i32>,
    #[validate(range(
        min = 0,
        max = 43200,
        message = "Le délai de prévenance doit être compris entre 0 et 43 200 minutes."
    ))]
    #[schema(minimum = 0, maximum = 43200)]
    pub min_notice_minutes: Option<i32>,
    #[validate(range(
        min = 0,
        max = 240,
        message = "La pause doit être comprise entre 0 et 240 minutes."
    ))]
    #[schema(minimum = 0, maximum = 240)]
    pub buffer_minutes: Option<i32>,
    #[validate(range(
        min = 1,
        max = 730,
        message = "L'horizon doit être compris entre 1 et 730 jours."
    ))]
    #[schema(minimum = 1, maximum = 730)]
    pub horizon_days: Option<i32>,
    #[validate(length(max = 300, message = "300 caractères au plus."))]
    #[schema(max_length = 300)]
    pub what_to_bring: Option<String>,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub organisation_id: Option<i32>,
    /// `staff` (default), `referrers` or `public`.
    #[schema(schema_with = crate::booking::model::bookable_by_or_null_schema)]
    pub bookable_by: Option<String>,
    /// Default true for an individual service; a workshop cannot (422).
    pub self_reschedule: Option<bool>,
}

pub fn create_service(
    conn: &mut DbConn,
    user: &StaffUser,
    mut input: ServiceInput,
) -> Result<Service, AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    input.name = input.name.trim().to_string();
    let mut errors = crate::error::validation_errors(input.validate());
    if !matches!(input.kind.as_str(), "individual" | "workshop") {
        errors
            .entry("kind".into())
            .or_default()
            .push("Le type doit être individual ou workshop.".into());
    }
    if let Some(message) = input
        .bookable_by
        .as_deref()
        .and_then(super::model::check_bookable_by)
    {
        errors
            .entry("bookable_by".into())
            .or_default()
            .push(message.into());
    }
    if input.kind == "individual" && input.capacity.is_some_and(|c| c != 1) {
        errors
            .entry("capacity".into())
            .or_default()
            .push("Un rendez-vous individuel a une capacité de 1.".into());
    }
    if input.kind == "workshop" && input.self_reschedule == Some(true) {
        errors
            .entry("self_reschedule".into())
            .or_default()
            .push("Un atelier ne se déplace pas depuis le lien d'un participant.".into());
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let organisation_id = user.target_organisation(input.organisation_id)?;
    let default_capacity = if input.kind == "workshop" { 8 } else { 1 };
    crate::db::transaction(conn, |conn| {
        if crate::organisations::find(conn, organisation_id).is_err() {
            return Err(AppError::field(
                "organisation_id",
                "Cette structure n'existe pas.",
            ));
        }
        let id: i32 = diesel::insert_into(services::table)
            .values((
                services::organisation_id.eq(organisation_id),
                services::name.eq(&input.name),
                services::kind.eq(&input.kind),
                services::duration_minutes.eq(input.duration_minutes),
                services::capacity.eq(input.capacity.unwrap_or(default_capacity)),
                services::min_notice_minutes.eq(input.min_notice_minutes.unwrap_or(0)),
                services::buffer_minutes.eq(input.buffer_minutes.unwrap_or(0)),
                services::horizon_days.eq(input.horizon_days.unwrap_or(60)),
                services::what_to_bring.eq(clean(input.what_to_bring.clone()).as_deref()),
                services::bookable_by.eq(input.bookable_by.as_deref().unwrap_or("staff")),
                services::self_reschedule
                    .eq(input.self_reschedule.unwrap_or(input.kind == "individual")),
                services::created_at.eq(now()),
            ))
            .returning(services::id)
            .get_result(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "create",
            "service",
            Some(id),
            Some(organisation_id),
        )?;
        get_service(conn, user, id)
    })
}

pub fn list_services(conn: &mut DbConn, user: &StaffUser) -> Result<Vec<Service>, AppError> {
    let mut query = services::table.select(Service::as_select()).into_boxed();
    if let Some(org) = user.scope() {
        query = query.filter(services::organisation_id.eq(org));
    }
    Ok(query.order((services::name, services::id)).load(conn)?)
}

pub fn get_service(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<Service, AppError> {
    get_service_for(conn, Some(user), id)
}

/// The service, if `user` may see it; `None` is a beneficiary whose link named its appointment.
pub fn get_service_for(
    conn: &mut DbConn,
    user: Option<&StaffUser>,
    id: i32,
) -> Result<Service, AppError> {
    services::table
        .find(id)
        .select(Service::as_select())
        .first(conn)
        .optional()?
        .filter(|s| user.is_none_or(|u| u.can_see(s.organisation_id)))
        .ok_or(AppError::NotFound)
}

/// The mediator whose agenda `actor` wants to change: themselves, or for managers and admins a
/// staff member of an organisation they see.
pub fn editable_mediator(
    conn: &mut DbConn,
    actor: &StaffUser,
    mediator_id: i32,
) -> Result<StaffUser, AppError> {
    let mediator = crate::auth::model::user_by_id(conn, mediator_id)?
        .filter(|u| actor.can_see(u.organisation_id))
        .ok_or(AppError::NotFound)?
        .staff();
    if actor.id != mediator.id {
        actor.require(&[Role::Admin, Role::Manager])?;
    }
    Ok(mediator)
}

/// "09:00" → 540.
pub fn parse_minute(text: &str) -> Option<i32> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 1440).then_some(h * 60 + m)
}

#[derive(Deserialize, Debug, Default, Clone, utoipa::ToSchema)]
pub struct OpeningHoursInput {
    #[schema(minimum = 1, maximum = 2147483647)]
    pub place_id: i32,
    /// 1 = lundi.
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: i32,
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "09:00")]
    pub start: String,
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "12:30")]
    pub end: String,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// What is wrong with an opening, field by field (empty when nothing is).
pub fn opening_hours_errors(input: &OpeningHoursInput) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let mut error =
        |field: &str, message: &str| errors.entry(field.into()).or_default().push(message.into());
    if !(1..=7).contains(&input.weekday) {
        error("weekday", "Le jour va de 1 (lundi) à 7 (dimanche).");
    }
    let start = parse_minute(&input.start);
    let end = parse_minute(&input.end);
    if start.is_none() {
        error(
            "start",
            "Heure attendue au format HH:MM, par exemple 09:00.",
        );
    }
    if end.is_none() {
        error("end", "Heure attendue au format HH:MM, par exemple 12:30.");
    }
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            error("end", "La fin doit suivre le début.");
        }
    }
    if let (Some(from), Some(until)) = (input.valid_from, input.valid_until) {
        if until < from {
            error("valid_until", "La fin de validité doit suivre son début.");
        }
    }
    errors
}

/// Adds a weekly opening. The same opening twice (same day, hours and place, over validity
/// periods that meet) is refused: it would only show twice.
pub fn add_opening_hours(
    conn: &mut DbConn,
    actor: &StaffUser,
    mediator_id: i32,
    input: OpeningHoursInput,
) -> Result<OpeningHours, AppError> {
    let errors = opening_hours_errors(&input);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (start, end) = (parse_minute(&input.start), parse_minute(&input.end));
    crate::db::transaction(conn, |conn| {
        let mediator = editable_mediator(conn, actor, mediator_id)?;
        let place = crate::places::get(conn, actor, input.place_id)
            .ok()
            .filter(|p| p.organisation_id == mediator.organisation_id)
            .ok_or_else(|| {
                AppError::field(
                    "place_id",
                    "Ce lieu n'existe pas dans la structure du médiateur.",
                )
            })?;
        let mut same = opening_hours::table
            .filter(opening_hours::user_id.eq(mediator.id))
            .filter(opening_hours::place_id.eq(place.id))
            .filter(opening_hours::weekday.eq(input.weekday))
            .filter(opening_hours::start_minute.eq(start.unwrap_or_default()))
            .filter(opening_hours::end_minute.eq(end.unwrap_or_default()))
            .into_boxed();
        if let Some(until) = input.valid_until {
            same = same.filter(
                opening_hours::valid_from
                    .is_null()
                    .or(opening_hours::valid_from.le(until)),
            );
        }
        if let Some(from) = input.valid_from {
            same = same.filter(
                opening_hours::valid_until
                    .is_null()
                    .or(opening_hours::valid_until.ge(from)),
            );
        }
        let duplicate: i64 = same.count().get_result(conn)?;
        if duplicate > 0 {
            return Err(AppError::field(
                "start",
                "Cette permanence existe déjà (même jour, mêmes horaires, même lieu).",
            ));
        }
        let id: i32 = diesel::insert_into(opening_hours::table)
            .values((
                opening_hours::user_id.eq(mediator.id),
                opening_hours::place_id.eq(place.id),
                opening_hours::weekday.eq(input.weekday),
                opening_hours::start_minute.eq(start.unwrap_or_default()),
                opening_hours::end_minute.eq(end.unwrap_or_default()),
                opening_hours::valid_from.eq(input.valid_from),
                opening_hours::valid_until.eq(input.valid_until),
                opening_hours::created_at.eq(now()),
            ))
            .returning(opening_hours::id)
            .get_result(conn)?;
        crate::audit::record(
            conn,
            Some(actor),
            "create",
            "opening_hours",
            Some(id),
            Some(mediator.organisation_id),
        )?;
        Ok(opening_hours::table
            .find(id)
            .select(OpeningHours::as_select())
            .first(conn)?)
    })
}

/// Deletes it; returns whose agenda it was.
pub fn remove_opening_hours(
    conn: &mut DbConn,
    actor: &StaffUser,
    id: i32,
) -> Result<i32, AppError> {
    crate::db::transaction(conn, |conn| {
        let row: OpeningHours = opening_hours::table
            .find(id)
            .select(OpeningHours::as_select())
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        let mediator = editable_mediator(conn, actor, row.user_id)?;
        diesel::delete(opening_hours::table.find(id)).execute(conn)?;
        crate::audit::record(
            conn,
            Some(actor),
            "delete",
            "opening_hours",
            Some(id),
            Some(mediator.organisation_id),
        )?;
        Ok(mediator.id)
    })
}

pub fn opening_hours_of(
    conn: &mut DbConn,
    mediator_ids: &[i32],
) -> Result<Vec<OpeningHours>, AppError> {
    let order = (opening_hours::weekday, opening_hours::start_minute);
    // One mediator (every booking) is asked with `=`, which SQLite keeps prepared; `IN` with a
    // list is prepared again at each call.
    Ok(match mediator_ids {
        [id] => opening_hours::table
            .filter(opening_hours::user_id.eq(id))
            .select(OpeningHours::as_select())
            .order(order)
            .load(conn)?,
        _ => opening_hours::table
            .filter(opening_hours::user_id.eq_any(mediator_ids))
            .select(OpeningHours::as_select())
            .order(order)
            .load(conn)?,
    })
}

#[derive(Deserialize, Debug, Default, Clone, utoipa::ToSchema)]
pub struct AbsenceInput {
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    #[schema(max_length = 200)]
    pub reason: Option<String>,
}

pub fn add_absence(
    conn: &mut DbConn,
    actor: &StaffUser,
    mediator_id: i32,
    input: AbsenceInput,
) -> Result<Absence, AppError> {
    let mut errors = FieldErrors::new();
    let starts_at = parse_rfc3339(&input.starts_at);
    let ends_at = parse_rfc3339(&input.ends_at);
    if starts_at.is_none() {
        errors
            .entry("starts_at".into())
            .or_default()
            .push(RFC3339_HINT.into());
    }
    if ends_at.is_none() {
        errors
            .entry("ends_at".into())
            .or_default()
            .push(RFC3339_HINT.into());
    }
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e <= s {
            errors
                .entry("ends_at".into())
                .or_default()
                .push("La fin doit suivre le début.".into());
        }
    }
    let reason = clean(input.reason);
    if reason.as_ref().is_some_and(|r| r.chars().count() > 120) {
        errors
            .entry("reason".into())
            .or_default()
            .push("120 caractères au plus.".into());
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    crate::db::transaction(conn, |conn| {
        let mediator = editable_mediator(conn, actor, mediator_id)?;
        let id: i32 = diesel::insert_into(absences::table)
            .values((
                absences::user_id.eq(mediator.id),
                absences::starts_at.eq(starts_at.unwrap_or_default()),
                absences::ends_at.eq(ends_at.unwrap_or_default()),
                absences::reason.eq(reason.as_deref()),
                absences::created_at.eq(now()),
            ))
            .returning(absences::id)
            .get_result(conn)?;
        crate::audit::record(
            conn,
            Some(actor),
            "create",
            "absence",
            Some(id),
            Some(mediator.organisation_id),
        )?;
        Ok(absences::table
            .find(id)
            .select(Absence::as_select())
            .first(conn)?)
    })
}

/// Deletes it; returns whose agenda it was.
pub fn remove_absence(conn: &mut DbConn, actor: &StaffUser, id: i32) -> Result<i32, AppError> {
    crate::db::transaction(conn, |conn| {
        let row: Absence = absences::table
            .find(id)
            .select(Absence::as_select())
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        let mediator = editable_mediator(conn, actor, row.user_id)?;
        diesel::delete(absences::table.find(id)).execute(conn)?;
        crate::audit::record(
            conn,
            Some(actor),
            "delete",
            "absence",
            Some(id),
            Some(mediator.organisation_id),
        )?;
        Ok(mediator.id)
    })
}

pub fn absences_between(
    conn: &mut DbConn,
    mediator_ids: &[i32],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<Absence>, AppError> {
    let during = absences::starts_at.lt(to).and(absences::ends_at.gt(from));
    // As for opening hours: `=` for one mediator stays prepared.
    Ok(match mediator_ids {
        [id] => absences::table
            .filter(absences::user_id.eq(id))
            .filter(during)
            .select(Absence::as_select())
            .order(absences::starts_at)
            .load(conn)?,
        _ => absences::table
            .filter(absences::user_id.eq_any(mediator_ids))
            .filter(during)
            .select(Absence::as_select())
            .order(absences::starts_at)
            .load(conn)?,
    })
}

/// Staff of an organisation (mediators first), for agenda pickers.
pub fn staff_of(
    conn: &mut DbConn,
    organisation_id: Option<i32>,
) -> Result<Vec<(i32, String, i32)>, AppError> {
    let mut query = users::table
        .filter(users::active.eq(true))
        .select((users::id, users::name, users::organisation_id))
        .into_boxed();
    if let Some(org) = organisation_id {
        query = query.filter(users::organisation_id.eq(org));
    }
    Ok(query.order(users::name).load(conn)?)
}

pub const RFC3339_HINT: &str =
    "Date et heure attendues avec leur décalage, par exemple 2026-12-03T14:30:00+01:00.";
