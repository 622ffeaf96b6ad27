//! Short personal links for text messages: `/r/{code}`, a random code of 12 letters and digits
//! (about 71 bits: unguessable) standing for one participation, with the expiry of its signed
//! link. One code per participation, reused by its later messages.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;

use crate::db::schema::short_links;
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::mail::links::LinkError;

/// Letters and digits a person can retype from a text message (no 0/O, 1/l/I).
const ALPHABET: &[u8] = b"23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
pub const LENGTH: usize = 12;

fn random_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..LENGTH)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The code of participation `participant_id`, created when missing, valid until `expires_at`.
pub fn code_for(
    conn: &mut DbConn,
    participant_id: i32,
    expires_at: NaiveDateTime,
) -> Result<String, AppError> {
    let existing: Option<(String, NaiveDateTime)> = short_links::table
        .filter(short_links::participant_id.eq(participant_id))
        .select((short_links::code, short_links::expires_at))
        .first(conn)
        .optional()?;
    if let Some((code, current)) = existing {
        // The appointment may have moved: the code follows its signed link's expiry (written
        // only then, so that sending a reminder stays a read).
        if current != expires_at {
            diesel::update(short_links::table.find(&code))
                .set(short_links::expires_at.eq(expires_at))
                .execute(conn)?;
        }
        return Ok(code);
    }
    let code = random_code();
    diesel::insert_into(short_links::table)
        .values((
            short_links::code.eq(&code),
            short_links::participant_id.eq(participant_id),
            short_links::expires_at.eq(expires_at),
            short_links::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(code)
}

/// Whether `token` looks like a short code rather than a signed token.
pub fn is_code(token: &str) -> bool {
    token.len() == LENGTH && token.bytes().all(|b| ALPHABET.contains(&b))
}

/// The participation a code stands for, while it is valid.
pub fn resolve(
    conn: &mut DbConn,
    code: &str,
    at: NaiveDateTime,
) -> Result<Result<i32, LinkError>, AppError> {
    if !is_code(code) {
        return Ok(Err(LinkError::Invalid));
    }
    let found: Option<(i32, NaiveDateTime)> = short_links::table
        .find(code)
        .select((short_links::participant_id, short_links::expires_at))
        .first(conn)
        .optional()?;
    Ok(match found {
        None => Err(LinkError::Invalid),
        Some((_, expires_at)) if at >= expires_at => Err(LinkError::Expired),
        Some((participant_id, _)) => Ok(participant_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_short_and_from_the_alphabet() {
        let a = random_code();
        let b = random_code();
        assert_eq!(a.len(), LENGTH);
        assert!(is_code(&a));
        assert_ne!(a, b);
        assert!(!is_code("abc.def"));
    }
}
