//! The booking locks: per mediator, per appointment and per person, taken in one fixed order,
//! under the organisation's lock held shared.
//!
//! SQLite's write transaction (`BEGIN IMMEDIATE`, see [`super::transaction`]) is exclusive
//! already: there every lock here is a no-op. On PostgreSQL, where several app instances share
//! the database, they are transaction-scoped advisory locks, released at commit or rollback
//! (and at the rollback of the savepoint that took them).
//!
//! **Order.** A transaction takes, in this order and never back: the organisation's lock
//! (shared, or exclusive for a "wide" transaction), then its [`BookingKey`]s sorted by
//! (kind, id): mediators, then appointments, then people. Two transactions waiting for each
//! other would each hold a key the other wants, which is impossible when both climb the same
//! ladder, so booking transactions never deadlock. A later batch ([`BookingLocks::then`]) must
//! sort after every key already held; one that would not (or that would lock more than
//! [`MAX_PERSON_KEYS`] people) is refused, and the caller starts again wide.
//!
//! **Wide.** The organisation's lock taken exclusively stands for every key of the
//! organisation (each mediator, appointment and person belongs to one): merges, anonymisation
//! and equipment changes take it with [`super::lock_organisation`], and a booking transaction
//! that would need too many person keys (a workshop of many people moved, a long waiting list
//! walked) runs wide rather than fill PostgreSQL's lock table.

use diesel::RunQueryDsl;

use super::DbConn;
use crate::error::AppError;

/// The first number of the organisation's advisory key (shared with [`super::lock_organisation`]).
pub(super) const ORGANISATION_CLASS: i32 = 7243912;
const MEDIATOR_CLASS: i32 = 7243915;
const APPOINTMENT_CLASS: i32 = 7243916;
const PERSON_CLASS: i32 = 7243917;

/// Beyond this many people, a booking transaction locks the whole organisation instead.
pub const MAX_PERSON_KEYS: usize = 32;

/// One lock of a booking transaction. The derived order (variant first, then id) is the order
/// in which they are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BookingKey {
    /// No one else places an appointment of this mediator meanwhile (no double booking).
    Mediator(i32),
    /// No one else changes this appointment's seats, status or time meanwhile (capacity,
    /// waiting-list order).
    Appointment(i32),
    /// No one else seats this person meanwhile (never in two overlapping appointments).
    Person(i32),
}

impl BookingKey {
    fn advisory(self) -> (i32, i32) {
        match self {
            BookingKey::Mediator(id) => (MEDIATOR_CLASS, id),
            BookingKey::Appointment(id) => (APPOINTMENT_CLASS, id),
            BookingKey::Person(id) => (PERSON_CLASS, id),
        }
    }
}

/// The locks a booking transaction holds.
#[derive(Debug)]
pub struct BookingLocks {
    /// The organisation's lock is held exclusively: every key is covered (and SQLite).
    wide: bool,
    /// The greatest key held.
    last: Option<BookingKey>,
    persons: usize,
}

impl BookingLocks {
    /// Takes the organisation's lock (exclusive when `wide`, else shared) and then `keys`,
    /// in one statement. Keys of more than [`MAX_PERSON_KEYS`] people are taken wide.
    pub fn take(
        conn: &mut DbConn,
        organisation_id: i32,
        wide: bool,
        keys: &[BookingKey],
    ) -> Result<BookingLocks, AppError> {
        if !matches!(conn, DbConn::Pg(_)) {
            return Ok(BookingLocks::exclusive());
        }
        let keys = sorted(keys);
        let wide = wide || persons(&keys) > MAX_PERSON_KEYS;
        let mut batch = vec![(ORGANISATION_CLASS, organisation_id, !wide)];
        if !wide {
            batch.extend(keys.iter().map(|k| {
                let (class, id) = k.advisory();
                (class, id, false)
            }));
        }
        advisory_batch(conn, &batch)?;
        Ok(BookingLocks {
            wide,
            last: if wide { None } else { keys.last().copied() },
            persons: if wide { 0 } else { persons(&keys) },
        })
    }

    /// Runs `f` in a write transaction that holds, from its start, what [`BookingLocks::take`]
    /// takes (not wide): on PostgreSQL the `BEGIN` and the locks go to the server in one round
    /// trip, one statement per lock in the fixed order. Inside a transaction already, the locks
    /// are taken in a savepoint as [`take`](BookingLocks::take) does; on SQLite this is
    /// [`super::transaction`].
    pub fn transaction<T>(
        conn: &mut DbConn,
        organisation_id: i32,
        keys: &[BookingKey],
        f: impl FnOnce(&mut DbConn, BookingLocks) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        use diesel::connection::{
            AnsiTransactionManager, Connection, SimpleConnection, TransactionManager,
        };
        let DbConn::Pg(pg) = conn else {
            return super::transaction(conn, |conn| f(conn, BookingLocks::exclusive()));
        };
        if AnsiTransactionManager::transaction_manager_status_mut(pg)
            .transaction_depth()?
            .is_some()
        {
            return super::transaction(conn, |conn| {
                let locks = BookingLocks::take(conn, organisation_id, false, keys)?;
                f(conn, locks)
            });
        }
        let keys = sorted(keys);
        let wide = persons(&keys) > MAX_PERSON_KEYS;
        // Integers only: nothing to escape. Simple statements, so that they run in order.
        let mut sql = String::from("BEGIN");
        for (class, id, shared) in std::iter::once((ORGANISATION_CLASS, organisation_id, !wide))
            .chain(keys.iter().filter(|_| !wide).map(|k| {
                let (class, id) = k.advisory();
                (class, id, false)
            }))
        {
            let function = if shared {
                "pg_advisory_xact_lock_shared"
            } else {
                "pg_advisory_xact_lock"
            };
            sql.push_str(&format!("; SELECT {function}({class}, {id})"));
        }
        if let Err(err) = AnsiTransactionManager::begin_transaction_sql(pg, &sql) {
            // The batch may have failed after its `BEGIN`: leave no transaction open on a
            // connection that Diesel believes outside of one.
            let _ = pg.batch_execute("ROLLBACK");
            return Err(err.into());
        }
        let locks = BookingLocks {
            wide,
            last: if wide { None } else { keys.last().copied() },
            persons: if wide { 0 } else { persons(&keys) },
        };
        match f(conn, locks) {
            Ok(value) => {
                <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
                Ok(value)
            }
            Err(err) => {
                <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
                Err(err)
            }
        }
    }

    /// SQLite: the write transaction is the lock.
    fn exclusive() -> BookingLocks {
        BookingLocks {
            wide: true,
            last: None,
            persons: 0,
        }
    }

    /// Whether the organisation's lock is held exclusively (every key covered).
    pub fn is_wide(&self) -> bool {
        self.wide
    }

    /// Takes more keys, which must all sort after those held; `false` (and nothing taken) when
    /// they do not or when they are too many people: the caller starts again wide.
    pub fn then(&mut self, conn: &mut DbConn, keys: &[BookingKey]) -> Result<bool, AppError> {
        if self.wide {
            return Ok(true);
        }
        let keys = sorted(keys);
        let Some(first) = keys.first() else {
            return Ok(true);
        };
        if self.last.is_some_and(|last| *first <= last)
            || self.persons + persons(&keys) > MAX_PERSON_KEYS
        {
            return Ok(false);
        }
        let batch: Vec<(i32, i32, bool)> = keys
            .iter()
            .map(|k| {
                let (class, id) = k.advisory();
                (class, id, false)
            })
            .collect();
        advisory_batch(conn, &batch)?;
        self.last = keys.last().copied();
        self.persons += persons(&keys);
        Ok(true)
    }
}

fn sorted(keys: &[BookingKey]) -> Vec<BookingKey> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn persons(keys: &[BookingKey]) -> usize {
    keys.iter()
        .filter(|k| matches!(k, BookingKey::Person(_)))
        .count()
}

/// Takes advisory locks `(class, id, shared)` one after the other, in the order given, in one
/// round trip: `unnest` yields the arrays' elements in order and each row's lock is taken when
/// the row is produced (a function scan, no sort in between).
fn advisory_batch(conn: &mut DbConn, batch: &[(i32, i32, bool)]) -> Result<(), AppError> {
    let DbConn::Pg(pg) = conn else {
        return Ok(());
    };
    use diesel::sql_types::{Array, Bool, Integer};
    let classes: Vec<i32> = batch.iter().map(|b| b.0).collect();
    let ids: Vec<i32> = batch.iter().map(|b| b.1).collect();
    let shared: Vec<bool> = batch.iter().map(|b| b.2).collect();
    diesel::sql_query(
        "SELECT CASE WHEN k.shared THEN pg_advisory_xact_lock_shared(k.class, k.id) \
         ELSE pg_advisory_xact_lock(k.class, k.id) END \
         FROM unnest($1::int4[], $2::int4[], $3::bool[]) AS k(class, id, shared)",
    )
    .bind::<Array<Integer>, _>(classes)
    .bind::<Array<Integer>, _>(ids)
    .bind::<Array<Bool>, _>(shared)
    .execute(pg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::BookingKey::*;
    use super::*;

    #[test]
    fn keys_sort_by_kind_then_id() {
        let keys = sorted(&[
            Person(1),
            Appointment(9),
            Mediator(50),
            Person(1),
            Mediator(3),
        ]);
        assert_eq!(keys, [Mediator(3), Mediator(50), Appointment(9), Person(1)]);
    }
}
