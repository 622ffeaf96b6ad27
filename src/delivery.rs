//! Delivering a queue, whatever it holds: one worker loop for every kind of delivery. A
//! [`Queue`] says how to claim its due items with a lease, deliver one and record the outcome,
//! and give back what it could not start; [`Worker`] runs the rounds: claim, deliver side by
//! side in lanes, give back on stop, sleep when nothing is due.
//!
//! Two queues today, each in its own loop so that one never holds up the other: the outbox,
//! delivered through its channels (email, text message: `crate::worker`), and the webhook
//! deliveries (`crate::webhooks::worker`). A new kind of delivery is one `impl Queue`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::error::AppError;

/// What delivering one claimed item came to: `Sent`, `Failed` (recorded, retried later or
/// dead), or `Skipped` on purpose (stale, or the lease was lost to another worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Failed(String),
    Skipped,
}

/// A queue the [`Worker`] delivers.
pub trait Queue: Sized + Send + Sync + 'static {
    /// A claimed item.
    type Item: Send + Sync;
    /// How the logs name the worker ("reminder worker").
    const NAME: &'static str;

    /// The queue as configured (its channels, its HTTP client…).
    fn open(config: &Config) -> Result<Self, String>;
    /// The start of the worker's id, before the process id and a random part.
    fn id_prefix() -> String;
    /// Items claimed in one round.
    fn batch(config: &Config) -> usize;
    /// Items delivered side by side.
    fn lanes(config: &Config) -> usize;
    /// After a round that claimed `claimed` items, whether to go on at once rather than wait
    /// for the poll interval (by default: when the round was full).
    fn go_on(config: &Config, claimed: usize) -> bool {
        claimed == Self::batch(config)
    }
    /// The item's id, to give it back.
    fn id(item: &Self::Item) -> i32;

    /// Claims due items for `worker` until its lease ends.
    fn claim(
        &self,
        conn: &mut DbConn,
        config: &Config,
        worker: &str,
        limit: i64,
    ) -> Result<Vec<Self::Item>, AppError>;
    /// Delivers one claimed item and records the outcome. It may hold no connection while it
    /// waits on a remote server (a slow server must not hold the pool). An error means the
    /// database is away: the item is given back.
    fn deliver(
        &self,
        db: &Db,
        config: &Config,
        worker: &str,
        item: &Self::Item,
    ) -> Result<Outcome, AppError>;
    /// Gives back items claimed by `worker` and not delivered, for the next round.
    fn release(&self, conn: &mut DbConn, worker: &str, ids: &[i32]) -> Result<(), AppError>;
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    pub failed: usize,
    /// Claimed, then given back (the worker was stopping, or the database away).
    pub released: usize,
}

/// Runs the rounds of one queue.
pub struct Worker<Q> {
    db: Db,
    config: Config,
    queue: Arc<Q>,
    pub id: String,
    stopping: Arc<AtomicBool>,
}

impl<Q> Clone for Worker<Q> {
    fn clone(&self) -> Self {
        Worker {
            db: self.db.clone(),
            config: self.config.clone(),
            queue: self.queue.clone(),
            id: self.id.clone(),
            stopping: self.stopping.clone(),
        }
    }
}

/// What one lane did: sent, failed, and the ids it gives back.
type LaneResult = (usize, usize, Vec<i32>);

impl<Q: Queue> Worker<Q> {
    pub fn new(db: Db, config: Config) -> Result<Worker<Q>, String> {
        let queue = Q::open(&config)?;
        let id = format!(
            "{}-{}-{}",
            Q::id_prefix(),
            std::process::id(),
            hex::encode(rand::random::<[u8; 4]>())
        );
        Ok(Worker {
            db,
            config,
            queue: Arc::new(queue),
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

    /// Asks the worker to stop: the items being delivered are finished, the others given back.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// One lane: delivers its items one after the other, gives back what it did not start.
    fn lane(&self, items: &[Q::Item]) -> LaneResult {
        let (mut sent, mut failed, mut left) = (0, 0, Vec::new());
        for item in items {
            if self.is_stopping() {
                left.push(Q::id(item));
                continue;
            }
            match self.queue.deliver(&self.db, &self.config, &self.id, item) {
                Ok(Outcome::Sent) => sent += 1,
                Ok(Outcome::Failed(_)) => failed += 1,
                Ok(Outcome::Skipped) => {}
                Err(e) => {
                    // The database is away: give the item back for later.
                    log::error!("{}: item {}: {}", Q::NAME, Q::id(item), e.detail());
                    left.push(Q::id(item));
                }
            }
        }
        (sent, failed, left)
    }

    /// One round: claims what is due and delivers it, several at a time. Blocking.
    pub fn run_once(&self) -> Result<Round, AppError> {
        let batch = {
            let mut conn = self.db.get()?;
            let limit = Q::batch(&self.config).max(1) as i64;
            self.queue.claim(&mut conn, &self.config, &self.id, limit)?
        };
        let mut round = Round {
            claimed: batch.len(),
            ..Round::default()
        };
        if batch.is_empty() {
            return Ok(round);
        }
        let lanes = Q::lanes(&self.config).min(batch.len()).max(1);
        let chunk = batch.len().div_ceil(lanes);
        let results: Vec<LaneResult> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(chunk)
                .map(|items| (items, scope.spawn(move || self.lane(items))))
                .collect();
            handles
                .into_iter()
                .map(|(items, lane)| {
                    lane.join().unwrap_or_else(|_| {
                        log::error!("{}: a lane panicked", Q::NAME);
                        (0, 0, items.iter().map(Q::id).collect())
                    })
                })
                .collect()
        });
        let mut left = Vec::new();
        for (sent, failed, mut rest) in results {
            round.sent += sent;
            round.failed += failed;
            left.append(&mut rest);
        }
        if !left.is_empty() {
            let mut conn = self.db.get()?;
            self.queue.release(&mut conn, &self.id, &left)?;
            round.released = left.len();
        }
        Ok(round)
    }

    /// Runs rounds until [`Worker::stop`], sleeping `worker_poll_interval` when nothing more is
    /// due; runs `alongside` in its own task (the reminder worker's privacy job: the caller
    /// brings it) and waits for it before returning.
    pub async fn run(self, alongside: impl std::future::Future<Output = ()> + Send + 'static) {
        log::info!("{} {} started", Q::NAME, self.id);
        let beside = rocket::tokio::spawn(alongside);
        while !self.is_stopping() {
            let worker = self.clone();
            let round = rocket::tokio::task::spawn_blocking(move || worker.run_once()).await;
            let go_on = match round {
                Ok(Ok(round)) => Q::go_on(&self.config, round.claimed),
                Ok(Err(e)) => {
                    log::error!("{}: {}", Q::NAME, e.detail());
                    false
                }
                Err(e) => {
                    log::error!("{} round failed: {e}", Q::NAME);
                    false
                }
            };
            if !go_on {
                let mut waited = Duration::ZERO;
                let step = Duration::from_millis(100);
                while waited < self.config.worker_poll_interval && !self.is_stopping() {
                    rocket::tokio::time::sleep(step).await;
                    waited += step;
                }
            }
        }
        let _ = beside.await;
        log::info!("{} {} stopped", Q::NAME, self.id);
    }
}
