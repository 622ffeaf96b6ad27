//! The reminder worker: claims due messages, composes and sends them, records the outcome.
//! Runs inside `serve` (unless `worker = false`) or alone with `passerelle worker`, with the
//! periodic privacy job ([`crate::privacy`]) alongside, which the caller hands to
//! [`Worker::run`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::channels::Channels;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::outbox::{self, MessageRow};

/// What one sending lane did: sent, failed, and the ids it gives back.
type LaneResult = Result<(usize, usize, Vec<i32>), AppError>;

/// Messages claimed at once, per sending lane.
const PER_LANE: usize = 16;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    pub failed: usize,
    pub released: usize,
}

#[derive(Clone)]
pub struct Worker {
    db: Db,
    config: Config,
    channels: Channels,
    pub id: String,
    stopping: Arc<AtomicBool>,
}

impl Worker {
    pub fn new(db: Db, config: Config) -> Result<Worker, String> {
        let channels = Channels::from_config(&config)?;
        let host = hostname();
        let id = format!(
            "{host}-{}-{}",
            std::process::id(),
            &crate::auth::random_token()[..8]
        );
        Ok(Worker {
            db,
            config,
            channels,
            id,
            stopping: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The database the worker writes to.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The configuration the worker runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// True once [`Worker::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Asks the worker to stop: the message being sent is finished, the others released.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Sends one message. `Ok(None)`: not sent on purpose (stale, or the lease was lost).
    fn deliver(&self, message: &MessageRow) -> Result<Option<Result<(), String>>, AppError> {
        let mut conn = self.db.get()?;
        if !outbox::still_relevant(&mut conn, message)? {
            outbox::drop_stale(&mut conn, &self.id, message.id)?;
            return Ok(None);
        }
        let composed = match self
            .channels
            .of(message)
            .prepare(&mut conn, &self.config, message)
        {
            Ok(composed) => composed,
            Err(e) => {
                outbox::failed(
                    &mut conn,
                    &self.config,
                    &self.id,
                    message,
                    &format!("composition : {}", e.detail()),
                )?;
                return Ok(Some(Err(e.to_string())));
            }
        };
        // A slow server may have outlasted the lease: never send what another worker holds.
        if !outbox::renew(&mut conn, &self.id, message.id, self.config.worker_lease)? {
            return Ok(None);
        }
        drop(conn);
        let (subject, text) = (composed.subject.clone(), composed.text.clone());
        let outcome = composed.send();
        let mut conn = self.db.get()?;
        match &outcome {
            Ok(()) => outbox::sent(&mut conn, &self.id, message.id, &subject, &text)?,
            Err(error) => outbox::failed(&mut conn, &self.config, &self.id, message, error)?,
        }
        Ok(Some(outcome))
    }

    /// How many messages one round claims.
    fn batch(&self) -> i64 {
        (self.config.worker_concurrency * PER_LANE).min(2000) as i64
    }

    /// One round: claims what is due and sends it, several at a time. Blocking.
    pub fn run_once(&self) -> Result<Round, AppError> {
        let batch = {
            let mut conn = self.db.get()?;
            outbox::claim(&mut conn, &self.id, self.batch(), self.config.worker_lease)?
        };
        let mut round = Round {
            claimed: batch.len(),
            ..Round::default()
        };
        if batch.is_empty() {
            return Ok(round);
        }
        let lanes = self.config.worker_concurrency.min(batch.len()).max(1);
        let chunk = batch.len().div_ceil(lanes);
        let results: Vec<LaneResult> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(chunk)
                .map(|messages| {
                    scope.spawn(move || {
                        let (mut sent, mut failed, mut left) = (0, 0, Vec::new());
                        for message in messages {
                            if self.stopping.load(Ordering::SeqCst) {
                                left.push(message.id);
                                continue;
                            }
                            match self.deliver(message) {
                                Ok(Some(Ok(()))) => sent += 1,
                                Ok(Some(Err(_))) => failed += 1,
                                Ok(None) => {}
                                Err(e) => {
                                    // The database is away: give the message back for later.
                                    log::error!(
                                        "reminder worker: message {}: {}",
                                        message.id,
                                        e.detail()
                                    );
                                    left.push(message.id);
                                }
                            }
                        }
                        Ok((sent, failed, left))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(AppError::Internal("worker lane panicked".into())))
                })
                .collect()
        });
        let mut left = Vec::new();
        for result in results {
            let (sent, failed, mut rest) = result?;
            round.sent += sent;
            round.failed += failed;
            left.append(&mut rest);
        }
        if !left.is_empty() {
            let mut conn = self.db.get()?;
            outbox::release(&mut conn, &self.id, &left)?;
            round.released = left.len();
        }
        Ok(round)
    }

    /// Runs rounds until `stop`, sleeping `worker_poll_interval` when nothing is due; runs
    /// `alongside` in its own task (the privacy job: the caller brings it, so that the mail
    /// capability does not depend on what sits above it) and waits for it before returning.
    pub async fn run(self, alongside: impl std::future::Future<Output = ()> + Send + 'static) {
        log::info!("reminder worker {} started", self.id);
        let privacy = rocket::tokio::spawn(alongside);
        while !self.stopping.load(Ordering::SeqCst) {
            let worker = self.clone();
            let round = rocket::tokio::task::spawn_blocking(move || worker.run_once()).await;
            let busy = match round {
                Ok(Ok(round)) => round.claimed as i64 == self.batch(),
                Ok(Err(e)) => {
                    log::error!("reminder worker: {}", e.detail());
                    false
                }
                Err(e) => {
                    log::error!("reminder worker round failed: {e}");
                    false
                }
            };
            if !busy {
                let mut waited = std::time::Duration::ZERO;
                let step = std::time::Duration::from_millis(100);
                while waited < self.config.worker_poll_interval
                    && !self.stopping.load(Ordering::SeqCst)
                {
                    rocket::tokio::time::sleep(step).await;
                    waited += step;
                }
            }
        }
        let _ = privacy.await;
        log::info!("reminder worker {} stopped", self.id);
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "passerelle".into())
}
