//! Merging two records of one person: everything of the merged one (participations, logs,
//! assessments, devices, messages, referral requests, programmes) moves to the kept one, whose empty fields take
//! the merged one's values. The merged record stays, emptied, pointing at the kept one: reading
//! it answers 404 with `merged_into`. Report figures do not change, except that there is one
//! person fewer.
//!
//! A merge is not a privacy operation (it serves the records' quality, not a person's rights
//! or the retention rules), but like erasure it spans the capabilities: it sits on top of them
//! in its own folder, calls people, booking, skills, equipment, mail and referrals, and none of
//! them calls it. Finding the pairs to merge reads people only and stays there
//! ([`crate::people::duplicates`]).

pub mod api;
pub mod web;

use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::StaffUser;
use crate::db::schema::people;
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::people::{
    get, row_by_id, set_programmes, with_programmes, Person, PersonChanges, PersonRow, MERGED_NAME,
};

#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct MergeInput {
    /// The person merged into the kept one (same organisation).
    #[schema(minimum = 1, maximum = 2147483647)]
    pub from_id: i32,
}

/// The kept person's field, or the merged one's when the kept one has none.
fn or<T: Clone>(kept: &Option<T>, from: &Option<T>) -> Option<T> {
    kept.clone().or_else(|| from.clone())
}

/// Merges `from_id` into `id`; returns the kept person.
pub fn merge(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    input: MergeInput,
) -> Result<Person, AppError> {
    let from_id = input.from_id;
    if from_id == id {
        return Err(AppError::field(
            "from_id",
            "Une fiche ne se fusionne pas avec elle-même.",
        ));
    }
    crate::db::transaction(conn, |conn| {
        let kept = get(conn, user, id)?;
        let from = match get(conn, user, from_id) {
            Ok(person) if person.organisation_id == kept.organisation_id => person,
            Ok(_) | Err(AppError::NotFound) | Err(AppError::Merged(_)) => {
                return Err(AppError::field(
                    "from_id",
                    "Cette personne n'existe pas dans la même structure.",
                ))
            }
            Err(e) => return Err(e),
        };
        if kept.anonymised || from.anonymised {
            return Err(AppError::Conflict {
                code: "anonymised",
                message: "Une fiche anonymisée ne se fusionne pas.".into(),
            });
        }
        // Same order as a booking (organisation, then rows), so the two never deadlock.
        crate::db::lock_organisation(conn, kept.organisation_id)?;

        let moved = crate::booking::merge::move_participations(conn, from_id, id)?;
        crate::skills::logs::move_person(conn, from_id, id, &moved.conflicts)?;
        crate::equipment::move_person(conn, from_id, id)?;
        crate::outbox::move_person(conn, from_id, id)?;
        crate::referrals::move_person(conn, from_id, id)?;

        // The kept person's programmes become both; the roll-ups follow (set_programmes).
        let mut programmes = kept.programme_ids.clone();
        programmes.extend(&from.programme_ids);
        set_programmes(conn, id, &programmes)?;
        // Progress recomputed from the observations each now has: the merged one's
        // contributions leave the roll-ups, the kept one's are counted once.
        crate::rollups::skills_changed(conn, from_id)?;
        crate::rollups::skills_changed(conn, id)?;
        set_programmes(conn, from_id, &[])?;
        for appointment_id in &moved.appointments {
            crate::rollups::appointment_changed(conn, *appointment_id)?;
        }

        // The kept record takes what it lacked.
        let mut fields = kept.input();
        let f = from.input();
        fields.family_name = or(&fields.family_name, &f.family_name);
        fields.birth_year = or(&fields.birth_year, &f.birth_year);
        fields.postal_code = or(&fields.postal_code, &f.postal_code);
        fields.city = or(&fields.city, &f.city);
        fields.email = or(&fields.email, &f.email);
        fields.phone = or(&fields.phone, &f.phone);
        fields.referent_name = or(&fields.referent_name, &f.referent_name);
        fields.referent_email = or(&fields.referent_email, &f.referent_email);
        fields.referent_organisation = or(&fields.referent_organisation, &f.referent_organisation);
        fields.notes = or(&fields.notes, &f.notes);
        fields.gender = or(&fields.gender, &f.gender);
        fields.social_status = or(&fields.social_status, &f.social_status);
        fields.commune_insee = or(&fields.commune_insee, &f.commune_insee);
        fields.reminder_consent |= f.reminder_consent;
        fields.referent_consent |= f.referent_consent;
        fields.programme_ids = programmes;
        diesel::update(people::table.find(id))
            .set(PersonChanges::from_input(&fields))
            .execute(conn)?;

        // The merged record keeps no personal data, only where it went.
        let stamp = now();
        diesel::update(people::table.find(from_id))
            .set((
                people::given_name.eq(MERGED_NAME),
                people::family_name.eq(None::<String>),
                people::birth_year.eq(None::<i32>),
                people::email.eq(None::<String>),
                people::phone.eq(None::<String>),
                people::city.eq(None::<String>),
                people::postal_code.eq(None::<String>),
                people::reminder_consent.eq(false),
                people::referent_name.eq(None::<String>),
                people::referent_email.eq(None::<String>),
                people::referent_organisation.eq(None::<String>),
                people::referent_consent.eq(false),
                people::notes.eq(None::<String>),
                people::gender.eq(None::<String>),
                people::social_status.eq(None::<String>),
                people::commune_insee.eq(None::<String>),
                people::search_key.eq(""),
                people::name_key.eq(""),
                people::merged_into.eq(Some(id)),
                people::updated_at.eq(stamp),
            ))
            .execute(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "merge",
            "person",
            Some(id),
            Some(kept.organisation_id),
        )?;
        crate::audit::record(
            conn,
            Some(user),
            "merged_into",
            "person",
            Some(from_id),
            Some(kept.organisation_id),
        )?;
        let row: PersonRow = row_by_id(conn, id)?;
        Ok(with_programmes(conn, vec![row])?.remove(0))
    })
}
