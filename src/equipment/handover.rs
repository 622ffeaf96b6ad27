//! Handing an item over (donation or loan, accepted on paper, by typed name or by email),
//! taking it back, and the statuses staff may set.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;

use super::status;
use super::{acceptance_schema, event, get, mode_schema, Item};
use crate::auth::StaffUser;
use crate::db::schema::{assignments, equipment};
use crate::db::{lock_organisation, now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::status::EquipmentStatus;
use crate::text::clean;

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

impl AssignInput {
    /// The mistakes a handover's input shows on its own.
    fn errors(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        if !matches!(self.mode.as_str(), "donation" | "loan") {
            errors
                .entry("mode".into())
                .or_default()
                .push("Mode : donation ou loan.".into());
        }
        if !matches!(
            self.acceptance.as_str(),
            "paper_signature" | "typed_name" | "email_confirmation"
        ) {
            errors
                .entry("acceptance".into())
                .or_default()
                .push("Acceptation : paper_signature, typed_name ou email_confirmation.".into());
        }
        match clean(self.accepted_by_name.clone()) {
            None if self.acceptance == "typed_name" => {
                errors
                    .entry("accepted_by_name".into())
                    .or_default()
                    .push("La personne tape son nom pour accepter.".into());
            }
            Some(name) if name.chars().count() > 120 => {
                errors
                    .entry("accepted_by_name".into())
                    .or_default()
                    .push("120 caractères au plus.".into());
            }
            _ => {}
        }
        match (self.mode.as_str(), self.due_back_on) {
            ("loan", None) => {
                errors
                    .entry("due_back_on".into())
                    .or_default()
                    .push("Un prêt a une date de retour.".into());
            }
            ("loan", Some(due)) if due < self.handed_over_on => {
                errors
                    .entry("due_back_on".into())
                    .or_default()
                    .push("Le retour suit la remise.".into());
            }
            _ => {}
        }
        errors
    }
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
    let errors = input.errors();
    let accepted_by = clean(input.accepted_by_name.clone());
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
            let recipient = super::notify::route(
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
        if item.status != EquipmentStatus::InStock {
            return Err(AppError::Conflict {
                code: "already_assigned",
                message: if item.status == EquipmentStatus::Assigned {
                    "Ce matériel est déjà remis à quelqu'un : enregistrez d'abord son retour."
                        .into()
                } else {
                    format!(
                        "Ce matériel est {} : il ne peut pas être remis.",
                        item.status.label()
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
        crate::rollups::equipment_changed(conn, &[person.id])?;
        if let Some(recipient) = &recipient {
            super::notify::announce_handover(
                conn,
                item.organisation_id,
                person.id,
                assignment_id,
                recipient,
            )?;
        }
        diesel::update(equipment::table.find(item_id))
            .set((
                equipment::status.eq(EquipmentStatus::Assigned),
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
            EquipmentStatus::Assigned,
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
                equipment::status.eq(EquipmentStatus::InStock),
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
            EquipmentStatus::InStock,
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

pub(super) fn settable_status_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(status::SETTABLE.map(EquipmentStatus::as_str))
}

/// Lost, broken, retired, or back in stock. An item lost or broken while held closes the
/// handover (the person keeps it in their history).
pub fn set_status(
    conn: &mut DbConn,
    actor: &StaffUser,
    item_id: i32,
    input: StatusInput,
) -> Result<Item, AppError> {
    let Some(status) =
        EquipmentStatus::parse(&input.status).filter(|s| status::SETTABLE.contains(s))
    else {
        return Err(AppError::field(
            "status",
            "Statut : lost, broken, retired ou in_stock.",
        ));
    };
    let note = clean(input.note.clone());
    if note.as_ref().is_some_and(|c| c.chars().count() > 200) {
        return Err(AppError::field("note", "200 caractères au plus."));
    }
    crate::db::transaction(conn, |conn| {
        let item = get(conn, actor, item_id)?;
        lock_organisation(conn, item.organisation_id)?;
        let item = get(conn, actor, item_id)?;
        if status == EquipmentStatus::InStock && item.status == EquipmentStatus::Assigned {
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
                assignments::return_condition.eq(Some(status.label())),
            ))
            .execute(conn)?;
        }
        diesel::update(equipment::table.find(item_id))
            .set((
                equipment::status.eq(status),
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
            status,
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
