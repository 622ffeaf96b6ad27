//! `skill_progress` and `domain_progress`: where each person stands on each skill.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::bulk::{self, BulkInsert};
use crate::db::schema::{
    appointments, assessments, domain_progress, participants, people, session_logs, skill_progress,
    skills,
};
use crate::db::DbConn;
use crate::error::AppError;
use crate::status::ParticipantStatus;

use super::TOP_LEVEL;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub first_level: i32,
    pub first_at: NaiveDateTime,
    pub last_level: i32,
    pub last_at: NaiveDateTime,
    pub progressed_at: Option<NaiveDateTime>,
    pub autonomous_at: Option<NaiveDateTime>,
    pub assessments: i32,
    pub autonomous_after: Option<i32>,
    pub sessions_to_progress: Option<i32>,
    pub sessions_to_autonomy: Option<i32>,
    pub last_place_id: Option<i32>,
    pub last_author_id: i32,
}

/// One assessment, as the progress needs it.
pub struct Observation {
    pub level: i32,
    pub at: NaiveDateTime,
    pub place_id: Option<i32>,
    pub author_id: i32,
}

/// Where a person stands on one skill, from their assessments in time order and the start
/// times of the sessions they attended (in order).
pub fn progress(observations: &[Observation], attended: &[NaiveDateTime]) -> Option<Progress> {
    let first = observations.first()?;
    let last = observations.last()?;
    let mut out = Progress {
        first_level: first.level,
        first_at: first.at,
        last_level: last.level,
        last_at: last.at,
        progressed_at: None,
        autonomous_at: None,
        assessments: observations.len() as i32,
        autonomous_after: None,
        sessions_to_progress: None,
        sessions_to_autonomy: None,
        last_place_id: last.place_id,
        last_author_id: last.author_id,
    };
    let sessions_until = |at: NaiveDateTime| attended.partition_point(|t| *t <= at) as i32;
    for (i, o) in observations.iter().enumerate() {
        if out.progressed_at.is_none() && o.level > first.level {
            out.progressed_at = Some(o.at);
            out.sessions_to_progress = Some(sessions_until(o.at));
        }
        if out.autonomous_at.is_none() && o.level >= TOP_LEVEL {
            out.autonomous_at = Some(o.at);
            out.autonomous_after = Some(i as i32 + 1);
            out.sessions_to_autonomy = Some(sessions_until(o.at));
        }
    }
    Some(out)
}

/// Active assessments of these people (and skills), in time order, with the place of the
/// session they were made in.
pub(super) fn observations(
    conn: &mut DbConn,
    person_ids: &[i32],
    skill_ids: Option<&[i32]>,
) -> Result<BTreeMap<(i32, i32), Vec<Observation>>, AppError> {
    let mut query = assessments::table
        .left_join(
            session_logs::table.on(session_logs::id.nullable().eq(assessments::session_log_id)),
        )
        .left_join(appointments::table.on(appointments::id.eq(session_logs::appointment_id)))
        .filter(assessments::person_id.eq_any(person_ids))
        .filter(assessments::active.eq(true))
        .select((
            assessments::person_id,
            assessments::skill_id,
            assessments::level,
            assessments::assessed_at,
            appointments::place_id.nullable(),
            assessments::author_id,
        ))
        .order((
            assessments::person_id,
            assessments::skill_id,
            assessments::assessed_at,
            assessments::id,
        ))
        .into_boxed();
    if let Some(ids) = skill_ids {
        query = query.filter(assessments::skill_id.eq_any(ids));
    }
    let mut out: BTreeMap<(i32, i32), Vec<Observation>> = BTreeMap::new();
    for (person_id, skill_id, level, at, place_id, author_id) in
        query.load::<(i32, i32, i32, NaiveDateTime, Option<i32>, i32)>(conn)?
    {
        out.entry((person_id, skill_id))
            .or_default()
            .push(Observation {
                level,
                at,
                place_id,
                author_id,
            });
    }
    Ok(out)
}

/// Start times of the sessions these people attended, in order.
pub(super) fn attended_sessions(
    conn: &mut DbConn,
    person_ids: &[i32],
) -> Result<HashMap<i32, Vec<NaiveDateTime>>, AppError> {
    let mut out: HashMap<i32, Vec<NaiveDateTime>> = HashMap::new();
    for (person_id, at) in participants::table
        .inner_join(appointments::table)
        .filter(participants::person_id.eq_any(person_ids))
        .filter(participants::status.eq(ParticipantStatus::Attended))
        .select((participants::person_id, appointments::starts_at))
        .load::<(i32, NaiveDateTime)>(conn)?
    {
        out.entry(person_id).or_default().push(at);
    }
    for list in out.values_mut() {
        list.sort_unstable();
    }
    Ok(out)
}

#[derive(Default)]
pub(super) struct DomainRow {
    organisation_id: i32,
    last_at: Option<NaiveDateTime>,
    last_place_id: Option<i32>,
    last_author_id: i32,
    skills: i32,
    progressed: bool,
    autonomous: bool,
    gain: i32,
    autonomous_skills: i32,
    assessments_to_autonomy: i32,
    sessions_to_progress: Option<i32>,
    sessions_to_autonomy: i32,
}

pub(super) fn write_progress(
    conn: &mut DbConn,
    observed: &BTreeMap<(i32, i32), Vec<Observation>>,
    attended: &HashMap<i32, Vec<NaiveDateTime>>,
    organisation_of: &HashMap<i32, i32>,
    domain_of: &HashMap<i32, i32>,
) -> Result<(), AppError> {
    let mut out = BulkInsert::new(
        "skill_progress",
        &[
            "person_id",
            "skill_id",
            "domain_id",
            "organisation_id",
            "first_level",
            "first_at",
            "last_level",
            "last_at",
            "progressed_at",
            "autonomous_at",
            "assessments",
            "autonomous_after",
            "sessions_to_progress",
            "sessions_to_autonomy",
            "last_place_id",
            "last_author_id",
        ],
    );
    let mut per_domain: BTreeMap<(i32, i32), DomainRow> = BTreeMap::new();
    for ((person_id, skill_id), list) in observed {
        let sessions = attended.get(person_id).map(Vec::as_slice).unwrap_or(&[]);
        let (Some(p), Some(org), Some(domain)) = (
            progress(list, sessions),
            organisation_of.get(person_id),
            domain_of.get(skill_id),
        ) else {
            continue;
        };
        let d = per_domain
            .entry((*person_id, *domain))
            .or_insert_with(|| DomainRow {
                autonomous: true,
                ..DomainRow::default()
            });
        d.organisation_id = *org;
        if d.last_at.is_none_or(|at| p.last_at >= at) {
            d.last_at = Some(p.last_at);
            d.last_place_id = p.last_place_id;
            d.last_author_id = p.last_author_id;
        }
        d.skills += 1;
        if p.last_level > p.first_level {
            d.progressed = true;
            d.sessions_to_progress = match (d.sessions_to_progress, p.sessions_to_progress) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        d.autonomous &= p.last_level >= TOP_LEVEL;
        d.gain += p.last_level - p.first_level;
        if let Some(after) = p.autonomous_after {
            d.autonomous_skills += 1;
            d.assessments_to_autonomy += after;
            d.sessions_to_autonomy += p.sessions_to_autonomy.unwrap_or(0);
        }
        out.push(
            conn,
            &[
                bulk::int((*person_id).into()),
                bulk::int((*skill_id).into()),
                bulk::int((*domain).into()),
                bulk::int((*org).into()),
                bulk::int(p.first_level.into()),
                bulk::time(p.first_at),
                bulk::int(p.last_level.into()),
                bulk::time(p.last_at),
                bulk::opt_time(p.progressed_at),
                bulk::opt_time(p.autonomous_at),
                bulk::int(p.assessments.into()),
                bulk::opt_int(p.autonomous_after.map(i64::from)),
                bulk::opt_int(p.sessions_to_progress.map(i64::from)),
                bulk::opt_int(p.sessions_to_autonomy.map(i64::from)),
                bulk::opt_int(p.last_place_id.map(i64::from)),
                bulk::int(p.last_author_id.into()),
            ],
        )?;
    }
    out.flush(conn)?;
    let mut out = BulkInsert::new(
        "domain_progress",
        &[
            "person_id",
            "domain_id",
            "organisation_id",
            "last_at",
            "last_place_id",
            "last_author_id",
            "skills",
            "progressed",
            "autonomous",
            "gain",
            "autonomous_skills",
            "assessments_to_autonomy",
            "sessions_to_progress",
            "sessions_to_autonomy",
        ],
    );
    for ((person_id, domain_id), d) in per_domain {
        let Some(last_at) = d.last_at else {
            continue;
        };
        out.push(
            conn,
            &[
                bulk::int(person_id.into()),
                bulk::int(domain_id.into()),
                bulk::int(d.organisation_id.into()),
                bulk::time(last_at),
                bulk::opt_int(d.last_place_id.map(i64::from)),
                bulk::int(d.last_author_id.into()),
                bulk::int(d.skills.into()),
                bulk::int(i64::from(d.progressed)),
                bulk::int(i64::from(d.autonomous)),
                bulk::int(d.gain.into()),
                bulk::int(d.autonomous_skills.into()),
                bulk::int(d.assessments_to_autonomy.into()),
                bulk::opt_int(d.sessions_to_progress.map(i64::from)),
                bulk::int(d.sessions_to_autonomy.into()),
            ],
        )?;
    }
    out.flush(conn)
}

pub(super) fn domains(conn: &mut DbConn) -> Result<HashMap<i32, i32>, AppError> {
    Ok(skills::table
        .select((skills::id, skills::domain_id))
        .load::<(i32, i32)>(conn)?
        .into_iter()
        .collect())
}

/// Recomputes one person's progress, skill by skill and domain by domain. Call inside the
/// transaction that added or deactivated their assessments, or changed their attendance.
pub fn refresh_skills(conn: &mut DbConn, person_id: i32) -> Result<(), AppError> {
    let organisation_id: i32 = people::table
        .find(person_id)
        .select(people::organisation_id)
        .first(conn)?;
    super::skill_months::lock_for_change(conn, organisation_id)?;
    let before = super::skill_months::Cells::of_person(conn, person_id)?;
    let observed = observations(conn, &[person_id], None)?;
    diesel::delete(skill_progress::table.filter(skill_progress::person_id.eq(person_id)))
        .execute(conn)?;
    diesel::delete(domain_progress::table.filter(domain_progress::person_id.eq(person_id)))
        .execute(conn)?;
    let organisation_of = HashMap::from([(person_id, organisation_id)]);
    let domain_of = domains(conn)?;
    let attended = attended_sessions(conn, &[person_id])?;
    write_progress(conn, &observed, &attended, &organisation_of, &domain_of)?;
    super::equipped::refresh(conn, &[person_id])?;
    let after = super::skill_months::Cells::of_person(conn, person_id)?;
    before.replace_with(conn, after)
}
