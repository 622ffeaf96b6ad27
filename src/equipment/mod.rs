//! Equipment: inventory (tablets, laptops, smartphones, SIM cards…), handovers to people as a
//! donation or a loan, returns and status changes, with an append-only history per item.

pub mod api;
pub mod ids;
pub mod import;
pub mod status;
pub mod web;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::StaffUser;
use crate::db::schema::{assignments, equipment, equipment_events, people};
use crate::db::{lock_organisation, now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::text::clean;

pub const KINDS: [(&str, &str); 6] = [
    ("tablet", "tablette"),
    ("laptop", "ordinateur portable"),
    ("smartphone", "smartphone"),
    ("sim_card", "carte SIM"),
    ("hotspot", "box ou clé 4G"),
    ("other", "autre"),
];
pub const STATUSES: [(&str, &str); 5] = [
    ("in_stock", "en stock"),
    ("assigned", "remis"),
    ("lost", "perdu"),
    ("broken", "cassé"),
    ("retired", "réformé"),
];

/// How an item is handed over.
pub const MODES: [(&str, &str); 2] = [("loan", "prêt"), ("donation", "don")];

pub fn kind_label(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or("autre")
}

pub fn status_label(status: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(k, _)| *k == status)
        .map(|(_, l)| *l)
        .unwrap_or("")
}

#[derive(Queryable, Selectable, Serialize, Debug, Clone, utoipa::ToSchema)]
#[diesel(table_name = equipment)]
#[schema(as = Equipment)]
pub struct Item {
    pub id: i32,
    pub organisation_id: i32,
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    #[schema(required = true)]
    pub model: Option<String>,
    #[schema(required = true)]
    pub serial: Option<String>,
    #[schema(required = true)]
    pub imei: Option<String>,
    #[schema(required = true)]
    pub iccid: Option<String>,
    #[schema(required = true)]
    pub phone_number: Option<String>,
    #[schema(required = true)]
    pub operator: Option<String>,
    #[schema(required = true)]
    pub data_allowance: Option<String>,
    #[schema(required = true)]
    pub valid_until: Option<NaiveDate>,
    #[schema(required = true)]
    pub programme_id: Option<i32>,
    #[schema(schema_with = status_schema)]
    pub status: String,
    #[serde(rename = "current_holder")]
    #[schema(required = true)]
    pub current_holder_id: Option<i32>,
    #[serde(skip)]
    #[schema(ignore)]
    pub created_at: NaiveDateTime,
    #[serde(skip)]
    #[schema(ignore)]
    pub updated_at: NaiveDateTime,
}

fn kind_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(KINDS.iter().map(|(code, _)| *code))
}

fn status_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(STATUSES.iter().map(|(code, _)| *code))
}

fn mode_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(MODES.iter().map(|(code, _)| *code))
}

fn acceptance_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(["paper_signature", "typed_name", "email_confirmation"])
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
#[schema(as = EquipmentInput)]
pub struct ItemInput {
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    #[schema(max_length = 120)]
    pub model: Option<String>,
    #[schema(max_length = 80)]
    pub serial: Option<String>,
    /// 15 chiffres, clé de Luhn.
    pub imei: Option<String>,
    /// 19 ou 20 chiffres commençant par 89, clé de Luhn.
    pub iccid: Option<String>,
    pub phone_number: Option<String>,
    #[schema(max_length = 60)]
    pub operator: Option<String>,
    #[schema(max_length = 60)]
    pub data_allowance: Option<String>,
    pub valid_until: Option<NaiveDate>,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub programme_id: Option<i32>,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub organisation_id: Option<i32>,
}

impl ItemInput {
    /// Normalises and checks the fields on their own; `errors` gets messages by field.
    pub fn normalised(mut self, errors: &mut FieldErrors) -> ItemInput {
        let mut error = |field: &str, message: &str| {
            errors
                .entry(field.to_string())
                .or_default()
                .push(message.to_string())
        };
        self.kind = self.kind.trim().to_string();
        if !KINDS.iter().any(|(k, _)| *k == self.kind) {
            error(
                "kind",
                "Type : tablet, laptop, smartphone, sim_card, hotspot ou other.",
            );
        }
        self.model = clean(self.model);
        self.serial = clean(self.serial);
        self.imei = clean(self.imei).map(|v| ids::compact(&v));
        self.iccid = clean(self.iccid).map(|v| ids::compact(&v));
        self.phone_number = clean(self.phone_number).map(|p| crate::text::normalise_phone(&p));
        self.operator = clean(self.operator);
        self.data_allowance = clean(self.data_allowance);
        if let Some(imei) = &self.imei {
            if let Err(message) = ids::check_imei(imei) {
                error("imei", message);
            }
        }
        if let Some(iccid) = &self.iccid {
            if let Err(message) = ids::check_iccid(iccid) {
                error("iccid", message);
            }
        }
        for (field, value, max) in [
            ("model", &self.model, 120),
            ("serial", &self.serial, 80),
            ("operator", &self.operator, 60),
            ("data_allowance", &self.data_allowance, 60),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > max) {
                error(field, &format!("{max} caractères au plus."));
            }
        }
        self
    }
}

/// Appends to an item's history; `actor` is None when the person did it (from an email's link).
fn event(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    item_id: i32,
    person_id: Option<i32>,
    action: &str,
    status: &str,
    note: Option<&str>,
) -> Result<(), AppError> {
    diesel::insert_into(equipment_events::table)
        .values((
            equipment_events::equipment_id.eq(item_id),
            equipment_events::person_id.eq(person_id),
            equipment_events::action.eq(action),
            equipment_events::status.eq(status),
            equipment_events::note.eq(note),
            equipment_events::actor_id.eq(actor.map(|a| a.id)),
            equipment_events::at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Serial, IMEI and ICCID are unique: which of them is already taken.
fn taken(conn: &mut DbConn, input: &ItemInput) -> Result<FieldErrors, AppError> {
    let mut errors = FieldErrors::new();
    let others = || equipment::table.into_boxed();
    if let Some(serial) = &input.serial {
        if others()
            .filter(equipment::serial.eq(serial))
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            errors
                .entry("serial".into())
                .or_default()
                .push("Ce numéro de série est déjà inventorié.".into());
        }
    }
    if let Some(imei) = &input.imei {
        if others()
            .filter(equipment::imei.eq(imei))
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            errors
                .entry("imei".into())
                .or_default()
                .push("Cet IMEI est déjà inventorié.".into());
        }
    }
    if let Some(iccid) = &input.iccid {
        if others()
            .filter(equipment::iccid.eq(iccid))
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            errors
                .entry("iccid".into())
                .or_default()
                .push("Cet ICCID est déjà inventorié.".into());
        }
    }
    Ok(errors)
}

/// Inserts a checked item (no transaction of its own: the caller's, one item or a whole import).
pub(crate) fn insert(
    conn: &mut DbConn,
    actor: &StaffUser,
    organisation_id: i32,
    input: &ItemInput,
) -> Result<i32, AppError> {
    let stamp = now();
    let id: i32 = diesel::insert_into(equipment::table)
        .values((
            equipment::organisation_id.eq(organisation_id),
            equipment::kind.eq(&input.kind),
            equipment::model.eq(input.model.as_deref()),
            equipment::serial.eq(input.serial.as_deref()),
            equipment::imei.eq(input.imei.as_deref()),
            equipment::iccid.eq(input.iccid.as_deref()),
            equipment::phone_number.eq(input.phone_number.as_deref()),
            equipment::operator.eq(input.operator.as_deref()),
            equipment::data_allowance.eq(input.data_allowance.as_deref()),
            equipment::valid_until.eq(input.valid_until),
            equipment::programme_id.eq(input.programme_id),
            equipment::status.eq("in_stock"),
            equipment::created_at.eq(stamp),
            equipment::updated_at.eq(stamp),
        ))
        .returning(equipment::id)
        .get_result(conn)?;
    event(conn, Some(actor), id, None, "created", "in_stock", None)?;
    Ok(id)
}

pub fn create(conn: &mut DbConn, actor: &StaffUser, input: ItemInput) -> Result<Item, AppError> {
    let mut errors = FieldErrors::new();
    let input = input.normalised(&mut errors);
    let organisation_id = actor.target_organisation(input.organisation_id)?;
    crate::db::transaction(conn, |conn| {
        errors.extend(taken(conn, &input)?);
        if let Some(programme) = input.programme_id {
            let exists: i64 = crate::db::schema::programmes::table
                .find(programme)
                .count()
                .get_result(conn)?;
            if exists == 0 {
                errors
                    .entry("programme_id".into())
                    .or_default()
                    .push("Ce dispositif n'existe pas.".into());
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors.clone()));
        }
        let id = insert(conn, actor, organisation_id, &input)?;
        crate::audit::record(
            conn,
            Some(actor),
            "create",
            "equipment",
            Some(id),
            Some(organisation_id),
        )?;
        get(conn, actor, id)
    })
}

pub fn get(conn: &mut DbConn, actor: &StaffUser, id: i32) -> Result<Item, AppError> {
    equipment::table
        .find(id)
        .select(Item::as_select())
        .first(conn)
        .optional()?
        .filter(|i| actor.can_see(i.organisation_id))
        .ok_or(AppError::NotFound)
}

#[derive(Default, Debug, Clone)]
pub struct Filter {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub programme_id: Option<i32>,
    pub limit: i64,
    pub offset: i64,
}

pub fn list(conn: &mut DbConn, actor: &StaffUser, filter: &Filter) -> Result<Vec<Item>, AppError> {
    let mut query = equipment::table.select(Item::as_select()).into_boxed();
    if let Some(org) = actor.scope() {
        query = query.filter(equipment::organisation_id.eq(org));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(equipment::kind.eq(kind.clone()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(equipment::status.eq(status.clone()));
    }
    if let Some(programme) = filter.programme_id {
        query = query.filter(equipment::programme_id.eq(programme));
    }
    Ok(query
        .order((equipment::kind, equipment::id))
        .limit(filter.limit)
        .offset(filter.offset)
        .load(conn)?)
}

#[derive(Queryable, Selectable, Serialize, Debug, Clone, utoipa::ToSchema)]
#[diesel(table_name = equipment_events)]
#[schema(as = EquipmentEvent)]
pub struct Event {
    #[serde(skip)]
    #[schema(ignore)]
    pub id: i32,
    pub equipment_id: i32,
    #[schema(required = true)]
    pub person_id: Option<i32>,
    #[schema(schema_with = action_schema)]
    pub action: String,
    pub status: String,
    #[schema(required = true)]
    pub note: Option<String>,
    /// Null quand la personne a elle-même accepté la remise depuis le lien de l'e-mail.
    #[schema(required = true)]
    pub actor_id: Option<i32>,
    #[serde(skip)]
    #[schema(ignore)]
    pub at: NaiveDateTime,
}

fn action_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of([
        "created", "donated", "loaned", "returned", "accepted", "status",
    ])
}

pub fn history(conn: &mut DbConn, item_id: i32) -> Result<Vec<Event>, AppError> {
    Ok(equipment_events::table
        .filter(equipment_events::equipment_id.eq(item_id))
        .select(Event::as_select())
        .order((equipment_events::at, equipment_events::id))
        .load(conn)?)
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct AssignInput {
    #[schema(minimum = 1, maximum = 2147483647)]
    pub person_id: i32,
    #[schema(schema_with = mode_schema)]
    pub mode: String,
    pub handed_over_on: NaiveDate,
    pub due_back_on: Option<NaiveDate>,
    #[schema(schema_with = acceptance_schema)]
    pub acceptance: String,
    #[schema(max_length = 120)]
    pub accepted_by_name: Option<String>,
}

/// The 422 of a handover to accept by email when no email reaches the person.
pub const NO_EMAIL: &str = "Aucune adresse e-mail n'est disponible pour cette personne (ni pour son référent avec son accord) : faites signer la fiche papier ou faites taper son nom.";

/// Hands an item over to a person. One holder at a time: a second concurrent handover of the
/// same item is a 409 `already_assigned`. Accepted by email, the handover writes in the same
/// transaction the email asking the person (or their referent) to accept it; with no address to
/// write to it is refused.
pub fn assign(
    conn: &mut DbConn,
    tz: &chrono_tz::Tz,
    actor: &StaffUser,
    item_id: i32,
    input: AssignInput,
) -> Result<Item, AppError> {
    let mut errors = FieldErrors::new();
    if !matches!(input.mode.as_str(), "donation" | "loan") {
        errors
            .entry("mode".into())
            .or_default()
            .push("Mode : donation ou loan.".into());
    }
    if !matches!(
        input.acceptance.as_str(),
        "paper_signature" | "typed_name" | "email_confirmation"
    ) {
        errors
            .entry("acceptance".into())
            .or_default()
            .push("Acceptation : paper_signature, typed_name ou email_confirmation.".into());
    }
    let accepted_by = clean(input.accepted_by_name.clone());
    if input.acceptance == "typed_name" && accepted_by.is_none() {
        errors
            .entry("accepted_by_name".into())
            .or_default()
            .push("La personne tape son nom pour accepter.".into());
    }
    match (input.mode.as_str(), input.due_back_on) {
        ("loan", None) => {
            errors
                .entry("due_back_on".into())
                .or_default()
                .push("Un prêt a une date de retour.".into());
        }
        ("loan", Some(due)) if due < input.handed_over_on => {
            errors
                .entry("due_back_on".into())
                .or_default()
                .push("Le retour suit la remise.".into());
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    crate::db::transaction(conn, |conn| {
        let item = get(conn, actor, item_id)?;
        lock_organisation(conn, item.organisation_id)?;
        let item = get(conn, actor, item_id)?;
        let person = crate::people::get(conn, actor, input.person_id)
            .ok()
            .filter(|p| p.organisation_id == item.organisation_id && !p.anonymised)
            .ok_or_else(|| {
                AppError::field(
                    "person_id",
                    "Cette personne n'existe pas dans la structure.",
                )
            })?;
        let by_email = input.acceptance == "email_confirmation";
        let recipient = if by_email {
            let recipient = crate::mail::outbox::route(
                person.email.as_deref(),
                person.reminder_consent,
                person.referent_email.as_deref(),
                person.referent_consent,
            );
            if recipient.is_none() {
                return Err(AppError::field("acceptance", NO_EMAIL));
            }
            recipient
        } else {
            None
        };
        if item.status != "in_stock" {
            return Err(AppError::Conflict {
                code: "already_assigned",
                message: if item.status == "assigned" {
                    "Ce matériel est déjà remis à quelqu'un : enregistrez d'abord son retour."
                        .into()
                } else {
                    format!(
                        "Ce matériel est {} : il ne peut pas être remis.",
                        status_label(&item.status)
                    )
                },
            });
        }
        let stamp = now();
        let assignment_id: i32 = diesel::insert_into(assignments::table)
            .values((
                assignments::equipment_id.eq(item_id),
                assignments::person_id.eq(person.id),
                assignments::mode.eq(&input.mode),
                assignments::handed_over_on.eq(input.handed_over_on),
                assignments::due_back_on.eq(if input.mode == "loan" {
                    input.due_back_on
                } else {
                    None
                }),
                assignments::acceptance.eq(&input.acceptance),
                // Recorded when the person accepts from the email's link.
                assignments::accepted_by_name.eq(if by_email {
                    None
                } else {
                    accepted_by.as_deref()
                }),
                assignments::accepted_at.eq(if by_email { None } else { Some(stamp) }),
                assignments::author_id.eq(actor.id),
                assignments::created_at.eq(stamp),
            ))
            .returning(assignments::id)
            .get_result(conn)?;
        if let Some(recipient) = &recipient {
            crate::mail::outbox::announce_handover(
                conn,
                item.organisation_id,
                person.id,
                assignment_id,
                recipient,
            )?;
        }
        diesel::update(equipment::table.find(item_id))
            .set((
                equipment::status.eq("assigned"),
                equipment::current_holder_id.eq(Some(person.id)),
                equipment::updated_at.eq(now()),
            ))
            .execute(conn)?;
        event(
            conn,
            Some(actor),
            item_id,
            Some(person.id),
            if input.mode == "loan" {
                "loaned"
            } else {
                "donated"
            },
            "assigned",
            None,
        )?;
        crate::webhooks::announce_equipment(
            conn,
            tz,
            item.organisation_id,
            "equipment.assigned",
            item_id,
            person.id,
        )?;
        crate::audit::record(
            conn,
            Some(actor),
            "assign",
            "equipment",
            Some(item_id),
            Some(item.organisation_id),
        )?;
        get(conn, actor, item_id)
    })
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct ReturnInput {
    pub returned_on: NaiveDate,
    #[schema(max_length = 200)]
    pub condition: Option<String>,
}

pub fn give_back(
    conn: &mut DbConn,
    tz: &chrono_tz::Tz,
    actor: &StaffUser,
    item_id: i32,
    input: ReturnInput,
) -> Result<Item, AppError> {
    let condition = clean(input.condition.clone());
    if condition.as_ref().is_some_and(|c| c.chars().count() > 200) {
        return Err(AppError::field("condition", "200 caractères au plus."));
    }
    crate::db::transaction(conn, |conn| {
        let item = get(conn, actor, item_id)?;
        lock_organisation(conn, item.organisation_id)?;
        let open: Option<(i32, i32, NaiveDate)> = assignments::table
            .filter(assignments::equipment_id.eq(item_id))
            .filter(assignments::returned_on.is_null())
            .select((
                assignments::id,
                assignments::person_id,
                assignments::handed_over_on,
            ))
            .first(conn)
            .optional()?;
        let Some((assignment_id, person_id, handed_over_on)) = open else {
            return Err(AppError::Conflict {
                code: "not_assigned",
                message: "Ce matériel n'est remis à personne.".into(),
            });
        };
        if input.returned_on < handed_over_on {
            return Err(AppError::field("returned_on", "Le retour suit la remise."));
        }
        diesel::update(assignments::table.find(assignment_id))
            .set((
                assignments::returned_on.eq(Some(input.returned_on)),
                assignments::return_condition.eq(condition.as_deref()),
            ))
            .execute(conn)?;
        diesel::update(equipment::table.find(item_id))
            .set((
                equipment::status.eq("in_stock"),
                equipment::current_holder_id.eq(None::<i32>),
                equipment::updated_at.eq(now()),
            ))
            .execute(conn)?;
        event(
            conn,
            Some(actor),
            item_id,
            Some(person_id),
            "returned",
            "in_stock",
            condition.as_deref(),
        )?;
        crate::webhooks::announce_equipment(
            conn,
            tz,
            item.organisation_id,
            "equipment.returned",
            item_id,
            person_id,
        )?;
        crate::audit::record(
            conn,
            Some(actor),
            "return",
            "equipment",
            Some(item_id),
            Some(item.organisation_id),
        )?;
        get(conn, actor, item_id)
    })
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct StatusInput {
    #[schema(schema_with = settable_status_schema)]
    pub status: String,
    pub note: Option<String>,
}

fn settable_status_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(status::SETTABLE)
}

/// Lost, broken, retired, or back in stock. An item lost or broken while held closes the
/// handover (the person keeps it in their history).
pub fn set_status(
    conn: &mut DbConn,
    actor: &StaffUser,
    item_id: i32,
    input: StatusInput,
) -> Result<Item, AppError> {
    if !matches!(
        input.status.as_str(),
        "lost" | "broken" | "retired" | "in_stock"
    ) {
        return Err(AppError::field(
            "status",
            "Statut : lost, broken, retired ou in_stock.",
        ));
    }
    let note = clean(input.note.clone());
    if note.as_ref().is_some_and(|c| c.chars().count() > 200) {
        return Err(AppError::field("note", "200 caractères au plus."));
    }
    crate::db::transaction(conn, |conn| {
        let item = get(conn, actor, item_id)?;
        lock_organisation(conn, item.organisation_id)?;
        let item = get(conn, actor, item_id)?;
        if input.status == "in_stock" && item.status == "assigned" {
            return Err(AppError::Conflict {
                code: "already_assigned",
                message: "Enregistrez le retour du matériel pour le remettre en stock.".into(),
            });
        }
        let holder = item.current_holder_id;
        if holder.is_some() {
            diesel::update(
                assignments::table
                    .filter(assignments::equipment_id.eq(item_id))
                    .filter(assignments::returned_on.is_null()),
            )
            .set((
                assignments::returned_on.eq(Some(now().date())),
                assignments::return_condition.eq(Some(status_label(&input.status))),
            ))
            .execute(conn)?;
        }
        diesel::update(equipment::table.find(item_id))
            .set((
                equipment::status.eq(&input.status),
                equipment::current_holder_id.eq(None::<i32>),
                equipment::updated_at.eq(now()),
            ))
            .execute(conn)?;
        event(
            conn,
            Some(actor),
            item_id,
            holder,
            "status",
            &input.status,
            note.as_deref(),
        )?;
        crate::audit::record(
            conn,
            Some(actor),
            "status",
            "equipment",
            Some(item_id),
            Some(item.organisation_id),
        )?;
        get(conn, actor, item_id)
    })
}

#[derive(Queryable, Selectable, Serialize, Debug, Clone, utoipa::ToSchema)]
#[diesel(table_name = assignments)]
#[schema(as = AssignmentFields)]
pub struct Assignment {
    #[serde(skip)]
    #[schema(ignore)]
    pub id: i32,
    pub equipment_id: i32,
    pub person_id: i32,
    #[schema(schema_with = mode_schema)]
    pub mode: String,
    pub handed_over_on: NaiveDate,
    #[schema(required = true)]
    pub due_back_on: Option<NaiveDate>,
    #[schema(schema_with = acceptance_schema)]
    pub acceptance: String,
    /// Nom tapé, ou, après acceptation par e-mail, le prénom de la personne (« par e-mail »
    /// quand le lien est allé au référent).
    #[schema(required = true)]
    pub accepted_by_name: Option<String>,
    #[schema(required = true)]
    pub returned_on: Option<NaiveDate>,
    #[schema(required = true)]
    pub return_condition: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    pub author_id: i32,
    #[serde(skip)]
    #[schema(ignore)]
    pub created_at: NaiveDateTime,
    /// When the person accepted; None while a confirmation by email is awaited.
    #[serde(skip)]
    #[schema(ignore)]
    pub accepted_at: Option<NaiveDateTime>,
}

impl Assignment {
    /// `accepted`, or `awaiting_email` while the person has not accepted from the email's link.
    pub fn acceptance_status(&self) -> &'static str {
        if self.accepted_at.is_some() {
            "accepted"
        } else {
            "awaiting_email"
        }
    }

    /// "en attente de confirmation par e-mail", "acceptée par e-mail le 03/12/2026", or None
    /// for a handover accepted on the spot.
    pub fn acceptance_label(&self, tz: &chrono_tz::Tz) -> Option<String> {
        use chrono::TimeZone;
        if self.acceptance != "email_confirmation" {
            return None;
        }
        Some(match self.accepted_at {
            None => "en attente de confirmation par e-mail".into(),
            Some(at) => format!(
                "acceptée par e-mail le {}",
                crate::french::date_in_words(tz.from_utc_datetime(&at).date_naive())
            ),
        })
    }
}

/// What identifies an item to its holder (serial, IMEI, SIM number…), each under the id of its
/// label in `locales/` (`equipment-serial`…), for a message or a page in the person's language.
pub fn identifier_values(item: &Item) -> Vec<(&'static str, String)> {
    [
        ("equipment-serial", item.serial.clone()),
        ("equipment-imei", item.imei.clone()),
        ("equipment-iccid", item.iccid.clone()),
        ("equipment-phone", item.phone_number.clone()),
        ("equipment-operator", item.operator.clone()),
        (
            "equipment-valid-until",
            item.valid_until.map(|d| d.format("%d/%m/%Y").to_string()),
        ),
    ]
    .into_iter()
    .filter_map(|(label, value)| value.map(|v| (label, v)))
    .collect()
}

/// A handover as its acceptance link shows it: the handover, the item, the person's given name
/// and the organisation's name.
pub struct LinkedHandover {
    pub assignment: Assignment,
    pub item: Item,
    pub given_name: String,
    /// The person's language (`fr|en|ar`): the acceptance page speaks it.
    pub language: String,
    pub organisation: String,
}

/// The handover an acceptance link names: None unless it exists, was to be accepted by email
/// and its person was not erased since.
pub fn linked_handover(
    conn: &mut DbConn,
    assignment_id: i32,
) -> Result<Option<LinkedHandover>, AppError> {
    use crate::db::schema::organisations;
    let found: Option<(Assignment, Item, String, String)> = assignments::table
        .inner_join(equipment::table)
        .inner_join(people::table)
        .filter(assignments::id.eq(assignment_id))
        .filter(assignments::acceptance.eq("email_confirmation"))
        .filter(people::anonymised_at.is_null())
        .select((
            Assignment::as_select(),
            Item::as_select(),
            people::given_name,
            people::language,
        ))
        .first(conn)
        .optional()?;
    let Some((assignment, item, given_name, language)) = found else {
        return Ok(None);
    };
    let organisation = organisations::table
        .find(item.organisation_id)
        .select(organisations::name)
        .first(conn)?;
    Ok(Some(LinkedHandover {
        assignment,
        item,
        given_name,
        language,
        organisation,
    }))
}

/// The person accepts a handover from the email's link: recorded once on the handover, in the
/// item's history and in the audit log (with no staff member as actor). Accepting again, or a
/// handover since returned, changes nothing. Answers the handover as it now stands.
pub fn accept_by_email(
    conn: &mut DbConn,
    assignment_id: i32,
) -> Result<Option<LinkedHandover>, AppError> {
    use crate::db::schema::messages;
    crate::db::transaction(conn, |conn| {
        let Some(linked) = linked_handover(conn, assignment_id)? else {
            return Ok(None);
        };
        let a = &linked.assignment;
        if a.returned_on.is_some() || a.accepted_at.is_some() {
            return Ok(Some(linked));
        }
        // Who received the link: the person, or their referent on their behalf.
        let via_referent = messages::table
            .filter(messages::assignment_id.eq(assignment_id))
            .filter(messages::recipient_kind.eq("referent"))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        let name = if via_referent {
            "par e-mail".to_string()
        } else {
            linked.given_name.clone()
        };
        let changed = diesel::update(
            assignments::table
                .find(assignment_id)
                .filter(assignments::accepted_at.is_null())
                .filter(assignments::returned_on.is_null()),
        )
        .set((
            assignments::accepted_at.eq(Some(now())),
            assignments::accepted_by_name.eq(Some(&name)),
        ))
        .execute(conn)?;
        if changed == 1 {
            event(
                conn,
                None,
                a.equipment_id,
                Some(a.person_id),
                "accepted",
                "assigned",
                Some("par e-mail"),
            )?;
            crate::audit::record(
                conn,
                None,
                "accept",
                "equipment",
                Some(a.equipment_id),
                Some(linked.item.organisation_id),
            )?;
        }
        linked_handover(conn, assignment_id)
    })
}

/// A person's equipment, current and past (newest first), with each item.
pub fn of_person(
    conn: &mut DbConn,
    actor: &StaffUser,
    person_id: i32,
) -> Result<Vec<(Assignment, Item)>, AppError> {
    crate::people::get(conn, actor, person_id)?;
    let rows: Vec<(Assignment, Item)> = assignments::table
        .inner_join(equipment::table)
        .filter(assignments::person_id.eq(person_id))
        .select((Assignment::as_select(), Item::as_select()))
        .order((assignments::handed_over_on.desc(), assignments::id.desc()))
        .load(conn)?;
    Ok(rows)
}

/// The open handover of an item, if any, with the holder's name.
pub fn current_assignment(
    conn: &mut DbConn,
    item_id: i32,
) -> Result<Option<(Assignment, String)>, AppError> {
    Ok(assignments::table
        .inner_join(people::table)
        .filter(assignments::equipment_id.eq(item_id))
        .filter(assignments::returned_on.is_null())
        .select((Assignment::as_select(), people::given_name))
        .first(conn)
        .optional()?)
}

/// Loans due back before `until` (overdue included), oldest first.
pub fn loans_due(
    conn: &mut DbConn,
    actor: &StaffUser,
    until: NaiveDate,
) -> Result<Vec<(Assignment, Item)>, AppError> {
    let mut query = assignments::table
        .inner_join(equipment::table)
        .filter(assignments::returned_on.is_null())
        .filter(assignments::mode.eq("loan"))
        .filter(assignments::due_back_on.le(until))
        .select((Assignment::as_select(), Item::as_select()))
        .into_boxed();
    if let Some(org) = actor.scope() {
        query = query.filter(equipment::organisation_id.eq(org));
    }
    Ok(query.order(assignments::due_back_on).load(conn)?)
}

/// SIM cards whose validity ends before `until`.
pub fn sims_ending(
    conn: &mut DbConn,
    actor: &StaffUser,
    until: NaiveDate,
) -> Result<Vec<Item>, AppError> {
    let mut query = equipment::table
        .filter(equipment::kind.eq("sim_card"))
        .filter(equipment::valid_until.le(until))
        .filter(equipment::status.ne("retired"))
        .select(Item::as_select())
        .into_boxed();
    if let Some(org) = actor.scope() {
        query = query.filter(equipment::organisation_id.eq(org));
    }
    Ok(query.order(equipment::valid_until).load(conn)?)
}

/// A person merged into another: the devices they hold or held move to the kept person.
pub fn move_person(conn: &mut DbConn, from: i32, to: i32) -> Result<(), AppError> {
    diesel::update(assignments::table.filter(assignments::person_id.eq(from)))
        .set(assignments::person_id.eq(to))
        .execute(conn)?;
    diesel::update(equipment_events::table.filter(equipment_events::person_id.eq(from)))
        .set(equipment_events::person_id.eq(to))
        .execute(conn)?;
    diesel::update(equipment::table.filter(equipment::current_holder_id.eq(from)))
        .set(equipment::current_holder_id.eq(to))
        .execute(conn)?;
    Ok(())
}
