//! The periodic privacy job: people with no activity for `retention_months` are anonymised,
//! and the texts and addresses of messages are purged 30 days after they went out.
//!
//! The worker loop (in `serve`, or `passerelle worker`: [`with_worker`]) calls [`run_if_due`]
//! every few minutes; a lease row in `job_runs` makes one instance run it, at most once an
//! hour, however many are started. The work itself is idempotent too: a person already
//! anonymised or a message already purged is left alone, so a run cut short is simply finished
//! by the next.

use std::time::{Duration, Instant};

use chrono::{Months, NaiveDateTime};
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use crate::config::Config;
use crate::db::schema::{
    appointments, assessments, assignments, equipment_events, job_runs, messages, participants,
    people, session_logs,
};
use crate::db::{now, DbConn};
use crate::delivery::{Queue, Worker};
use crate::error::AppError;
use crate::status::MessageStatus;

/// How often the worker asks whether the privacy job is due (it runs at most once an hour).
const CHECK: Duration = Duration::from_secs(300);
/// The job's name in `job_runs`.
const JOB: &str = "privacy";
/// At most one run per this interval, across every instance.
pub const INTERVAL: Duration = Duration::from_secs(3600);
/// A run holds the job this long; a crashed run's lease expires after it.
const LEASE: Duration = Duration::from_secs(30 * 60);
/// Days after sending (or giving up) that a message keeps its address and text.
pub const MESSAGE_RETENTION_DAYS: i64 = 30;
/// People anonymised per write transaction at most (fewer when [`crate::db::BATCH_TIME`] runs
/// out first): short transactions, so that requests never wait long for the writer.
const BATCH: usize = 100;
/// Candidates read at once, outside any write transaction.
const CANDIDATES: i64 = 500;
/// Messages purged per write transaction.
const PURGE_BATCH: i64 = 500;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub anonymised: usize,
    pub messages_purged: usize,
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(1))
}

/// Takes the job for `holder` if no run happened in the last [`INTERVAL`] and no other holds
/// it. One UPDATE: of several instances asking at once, exactly one gets it.
fn claim(conn: &mut DbConn, holder: &str, current: NaiveDateTime) -> Result<bool, AppError> {
    let taken = diesel::update(
        job_runs::table
            .find(JOB)
            .filter(
                job_runs::locked_until
                    .is_null()
                    .or(job_runs::locked_until.lt(current)),
            )
            .filter(
                job_runs::last_run_at
                    .is_null()
                    .or(job_runs::last_run_at.le(current - chrono_duration(INTERVAL))),
            ),
    )
    .set((
        job_runs::locked_by.eq(holder),
        job_runs::locked_until.eq(current + chrono_duration(LEASE)),
    ))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Gives the job back; `done` records the run so the next one waits an interval.
fn release(conn: &mut DbConn, holder: &str, done: bool) -> Result<(), AppError> {
    let held = job_runs::table
        .find(JOB)
        .filter(job_runs::locked_by.eq(holder));
    if done {
        diesel::update(held)
            .set((
                job_runs::last_run_at.eq(Some(now())),
                job_runs::locked_by.eq(None::<String>),
                job_runs::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    } else {
        diesel::update(held)
            .set((
                job_runs::locked_by.eq(None::<String>),
                job_runs::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Runs the job if it is due and no other instance holds it; `None` when it was not run.
pub fn run_if_due(
    conn: &mut DbConn,
    config: &Config,
    holder: &str,
) -> Result<Option<Report>, AppError> {
    if !crate::db::write(conn, |conn| claim(conn, holder, now()))? {
        return Ok(None);
    }
    let outcome = run(conn, config);
    crate::db::write(conn, |conn| release(conn, holder, outcome.is_ok()))?;
    outcome.map(Some)
}

/// Runs the job now (no lease): anonymises inactive people, purges old messages.
pub fn run(conn: &mut DbConn, config: &Config) -> Result<Report, AppError> {
    Ok(Report {
        anonymised: anonymise_inactive(conn, config, now())?,
        messages_purged: purge_messages(conn, now())?,
    })
}

/// The last moment of activity that still keeps a person: `retention_months` before `current`.
pub fn retention_cutoff(config: &Config, current: NaiveDateTime) -> NaiveDateTime {
    current
        .checked_sub_months(Months::new(config.retention_months))
        .unwrap_or(NaiveDateTime::MIN)
}

/// Which people [`inactive_people`] looks at.
#[derive(Clone, Copy)]
enum Among {
    /// Those whose id is above this one (a page of the whole table).
    After(i32),
    /// This person only (checked again before anonymising them).
    Only(i32),
}

/// Up to `limit` people (id, organisation) with no activity since `cutoff` — no record created
/// or edited, no participation in an appointment (nor a change to it), no session log, no
/// assessment, no handover, return or equipment event — and holding no equipment.
fn inactive_people(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    among: Among,
    limit: i64,
) -> Result<Vec<(i32, i32)>, AppError> {
    let cutoff_day = cutoff.date();
    let mut query = people::table.into_boxed();
    query = match among {
        Among::After(id) => query.filter(people::id.gt(id)),
        Among::Only(id) => query.filter(people::id.eq(id)),
    };
    Ok(query
        .filter(people::anonymised_at.is_null())
        .filter(people::updated_at.lt(cutoff))
        .filter(people::created_at.lt(cutoff))
        .filter(not(exists(
            participants::table
                .inner_join(appointments::table)
                .filter(participants::person_id.eq(people::id))
                .filter(
                    appointments::ends_at
                        .ge(cutoff)
                        .or(participants::updated_at.ge(cutoff))
                        .or(participants::created_at.ge(cutoff)),
                ),
        )))
        .filter(not(exists(
            session_logs::table
                .filter(session_logs::person_id.eq(people::id))
                .filter(session_logs::created_at.ge(cutoff)),
        )))
        .filter(not(exists(
            assessments::table
                .filter(assessments::person_id.eq(people::id))
                .filter(
                    assessments::assessed_at
                        .ge(cutoff)
                        .or(assessments::created_at.ge(cutoff)),
                ),
        )))
        .filter(not(exists(
            assignments::table
                .filter(assignments::person_id.eq(people::id))
                .filter(
                    // Still holding the item, or a handover or return within the period.
                    assignments::returned_on
                        .is_null()
                        .or(assignments::returned_on.ge(cutoff_day))
                        .or(assignments::handed_over_on.ge(cutoff_day))
                        .or(assignments::created_at.ge(cutoff)),
                ),
        )))
        .filter(not(exists(
            equipment_events::table
                .filter(equipment_events::person_id.eq(people::id.nullable()))
                .filter(equipment_events::at.ge(cutoff)),
        )))
        .select((people::id, people::organisation_id))
        .order(people::id)
        .limit(limit)
        .load(conn)?)
}

/// Anonymises everyone inactive since the retention cutoff. The candidates are read a page at
/// a time outside any write transaction; each is checked again and anonymised in short write
/// transactions (at most [`BATCH`] people or [`crate::db::BATCH_TIME`]), with a pause between
/// them so that the requests' writes go first. A person is anonymised wholly, with their audit
/// row by the system, or not at all. Returns how many were anonymised.
pub fn anonymise_inactive(
    conn: &mut DbConn,
    config: &Config,
    current: NaiveDateTime,
) -> Result<usize, AppError> {
    let cutoff = retention_cutoff(config, current);
    let mut total = 0;
    let mut after = 0;
    loop {
        let candidates = inactive_people(conn, cutoff, Among::After(after), CANDIDATES)?;
        let Some(&(last, _)) = candidates.last() else {
            return Ok(total);
        };
        after = last;
        let mut rest = &candidates[..];
        while !rest.is_empty() {
            let started = Instant::now();
            let (taken, done) = crate::db::transaction(conn, |conn| {
                let (mut taken, mut done) = (0, 0);
                for &(id, organisation_id) in rest {
                    taken += 1;
                    // Checked again under the organisation's lock, which bookings take too: a
                    // person booked since the page was read is kept.
                    crate::db::lock_organisation(conn, organisation_id)?;
                    if !inactive_people(conn, cutoff, Among::Only(id), 1)?.is_empty()
                        && super::erasure::anonymise(
                            conn,
                            config,
                            None,
                            id,
                            organisation_id,
                            "anonymise",
                        )?
                    {
                        done += 1;
                    }
                    if taken >= BATCH || started.elapsed() >= crate::db::BATCH_TIME {
                        break;
                    }
                }
                Ok((taken, done))
            })?;
            total += done;
            rest = &rest[taken..];
            crate::db::pause(started.elapsed());
        }
        if (candidates.len() as i64) < CANDIDATES {
            return Ok(total);
        }
    }
}

/// Removes the address, subject, text and error of messages that went out (or were given up)
/// more than [`MESSAGE_RETENTION_DAYS`] ago: sent ones counted from sending, cancelled ones
/// from when they were written, failed ones from their last attempt. Kind, dates and status
/// stay for the statistics. Returns how many were purged (one audit row for them all).
pub fn purge_messages(conn: &mut DbConn, current: NaiveDateTime) -> Result<usize, AppError> {
    let cutoff = current - chrono::Duration::days(MESSAGE_RETENTION_DAYS);
    // The same rows, read a page at a time and then purged a page per short transaction.
    macro_rules! purgeable {
        ($query:expr) => {
            $query
                // Written literally so both databases use the partial index of unpurged rows.
                .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "messages.recipient <> ''",
                ))
                .filter(
                    messages::status
                        .eq(MessageStatus::Sent)
                        .and(messages::sent_at.lt(cutoff))
                        .or(messages::status
                            .eq(MessageStatus::Cancelled)
                            .and(messages::created_at.lt(cutoff)))
                        .or(messages::status
                            .eq(MessageStatus::Dead)
                            .and(messages::due_at.lt(cutoff))),
                )
        };
    }
    let mut purged = 0;
    let mut after = 0;
    loop {
        let ids: Vec<i32> = purgeable!(messages::table.filter(messages::id.gt(after)))
            .select(messages::id)
            .order(messages::id)
            .limit(PURGE_BATCH)
            .load(conn)?;
        let Some(&last) = ids.last() else { break };
        after = last;
        let started = Instant::now();
        purged += crate::db::transaction(conn, |conn| {
            Ok(
                diesel::update(purgeable!(messages::table.filter(messages::id.eq_any(&ids))))
                    .set((
                        messages::recipient.eq(""),
                        messages::subject.eq(None::<String>),
                        messages::body.eq(None::<String>),
                        messages::last_error.eq(None::<String>),
                    ))
                    .execute(conn)?,
            )
        })?;
        crate::db::pause(started.elapsed());
        if (ids.len() as i64) < PURGE_BATCH {
            break;
        }
    }
    if purged > 0 {
        crate::db::write(conn, |conn| {
            crate::audit::record(conn, None, "purge", "message", None, None)
        })?;
    }
    Ok(purged)
}

/// Runs the privacy job if it is due and this instance gets it; blocking. Its write
/// transactions go through the same writer as the requests', in short batches.
pub fn run_by<Q: Queue>(worker: &Worker<Q>) -> Result<Option<Report>, AppError> {
    worker
        .db()
        .blocking(|conn| run_if_due(conn, worker.config(), &worker.id))
}

/// Asks every few minutes whether the privacy job (retention, message purge) is due, and
/// runs it when this instance gets it; ends when `worker` is stopped.
pub async fn alongside<Q: Queue>(worker: Worker<Q>) {
    while !worker.is_stopping() {
        let job = worker.clone();
        let outcome = rocket::tokio::task::spawn_blocking(move || run_by(&job)).await;
        match outcome {
            Ok(Ok(Some(report))) => log::info!(
                "privacy job: {} people anonymised, {} messages purged",
                report.anonymised,
                report.messages_purged
            ),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => log::error!("privacy job: {}", e.detail()),
            Err(e) => log::error!("privacy job failed: {e}"),
        }
        let mut waited = Duration::ZERO;
        let step = Duration::from_millis(100);
        while waited < CHECK && !worker.is_stopping() {
            rocket::tokio::time::sleep(step).await;
            waited += step;
        }
    }
}

/// The reminder worker's rounds with the privacy job alongside, until the worker is stopped:
/// what `serve` and `passerelle worker` run.
pub async fn with_worker<Q: Queue>(worker: Worker<Q>) {
    worker.clone().run(alongside(worker)).await
}
