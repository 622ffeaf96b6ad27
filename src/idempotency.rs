//! `Idempotency-Key`: a retried POST gets the first answer back instead of doing it twice.
//! The key and the answer are stored in the same transaction as the change.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::idempotency_keys;
use crate::db::{now, DbConn};
use crate::error::AppError;

pub struct Answer {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

pub fn fingerprint(method: &str, path: &str, body: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{method} {path}\n{body}").as_bytes(),
    ))
}

/// Runs `f` once per (user, key); a second call with the same key and the same request
/// returns the stored answer, and with another request is a 409.
pub fn run<F>(
    conn: &mut DbConn,
    user_id: i32,
    key: Option<&str>,
    fingerprint: &str,
    status: u16,
    f: F,
) -> Result<Answer, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<String, AppError>,
{
    let Some(key) = key else {
        return f(conn).map(|body| Answer {
            status,
            body,
            replayed: false,
        });
    };
    if key.is_empty() || key.len() > 200 {
        return Err(AppError::BadRequest(
            "Idempotency-Key doit compter de 1 à 200 caractères.".into(),
        ));
    }
    crate::db::transaction(conn, |conn| {
        if let DbConn::Pg(pg) = conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock(7243913, hashtext($1))")
                .bind::<diesel::sql_types::Text, _>(format!("{user_id}:{key}"))
                .execute(pg)?;
        }
        let stored: Option<(String, i32, String)> = idempotency_keys::table
            .filter(idempotency_keys::user_id.eq(user_id))
            .filter(idempotency_keys::key.eq(key))
            .select((
                idempotency_keys::fingerprint,
                idempotency_keys::status,
                idempotency_keys::body,
            ))
            .first(conn)
            .optional()?;
        if let Some((stored_fingerprint, stored_status, body)) = stored {
            if stored_fingerprint != fingerprint {
                return Err(AppError::Conflict {
                    code: "idempotency_key_reused",
                    message: "Cette clé d'idempotence a déjà servi pour une autre requête.".into(),
                });
            }
            return Ok(Answer {
                status: stored_status as u16,
                body,
                replayed: true,
            });
        }
        let body = f(conn)?;
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::user_id.eq(user_id),
                idempotency_keys::key.eq(key),
                idempotency_keys::fingerprint.eq(fingerprint),
                idempotency_keys::status.eq(i32::from(status)),
                idempotency_keys::body.eq(&body),
                idempotency_keys::created_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(Answer {
            status,
            body,
            replayed: false,
        })
    })
}
