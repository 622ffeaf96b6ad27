//! The reminder worker: the outbox delivered through its channels (email, text message), by
//! the [`crate::delivery`] loop. Runs inside `serve` (unless `worker = false`) or alone with
//! `passerelle worker`, beside the webhook worker and with the periodic privacy job
//! ([`crate::privacy`]) alongside: [`Workers`] starts and stops the lot.

use crate::channels::Channels;
use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::delivery::{self, Outcome, Queue};
use crate::error::AppError;
use crate::outbox::{self, MessageRow};
use crate::webhooks::worker::WebhookWorker;

/// Messages claimed at once, per sending lane.
const PER_LANE: usize = 16;

/// The worker that sends the outbox's messages.
pub type Worker = delivery::Worker<Outbox>;
pub use crate::delivery::Round;

/// The outbox, as the worker delivers it: each message through the channel it travels on.
pub struct Outbox {
    channels: Channels,
}

impl Queue for Outbox {
    type Item = MessageRow;
    const NAME: &'static str = "reminder worker";

    fn open(config: &Config) -> Result<Outbox, String> {
        Ok(Outbox {
            channels: Channels::from_config(config)?,
        })
    }

    fn id_prefix() -> String {
        hostname()
    }

    fn batch(config: &Config) -> usize {
        (config.worker_concurrency * PER_LANE).min(2000)
    }

    fn lanes(config: &Config) -> usize {
        config.worker_concurrency
    }

    fn id(message: &MessageRow) -> i32 {
        message.id
    }

    fn claim(
        &self,
        conn: &mut DbConn,
        config: &Config,
        worker: &str,
        limit: i64,
    ) -> Result<Vec<MessageRow>, AppError> {
        outbox::claim(conn, worker, limit, config.worker_lease)
    }

    /// Composes the message from the records as they stand (dropping it if it no longer
    /// applies), renews the lease, sends it with no connection held, records the outcome.
    fn deliver(
        &self,
        db: &Db,
        config: &Config,
        worker: &str,
        message: &MessageRow,
    ) -> Result<Outcome, AppError> {
        let mut conn = db.get()?;
        if !outbox::still_relevant(&mut conn, message)? {
            outbox::drop_stale(&mut conn, worker, message.id)?;
            return Ok(Outcome::Skipped);
        }
        let composed = match self
            .channels
            .of(message)
            .prepare(&mut conn, config, message)
        {
            Ok(composed) => composed,
            Err(e) => {
                outbox::failed(
                    &mut conn,
                    config,
                    worker,
                    message,
                    &format!("composition : {}", e.detail()),
                )?;
                return Ok(Outcome::Failed(e.to_string()));
            }
        };
        // A slow server may have outlasted the lease: never send what another worker holds.
        if !outbox::renew(&mut conn, worker, message.id, config.worker_lease)? {
            return Ok(Outcome::Skipped);
        }
        drop(conn);
        let (subject, text) = (composed.subject.clone(), composed.text.clone());
        let outcome = composed.send();
        let mut conn = db.get()?;
        match outcome {
            Ok(()) => {
                outbox::sent(&mut conn, worker, message.id, &subject, &text)?;
                Ok(Outcome::Sent)
            }
            Err(error) => {
                outbox::failed(&mut conn, config, worker, message, &error)?;
                Ok(Outcome::Failed(error))
            }
        }
    }

    fn release(&self, conn: &mut DbConn, worker: &str, ids: &[i32]) -> Result<(), AppError> {
        outbox::release(conn, worker, ids)
    }
}

/// Both workers of an instance: the reminders (with the privacy job) and the webhooks, each in
/// its own loop so that a slow receiver never holds up a reminder.
#[derive(Clone)]
pub struct Workers {
    pub reminders: Worker,
    pub webhooks: WebhookWorker,
}

impl Workers {
    pub fn new(db: Db, config: Config) -> Result<Workers, String> {
        Ok(Workers {
            webhooks: WebhookWorker::new(db.clone(), config.clone())?,
            reminders: Worker::new(db, config)?,
        })
    }

    /// Starts both loops; the handle ends when both have stopped.
    pub fn start(&self) -> rocket::tokio::task::JoinHandle<()> {
        let webhooks = rocket::tokio::spawn(self.webhooks.clone().run(async {}));
        let reminders = rocket::tokio::spawn(crate::privacy::with_worker(self.reminders.clone()));
        rocket::tokio::spawn(async move {
            let _ = webhooks.await;
            let _ = reminders.await;
        })
    }

    /// Asks both to stop: what is being delivered is finished, the rest given back.
    pub fn stop(&self) {
        self.webhooks.stop();
        self.reminders.stop();
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "passerelle".into())
}
