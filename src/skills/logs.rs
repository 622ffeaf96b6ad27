//! Session logs (comptes rendus): per participant attendance, duration, thématiques, device,
//! autonomy, orientation, the skills observed with their level, a short note. Editing writes a
//! new version and keeps the previous ones; their observations stop counting.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::topics;
use crate::auth::StaffUser;
use crate::booking::model::Appointment;
use crate::booking::service::load;
use crate::db::schema::{anonymous_attendees, appointments, assessments, session_logs};
use crate::db::{now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::text::clean;

#[derive(Deserialize, Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct SkillLevel {
    #[schema(min_length = 1, max_length = 10)]
    pub skill_code: String,
    #[schema(minimum = 0, maximum = 3)]
    pub level: i32,
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
#[schema(as = ParticipantLogInput)]
pub struct ParticipantLog {
    #[schema(minimum = 1, maximum = 2147483647)]
    pub person_id: i32,
    #[schema(schema_with = topics::attendance_schema)]
    pub attendance: String,
    pub duration_minutes: Option<i32>,
    /// Codes des thématiques (La Coop de la médiation numérique).
    #[serde(default)]
    pub topics: Vec<String>,
    #[schema(schema_with = topics::device_schema)]
    pub device: Option<String>,
    #[schema(schema_with = topics::autonomy_schema)]
    pub autonomy: Option<String>,
    #[serde(default)]
    pub skills: Vec<SkillLevel>,
    /// One of [`topics::ORIENTATIONS`].
    #[schema(schema_with = topics::orientation_schema)]
    pub orientation: Option<String>,
    #[schema(max_length = 200)]
    pub orientation_note: Option<String>,
    /// One of [`topics::LOCATION_TYPES`].
    #[schema(schema_with = topics::location_type_schema)]
    pub location_type: Option<String>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
#[schema(as = LogInput)]
pub struct LogInput {
    #[schema(min_items = 1)]
    pub participants: Vec<ParticipantLog>,
    /// Personnes venues à un atelier sans fiche.
    #[schema(minimum = 0, maximum = 10000)]
    pub anonymous_attendees: Option<i64>,
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = session_logs)]
pub struct LogRow {
    pub id: i32,
    pub appointment_id: i32,
    pub person_id: i32,
    pub version: i32,
    pub current: bool,
    pub attendance: String,
    pub duration_minutes: Option<i32>,
    pub topics: String,
    pub device: Option<String>,
    pub autonomy: Option<String>,
    pub orientation: Option<String>,
    pub note: Option<String>,
    pub author_id: i32,
    pub created_at: NaiveDateTime,
    pub equipment_id: Option<i32>,
    pub location_type: Option<String>,
    pub orientation_note: Option<String>,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = LogEntry)]
pub struct LogOut {
    pub person_id: i32,
    pub version: i32,
    #[schema(schema_with = topics::attendance_schema)]
    pub attendance: String,
    #[schema(required = true)]
    pub duration_minutes: Option<i32>,
    pub topics: Vec<String>,
    #[schema(schema_with = topics::device_schema, required = true)]
    pub device: Option<String>,
    /// The lent device the person used, when `device` is `lent` and they hold one.
    #[schema(required = true)]
    pub equipment_id: Option<i32>,
    #[schema(schema_with = topics::autonomy_schema, required = true)]
    pub autonomy: Option<String>,
    pub skills: Vec<SkillLevel>,
    #[schema(schema_with = topics::orientation_schema, required = true)]
    pub orientation: Option<String>,
    #[schema(required = true)]
    pub orientation_note: Option<String>,
    #[schema(schema_with = topics::location_type_schema, required = true)]
    pub location_type: Option<String>,
    #[schema(required = true)]
    pub note: Option<String>,
}

fn check(input: &LogInput, skill_ids: &std::collections::HashMap<String, i32>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let mut error =
        |field: String, message: &str| errors.entry(field).or_default().push(message.to_string());
    if input.participants.is_empty() {
        error("participants".into(), "Indiquez au moins une personne.");
    }
    if input
        .anonymous_attendees
        .is_some_and(|n| !(0..=10_000).contains(&n))
    {
        error(
            "anonymous_attendees".into(),
            "Le nombre de personnes venues sans fiche va de 0 à 10 000.",
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (i, p) in input.participants.iter().enumerate() {
        let f = |name: &str| format!("participants[{i}].{name}");
        if !seen.insert(p.person_id) {
            error(f("person_id"), "Cette personne figure deux fois.");
        }
        if !topics::ATTENDANCE.iter().any(|(c, _)| *c == p.attendance) {
            error(f("attendance"), "Présence : attended, no_show ou excused.");
        }
        if p.duration_minutes.is_some_and(|d| !(1..=720).contains(&d)) {
            error(f("duration_minutes"), "La durée va de 1 à 720 minutes.");
        }
        for t in &p.topics {
            if !topics::is_known(t) {
                error(f("topics"), &format!("Thématique inconnue : {t}."));
            }
        }
        if p.device
            .as_deref()
            .is_some_and(|d| !topics::DEVICES.iter().any(|(c, _)| *c == d))
        {
            error(f("device"), "Appareil : own, lent, structure ou none.");
        }
        if p.autonomy
            .as_deref()
            .is_some_and(|d| !topics::AUTONOMY.iter().any(|(c, _)| *c == d))
        {
            error(
                f("autonomy"),
                "Autonomie : accompanied, partly ou autonomous.",
            );
        }
        let mut codes = std::collections::HashSet::new();
        for (j, s) in p.skills.iter().enumerate() {
            if !skill_ids.contains_key(&s.skill_code) {
                error(
                    format!("participants[{i}].skills[{j}].skill_code"),
                    &format!("Compétence inconnue : {}.", s.skill_code),
                );
            }
            if !(0..=super::TOP_LEVEL).contains(&s.level) {
                error(
                    format!("participants[{i}].skills[{j}].level"),
                    "Le niveau va de 0 (pas encore) à 3 (autonome).",
                );
            }
            if !codes.insert(&s.skill_code) {
                error(
                    format!("participants[{i}].skills[{j}].skill_code"),
                    "Compétence notée deux fois.",
                );
            }
        }
        if p.orientation
            .as_deref()
            .is_some_and(|o| !topics::ORIENTATIONS.iter().any(|(c, _)| *c == o))
        {
            error(
                f("orientation"),
                "Orientation : administration, mediation_numerique, \
                 operateur_ou_organisme_en_charge, aide_sociale, insertion_professionnelle, \
                 aide_aux_demarches_administratives ou autre (précisez dans orientation_note).",
            );
        }
        if p.orientation_note
            .as_deref()
            .is_some_and(|o| o.chars().count() > 200)
        {
            error(f("orientation_note"), "200 caractères au plus.");
        }
        if p.location_type
            .as_deref()
            .is_some_and(|o| !topics::LOCATION_TYPES.iter().any(|(c, _)| *c == o))
        {
            error(f("location_type"), "Lieu : place, home, remote ou other.");
        }
        if p.note.as_deref().is_some_and(|o| o.chars().count() > 500) {
            error(f("note"), "500 caractères au plus.");
        }
    }
    errors
}

/// The appointment to log: seen by the actor, not cancelled, already started.
fn loggable(
    conn: &mut DbConn,
    actor: &StaffUser,
    appointment_id: i32,
) -> Result<Appointment, AppError> {
    let appointment = load(conn, actor, appointment_id)?;
    if appointment.row.status == AppointmentStatus::Cancelled {
        return Err(AppError::Conflict {
            code: "not_planned",
            message: "Un rendez-vous annulé ne se consigne pas.".into(),
        });
    }
    if appointment.row.starts_at > now() {
        return Err(AppError::field(
            "appointment",
            "Un rendez-vous à venir ne peut pas encore être consigné.",
        ));
    }
    Ok(appointment)
}

/// The participant's attendance on their seat; at a drop-in session, a seat for whoever of the
/// structure came. The `i`-th entry names its mistakes.
fn set_attendance(
    conn: &mut DbConn,
    actor: &StaffUser,
    appointment: &Appointment,
    i: usize,
    entry: &ParticipantLog,
) -> Result<(), AppError> {
    let appointment_id = appointment.row.id;
    let status = attendance_status(i, entry)?;
    match appointment
        .participants
        .iter()
        .find(|p| p.person_id == entry.person_id)
    {
        Some(p) => {
            crate::booking::participation::set_attendance(conn, p.id, status)?;
        }
        // A drop-in session gathers whoever came.
        None if appointment.row.walk_in => {
            crate::people::get(conn, actor, entry.person_id)
                .ok()
                .filter(|p| p.organisation_id == appointment.row.organisation_id)
                .ok_or_else(|| {
                    AppError::field(
                        &format!("participants[{i}].person_id"),
                        "Cette personne n'existe pas dans la structure.",
                    )
                })?;
            crate::booking::participation::seat_walk_in(
                conn,
                appointment_id,
                entry.person_id,
                status,
            )?;
        }
        None => {
            return Err(AppError::field(
                &format!("participants[{i}].person_id"),
                "Cette personne n'est pas inscrite à ce rendez-vous.",
            ))
        }
    }
    Ok(())
}

/// The participant status the entry's attendance sets (one of [`topics::ATTENDANCE`], as
/// `validate` checked).
fn attendance_status(i: usize, entry: &ParticipantLog) -> Result<ParticipantStatus, AppError> {
    entry.attendance.parse().map_err(|_| {
        AppError::field(
            &format!("participants[{i}].attendance"),
            "Présence : attended, no_show ou excused.",
        )
    })
}

/// The person's current log of the appointment, if any, made a previous version (its
/// observations stop counting): the new version's number.
fn retire_previous(
    conn: &mut DbConn,
    appointment_id: i32,
    person_id: i32,
) -> Result<i32, AppError> {
    let previous: Option<LogRow> = session_logs::table
        .filter(session_logs::appointment_id.eq(appointment_id))
        .filter(session_logs::person_id.eq(person_id))
        .filter(session_logs::current.eq(true))
        .select(LogRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(previous) = &previous {
        diesel::update(session_logs::table.find(previous.id))
            .set(session_logs::current.eq(false))
            .execute(conn)?;
        diesel::update(assessments::table.filter(assessments::session_log_id.eq(previous.id)))
            .set(assessments::active.eq(false))
            .execute(conn)?;
    }
    Ok(previous.map(|p| p.version + 1).unwrap_or(1))
}

/// "Lent": the device this person holds on loan (or, failing that, any they hold).
fn lent_equipment(conn: &mut DbConn, entry: &ParticipantLog) -> Result<Option<i32>, AppError> {
    if entry.device.as_deref() == Some("lent") {
        use crate::db::schema::assignments;
        Ok(assignments::table
            .filter(assignments::person_id.eq(entry.person_id))
            .filter(assignments::returned_on.is_null())
            .order((assignments::mode.desc(), assignments::handed_over_on.desc()))
            .select(assignments::equipment_id)
            .first(conn)
            .optional()?)
    } else {
        Ok(None)
    }
}

/// Writes the participant's new log version and, when they came, the skills observed.
fn write_log(
    conn: &mut DbConn,
    actor: &StaffUser,
    appointment: &Appointment,
    skill_ids: &std::collections::HashMap<String, i32>,
    entry: &ParticipantLog,
) -> Result<LogOut, AppError> {
    let appointment_id = appointment.row.id;
    let version = retire_previous(conn, appointment_id, entry.person_id)?;
    let default_minutes =
        ((appointment.row.ends_at - appointment.row.starts_at).num_minutes()) as i32;
    let attended = ParticipantStatus::Attended == entry.attendance.as_str();
    let duration = attended.then(|| entry.duration_minutes.unwrap_or(default_minutes));
    let equipment_id = lent_equipment(conn, entry)?;
    let log_id: i32 = diesel::insert_into(session_logs::table)
        .values((
            session_logs::appointment_id.eq(appointment_id),
            session_logs::person_id.eq(entry.person_id),
            session_logs::version.eq(version),
            session_logs::current.eq(true),
            session_logs::attendance.eq(&entry.attendance),
            session_logs::duration_minutes.eq(duration),
            session_logs::topics.eq(entry.topics.join(",")),
            session_logs::device.eq(entry.device.as_deref()),
            session_logs::equipment_id.eq(equipment_id),
            session_logs::autonomy.eq(entry.autonomy.as_deref()),
            session_logs::orientation.eq(clean(entry.orientation.clone()).as_deref()),
            session_logs::orientation_note.eq(clean(entry.orientation_note.clone()).as_deref()),
            session_logs::location_type.eq(entry.location_type.as_deref()),
            session_logs::note.eq(clean(entry.note.clone()).as_deref()),
            session_logs::author_id.eq(actor.id),
            session_logs::created_at.eq(now()),
        ))
        .returning(session_logs::id)
        .get_result(conn)?;
    if attended {
        for s in &entry.skills {
            diesel::insert_into(assessments::table)
                .values((
                    assessments::person_id.eq(entry.person_id),
                    assessments::skill_id.eq(skill_ids[&s.skill_code]),
                    assessments::level.eq(s.level),
                    assessments::kind.eq("session"),
                    assessments::session_log_id.eq(Some(log_id)),
                    assessments::active.eq(true),
                    assessments::assessed_at.eq(appointment.row.starts_at),
                    assessments::author_id.eq(actor.id),
                    assessments::created_at.eq(now()),
                ))
                .execute(conn)?;
        }
    }
    Ok(LogOut {
        person_id: entry.person_id,
        version,
        attendance: entry.attendance.clone(),
        duration_minutes: duration,
        topics: entry.topics.clone(),
        device: entry.device.clone(),
        equipment_id,
        autonomy: entry.autonomy.clone(),
        skills: if attended {
            entry.skills.clone()
        } else {
            Vec::new()
        },
        orientation: clean(entry.orientation.clone()),
        orientation_note: clean(entry.orientation_note.clone()),
        location_type: entry.location_type.clone(),
        note: clean(entry.note.clone()),
    })
}

/// After the logs: the people's skill roll-ups, the anonymous count, the webhook, the
/// appointment done, the audit.
fn close_log(
    conn: &mut DbConn,
    tz: &chrono_tz::Tz,
    actor: &StaffUser,
    appointment: &Appointment,
    input: &LogInput,
) -> Result<(), AppError> {
    let appointment_id = appointment.row.id;
    for entry in &input.participants {
        crate::rollups::skills_changed(conn, entry.person_id)?;
    }
    if let Some(count) = input.anonymous_attendees {
        set_anonymous_attendees(conn, appointment_id, count as i32)?;
    }
    crate::rollups::appointment_changed(conn, appointment_id)?;
    let attendance: Vec<(i32, String)> = input
        .participants
        .iter()
        .map(|p| (p.person_id, p.attendance.clone()))
        .collect();
    crate::webhooks::announce_log(
        conn,
        tz,
        appointment.row.organisation_id,
        appointment_id,
        &attendance,
    )?;
    crate::booking::participation::appointment_done(conn, appointment_id)?;
    crate::audit::record(
        conn,
        Some(actor),
        "log",
        "appointment",
        Some(appointment_id),
        Some(appointment.row.organisation_id),
    )?;
    Ok(())
}

/// Records (or edits) the log of an appointment that has started.
pub fn record(
    conn: &mut DbConn,
    tz: &chrono_tz::Tz,
    actor: &StaffUser,
    appointment_id: i32,
    input: LogInput,
) -> Result<Vec<LogOut>, AppError> {
    crate::db::transaction(conn, |conn| {
        let appointment = loggable(conn, actor, appointment_id)?;
        let skill_ids = super::active_skill_ids(conn)?;
        let errors = check(&input, &skill_ids);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let mut out = Vec::new();
        for (i, entry) in input.participants.iter().enumerate() {
            set_attendance(conn, actor, &appointment, i, entry)?;
            out.push(write_log(conn, actor, &appointment, &skill_ids, entry)?);
        }
        close_log(conn, tz, actor, &appointment, &input)?;
        Ok(out)
    })
}

/// People who came to the appointment without a record (0 when never said).
pub fn anonymous_attendees(conn: &mut DbConn, appointment_id: i32) -> Result<i32, AppError> {
    Ok(anonymous_attendees::table
        .find(appointment_id)
        .select(anonymous_attendees::attendees)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

fn set_anonymous_attendees(
    conn: &mut DbConn,
    appointment_id: i32,
    count: i32,
) -> Result<(), AppError> {
    diesel::delete(anonymous_attendees::table.find(appointment_id)).execute(conn)?;
    if count > 0 {
        diesel::insert_into(anonymous_attendees::table)
            .values((
                anonymous_attendees::appointment_id.eq(appointment_id),
                anonymous_attendees::attendees.eq(count),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The current logs of an appointment, by person.
pub fn current(conn: &mut DbConn, appointment_id: i32) -> Result<Vec<LogRow>, AppError> {
    Ok(session_logs::table
        .filter(session_logs::appointment_id.eq(appointment_id))
        .filter(session_logs::current.eq(true))
        .select(LogRow::as_select())
        .load(conn)?)
}

/// Past appointments (of a mediator, or of the organisation) with nothing logged yet, oldest
/// first; `organisation_id` narrows an admin's to one structure.
pub fn to_fill(
    conn: &mut DbConn,
    user: &StaffUser,
    mediator_id: Option<i32>,
    organisation_id: Option<i32>,
) -> Result<Vec<crate::booking::AppointmentRow>, AppError> {
    let mut query = appointments::table
        .filter(appointments::status.eq(AppointmentStatus::Planned))
        .filter(appointments::starts_at.lt(now()))
        .filter(appointments::starts_at.gt(now() - Duration::days(365)))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            session_logs::table.filter(session_logs::appointment_id.eq(appointments::id)),
        )))
        .select(crate::booking::AppointmentRow::as_select())
        .into_boxed();
    if let Some(org) = user.scope().or(organisation_id) {
        query = query.filter(appointments::organisation_id.eq(org));
    }
    if let Some(id) = mediator_id {
        query = query.filter(appointments::mediator_id.eq(id));
    }
    Ok(query.order(appointments::starts_at).limit(500).load(conn)?)
}

/// A person merged into another: their logs and assessments move to the kept person. In an
/// appointment both were in (`conflicts`: with `true` when the merged person's participation
/// was kept), the log of the dropped participation stops counting, as an edited log does, so
/// the appointment keeps one log per participation.
pub fn move_person(
    conn: &mut DbConn,
    from: i32,
    to: i32,
    conflicts: &[(i32, bool)],
) -> Result<(), AppError> {
    for (appointment_id, theirs_kept) in conflicts {
        let dropped = if *theirs_kept { to } else { from };
        let superseded: Vec<i32> = session_logs::table
            .filter(session_logs::person_id.eq(dropped))
            .filter(session_logs::appointment_id.eq(appointment_id))
            .filter(session_logs::current.eq(true))
            .select(session_logs::id)
            .load(conn)?;
        for id in superseded {
            diesel::update(session_logs::table.find(id))
                .set(session_logs::current.eq(false))
                .execute(conn)?;
            diesel::update(assessments::table.filter(assessments::session_log_id.eq(id)))
                .set(assessments::active.eq(false))
                .execute(conn)?;
        }
    }
    diesel::update(session_logs::table.filter(session_logs::person_id.eq(from)))
        .set(session_logs::person_id.eq(to))
        .execute(conn)?;
    diesel::update(assessments::table.filter(assessments::person_id.eq(from)))
        .set(assessments::person_id.eq(to))
        .execute(conn)?;
    Ok(())
}
