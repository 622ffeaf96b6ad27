//! Webhooks: an organisation's subscriptions, and the deliveries of their events.
//!
//! An event is written into `webhook_deliveries` in the same transaction as the change it
//! announces ([`announce_appointment`]), one row per subscribed webhook, its body fixed then
//! (so retries send the same bytes under the same `X-Passerelle-Delivery`). The webhook
//! worker ([`worker`]), in its own loop beside the email worker, claims due deliveries with a
//! lease, one at a time per appointment and webhook (in order), posts them signed, and retries
//! with the outbox's backoff until `mail_max_attempts`, then marks them `dead`.
//! Bodies hold ids and statuses only: no name, contact or note.

pub mod api;
pub mod guard;
pub mod web;
pub mod worker;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::{Role, StaffUser};
use crate::booking::model::Appointment;
use crate::booking::notify::Event;
use crate::config::Config;
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::{now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::status::{DeliveryStatus, ParticipantStatus};
use crate::time::LocalTime;

/// The events a webhook can subscribe to.
pub const EVENTS: [&str; 11] = [
    "appointment.created",
    "appointment.updated",
    "appointment.cancelled",
    "participant.booked",
    "participant.cancelled",
    "participant.attended",
    "participant.no_show",
    "session_log.recorded",
    "person.anonymised",
    "equipment.assigned",
    "equipment.returned",
];

/// `POST /api/v1/webhooks`.
#[derive(Deserialize, Debug, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// http(s), adresse publique (sauf webhook_allow_private).
    #[schema(format = Uri, max_length = 2000)]
    pub url: String,
    #[schema(schema_with = events_input_schema)]
    pub events: Vec<String>,
    /// Clé de la signature X-Passerelle-Signature: sha256=<HMAC-SHA256 hexadécimal du corps>.
    #[schema(min_length = 16, max_length = 200)]
    pub secret: String,
}

fn events_input_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(crate::web::openapi::one_of(EVENTS))
        .min_items(Some(1))
        .build()
}

fn events_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(crate::web::openapi::one_of(EVENTS))
        .build()
}

fn event_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(EVENTS)
}

/// A subscription (never listed with its secret).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i32,
    pub organisation_id: i32,
    pub created_by: i32,
    pub url: String,
    pub events: String,
    pub created_at: NaiveDateTime,
    /// Paused: no new deliveries are written, those waiting are held.
    pub disabled_at: Option<NaiveDateTime>,
}

/// A subscription as the API shows it, times in the configured offset.
#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookOut {
    pub id: i32,
    pub organisation_id: i32,
    pub created_by: i32,
    pub url: String,
    #[schema(schema_with = events_schema)]
    pub events: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// En pause depuis (depuis la page /webhooks) : rien ne lui est envoyé ; null s'il est actif.
    #[schema(format = DateTime, required = true)]
    pub disabled_at: Option<String>,
}

impl Webhook {
    pub fn event_list(&self) -> Vec<String> {
        self.events.split_whitespace().map(str::to_string).collect()
    }

    pub fn out(&self, tz: &Tz) -> WebhookOut {
        WebhookOut {
            id: self.id,
            organisation_id: self.organisation_id,
            created_by: self.created_by,
            url: self.url.clone(),
            events: self.event_list(),
            created_at: tz.rfc3339(self.created_at),
            disabled_at: self.disabled_at.map(|t| tz.rfc3339(t)),
        }
    }
}

/// One delivery, as listed.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: i32,
    pub webhook_id: i32,
    pub event: String,
    /// The `X-Passerelle-Delivery` header and the body's `id`.
    pub delivery_key: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub due_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub response_status: Option<i32>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// A delivery as the API shows it, times in the configured offset.
#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct DeliveryOut {
    pub id: i32,
    pub webhook_id: i32,
    #[schema(schema_with = event_schema)]
    pub event: String,
    pub delivery_key: String,
    #[schema(schema_with = DeliveryStatus::schema)]
    pub status: DeliveryStatus,
    pub attempts: i32,
    #[schema(format = DateTime)]
    pub due_at: String,
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[schema(required = true)]
    pub response_status: Option<i32>,
    #[schema(format = DateTime, required = true)]
    pub delivered_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl Delivery {
    pub fn out(&self, tz: &Tz) -> DeliveryOut {
        DeliveryOut {
            id: self.id,
            webhook_id: self.webhook_id,
            event: self.event.clone(),
            delivery_key: self.delivery_key.clone(),
            status: self.status,
            attempts: self.attempts,
            due_at: tz.rfc3339(self.due_at),
            last_error: self.last_error.clone(),
            response_status: self.response_status,
            delivered_at: self.delivered_at.map(|t| tz.rfc3339(t)),
            created_at: tz.rfc3339(self.created_at),
        }
    }
}

/// A secret for a subscription made from its page (48 hex digits).
pub fn generate_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn field(errors: &mut FieldErrors, name: &str, message: impl Into<String>) {
    errors
        .entry(name.to_string())
        .or_default()
        .push(message.into());
}

/// Checks a target URL: http(s), a host, and (unless allowed) a public address.
pub fn check_url(text: &str, allow_private: bool) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|_| "Adresse invalide.".to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("L'adresse doit commencer par https:// ou http://.".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("L'adresse ne doit pas contenir d'identifiants.".into());
    }
    let host = url
        .host_str()
        .ok_or_else(|| "L'adresse n'a pas de nom d'hôte.".to_string())?;
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    guard::resolve_checked(&format!("{host}:{port}"), allow_private)
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                Err(e)
            } else {
                // `[v6]:port` for IPv6 literals.
                guard::resolve_checked(&format!("[{host}]:{port}"), allow_private)
            }
        })
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                "Adresse privée ou locale refusée : le serveur n'envoie des webhooks qu'à des adresses publiques.".to_string()
            }
            _ => "Nom d'hôte introuvable.".to_string(),
        })?;
    Ok(url)
}

pub fn create(
    conn: &mut DbConn,
    config: &Config,
    user: &StaffUser,
    input: WebhookInput,
) -> Result<Webhook, AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    let mut errors = FieldErrors::new();
    let url = match check_url(&input.url, config.webhook_allow_private) {
        Ok(url) => Some(url),
        Err(message) => {
            field(&mut errors, "url", message);
            None
        }
    };
    if input.url.len() > 2000 {
        field(&mut errors, "url", "2000 caractères au plus.");
    }
    let mut events: Vec<&str> = Vec::new();
    for event in &input.events {
        match EVENTS.iter().find(|e| **e == event.as_str()) {
            Some(known) if !events.contains(known) => events.push(known),
            Some(_) => {}
            None => field(
                &mut errors,
                "events",
                format!(
                    "Événement inconnu : choisissez parmi {}.",
                    EVENTS.join(", ")
                ),
            ),
        }
    }
    if input.events.is_empty() {
        field(&mut errors, "events", "Choisissez au moins un événement.");
    }
    let secret_length = input.secret.chars().count();
    if !(16..=200).contains(&secret_length) {
        field(
            &mut errors,
            "secret",
            "Le secret compte de 16 à 200 caractères.",
        );
    }
    let Some(url) = url.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    crate::db::transaction(conn, |conn| {
        let id: i32 = diesel::insert_into(webhooks::table)
            .values((
                webhooks::organisation_id.eq(user.organisation_id),
                webhooks::created_by.eq(user.id),
                webhooks::url.eq(url.as_str()),
                webhooks::events.eq(events.join(" ")),
                webhooks::secret.eq(&input.secret),
                webhooks::created_at.eq(now()),
            ))
            .returning(webhooks::id)
            .get_result(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "create",
            "webhook",
            Some(id),
            Some(user.organisation_id),
        )?;
        Ok(webhooks::table
            .find(id)
            .select(Webhook::as_select())
            .first(conn)?)
    })
}

pub fn list(conn: &mut DbConn, user: &StaffUser) -> Result<Vec<Webhook>, AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    let mut query = webhooks::table
        .filter(webhooks::deleted_at.is_null())
        .select(Webhook::as_select())
        .order(webhooks::id)
        .into_boxed();
    if let Some(organisation) = user.scope() {
        query = query.filter(webhooks::organisation_id.eq(organisation));
    }
    Ok(query.load(conn)?)
}

/// A live webhook the user may manage, or 404.
pub fn visible(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<Webhook, AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    webhooks::table
        .find(id)
        .filter(webhooks::deleted_at.is_null())
        .select(Webhook::as_select())
        .first(conn)
        .optional()?
        .filter(|w: &Webhook| user.can_see(w.organisation_id))
        .ok_or(AppError::NotFound)
}

/// Stops a subscription; its deliveries not yet made are cancelled.
pub fn delete(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<(), AppError> {
    crate::db::transaction(conn, |conn| {
        let webhook = visible(conn, user, id)?;
        diesel::update(webhooks::table.find(id))
            .set(webhooks::deleted_at.eq(now()))
            .execute(conn)?;
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(id))
                .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending)),
        )
        .set(webhook_deliveries::status.eq(DeliveryStatus::Cancelled))
        .execute(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "delete",
            "webhook",
            Some(id),
            Some(webhook.organisation_id),
        )
    })
}

/// Pauses (`disabled`) or resumes a subscription. While paused, no delivery is written for
/// it and those already waiting stay where they are; resumed, they go out in order.
pub fn set_disabled(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    disabled: bool,
) -> Result<(), AppError> {
    crate::db::transaction(conn, |conn| {
        let webhook = visible(conn, user, id)?;
        if webhook.disabled_at.is_some() == disabled {
            return Ok(());
        }
        diesel::update(webhooks::table.find(id))
            .set(webhooks::disabled_at.eq(disabled.then(now)))
            .execute(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            if disabled { "disable" } else { "enable" },
            "webhook",
            Some(id),
            Some(webhook.organisation_id),
        )
    })
}

/// Checks a `status` filter of the deliveries list (before anything is looked up).
pub fn delivery_status(status: Option<&str>) -> Result<Option<DeliveryStatus>, AppError> {
    match status.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => DeliveryStatus::parse(s).map(Some).ok_or_else(|| {
            AppError::field(
                "status",
                "Statut inconnu : pending, sending, delivered, dead ou cancelled.",
            )
        }),
    }
}

/// A webhook's deliveries, newest first, optionally of one status.
pub fn deliveries(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    status: Option<DeliveryStatus>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Delivery>, AppError> {
    visible(conn, user, id)?;
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(id))
        .select(Delivery::as_select())
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .offset(offset)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status));
    }
    Ok(query.load(conn)?)
}

/// Sends a `dead` delivery again (same body, same delivery id), from now.
pub fn retry(
    conn: &mut DbConn,
    user: &StaffUser,
    webhook_id: i32,
    delivery_id: i32,
) -> Result<Delivery, AppError> {
    crate::db::transaction(conn, |conn| {
        let webhook = visible(conn, user, webhook_id)?;
        let delivery: Delivery = webhook_deliveries::table
            .find(delivery_id)
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .select(Delivery::as_select())
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        if delivery.status != DeliveryStatus::Dead {
            return Err(AppError::Conflict {
                code: "not_dead",
                message: "Seul un envoi abandonné (dead) se relance.".into(),
            });
        }
        diesel::update(webhook_deliveries::table.find(delivery_id))
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Pending),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::due_at.eq(now()),
            ))
            .execute(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "retry",
            "webhook",
            Some(webhook_id),
            Some(webhook.organisation_id),
        )?;
        Ok(webhook_deliveries::table
            .find(delivery_id)
            .select(Delivery::as_select())
            .first(conn)?)
    })
}

/// Writes one delivery of `event` per live webhook of the organisation subscribed to it.
pub fn enqueue(
    conn: &mut DbConn,
    tz: &Tz,
    organisation_id: i32,
    event: &str,
    sequence_key: Option<&str>,
    data: Value,
) -> Result<(), AppError> {
    let subscribed = live_webhooks(conn, organisation_id)?;
    enqueue_to(conn, tz, &subscribed, event, sequence_key, data)
}

/// The organisation's live webhooks: id and the events each is subscribed to.
/// Whether the organisation has a live webhook, as an expression: a booking asks it within the
/// statement of its checks, and reads the webhooks themselves only when there is one (see
/// [`announce_new_appointment`]).
#[diesel::dsl::auto_type]
pub fn any_live(organisation_id: i32) -> _ {
    diesel::dsl::exists(
        webhooks::table
            .filter(webhooks::organisation_id.eq(organisation_id))
            .filter(webhooks::deleted_at.is_null())
            .filter(webhooks::disabled_at.is_null()),
    )
}

fn live_webhooks(conn: &mut DbConn, organisation_id: i32) -> Result<Vec<(i32, String)>, AppError> {
    Ok(webhooks::table
        .filter(webhooks::organisation_id.eq(organisation_id))
        .filter(webhooks::deleted_at.is_null())
        .filter(webhooks::disabled_at.is_null())
        .select((webhooks::id, webhooks::events))
        .load(conn)?)
}

/// As [`enqueue`], to webhooks already read in the same transaction (one read for the several
/// events of one change).
fn enqueue_to(
    conn: &mut DbConn,
    tz: &Tz,
    subscribed: &[(i32, String)],
    event: &str,
    sequence_key: Option<&str>,
    data: Value,
) -> Result<(), AppError> {
    let stamp = now();
    for (webhook_id, events) in subscribed {
        if !events.split_whitespace().any(|e| e == event) {
            continue;
        }
        let key = delivery_key();
        let body = json!({
            "id": key,
            "event": event,
            "occurred_at": tz.rfc3339(stamp),
            "data": data,
        })
        .to_string();
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::webhook_id.eq(webhook_id),
                webhook_deliveries::event.eq(event),
                webhook_deliveries::delivery_key.eq(&key),
                webhook_deliveries::sequence_key.eq(sequence_key),
                webhook_deliveries::body.eq(body),
                webhook_deliveries::status.eq(DeliveryStatus::Pending),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::due_at.eq(stamp),
                webhook_deliveries::created_at.eq(stamp),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A random delivery id (32 hex digits).
fn delivery_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the webhooks say of an appointment: ids, times and statuses, no names nor notes.
fn appointment_data(tz: &Tz, appointment: &Appointment) -> Value {
    let r = &appointment.row;
    json!({
        "appointment_id": r.id,
        "organisation_id": r.organisation_id,
        "service_id": r.service_id,
        "mediator_id": r.mediator_id,
        "place_id": r.place_id,
        "starts_at": tz.rfc3339(r.starts_at),
        "ends_at": tz.rfc3339(r.ends_at),
        "status": r.status,
        "participants": appointment.participants.iter()
            .map(|p| json!({"person_id": p.person_id, "status": p.status}))
            .collect::<Vec<_>>(),
    })
}

/// The webhook events of a booking change (called by the booking service beside the outbox's
/// announcement, in the same transaction).
/// [`announce_appointment`] of a new appointment, whose booking has read [`any_live`] in its
/// checks' statement (under the same transaction): with no live webhook, nothing to read or
/// write.
pub fn announce_new_appointment(
    conn: &mut DbConn,
    tz: &Tz,
    appointment: &Appointment,
    any_live: bool,
) -> Result<(), AppError> {
    if !any_live {
        return Ok(());
    }
    announce_appointment(conn, tz, appointment, &Event::Booked)
}

pub fn announce_appointment(
    conn: &mut DbConn,
    tz: &Tz,
    appointment: &Appointment,
    event: &Event,
) -> Result<(), AppError> {
    let r = &appointment.row;
    let key = format!("appointment:{}", r.id);
    let key = Some(key.as_str());
    // Read once for every event of this change (a booking of several people is several).
    let subscribed = live_webhooks(conn, r.organisation_id)?;
    let participant = |conn: &mut DbConn, event: &str, person: i32| {
        let status = appointment
            .participants
            .iter()
            .find(|p| p.person_id == person)
            .map(|p| p.status)
            .unwrap_or(ParticipantStatus::Cancelled);
        enqueue_to(
            conn,
            tz,
            &subscribed,
            event,
            key,
            json!({"appointment_id": r.id, "person_id": person, "status": status}),
        )
    };
    let whole = |conn: &mut DbConn, event: &str| {
        enqueue_to(
            conn,
            tz,
            &subscribed,
            event,
            key,
            appointment_data(tz, appointment),
        )
    };
    match event {
        Event::Booked => {
            whole(conn, "appointment.created")?;
            for p in &appointment.participants {
                participant(conn, "participant.booked", p.person_id)?;
            }
        }
        Event::Enrolled(person) | Event::Promoted(person) => {
            participant(conn, "participant.booked", *person)?
        }
        Event::Withdrawn(person) => participant(conn, "participant.cancelled", *person)?,
        Event::Rescheduled => whole(conn, "appointment.updated")?,
        Event::Cancelled(_) => whole(conn, "appointment.cancelled")?,
    }
    Ok(())
}

/// A session log recorded (or corrected): `session_log.recorded`, and each participant's
/// `participant.attended` or `participant.no_show`.
pub fn announce_log(
    conn: &mut DbConn,
    tz: &Tz,
    organisation_id: i32,
    appointment_id: i32,
    attendance: &[(i32, String)],
) -> Result<(), AppError> {
    let key = format!("appointment:{appointment_id}");
    for (person_id, presence) in attendance {
        let event = match presence.parse() {
            Ok(ParticipantStatus::Attended) => "participant.attended",
            Ok(ParticipantStatus::NoShow) => "participant.no_show",
            _ => continue,
        };
        enqueue(
            conn,
            tz,
            organisation_id,
            event,
            Some(&key),
            json!({"appointment_id": appointment_id, "person_id": person_id, "status": presence}),
        )?;
    }
    enqueue(
        conn,
        tz,
        organisation_id,
        "session_log.recorded",
        Some(&key),
        json!({
            "appointment_id": appointment_id,
            "participants": attendance.iter()
                .map(|(person_id, presence)| json!({"person_id": person_id, "attendance": presence}))
                .collect::<Vec<_>>(),
        }),
    )
}

/// A person anonymised (on request or by the retention job): `person.anonymised`.
pub fn announce_anonymised(
    conn: &mut DbConn,
    tz: &Tz,
    organisation_id: i32,
    person_id: i32,
) -> Result<(), AppError> {
    enqueue(
        conn,
        tz,
        organisation_id,
        "person.anonymised",
        None,
        json!({"person_id": person_id}),
    )
}

/// An item handed over (`equipment.assigned`) or given back (`equipment.returned`).
pub fn announce_equipment(
    conn: &mut DbConn,
    tz: &Tz,
    organisation_id: i32,
    event: &str,
    equipment_id: i32,
    person_id: i32,
) -> Result<(), AppError> {
    enqueue(
        conn,
        tz,
        organisation_id,
        event,
        Some(&format!("equipment:{equipment_id}")),
        json!({"equipment_id": equipment_id, "person_id": person_id}),
    )
}
