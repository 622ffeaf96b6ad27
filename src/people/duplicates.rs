//! The "possible duplicates" page: pairs of records that look like one person, each with a
//! button merging the newer into the older (the merge itself is [`crate::merge`], above).

use diesel::prelude::*;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::{Person, PersonRow};
use crate::auth::{StaffUser, WebUser};
use crate::db::schema::people;
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::web::page;

#[rocket::get("/people/duplicates")]
pub async fn list(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    let user = web.user.clone();
    let pairs = db.run(move |conn| candidates(conn, &user, 200)).await?;
    let describe = |p: &super::Person| {
        json!({
            "id": p.id, "name": p.display_name(), "birth_year": p.birth_year, "email": p.email,
            "phone": p.phone, "city": p.city,
        })
    };
    let rows: Vec<_> = pairs
        .iter()
        .map(|(kept, from)| json!({ "kept": describe(kept), "from": describe(from) }))
        .collect();
    Ok(page("people/duplicates", &web, json!({ "pairs": rows })))
}

/// Pairs of people of the user's organisation who look like one person (same names and birth
/// year, same email or same phone), the older record first; at most `limit` pairs.
pub fn candidates(
    conn: &mut DbConn,
    user: &StaffUser,
    limit: usize,
) -> Result<Vec<(Person, Person)>, AppError> {
    let mut query = people::table
        .filter(people::anonymised_at.is_null())
        .filter(people::merged_into.is_null())
        .select(PersonRow::as_select())
        .order(people::id)
        .into_boxed();
    if let Some(org) = user.scope() {
        query = query.filter(people::organisation_id.eq(org));
    }
    let rows: Vec<PersonRow> = query.load(conn)?;
    let mut seen: std::collections::HashMap<(i32, String), usize> = Default::default();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let mut keys = Vec::new();
        if let (Some(_), Some(year)) = (&row.family_name, row.birth_year) {
            keys.push(format!("n:{}:{year}", name_key_of(row)));
        }
        if let Some(email) = &row.email {
            keys.push(format!("e:{email}"));
        }
        if let Some(phone) = &row.phone {
            keys.push(format!("p:{phone}"));
        }
        let mut matched = None;
        for key in keys {
            match seen.get(&(row.organisation_id, key.clone())) {
                Some(first) if matched.is_none() => matched = Some(*first),
                Some(_) => {}
                None => {
                    seen.insert((row.organisation_id, key), i);
                }
            }
        }
        if let Some(first) = matched {
            pairs.push((first, i));
            if pairs.len() >= limit {
                break;
            }
        }
    }
    let wanted: Vec<PersonRow> = pairs
        .iter()
        .flat_map(|(a, b)| [rows[*a].clone(), rows[*b].clone()])
        .collect();
    let mut people = super::with_programmes(conn, wanted)?.into_iter();
    let mut out = Vec::new();
    while let (Some(a), Some(b)) = (people.next(), people.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn name_key_of(row: &PersonRow) -> String {
    format!(
        "{} {}",
        crate::text::fold(&row.given_name),
        crate::text::fold(row.family_name.as_deref().unwrap_or(""))
    )
}
