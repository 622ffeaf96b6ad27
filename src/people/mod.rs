//! People (bénéficiaires). Pseudonymous allowed: only the given name is required.

pub mod api;
pub mod contact;
pub mod duplicates;
pub mod funder;
pub mod import;
pub mod picker;
pub mod public;
pub mod web;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::StaffUser;
use crate::db::schema::{people, people_fts, person_programmes};
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::text::{fold, like_escape, normalise_phone};

mod input;
mod model;

pub(crate) use input::PersonChanges;
pub use input::{PersonInput, PersonPatch};
pub use model::{Person, PersonRow};

/// Rewrites in E.164 the phones stored before numbers were (`06 12…` → `+33612…`, overseas
/// départements with their own country code). A number no plan knows is left as it was: it
/// gets no text message. Runs at start; cheap once done (only numbers without `+` are read).
pub fn phones_to_e164(conn: &mut DbConn) -> Result<usize, AppError> {
    let rows: Vec<(i32, String)> = people::table
        .filter(people::phone.is_not_null())
        .filter(people::phone.not_like("+%"))
        .select((people::id, people::phone.assume_not_null()))
        .load(conn)?;
    let mut changed = 0;
    for (id, phone) in rows {
        if let Some(parsed) = crate::phone::parse(&phone) {
            crate::db::transaction(conn, |conn| {
                diesel::update(people::table.find(id))
                    .set(people::phone.eq(&parsed.e164))
                    .execute(conn)?;
                Ok(())
            })?;
            changed += 1;
        }
    }
    if changed > 0 {
        log::info!("{changed} phone numbers rewritten in E.164");
    }
    Ok(changed)
}

/// A checked phone as stored: E.164.
fn stored_phone(phone: &str) -> String {
    crate::phone::parse(phone)
        .map(|p| p.e164)
        .unwrap_or_else(|| normalise_phone(phone))
}

fn programme_ids_of(conn: &mut DbConn, ids: &[i32]) -> Result<HashMap<i32, Vec<i32>>, AppError> {
    let mut map: HashMap<i32, Vec<i32>> = HashMap::new();
    if ids.is_empty() {
        return Ok(map);
    }
    let rows: Vec<(i32, i32)> = person_programmes::table
        .filter(person_programmes::person_id.eq_any(ids))
        .select((
            person_programmes::person_id,
            person_programmes::programme_id,
        ))
        .order((
            person_programmes::person_id,
            person_programmes::programme_id,
        ))
        .load(conn)?;
    for (person, programme) in rows {
        map.entry(person).or_default().push(programme);
    }
    Ok(map)
}

pub(crate) fn with_programmes(
    conn: &mut DbConn,
    rows: Vec<PersonRow>,
) -> Result<Vec<Person>, AppError> {
    let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
    let mut programmes = programme_ids_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let ids = programmes.remove(&row.id).unwrap_or_default();
            Person::from_row(row, ids)
        })
        .collect())
}

pub(crate) fn set_programmes(
    conn: &mut DbConn,
    person_id: i32,
    ids: &[i32],
) -> Result<(), AppError> {
    let mut current: Vec<i32> = person_programmes::table
        .filter(person_programmes::person_id.eq(person_id))
        .select(person_programmes::programme_id)
        .load(conn)?;
    current.sort_unstable();
    let mut wanted = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if current == wanted {
        return Ok(());
    }
    // The report aggregates count each programme's members: the roll-ups move the person from
    // their old programmes to their new ones.
    let organisation_id: i32 = people::table
        .find(person_id)
        .select(people::organisation_id)
        .first(conn)?;
    crate::rollups::programmes_changed(conn, organisation_id, person_id, |conn| {
        diesel::delete(person_programmes::table.filter(person_programmes::person_id.eq(person_id)))
            .execute(conn)?;
        // One row per statement: PostgreSQL through the multi-backend connection has no
        // multi-row insert.
        for programme_id in &wanted {
            diesel::insert_into(person_programmes::table)
                .values((
                    person_programmes::person_id.eq(person_id),
                    person_programmes::programme_id.eq(programme_id),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

pub(crate) fn row_by_id(conn: &mut DbConn, id: i32) -> Result<PersonRow, AppError> {
    Ok(people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)?)
}

/// The person if it exists and the user may see it; another organisation's person is a 404.
pub fn get(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<Person, AppError> {
    let row = people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?
        .filter(|row| user.can_see(row.organisation_id))
        .ok_or(AppError::NotFound)?;
    if let Some(kept) = row.merged_into {
        return Err(AppError::Merged(kept));
    }
    Ok(with_programmes(conn, vec![row])?.remove(0))
}

/// Searches by name, email or phone, ignoring case and accents; every word must match.
pub fn search(
    conn: &mut DbConn,
    user: &StaffUser,
    q: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Person>, AppError> {
    let mut query = people::table
        .select(PersonRow::as_select())
        .filter(people::merged_into.is_null())
        .into_boxed();
    if let Some(org) = user.scope() {
        query = query.filter(people::organisation_id.eq(org));
    }
    let sqlite = matches!(conn, DbConn::Sqlite(_));
    for word in q
        .map(fold)
        .unwrap_or_default()
        .split(' ')
        .filter(|w| !w.is_empty())
    {
        // Phone numbers are stored as digits: "06.12" is searched as "0612".
        let word = if word
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        {
            normalise_phone(word)
        } else {
            word.to_string()
        };
        let plain = !word.contains(['%', '_', '\\']);
        query = match (sqlite, plain) {
            // SQLite's trigram index answers LIKE without an ESCAPE clause.
            (true, true) => query.filter(
                people::id.eq_any(
                    people_fts::table
                        .select(people_fts::rowid)
                        .filter(people_fts::search_key.like(format!("%{word}%"))),
                ),
            ),
            // PostgreSQL's trigram index answers LIKE directly.
            _ => query.filter(
                people::search_key
                    .like(format!("%{}%", like_escape(&word)))
                    .escape('\\'),
            ),
        };
    }
    let rows = query
        .order((people::given_name, people::family_name, people::id))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    with_programmes(conn, rows)
}

/// Ids of people of the same organisation who look like the same person: same names and
/// birth year, or same email, or same phone.
fn possible_duplicates(
    conn: &mut DbConn,
    organisation_id: i32,
    input: &PersonInput,
    except: Option<i32>,
) -> Result<Vec<i32>, AppError> {
    let mut ids: Vec<i32> = Vec::new();
    let base = || {
        people::table
            .filter(people::organisation_id.eq(organisation_id))
            .filter(people::anonymised_at.is_null())
            .filter(people::merged_into.is_null())
            .filter(people::id.ne(except.unwrap_or(-1)))
            .select(people::id)
            .into_boxed()
    };
    if let (Some(_), Some(year)) = (&input.family_name, input.birth_year) {
        ids.extend(
            base()
                .filter(people::name_key.eq(input.name_key()))
                .filter(people::birth_year.eq(year))
                .load::<i32>(conn)?,
        );
    }
    if let Some(email) = &input.email {
        ids.extend(base().filter(people::email.eq(email)).load::<i32>(conn)?);
    }
    if let Some(phone) = &input.phone {
        ids.extend(
            base()
                .filter(people::phone.eq(stored_phone(phone)))
                .load::<i32>(conn)?,
        );
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// What makes a person of an organisation a likely duplicate, read once for an import.
#[derive(Default)]
pub(crate) struct DuplicateIndex {
    by_name_year: HashMap<(String, i32), i32>,
    by_email: HashMap<String, i32>,
    by_phone: HashMap<String, i32>,
}

impl DuplicateIndex {
    /// The organisation's people; with `since`, only those created since then.
    pub(crate) fn of_organisation(
        conn: &mut DbConn,
        organisation_id: i32,
        since: Option<NaiveDateTime>,
    ) -> Result<DuplicateIndex, AppError> {
        type Keys = (i32, String, Option<i32>, Option<String>, Option<String>);
        let mut query = people::table
            .filter(people::organisation_id.eq(organisation_id))
            .into_boxed();
        if let Some(since) = since {
            query = query.filter(people::created_at.ge(since));
        }
        let rows: Vec<Keys> = query
            .filter(people::anonymised_at.is_null())
            .filter(people::merged_into.is_null())
            .select((
                people::id,
                people::name_key,
                people::birth_year,
                people::email,
                people::phone,
            ))
            .order(people::id)
            .load(conn)?;
        let mut index = DuplicateIndex::default();
        for (id, name_key, year, email, phone) in rows {
            if let Some(year) = year {
                index.by_name_year.entry((name_key, year)).or_insert(id);
            }
            if let Some(email) = email {
                index.by_email.entry(email).or_insert(id);
            }
            if let Some(phone) = phone {
                index.by_phone.entry(phone).or_insert(id);
            }
        }
        Ok(index)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_name_year.is_empty() && self.by_email.is_empty() && self.by_phone.is_empty()
    }

    /// The person this one looks like (same rules as [`possible_duplicates`]).
    pub(crate) fn find(&self, input: &PersonInput) -> Option<i32> {
        let by_name = match (&input.family_name, input.birth_year) {
            (Some(_), Some(year)) => self.by_name_year.get(&(input.name_key(), year)),
            _ => None,
        };
        by_name
            .or_else(|| input.email.as_ref().and_then(|e| self.by_email.get(e)))
            .or_else(|| {
                input
                    .phone
                    .as_ref()
                    .and_then(|p| self.by_phone.get(&stored_phone(p)))
            })
            .copied()
    }
}

/// Imported people ready to insert, already checked (programmes included): their rows (keys,
/// phones in E.164) are computed before the write transaction, which then only inserts.
pub(crate) struct ImportRows<'a> {
    rows: Vec<(PersonChanges<'a>, &'a [i32])>,
}

impl<'a> ImportRows<'a> {
    pub(crate) fn new(inputs: impl Iterator<Item = &'a PersonInput>) -> Self {
        ImportRows {
            rows: inputs
                .map(|input| (PersonChanges::from_input(input), &input.programme_ids[..]))
                .collect(),
        }
    }

    /// Inserts the rows that `keep` (one flag a row) keeps, inside the caller's transaction, a
    /// few hundred a statement; audited. A new person has no participation nor assessment
    /// yet, so their programmes change no report aggregate. Returns their ids, in order.
    pub(crate) fn insert(
        &self,
        conn: &mut DbConn,
        user: &StaffUser,
        organisation_id: i32,
        keep: &[bool],
    ) -> Result<Vec<i32>, AppError> {
        // 24 columns a row: 500 rows stay well below both databases' limit of bound values.
        const CHUNK: usize = crate::db::bulk::ROWS_PER_STATEMENT;
        let stamp = now();
        let kept: Vec<&(PersonChanges, &[i32])> = self
            .rows
            .iter()
            .zip(keep)
            .filter(|(_, keep)| **keep)
            .map(|(row, _)| row)
            .collect();
        let mut ids = Vec::with_capacity(kept.len());
        for chunk in kept.chunks(CHUNK) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(row, _)| {
                    (
                        row,
                        people::organisation_id.eq(organisation_id),
                        people::created_at.eq(stamp),
                    )
                })
                .collect();
            let chunk_ids =
                crate::db::bulk::insert_returning_ids!(conn, people::table, rows, people::id)?;
            let programmes: Vec<_> = chunk
                .iter()
                .zip(&chunk_ids)
                .flat_map(|((_, programme_ids), id)| {
                    programme_ids.iter().map(move |programme_id| {
                        (
                            person_programmes::person_id.eq(*id),
                            person_programmes::programme_id.eq(*programme_id),
                        )
                    })
                })
                .collect();
            for programmes in programmes.chunks(CHUNK) {
                crate::db::per_backend!(conn, |c| diesel::insert_into(person_programmes::table)
                    .values(programmes)
                    .execute(c))?;
            }
            crate::audit::record_each(
                conn,
                Some(user),
                "import",
                "person",
                &chunk_ids,
                Some(organisation_id),
            )?;
            ids.extend(chunk_ids);
        }
        Ok(ids)
    }
}

/// Creates a person in the user's organisation (or, for an admin, the one asked for).
/// Returns the person and the ids of possible duplicates.
pub fn create(
    conn: &mut DbConn,
    user: &StaffUser,
    input: PersonInput,
) -> Result<(Person, Vec<i32>), AppError> {
    let organisation_id = user.target_organisation(input.organisation_id)?;
    crate::db::transaction(conn, |conn| {
        let input = input.check(conn)?;
        if crate::organisations::find(conn, organisation_id).is_err() {
            return Err(AppError::field(
                "organisation_id",
                "Cette structure n'existe pas.",
            ));
        }
        let duplicates = possible_duplicates(conn, organisation_id, &input, None)?;
        let stamp = now();
        let id: i32 = diesel::insert_into(people::table)
            .values((
                PersonChanges::from_input(&input),
                people::organisation_id.eq(organisation_id),
                people::created_at.eq(stamp),
            ))
            .returning(people::id)
            .get_result(conn)?;
        let row = row_by_id(conn, id)?;
        set_programmes(conn, row.id, &input.programme_ids)?;
        crate::audit::record(
            conn,
            Some(user),
            "create",
            "person",
            Some(row.id),
            Some(organisation_id),
        )?;
        Ok((Person::from_row(row, input.programme_ids), duplicates))
    })
}

/// Replaces a person's fields.
pub fn update(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    input: PersonInput,
) -> Result<Person, AppError> {
    crate::db::transaction(conn, |conn| {
        let current = get(conn, user, id)?;
        if current.anonymised {
            return Err(AppError::Conflict {
                code: "anonymised",
                message: "Cette personne a été anonymisée : sa fiche ne peut plus être modifiée."
                    .into(),
            });
        }
        let input = input.check(conn)?;
        diesel::update(people::table.find(id))
            .set(PersonChanges::from_input(&input))
            .execute(conn)?;
        let row = row_by_id(conn, id)?;
        set_programmes(conn, id, &input.programme_ids)?;
        crate::audit::record(
            conn,
            Some(user),
            "update",
            "person",
            Some(id),
            Some(row.organisation_id),
        )?;
        Ok(Person::from_row(row, input.programme_ids))
    })
}

/// Applies a JSON merge patch (RFC 7396) to a person.
pub fn patch(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    patch: serde_json::Value,
) -> Result<Person, AppError> {
    crate::db::transaction(conn, |conn| {
        let current = get(conn, user, id)?;
        let input = crate::patch::merge(&current.input(), patch)?;
        update(conn, user, id, input)
    })
}

/// The given name a record merged into another keeps.
pub const MERGED_NAME: &str = "Fiche fusionnée";

/// The given name an anonymised person is shown with.
pub const ANONYMISED_NAME: &str = "Personne anonymisée";
