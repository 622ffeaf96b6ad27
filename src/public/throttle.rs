//! Throttling of the public booking and referral forms, per client address and per phone
//! number, counted in the database so that every app instance sees the same counts. Only a
//! keyed hash of the address or number is stored.

use std::net::IpAddr;

use chrono::Duration;
use diesel::prelude::*;
use hmac::{Hmac, Mac};

use crate::config::Config;
use crate::db::schema::public_attempts;
use crate::db::{now, DbConn};
use crate::error::AppError;

fn bucket(config: &Config, kind: &str, value: &str) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(&config.secret_key).expect("HMAC takes any key");
    mac.update(b"public-throttle:");
    mac.update(kind.as_bytes());
    mac.update(b":");
    mac.update(value.as_bytes());
    format!("{kind}:{}", hex::encode(&mac.finalize().into_bytes()[..16]))
}

/// Refuses with 429 (and the seconds to wait) when the address or the phone number has sent its
/// share already; otherwise counts this attempt. Runs in its own transaction: a refused or
/// failed booking still counts.
pub fn admit(
    conn: &mut DbConn,
    config: &Config,
    address: Option<IpAddr>,
    phone: Option<&str>,
) -> Result<(), AppError> {
    let address = address.map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let mut checks = vec![(
        bucket(config, "address", &address),
        Duration::hours(1),
        config.public_limit_per_address,
        "Trop de demandes envoyées depuis cette connexion. Réessayez dans une heure, ou appelez le lieu de médiation.",
    )];
    if let Some(phone) = phone {
        checks.push((
            bucket(config, "phone", phone),
            Duration::days(1),
            config.public_limit_per_phone,
            "Trop de demandes pour ce numéro de téléphone aujourd'hui. Réessayez demain, ou appelez le lieu de médiation.",
        ));
    }
    crate::db::transaction(conn, |conn| {
        let current = now();
        for (key, window, limit, message) in &checks {
            let since = current - *window;
            diesel::delete(
                public_attempts::table
                    .filter(public_attempts::bucket.eq(key))
                    .filter(public_attempts::created_at.lt(since)),
            )
            .execute(conn)?;
            // Counted, not loaded: a burst from one address (a portal) would otherwise read
            // every earlier attempt at each new one.
            let (recent, oldest): (i64, Option<chrono::NaiveDateTime>) = public_attempts::table
                .filter(public_attempts::bucket.eq(key))
                .select((
                    diesel::dsl::count_star(),
                    diesel::dsl::min(public_attempts::created_at),
                ))
                .first(conn)?;
            if recent as u64 >= u64::from(*limit) {
                let wait = oldest
                    .map_or(60, |oldest| (oldest + *window - current).num_seconds())
                    .max(1) as u64;
                return Err(AppError::RetryAfter((*message).to_string(), wait));
            }
        }
        for (key, ..) in &checks {
            diesel::insert_into(public_attempts::table)
                .values((
                    public_attempts::bucket.eq(key),
                    public_attempts::created_at.eq(current),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}
