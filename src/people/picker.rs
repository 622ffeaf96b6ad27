//! Choosing a person by name, phone or email wherever a form needs one (booking, enrolling,
//! handing over equipment): the people list's own search, shown with what tells namesakes
//! apart (birth year, commune); and naming people by id for lists (agenda, home page) in one
//! query.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::auth::StaffUser;
use crate::db::schema::people;
use crate::db::DbConn;
use crate::error::AppError;

/// How many matches a picker shows: enough to find someone, small enough to read.
pub const MATCHES: i64 = 20;

/// A person as a picker shows them.
#[derive(Serialize, Debug, Clone)]
pub struct Pick {
    pub id: i32,
    pub name: String,
    pub birth_year: Option<i32>,
    /// The city, else the postal code.
    pub commune: Option<String>,
}

impl Pick {
    fn of(person: &super::Person) -> Pick {
        Pick {
            id: person.id,
            name: person.display_name(),
            birth_year: person.birth_year,
            commune: person.city.clone().or_else(|| person.postal_code.clone()),
        }
    }
}

/// The people of the user's organisation matching `q` (accent- and case-insensitive, every
/// word; as the people list), anonymised people left out.
pub fn find(conn: &mut DbConn, user: &StaffUser, q: &str) -> Result<Vec<Pick>, AppError> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    Ok(super::search(conn, user, Some(q), MATCHES, 0)?
        .iter()
        .filter(|p| !p.anonymised)
        .map(Pick::of)
        .collect())
}

/// The person chosen beforehand (a link "Prendre rendez-vous" from her page), if the user
/// may see her and she is not anonymised.
pub fn chosen(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<Option<Pick>, AppError> {
    match super::get(conn, user, id) {
        Ok(person) if !person.anonymised => Ok(Some(Pick::of(&person))),
        Ok(_) | Err(AppError::NotFound) | Err(AppError::Merged(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Display names of these people, in one query; anonymised people are "personne anonymisée".
pub fn names(conn: &mut DbConn, ids: &[i32]) -> Result<HashMap<i32, String>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::with_capacity(ids.len());
    // Bounded chunks: a bind list stays well under the backends' limits.
    for chunk in ids.chunks(900) {
        let rows: Vec<(i32, String, Option<String>, Option<chrono::NaiveDateTime>)> = people::table
            .filter(people::id.eq_any(chunk))
            .select((
                people::id,
                people::given_name,
                people::family_name,
                people::anonymised_at,
            ))
            .load(conn)?;
        for (id, given, family, anonymised) in rows {
            let name = match (anonymised, family) {
                (Some(_), _) => "personne anonymisée".to_string(),
                (None, Some(family)) => format!("{given} {family}"),
                (None, None) => given,
            };
            out.insert(id, name);
        }
    }
    Ok(out)
}
