//! The session-log form (one screen per appointment, under a minute), "logs to fill", and the
//! referential page for admins.

use std::collections::HashMap;

use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::logs::{self, LogInput, ParticipantLog, SkillLevel};
use super::topics;
use super::SkillEdit;
use crate::auth::csrf::Csrf;
use crate::auth::{Role, WebUser};
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::status::ParticipantStatus;
use crate::time::LocalTime;
use crate::web::{notice, optional_number, page, FormOutcome, Invalid};

fn pairs(list: &[(&str, &str)]) -> Vec<serde_json::Value> {
    list.iter()
        .map(|(code, label)| json!({ "code": code, "label": label }))
        .collect()
}

/// The session log's form: each participant's stored log, or what was typed (`typed`, by
/// person id, when the form is shown again with its errors).
async fn log_page(
    db: &Db,
    config: &Config,
    web: &WebUser,
    id: i32,
    typed: serde_json::Value,
    errors: FieldErrors,
) -> Result<Template, AppError> {
    let tz = config.timezone;
    let user = web.user.clone();
    let (appointment, people, catalogue, (current, anonymous)) = db
        .run(move |conn| {
            let appointment = crate::booking::service::load(conn, &user, id)?;
            let people = appointment
                .participants
                .iter()
                .filter(|p| {
                    !matches!(
                        p.status,
                        ParticipantStatus::Waitlisted | ParticipantStatus::Cancelled
                    )
                })
                .map(|p| {
                    crate::people::get(conn, &user, p.person_id).map(|person| (p.status, person))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let catalogue = super::catalogue(conn, false)?;
            let current = logs::current(conn, id)?;
            let anonymous = logs::anonymous_attendees(conn, id)?;
            Ok((appointment, people, catalogue, (current, anonymous)))
        })
        .await?;
    let minutes = (appointment.row.ends_at - appointment.row.starts_at).num_minutes();
    let participants: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(i, (status, person))| {
            if let Some(typed) = typed.get(person.id.to_string()) {
                let mut row = typed.clone();
                row["index"] = json!(i);
                row["person_id"] = json!(person.id);
                row["name"] = json!(person.display_name());
                return row;
            }
            let log = current.iter().find(|l| l.person_id == person.id);
            json!({
                "index": i, "person_id": person.id, "name": person.display_name(),
                "attendance": log.map(|l| l.attendance.clone()).unwrap_or_else(|| (if *status == ParticipantStatus::Booked { ParticipantStatus::Attended } else { *status }).to_string()),
                "duration": log.and_then(|l| l.duration_minutes).map(i64::from).unwrap_or(minutes),
                "topics": log.map(|l| l.topics.split(',').map(str::to_string).collect::<Vec<_>>()).unwrap_or_default(),
                "device": log.and_then(|l| l.device.clone()).unwrap_or_default(),
                "autonomy": log.and_then(|l| l.autonomy.clone()).unwrap_or_default(),
                "orientation": log.and_then(|l| l.orientation.clone()).unwrap_or_default(),
                "orientation_note": log.and_then(|l| l.orientation_note.clone()).unwrap_or_default(),
                "location_type": log.and_then(|l| l.location_type.clone()).unwrap_or_default(),
                "note": log.and_then(|l| l.note.clone()).unwrap_or_default(),
                "version": log.map(|l| l.version),
                "skills": {},
            })
        })
        .collect();
    let domains: Vec<_> = catalogue
        .iter()
        .map(|(d, skills)| json!({ "code": d.code, "name": d.name, "skills": skills.iter().map(|s| json!({"code": s.code, "name": s.name})).collect::<Vec<_>>() }))
        .collect();
    let names: Vec<String> = people.iter().map(|(_, p)| p.display_name()).collect();
    let (errors, summary) = log_errors(errors, &names);
    Ok(page(
        "skills/log",
        web,
        json!({
            "appointment_id": id, "when": tz.in_words(appointment.row.starts_at), "participants": participants,
            "future": appointment.row.starts_at > crate::db::now(), "domains": domains, "levels": super::levels(),
            "digital": pairs(&topics::DIGITAL), "procedures": pairs(&topics::PROCEDURES), "devices": pairs(&topics::DEVICES),
            "autonomy": pairs(&topics::AUTONOMY), "attendance": pairs(&topics::ATTENDANCE), "errors": errors,
            "location_types": pairs(&topics::LOCATION_TYPES), "orientations": pairs(&topics::ORIENTATIONS),
            "walk_in_or_workshop": appointment.row.walk_in || appointment.row.capacity > 1, "summary": summary,
            "anonymous_attendees": typed.get("anonymous_attendees").cloned().unwrap_or(json!(anonymous)),
        }),
    ))
}

/// A participant's fields: the service's name, the input's id on the page (`{id}-{index}`),
/// its label.
const LOG_FIELDS: [(&str, &str, &str); 11] = [
    ("person_id", "participant", "Personne"),
    ("attendance", "attendance", "Présence"),
    ("duration_minutes", "duration", "Durée (minutes)"),
    ("topics", "topics", "Thématiques"),
    ("device", "device", "Appareil utilisé"),
    ("autonomy", "autonomy", "Autonomie"),
    ("skills", "skills", "Compétences observées"),
    ("location_type", "location", "Lieu de la séance"),
    ("orientation", "orientation", "Orientation"),
    (
        "orientation_note",
        "orientation-note",
        "Précision sur l'orientation",
    ),
    ("note", "note", "Note courte"),
];

/// The service's errors (`participants[1].duration_minutes`…) under the ids of the inputs they
/// belong to (`duration-1`), and the form's summary (each labelled with the person's name).
fn log_errors(errors: FieldErrors, names: &[String]) -> (FieldErrors, serde_json::Value) {
    let mut by_input = FieldErrors::new();
    for (key, messages) in errors {
        let input = key
            .strip_prefix("participants[")
            .and_then(|rest| rest.split_once("]."))
            .and_then(|(index, field)| {
                let field = field.split(['[', '.']).next().unwrap_or(field);
                let (_, id, _) = LOG_FIELDS.iter().find(|(name, _, _)| *name == field)?;
                Some(format!("{id}-{}", index.parse::<usize>().ok()?))
            })
            .unwrap_or(key);
        by_input.entry(input).or_default().extend(messages);
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        for (_, id, label) in LOG_FIELDS {
            fields.push((format!("{id}-{i}"), format!("{name} — {label}")));
        }
    }
    fields.push((
        "anonymous_attendees".into(),
        "Personnes venues sans fiche".into(),
    ));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(id, label)| (id.as_str(), label.as_str()))
        .collect();
    let summary = notice::summary(&by_input, &fields);
    (by_input, summary)
}

#[rocket::get("/appointments/<id>/log")]
pub async fn form(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
) -> Result<Template, AppError> {
    log_page(db, config, &web, id, json!({}), FieldErrors::new()).await
}

#[derive(rocket::FromForm, Debug)]
pub struct ParticipantForm {
    person_id: i32,
    attendance: String,
    duration_minutes: Option<String>,
    topics: Vec<String>,
    device: Option<String>,
    autonomy: Option<String>,
    skills: HashMap<String, String>,
    orientation: Option<String>,
    orientation_note: Option<String>,
    location_type: Option<String>,
    note: Option<String>,
}

#[derive(rocket::FromForm, Debug)]
pub struct LogForm {
    participants: Vec<ParticipantForm>,
    anonymous_attendees: Option<String>,
}

#[rocket::post("/appointments/<id>/log", data = "<form>")]
pub async fn save(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    id: i32,
    form: Csrf<LogForm>,
) -> Result<FormOutcome, AppError> {
    let form = form.into_inner();
    // What was typed, to show it again if something is wrong.
    let mut typed = serde_json::Map::new();
    for p in &form.participants {
        typed.insert(
            p.person_id.to_string(),
            json!({
                "attendance": p.attendance, "duration": p.duration_minutes, "topics": p.topics,
                "device": p.device, "autonomy": p.autonomy, "orientation": p.orientation,
                "orientation_note": p.orientation_note, "location_type": p.location_type, "note": p.note,
                "skills": p.skills,
            }),
        );
    }
    typed.insert(
        "anonymous_attendees".into(),
        json!(form.anonymous_attendees),
    );
    let typed = serde_json::Value::Object(typed);
    let empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    // A count that is not a number is refused as such, not taken for "none".
    let anonymous_attendees = empty(form.anonymous_attendees.clone())
        .map(|text| text.trim().parse::<i64>().unwrap_or(-1));
    let input = LogInput {
        participants: form
            .participants
            .into_iter()
            .map(|p| {
                let mut skills: Vec<SkillLevel> = p
                    .skills
                    .into_iter()
                    .filter(|(_, level)| !level.is_empty())
                    .map(|(skill_code, level)| SkillLevel {
                        skill_code,
                        level: level.parse().unwrap_or(-1),
                    })
                    .collect();
                skills.sort_by(|a, b| a.skill_code.cmp(&b.skill_code));
                ParticipantLog {
                    person_id: p.person_id,
                    attendance: p.attendance,
                    // A duration that is not a number is refused as such, not taken for "none".
                    duration_minutes: empty(p.duration_minutes)
                        .map(|d| d.trim().parse().unwrap_or(-1)),
                    topics: p.topics,
                    device: empty(p.device),
                    autonomy: empty(p.autonomy),
                    skills,
                    orientation: empty(p.orientation),
                    orientation_note: p.orientation_note,
                    location_type: empty(p.location_type),
                    note: p.note,
                }
            })
            .collect(),
        anonymous_attendees,
    };
    let (user, tz) = (web.user.clone(), config.timezone);
    match db
        .run(move |conn| logs::record(conn, &tz, &user, id, input))
        .await
    {
        Ok(_) => Ok(FormOutcome::Done(Redirect::to(format!(
            "/appointments/{id}"
        )))),
        Err(AppError::Validation(errors)) => Ok(FormOutcome::Invalid(Invalid(
            log_page(db, config, &web, id, typed, errors).await?,
        ))),
        Err(AppError::Conflict { message, .. }) => Ok(FormOutcome::Invalid(Invalid(
            log_page(
                db,
                config,
                &web,
                id,
                typed,
                [("appointment".to_string(), vec![message])].into(),
            )
            .await?,
        ))),
        Err(e) => Err(e),
    }
}

#[rocket::get("/logs-to-fill")]
pub async fn to_fill(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
) -> Result<Template, AppError> {
    let tz = config.timezone;
    let user = web.user.clone();
    let mediator = (user.role == Role::Mediator).then_some(user.id);
    let rows = db
        .run(move |conn| logs::to_fill(conn, &user, mediator, None))
        .await?;
    let rows: Vec<_> = rows
        .iter()
        .map(|r| json!({ "id": r.id, "when": tz.in_words(r.starts_at), "title": r.title, "walk_in": r.walk_in }))
        .collect();
    Ok(page("skills/to_fill", &web, json!({ "rows": rows })))
}

/// The referential page; `form`: the add form's (`None`) or a skill's edit form (`Some(code)`)
/// shown again with what was typed and its errors.
async fn referential_page(
    db: &Db,
    web: &WebUser,
    form: Option<Option<String>>,
    values: serde_json::Value,
    errors: FieldErrors,
) -> Result<Template, AppError> {
    let catalogue = db.run(|conn| super::catalogue(conn, true)).await?;
    let domains: Vec<_> = catalogue
        .iter()
        .map(|(d, skills)| json!({ "code": d.code, "name": d.name, "pix": d.pix_code, "digcomp": d.digcomp_code, "skills": skills }))
        .collect();
    let mut context =
        json!({ "domains": domains, "levels": super::levels(), "values": {}, "errors": {} });
    match form {
        None => {}
        Some(None) => {
            context["values"] = values;
            context["errors"] = json!(errors);
            context = notice::with_summary(context, &ADD_FIELDS);
        }
        // A row's inputs are `name-{code}` and `pos-{code}`.
        Some(Some(code)) => {
            let errors: FieldErrors = errors
                .into_iter()
                .map(|(field, messages)| {
                    let input = if field == "position" {
                        "pos"
                    } else {
                        field.as_str()
                    };
                    (format!("{input}-{code}"), messages)
                })
                .collect();
            let (name, position) = (format!("name-{code}"), format!("pos-{code}"));
            context["summary"] = notice::summary(
                &errors,
                &[(name.as_str(), "Nom"), (position.as_str(), "Ordre")],
            );
            context["edit_code"] = json!(code);
            context["edit_values"] = values;
            context["edit_errors"] = json!(errors);
        }
    }
    Ok(page("skills/referential", web, context))
}

/// The add form's fields in their order on the page, for the error summary.
const ADD_FIELDS: [(&str, &str); 3] = [
    ("domain_code", "Domaine"),
    ("code", "Code"),
    ("name", "Nom"),
];

#[rocket::get("/skills")]
pub async fn referential(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    referential_page(db, &web, None, json!({}), FieldErrors::new()).await
}

/// A skill added or edited: the position is read here, so that "abc" is refused, not dropped.
#[derive(rocket::FromForm)]
pub struct SkillForm {
    domain_code: Option<String>,
    code: Option<String>,
    name: Option<String>,
    position: Option<String>,
    retired: Option<bool>,
}

impl SkillForm {
    fn values(&self) -> serde_json::Value {
        json!({ "domain_code": self.domain_code, "code": self.code, "name": self.name,
                "position": self.position, "retired": self.retired })
    }

    fn edit(self, errors: &mut FieldErrors) -> SkillEdit {
        let position = optional_number("position", self.position.as_deref().unwrap_or(""), errors);
        SkillEdit {
            domain_code: self.domain_code,
            code: self.code,
            name: self.name,
            position,
            retired: self.retired,
        }
    }
}

/// What a skill form's submission comes to: the errors to show, or done.
fn form_errors(
    outcome: Result<super::Skill, AppError>,
    mut unread: FieldErrors,
) -> Result<Option<FieldErrors>, AppError> {
    match outcome {
        Ok(_) if unread.is_empty() => Ok(None),
        Ok(_) => Ok(Some(unread)),
        Err(AppError::Validation(errors)) => {
            unread.extend(errors);
            Ok(Some(unread))
        }
        Err(AppError::Conflict { message, .. }) => {
            unread.insert("code".into(), vec![message]);
            Ok(Some(unread))
        }
        Err(e) => Err(e),
    }
}

#[rocket::post("/skills", data = "<form>")]
pub async fn add(
    db: &State<Db>,
    web: WebUser,
    form: Csrf<SkillForm>,
) -> Result<FormOutcome, AppError> {
    let user = web.user.clone();
    let form = form.into_inner();
    let values = form.values();
    let mut unread = FieldErrors::new();
    let edit = form.edit(&mut unread);
    web.user.require(&[Role::Admin])?;
    // Nothing is added while the position does not read.
    let outcome = if unread.is_empty() {
        db.run(move |conn| super::add_skill(conn, &user, edit))
            .await
    } else {
        Err(AppError::Validation(FieldErrors::new()))
    };
    match form_errors(outcome, unread)? {
        None => Ok(FormOutcome::Done(Redirect::to("/skills"))),
        Some(errors) => Ok(FormOutcome::Invalid(Invalid(
            referential_page(db, &web, Some(None), values, errors).await?,
        ))),
    }
}

#[rocket::post("/skills/<code>", data = "<form>")]
pub async fn edit(
    db: &State<Db>,
    web: WebUser,
    code: String,
    form: Csrf<SkillForm>,
) -> Result<FormOutcome, AppError> {
    web.user.require(&[Role::Admin])?;
    let user = web.user.clone();
    let form = form.into_inner();
    let values = form.values();
    let mut unread = FieldErrors::new();
    let edit = form.edit(&mut unread);
    // Nothing is changed while the position does not read; the other mistakes come with it.
    let outcome = if unread.is_empty() {
        let code = code.clone();
        db.run(move |conn| super::edit_skill(conn, &user, &code, edit))
            .await
    } else {
        Err(AppError::Validation(super::edit_errors(&edit)))
    };
    match form_errors(outcome, unread)? {
        None => Ok(FormOutcome::Done(Redirect::to("/skills"))),
        Some(errors) => Ok(FormOutcome::Invalid(Invalid(
            referential_page(db, &web, Some(Some(code)), values, errors).await?,
        ))),
    }
}
