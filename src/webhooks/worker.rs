//! The webhook deliveries as a [`Queue`] of the delivery worker, in its own loop beside the
//! reminder worker, so that a slow or dead receiver never holds up a reminder. Each round claims
//! due deliveries with a lease (one at a time per appointment and webhook, in order), posts them
//! at the same time on blocking threads with bounded timeouts, and records each outcome.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Timestamp};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Config;
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::{now, Db, DbConn};
use crate::delivery::{self, Outcome, Queue};
use crate::error::AppError;
use crate::status::DeliveryStatus;

/// Deliveries claimed at once, all posted at the same time.
const BATCH: usize = 16;
/// Connecting to a receiver, and the whole exchange, take at most this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

/// A claimed delivery, with its target.
#[derive(Queryable, Debug, Clone)]
pub struct Claimed {
    pub id: i32,
    pub event: String,
    pub delivery_key: String,
    pub body: String,
    pub attempts: i32,
    pub url: String,
    pub secret: String,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Integer)]
    id: i32,
}

/// `sha256=<hex HMAC-SHA256 of the body with the secret>`.
pub fn signature(secret: &str, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Claims due deliveries for `worker` until the lease ends.
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Claimed>, AppError> {
    crate::db::transaction(conn, |conn| {
        let current = now();
        let lock = match conn {
            DbConn::Pg(_) => " FOR UPDATE OF d SKIP LOCKED",
            DbConn::Sqlite(_) => "",
        };
        // First in line: no earlier delivery of the same appointment to the same webhook
        // is still waiting or being sent; and the webhook is not paused.
        let (pending, sending) = (DeliveryStatus::Pending.sql(), DeliveryStatus::Sending.sql());
        let ids: Vec<i32> = diesel::sql_query(format!(
            "SELECT d.id FROM webhook_deliveries d \
             WHERE ((d.status = {pending} AND d.due_at <= $1) \
                 OR (d.status = {sending} AND d.locked_until < $1)) \
               AND EXISTS (SELECT 1 FROM webhooks w \
                   WHERE w.id = d.webhook_id AND w.disabled_at IS NULL) \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                   WHERE e.webhook_id = d.webhook_id AND e.sequence_key = d.sequence_key \
                     AND e.id < d.id AND e.status IN ({pending}, {sending})) \
             ORDER BY d.due_at, d.id LIMIT $2{lock}"
        ))
        .bind::<Timestamp, _>(current)
        .bind::<BigInt, _>(limit)
        .load::<Id>(conn)?
        .into_iter()
        .map(|r| r.id)
        .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let until = current + chrono::Duration::from_std(lease).unwrap_or_default();
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Sending),
                webhook_deliveries::locked_by.eq(worker),
                webhook_deliveries::locked_until.eq(until),
            ))
            .execute(conn)?;
        Ok(webhook_deliveries::table
            .inner_join(webhooks::table)
            .filter(webhook_deliveries::id.eq_any(&ids))
            .order(webhook_deliveries::id)
            .select((
                webhook_deliveries::id,
                webhook_deliveries::event,
                webhook_deliveries::delivery_key,
                webhook_deliveries::body,
                webhook_deliveries::attempts,
                webhooks::url,
                webhooks::secret,
            ))
            .load(conn)?)
    })
}

/// Records the outcome of one attempt (unless the lease was lost to another worker).
pub fn record(
    conn: &mut DbConn,
    config: &Config,
    worker: &str,
    delivery: &Claimed,
    outcome: Result<u16, (Option<u16>, String)>,
) -> Result<(), AppError> {
    let attempts = delivery.attempts + 1;
    let mine = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(delivery.id))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Sending))
        .filter(webhook_deliveries::locked_by.eq(worker));
    crate::db::transaction(conn, |conn| {
        match outcome {
            Ok(status) => diesel::update(mine)
                .set((
                    webhook_deliveries::status.eq(DeliveryStatus::Delivered),
                    webhook_deliveries::attempts.eq(attempts),
                    webhook_deliveries::response_status.eq(Some(i32::from(status))),
                    webhook_deliveries::last_error.eq(None::<String>),
                    webhook_deliveries::delivered_at.eq(Some(now())),
                    webhook_deliveries::locked_by.eq(None::<String>),
                    webhook_deliveries::locked_until.eq(None::<chrono::NaiveDateTime>),
                ))
                .execute(conn)?,
            Err((status, error)) => {
                // The outbox's backoff: mail_retry_base, doubled each time, at most an hour.
                let dead = attempts >= config.mail_max_attempts;
                let backoff = config
                    .mail_retry_base
                    .as_secs()
                    .saturating_mul(1u64 << (attempts - 1).clamp(0, 16) as u64)
                    .min(3600);
                let error: String = error.chars().take(500).collect();
                diesel::update(mine)
                    .set((
                        webhook_deliveries::status.eq(if dead {
                            DeliveryStatus::Dead
                        } else {
                            DeliveryStatus::Pending
                        }),
                        webhook_deliveries::attempts.eq(attempts),
                        webhook_deliveries::response_status.eq(status.map(i32::from)),
                        webhook_deliveries::last_error.eq(Some(error)),
                        webhook_deliveries::due_at
                            .eq(now() + chrono::Duration::seconds(backoff as i64)),
                        webhook_deliveries::locked_by.eq(None::<String>),
                        webhook_deliveries::locked_until.eq(None::<chrono::NaiveDateTime>),
                    ))
                    .execute(conn)?
            }
        };
        Ok(())
    })
}

/// Posts one delivery: `Ok(status)` for a 2xx answer, else the status (if any) and why.
pub fn post(agent: &ureq::Agent, delivery: &Claimed) -> Result<u16, (Option<u16>, String)> {
    let answer = agent
        .post(&delivery.url)
        .set("Content-Type", "application/json")
        .set("User-Agent", "Passerelle-Webhook/1")
        .set("X-Passerelle-Event", &delivery.event)
        .set("X-Passerelle-Delivery", &delivery.delivery_key)
        .set(
            "X-Passerelle-Signature",
            &signature(&delivery.secret, &delivery.body),
        )
        .send_string(&delivery.body);
    match answer {
        Ok(response) if (200..300).contains(&response.status()) => Ok(response.status()),
        Ok(response) => Err((
            Some(response.status()),
            format!("réponse HTTP {}", response.status()),
        )),
        Err(ureq::Error::Status(status, _)) => {
            Err((Some(status), format!("réponse HTTP {status}")))
        }
        // The transport error names the host at most, never the body or the secret.
        Err(ureq::Error::Transport(e)) => Err((None, e.to_string())),
    }
}

/// An HTTP client that connects only to addresses it checked itself (see [`super::guard`]),
/// follows no redirect, and gives up after bounded timeouts.
pub fn agent(allow_private: bool) -> Result<ureq::Agent, String> {
    let tls = native_tls::TlsConnector::new().map_err(|e| format!("webhooks TLS: {e}"))?;
    Ok(ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .redirects(0)
        .resolver(move |netloc: &str| super::guard::resolve_checked(netloc, allow_private))
        .tls_connector(Arc::new(tls))
        .build())
}

/// Gives back deliveries claimed by `worker` and not posted (it was stopping): waiting again,
/// with no lease, for the next round of any worker.
pub fn release(conn: &mut DbConn, worker: &str, ids: &[i32]) -> Result<(), AppError> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq_any(ids))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Sending))
            .filter(webhook_deliveries::locked_by.eq(worker)),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Pending),
        webhook_deliveries::locked_by.eq(None::<String>),
        webhook_deliveries::locked_until.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// The webhook worker: the deliveries, by the [`crate::delivery`] loop, in a loop of their own.
pub type WebhookWorker = delivery::Worker<Deliveries>;

/// The webhook deliveries, as the worker delivers them: every claimed delivery posted at the
/// same time, each outcome recorded as it comes.
pub struct Deliveries {
    agent: ureq::Agent,
}

impl Queue for Deliveries {
    type Item = Claimed;
    const NAME: &'static str = "webhook worker";

    fn open(config: &Config) -> Result<Deliveries, String> {
        Ok(Deliveries {
            agent: agent(config.webhook_allow_private)?,
        })
    }

    fn id_prefix() -> String {
        "webhooks".into()
    }

    fn batch(_: &Config) -> usize {
        BATCH
    }

    fn lanes(_: &Config) -> usize {
        BATCH
    }

    /// Goes on at once after any delivery: the next one of the same appointment waits for it.
    fn go_on(_: &Config, claimed: usize) -> bool {
        claimed > 0
    }

    fn id(delivery: &Claimed) -> i32 {
        delivery.id
    }

    fn claim(
        &self,
        conn: &mut DbConn,
        config: &Config,
        worker: &str,
        limit: i64,
    ) -> Result<Vec<Claimed>, AppError> {
        claim(conn, worker, config.worker_lease, limit)
    }

    fn deliver(
        &self,
        db: &Db,
        config: &Config,
        worker: &str,
        delivery: &Claimed,
    ) -> Result<Outcome, AppError> {
        let outcome = post(&self.agent, delivery);
        let done = match &outcome {
            Ok(_) => Outcome::Sent,
            Err((_, error)) => Outcome::Failed(error.clone()),
        };
        record(&mut *db.get()?, config, worker, delivery, outcome)?;
        Ok(done)
    }

    fn release(&self, conn: &mut DbConn, worker: &str, ids: &[i32]) -> Result<(), AppError> {
        release(conn, worker, ids)
    }
}
