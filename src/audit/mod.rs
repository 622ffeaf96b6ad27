//! The append-only audit log: who did what to which record, and when. Services write a row in
//! the same transaction as the change; nothing updates or deletes it (triggers refuse it too).
//! It never holds personal data, only ids.

pub mod api;
pub mod web;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::identity::StaffUser;
use crate::db::schema::audit_log;
use crate::db::DbConn;
use crate::error::AppError;

/// `None` is written as NULL (the columns have no other default), so that the statement keeps
/// one shape and stays prepared whichever ids are missing.
#[derive(Insertable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
struct NewAuditRow<'a> {
    at: NaiveDateTime,
    actor_id: Option<i32>,
    action: &'a str,
    entity: &'a str,
    entity_id: Option<i32>,
    organisation_id: Option<i32>,
}

#[derive(Queryable, Selectable, Serialize, Debug, Clone)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i32,
    pub at: NaiveDateTime,
    pub actor_id: Option<i32>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i32>,
    pub organisation_id: Option<i32>,
}

/// Appends one audit row. Call it inside the transaction of the change it records.
pub fn record(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    action: &str,
    entity: &str,
    entity_id: Option<i32>,
    organisation_id: Option<i32>,
) -> Result<(), AppError> {
    // Usually inside the change's transaction; alone (an export, a read of a person's
    // data), through the writer like any other write.
    crate::db::write(conn, |conn| {
        diesel::insert_into(audit_log::table)
            .values(NewAuditRow {
                at: crate::db::now(),
                actor_id: actor.map(|a| a.id),
                action,
                entity,
                entity_id,
                organisation_id,
            })
            .execute(conn)?;
        Ok(())
    })
}

/// [`record`] of the same action on each of `entity_ids`, in as few statements as the
/// databases allow; inside the caller's transaction.
pub fn record_each(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    action: &str,
    entity: &str,
    entity_ids: &[i32],
    organisation_id: Option<i32>,
) -> Result<(), AppError> {
    let at = crate::db::now();
    for chunk in entity_ids.chunks(1000) {
        let rows: Vec<NewAuditRow> = chunk
            .iter()
            .map(|id| NewAuditRow {
                at,
                actor_id: actor.map(|a| a.id),
                action,
                entity,
                entity_id: Some(*id),
                organisation_id,
            })
            .collect();
        crate::db::per_backend!(conn, |c| diesel::insert_into(audit_log::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// PostgreSQL: [`record`] as one member of a `WITH` statement, one of whose earlier members,
/// `source`, inserts the entity and returns its `id` and `organisation_id`: a change and its
/// audit row in one round trip. `at` and `actor` are the statement's placeholders of the time
/// and of the actor's id (NULL: no actor). Action and entity are the code's own words.
pub fn pg_record_member(
    source: &str,
    action: &'static str,
    entity: &'static str,
    at: &str,
    actor: &str,
) -> String {
    debug_assert!((action.to_string() + entity)
        .chars()
        .all(|c| c.is_ascii_lowercase() || c == '_'));
    format!(
        "INSERT INTO audit_log (at, actor_id, action, entity, entity_id, organisation_id) \
         SELECT {at}, {actor}, '{action}', '{entity}', {source}.id, {source}.organisation_id \
         FROM {source}"
    )
}

#[derive(Default, Debug)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<i32>,
    pub actor_id: Option<i32>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub limit: i64,
    pub offset: i64,
}

/// Newest first.
pub fn list(conn: &mut DbConn, filter: &AuditFilter) -> Result<Vec<AuditRow>, AppError> {
    let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
    if let Some(entity) = &filter.entity {
        query = query.filter(audit_log::entity.eq(entity.clone()));
    }
    if let Some(id) = filter.entity_id {
        query = query.filter(audit_log::entity_id.eq(id));
    }
    if let Some(id) = filter.actor_id {
        query = query.filter(audit_log::actor_id.eq(id));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::at.lt(to));
    }
    Ok(query
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(filter.limit)
        .offset(filter.offset)
        .load(conn)?)
}

/// What each audited action is called on the pages.
pub const ACTIONS: [(&str, &str); 22] = [
    ("create", "création"),
    ("update", "modification"),
    ("delete", "suppression"),
    ("erase", "effacement (anonymisation sur demande)"),
    (
        "anonymise",
        "anonymisation automatique (durée de conservation)",
    ),
    ("export", "export des données (RGPD)"),
    ("assess", "évaluation des compétences"),
    ("log", "compte rendu de séance"),
    ("enrol", "inscription"),
    ("withdraw", "désinscription"),
    ("reschedule", "changement d'horaire"),
    ("cancel", "annulation"),
    ("confirm", "confirmation par la personne"),
    ("renew", "nouveau lien d'agenda"),
    ("revoke", "lien d'agenda révoqué"),
    ("assign", "remise de matériel"),
    ("return", "retour de matériel"),
    ("status", "changement d'état"),
    ("import", "import"),
    ("retry", "nouvel essai d'envoi"),
    ("purge", "purge des textes et adresses des messages"),
    ("sync", "mise à jour du référentiel"),
];

/// What each audited kind of record is called on the pages.
pub const ENTITIES: [(&str, &str); 16] = [
    ("person", "personne"),
    ("appointment", "rendez-vous"),
    ("service", "motif"),
    ("opening_hours", "plage d'ouverture"),
    ("absence", "absence"),
    ("calendar_feed", "lien d'agenda"),
    ("equipment", "matériel"),
    ("place", "lieu"),
    ("programme", "dispositif"),
    ("organisation", "structure"),
    ("user", "compte"),
    ("skill", "compétence"),
    ("message", "message"),
    ("api_client", "client d'API"),
    ("webhook", "webhook"),
    ("referral", "orientation"),
];

fn label_of(pairs: &[(&'static str, &'static str)], code: &str) -> Option<&'static str> {
    pairs.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

pub fn action_label(action: &str) -> Option<&'static str> {
    label_of(&ACTIONS, action)
}

pub fn entity_label(entity: &str) -> Option<&'static str> {
    label_of(&ENTITIES, entity)
}

/// `{code: label}` of the actions, for templates.
pub fn action_labels() -> serde_json::Value {
    ACTIONS
        .iter()
        .map(|(code, label)| (code.to_string(), serde_json::Value::from(*label)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
