//! People who come from the public pages (a person booking, a referrer): matched silently with
//! the record they already have, or created, without telling the public which it was.

use diesel::prelude::*;

use super::{stored_phone, PersonChanges, PersonInput};
use crate::db::schema::people;
use crate::db::{now, DbConn};
use crate::error::AppError;

/// The id of the person of `organisation_id` with the same name and the same phone or email,
/// else of a new person made from `input`. A match is left as it is: what the public typed never
/// changes an existing record (nor redirects its messages). Call it inside the transaction of
/// what the person is for.
pub fn find_or_create(
    conn: &mut DbConn,
    organisation_id: i32,
    input: PersonInput,
) -> Result<i32, AppError> {
    let input = input.check(conn)?;
    let phone = input.phone.as_deref().map(stored_phone);
    let email = input.email.clone();
    if phone.is_some() || email.is_some() {
        let mut query = people::table
            .filter(people::organisation_id.eq(organisation_id))
            .filter(people::name_key.eq(input.name_key()))
            .filter(people::anonymised_at.is_null())
            .filter(people::merged_into.is_null())
            .select(people::id)
            .order(people::id)
            .into_boxed();
        query = match (&phone, &email) {
            (Some(phone), Some(email)) => {
                query.filter(people::phone.eq(phone).or(people::email.eq(email)))
            }
            (Some(phone), None) => query.filter(people::phone.eq(phone)),
            (None, Some(email)) => query.filter(people::email.eq(email)),
            (None, None) => query,
        };
        if let Some(id) = query.first::<i32>(conn).optional()? {
            return Ok(id);
        }
    }
    let stamp = now();
    let id: i32 = diesel::insert_into(people::table)
        .values((
            PersonChanges::from_input(&input),
            people::organisation_id.eq(organisation_id),
            people::created_at.eq(stamp),
        ))
        .returning(people::id)
        .get_result(conn)?;
    crate::audit::record(
        conn,
        None,
        "create",
        "person",
        Some(id),
        Some(organisation_id),
    )?;
    Ok(id)
}
