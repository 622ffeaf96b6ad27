//! Equipment: inventory (tablets, laptops, smartphones, SIM cards…), handovers to people as a
//! donation or a loan, returns and status changes, with an append-only history per item.

pub mod api;
pub mod ids;
pub mod import;
pub mod notify;
pub mod status;
pub mod web;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::StaffUser;
use crate::db::schema::{equipment, equipment_events};
use crate::db::{bulk, now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::status::EquipmentStatus;
use crate::text::clean;

mod handover;
mod holders;

pub use handover::*;
pub use holders::*;

pub const KINDS: [(&str, &str); 6] = [
    ("tablet", "tablette"),
    ("laptop", "ordinateur portable"),
    ("smartphone", "smartphone"),
    ("sim_card", "carte SIM"),
    ("hotspot", "box ou clé 4G"),
    ("other", "autre"),
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
    #[schema(schema_with = EquipmentStatus::schema)]
    pub status: EquipmentStatus,
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
    status: EquipmentStatus,
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

/// Inserts a checked item (no transaction of its own: the caller's).
pub(crate) fn insert(
    conn: &mut DbConn,
    actor: &StaffUser,
    organisation_id: i32,
    input: &ItemInput,
) -> Result<i32, AppError> {
    let ids = insert_many(conn, actor, organisation_id, &[input])?;
    ids.first()
        .copied()
        .ok_or_else(|| AppError::Internal("an inserted item has no id".into()))
}

/// Inserts checked items in stock, each with its "created" event, a few hundred a statement,
/// inside the caller's transaction (one item from its form, a whole file from the import):
/// their ids, in order.
pub(crate) fn insert_many(
    conn: &mut DbConn,
    actor: &StaffUser,
    organisation_id: i32,
    inputs: &[&ItemInput],
) -> Result<Vec<i32>, AppError> {
    let stamp = now();
    let mut inserted = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(bulk::ROWS_PER_STATEMENT) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|input| {
                (
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
                    equipment::status.eq(EquipmentStatus::InStock),
                    equipment::created_at.eq(stamp),
                    equipment::updated_at.eq(stamp),
                )
            })
            .collect();
        let ids = bulk::insert_returning_ids!(conn, equipment::table, rows, equipment::id)?;
        let events: Vec<_> = ids
            .iter()
            .map(|id| {
                (
                    equipment_events::equipment_id.eq(*id),
                    equipment_events::person_id.eq(None::<i32>),
                    equipment_events::action.eq("created"),
                    equipment_events::status.eq(EquipmentStatus::InStock),
                    equipment_events::note.eq(None::<&str>),
                    equipment_events::actor_id.eq(Some(actor.id)),
                    equipment_events::at.eq(stamp),
                )
            })
            .collect();
        crate::db::per_backend!(conn, |c| diesel::insert_into(equipment_events::table)
            .values(events)
            .execute(c))?;
        inserted.extend(ids);
    }
    Ok(inserted)
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
    pub status: Option<EquipmentStatus>,
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
    if let Some(status) = filter.status {
        query = query.filter(equipment::status.eq(status));
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
    #[schema(value_type = String)]
    pub status: EquipmentStatus,
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
