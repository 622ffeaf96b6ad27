//! Everything held on a person, for their right of access (RGPD art. 15): the record, the
//! programmes, every participation with its appointment, the session logs, assessments and
//! skills history, the equipment handed over and its history, the messages written about them,
//! and the audit trail of their record. Reading it is itself audited.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::StaffUser;
use crate::booking::{AppointmentRow, ParticipantRow};
use crate::db::schema::{
    appointments, assessments, assignments, equipment, equipment_events, messages, participants,
    person_programmes, places, programmes, services, session_logs, skills, users,
};
use crate::db::{now, DbConn};
use crate::equipment::{Assignment, Event, Item};
use crate::error::AppError;
use crate::outbox::MessageRow;
use crate::people::Person;
use crate::skills::logs::{LogRow, SkillLevel};
use crate::skills::profile::SkillProgress;
use crate::status::{AppointmentStatus, EquipmentStatus, MessageStatus, ParticipantStatus};
use crate::time::LocalTime;

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = PersonExport)]
pub struct Export {
    #[schema(format = DateTime)]
    pub exported_at: String,
    pub person: Person,
    pub organisation: Named,
    pub programmes: Vec<ProgrammeOut>,
    pub participations: Vec<Participation>,
    pub session_logs: Vec<SessionLog>,
    pub assessments: Vec<AssessmentOut>,
    /// Per skill: the current level and its timeline.
    pub skills: Vec<SkillProgress>,
    pub equipment: Vec<Handover>,
    pub equipment_history: Vec<EquipmentEvent>,
    /// No link or calendar is stored: the personal link of an email (`/r/…`) is computed from
    /// the participation and stops working when the appointment is over, and the mediators'
    /// calendar feeds name no beneficiary.
    pub messages: Vec<Message>,
    /// The audit trail of the person's record (who created, changed, exported it).
    pub history: Vec<HistoryEntry>,
}

#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
#[schema(as = ExportNamed)]
pub struct Named {
    pub id: i32,
    pub name: String,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = ExportProgrammeOut)]
pub struct ProgrammeOut {
    pub id: i32,
    pub name: String,
    pub funder: Option<String>,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = ExportPlaceOut)]
pub struct PlaceOut {
    pub id: i32,
    pub name: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = ExportParticipation)]
pub struct Participation {
    pub appointment_id: i32,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// The person's status: booked, waitlisted, attended, no_show, excused, cancelled.
    pub status: String,
    #[schema(format = DateTime)]
    pub enrolled_at: String,
    #[schema(format = DateTime)]
    pub confirmed_at: Option<String>,
    pub appointment_status: String,
    pub title: Option<String>,
    pub notes: Option<String>,
    pub walk_in: bool,
    pub cancel_reason: Option<String>,
    pub service: Named,
    pub place: PlaceOut,
    pub mediator: Named,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = ExportSessionLog)]
pub struct SessionLog {
    pub appointment_id: i32,
    pub version: i32,
    /// False for a version replaced by a correction.
    pub current: bool,
    pub attendance: String,
    pub duration_minutes: Option<i32>,
    pub topics: Vec<String>,
    pub device: Option<String>,
    pub equipment_id: Option<i32>,
    pub autonomy: Option<String>,
    pub skills: Vec<SkillLevel>,
    pub orientation: Option<String>,
    pub orientation_note: Option<String>,
    pub location_type: Option<String>,
    pub note: Option<String>,
    pub author: Named,
    #[schema(format = DateTime)]
    pub recorded_at: String,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = ExportAssessmentOut)]
pub struct AssessmentOut {
    pub skill_code: String,
    pub skill_name: String,
    pub level: i32,
    /// diagnostic, session or final.
    pub kind: String,
    #[schema(format = DateTime)]
    pub assessed_at: String,
    /// False once the session log it came from was corrected.
    pub active: bool,
    pub author: Named,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = ExportHandover)]
pub struct Handover {
    pub equipment_id: i32,
    pub kind: String,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub imei: Option<String>,
    pub iccid: Option<String>,
    pub phone_number: Option<String>,
    pub operator: Option<String>,
    pub mode: String,
    pub handed_over_on: NaiveDate,
    pub due_back_on: Option<NaiveDate>,
    pub acceptance: String,
    pub accepted_by_name: Option<String>,
    pub returned_on: Option<NaiveDate>,
    pub return_condition: Option<String>,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = ExportEquipmentEvent)]
pub struct EquipmentEvent {
    pub equipment_id: i32,
    pub action: String,
    #[schema(value_type = String)]
    pub status: EquipmentStatus,
    pub note: Option<String>,
    #[schema(format = DateTime)]
    pub at: String,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = ExportMessage)]
pub struct Message {
    pub id: i32,
    /// The appointment the message is about, or the equipment handover.
    pub appointment_id: Option<i32>,
    pub assignment_id: Option<i32>,
    pub kind: String,
    pub recipient: String,
    pub recipient_kind: String,
    #[schema(format = DateTime)]
    pub due_at: String,
    #[schema(value_type = String)]
    pub status: MessageStatus,
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
    /// The subject and plain text as sent (purged 30 days after sending).
    pub subject: Option<String>,
    pub body: Option<String>,
}

#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = ExportHistoryEntry)]
pub struct HistoryEntry {
    #[schema(format = DateTime)]
    pub at: String,
    pub action: String,
    pub actor: Option<Named>,
}

/// Staff names by id (the authors of logs, assessments, history).
fn staff_names(conn: &mut DbConn, ids: &[i32]) -> Result<HashMap<i32, String>, AppError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::name))
        .load::<(i32, String)>(conn)?
        .into_iter()
        .collect())
}

fn named(names: &HashMap<i32, String>, id: i32) -> Named {
    Named {
        id,
        name: names.get(&id).cloned().unwrap_or_default(),
    }
}

type ParticipationRow = (
    ParticipantRow,
    AppointmentRow,
    (i32, String),
    (i32, String, String, String, String),
    (i32, String),
);

/// Everything held on a person the user may see; the read is written to the audit log.
pub fn export(conn: &mut DbConn, tz: &Tz, user: &StaffUser, id: i32) -> Result<Export, AppError> {
    crate::db::transaction(conn, |conn| {
        let person = crate::people::get(conn, user, id)?;
        let organisation = crate::organisations::find(conn, person.organisation_id)?;
        let programmes = programmes_of(conn, id)?;
        let participations = participations_of(conn, tz, id)?;
        let logs = logs_of(conn, id)?;
        let observed = observed_skills(conn, &logs)?;
        let assessed = assessments_of(conn, id)?;
        let handovers: Vec<(Assignment, Item)> = assignments::table
            .inner_join(equipment::table)
            .filter(assignments::person_id.eq(id))
            .select((Assignment::as_select(), Item::as_select()))
            .order((assignments::handed_over_on, assignments::id))
            .load(conn)?;
        let events: Vec<Event> = equipment_events::table
            .filter(equipment_events::person_id.eq(id))
            .select(Event::as_select())
            .order((equipment_events::at, equipment_events::id))
            .load(conn)?;
        let message_rows: Vec<MessageRow> = messages::table
            .filter(messages::person_id.eq(id))
            .select(MessageRow::as_select())
            .order((messages::due_at, messages::id))
            .load(conn)?;
        let skills = crate::skills::profile::of_person(conn, user, id, tz)?;
        let history = crate::audit::list(
            conn,
            &crate::audit::AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(id),
                limit: 10_000,
                ..Default::default()
            },
        )?;

        let mut staff: Vec<i32> = logs.iter().map(|l| l.author_id).collect();
        staff.extend(assessed.iter().map(|a| a.6));
        staff.extend(history.iter().filter_map(|h| h.actor_id));
        let names = staff_names(conn, &staff)?;

        crate::audit::record(
            conn,
            Some(user),
            "export",
            "person",
            Some(id),
            Some(person.organisation_id),
        )?;
        Ok(Export {
            exported_at: tz.rfc3339(now()),
            person,
            organisation: Named {
                id: organisation.id,
                name: organisation.name,
            },
            programmes,
            participations,
            session_logs: session_logs_out(tz, &names, logs, observed),
            assessments: assessments_out(tz, &names, assessed),
            skills,
            equipment: handovers.into_iter().map(handover_out).collect(),
            equipment_history: events
                .into_iter()
                .map(|e| EquipmentEvent {
                    equipment_id: e.equipment_id,
                    action: e.action,
                    status: e.status,
                    note: e.note,
                    at: tz.rfc3339(e.at),
                })
                .collect(),
            messages: message_rows
                .into_iter()
                .map(|m| message_out(tz, m))
                .collect(),
            history: history
                .into_iter()
                .map(|h| HistoryEntry {
                    at: tz.rfc3339(h.at),
                    action: h.action,
                    actor: h.actor_id.map(|a| named(&names, a)),
                })
                .collect(),
        })
    })
}

/// The person's programmes, by name.
fn programmes_of(conn: &mut DbConn, id: i32) -> Result<Vec<ProgrammeOut>, AppError> {
    Ok(person_programmes::table
        .inner_join(programmes::table)
        .filter(person_programmes::person_id.eq(id))
        .select((programmes::id, programmes::name, programmes::funder))
        .order(programmes::name)
        .load::<(i32, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, name, funder)| ProgrammeOut { id, name, funder })
        .collect())
}

/// Every participation of the person with its appointment, service, place and mediator, in
/// the order of the appointments.
fn participations_of(conn: &mut DbConn, tz: &Tz, id: i32) -> Result<Vec<Participation>, AppError> {
    let rows: Vec<ParticipationRow> = participants::table
        .inner_join(
            appointments::table
                .inner_join(services::table)
                .inner_join(places::table)
                .inner_join(users::table),
        )
        .filter(participants::person_id.eq(id))
        .select((
            ParticipantRow::as_select(),
            AppointmentRow::as_select(),
            (services::id, services::name),
            (
                places::id,
                places::name,
                places::address,
                places::postal_code,
                places::city,
            ),
            (users::id, users::name),
        ))
        .order((appointments::starts_at, appointments::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(p, a, service, place, mediator)| Participation {
            appointment_id: a.id,
            starts_at: tz.rfc3339(a.starts_at),
            ends_at: tz.rfc3339(a.ends_at),
            status: p.status.to_string(),
            enrolled_at: tz.rfc3339(p.created_at),
            confirmed_at: p.confirmed_at.map(|t| tz.rfc3339(t)),
            appointment_status: a.status.to_string(),
            title: a.title,
            notes: a.notes,
            walk_in: a.walk_in,
            cancel_reason: a.cancel_reason,
            service: Named {
                id: service.0,
                name: service.1,
            },
            place: PlaceOut {
                id: place.0,
                name: place.1,
                address: place.2,
                postal_code: place.3,
                city: place.4,
            },
            mediator: Named {
                id: mediator.0,
                name: mediator.1,
            },
        })
        .collect())
}

/// Every version of the person's session logs.
fn logs_of(conn: &mut DbConn, id: i32) -> Result<Vec<LogRow>, AppError> {
    Ok(session_logs::table
        .filter(session_logs::person_id.eq(id))
        .select(LogRow::as_select())
        .order((
            session_logs::appointment_id,
            session_logs::version,
            session_logs::id,
        ))
        .load(conn)?)
}

/// The skill levels observed in each session log, by log id.
fn observed_skills(
    conn: &mut DbConn,
    logs: &[LogRow],
) -> Result<HashMap<i32, Vec<SkillLevel>>, AppError> {
    let log_ids: Vec<i32> = logs.iter().map(|l| l.id).collect();
    let mut observed: HashMap<i32, Vec<SkillLevel>> = HashMap::new();
    if !log_ids.is_empty() {
        let rows: Vec<(Option<i32>, String, i32)> = assessments::table
            .inner_join(skills::table)
            .filter(assessments::session_log_id.eq_any(&log_ids))
            .select((
                assessments::session_log_id,
                skills::code,
                assessments::level,
            ))
            .order((skills::code, assessments::id))
            .load(conn)?;
        for (log_id, skill_code, level) in rows {
            if let Some(log_id) = log_id {
                observed
                    .entry(log_id)
                    .or_default()
                    .push(SkillLevel { skill_code, level });
            }
        }
    }
    Ok(observed)
}

/// An assessment of the person: skill code and name, level, kind, when, active, author.
type AssessedRow = (
    String,
    String,
    i32,
    String,
    chrono::NaiveDateTime,
    bool,
    i32,
);

/// The person's assessments, in time order.
fn assessments_of(conn: &mut DbConn, id: i32) -> Result<Vec<AssessedRow>, AppError> {
    Ok(assessments::table
        .inner_join(skills::table)
        .filter(assessments::person_id.eq(id))
        .select((
            skills::code,
            skills::name,
            assessments::level,
            assessments::kind,
            assessments::assessed_at,
            assessments::active,
            assessments::author_id,
        ))
        .order((assessments::assessed_at, assessments::id))
        .load(conn)?)
}

/// The session logs as exported, each with the skills observed in it and its author.
fn session_logs_out(
    tz: &Tz,
    names: &HashMap<i32, String>,
    logs: Vec<LogRow>,
    mut observed: HashMap<i32, Vec<SkillLevel>>,
) -> Vec<SessionLog> {
    logs.into_iter()
        .map(|l| SessionLog {
            appointment_id: l.appointment_id,
            version: l.version,
            current: l.current,
            attendance: l.attendance,
            duration_minutes: l.duration_minutes,
            topics: l
                .topics
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            device: l.device,
            equipment_id: l.equipment_id,
            autonomy: l.autonomy,
            skills: observed.remove(&l.id).unwrap_or_default(),
            orientation: l.orientation,
            orientation_note: l.orientation_note,
            location_type: l.location_type,
            note: l.note,
            author: named(names, l.author_id),
            recorded_at: tz.rfc3339(l.created_at),
        })
        .collect()
}

/// The assessments as exported, with their author.
fn assessments_out(
    tz: &Tz,
    names: &HashMap<i32, String>,
    assessed: Vec<AssessedRow>,
) -> Vec<AssessmentOut> {
    assessed
        .into_iter()
        .map(
            |(skill_code, skill_name, level, kind, at, active, author)| AssessmentOut {
                skill_code,
                skill_name,
                level,
                kind,
                assessed_at: tz.rfc3339(at),
                active,
                author: named(names, author),
            },
        )
        .collect()
}

/// A handover of equipment as exported: the item and the terms.
fn handover_out((a, item): (Assignment, Item)) -> Handover {
    Handover {
        equipment_id: item.id,
        kind: item.kind,
        model: item.model,
        serial: item.serial,
        imei: item.imei,
        iccid: item.iccid,
        phone_number: item.phone_number,
        operator: item.operator,
        mode: a.mode,
        handed_over_on: a.handed_over_on,
        due_back_on: a.due_back_on,
        acceptance: a.acceptance,
        accepted_by_name: a.accepted_by_name,
        returned_on: a.returned_on,
        return_condition: a.return_condition,
    }
}

/// A message about the person as exported.
fn message_out(tz: &Tz, m: MessageRow) -> Message {
    Message {
        id: m.id,
        appointment_id: m.appointment_id,
        assignment_id: m.assignment_id,
        kind: m.kind,
        recipient: m.recipient,
        recipient_kind: m.recipient_kind,
        due_at: tz.rfc3339(m.due_at),
        status: m.status,
        sent_at: m.sent_at.map(|t| tz.rfc3339(t)),
        subject: m.subject,
        body: m.body,
    }
}

/// French labels of the codes an export holds, for its HTML version.
pub fn labels() -> serde_json::Value {
    use crate::skills::topics;
    let map = |pairs: &[(&str, &str)]| -> serde_json::Map<String, serde_json::Value> {
        pairs
            .iter()
            .map(|(code, label)| (code.to_string(), serde_json::Value::from(*label)))
            .collect()
    };
    let mut all_topics = map(&topics::DIGITAL);
    all_topics.extend(map(&topics::PROCEDURES));
    let messages = [
        "confirmation",
        "reminder",
        "reschedule",
        "cancellation",
        "promotion",
    ];
    // Who cancelled is spelt out: the export has no `cancelled_by` of its own.
    let participant_statuses: Vec<(&str, &str)> = ParticipantStatus::ALL
        .iter()
        .map(|status| {
            let label = match status {
                ParticipantStatus::Excused => "excusé·e (annulé par la personne)",
                ParticipantStatus::Cancelled => "annulé par la structure",
                _ => status.label(),
            };
            (status.as_str(), label)
        })
        .collect();
    let appointment_statuses: Vec<(&str, &str)> = AppointmentStatus::ALL
        .iter()
        .map(|status| (status.as_str(), status.label()))
        .collect();
    serde_json::json!({
        "participant": map(&participant_statuses),
        "appointment": map(&appointment_statuses),
        "attendance": map(&topics::ATTENDANCE),
        "device": map(&topics::DEVICES),
        "autonomy": map(&topics::AUTONOMY),
        "topic": all_topics,
        "assessment": map(&[
            ("diagnostic", "diagnostic initial"), ("session", "observation en séance"),
            ("final", "évaluation finale"),
        ]),
        "equipment_kind": map(&crate::equipment::KINDS),
        "equipment_status": EquipmentStatus::ALL.iter().map(|s| (s.to_string(), serde_json::Value::from(s.label()))).collect::<serde_json::Map<_, _>>(),
        "equipment_action": map(&[
            ("created", "inventorié"), ("donated", "donné"), ("loaned", "prêté"),
            ("returned", "rendu"), ("status", "changement d'état"),
        ]),
        "mode": map(&[("donation", "don"), ("loan", "prêt")]),
        "acceptance": map(&[
            ("paper_signature", "signature sur papier"), ("typed_name", "nom tapé à l'écran"),
            ("email_confirmation", "confirmation par e-mail"),
        ]),
        "message_kind": messages.iter().map(|k| (k.to_string(), serde_json::Value::from(crate::mail::web::kind_label(k)))).collect::<serde_json::Map<_, _>>(),
        "message_status": MessageStatus::ALL.iter().map(|s| (s.to_string(), serde_json::Value::from(s.label()))).collect::<serde_json::Map<_, _>>(),
        "recipient": map(&[("person", "la personne"), ("referent", "le prescripteur")]),
        "action": crate::audit::action_labels(),
    })
}
