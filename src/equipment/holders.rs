//! Who holds what: a person's handovers, the handover an email link names, loans due, SIM
//! cards ending, and a person's equipment moved at a merge.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{acceptance_schema, event, mode_schema, Item};
use crate::auth::StaffUser;
use crate::db::schema::{assignments, equipment, equipment_events, people};
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::status::EquipmentStatus;

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
                EquipmentStatus::Assigned,
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
        .filter(equipment::status.ne(EquipmentStatus::Retired))
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
    crate::rollups::equipment_changed(conn, &[from, to])
}
