//! One code base over SQLite (embedded, the default) and PostgreSQL (several app instances on
//! one database). The backend is chosen from the scheme of `database_url`.

pub mod bulk;
pub mod locks;
pub mod schema;

pub use locks::{BookingKey, BookingLocks};

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, Connection, SimpleConnection, TransactionManager,
};
use diesel::r2d2::{self, ManageConnection, Pool, R2D2Connection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `database_url`.
#[derive(Clone, Debug)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("database_url: `sqlite://` needs a file path".into());
            }
            Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else {
            Err(format!(
                "database_url must start with sqlite:// or postgres:// (got `{}`)",
                url.split(':').next().unwrap_or_default()
            ))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Opens connections of the backend the URL names (the derived `establish` would try each
/// backend in turn, and SQLite accepts any string as a file name).
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                        "non UTF-8 SQLite path".into(),
                    ))
                })?;
                sqlite_process_settings();
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA mmap_size = 268435456; PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConn::Pg)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    /// Checks a connection as it leaves the pool, with a round trip (`SELECT 1`) only while a
    /// lost connection is suspected (see [`crate::error::lost::connection_lost`]): every
    /// request would otherwise pay for a check that almost never fails.
    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        if crate::error::lost::suspecting() {
            conn.ping().map_err(r2d2::Error::QueryError)
        } else {
            Ok(())
        }
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken() || crate::error::lost::take()
    }
}

/// SQLite's process-wide settings, made once before its first connection (later they would be
/// refused, and SQLite keeps its defaults):
/// - multi-thread mode: a connection is never used by two threads at once (Diesel's are not
///   `Sync`; the pool lends each to one thread, the writer is behind a mutex), so SQLite need
///   not lock its connection mutex around every call: that lock and unlock were a tenth of an
///   export's CPU time (one per column value read);
/// - no memory statistics (nothing reads them), which take a global mutex at each allocation.
pub fn sqlite_process_settings() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: called before any connection is opened by this code; should SQLite already be
        // initialised, both calls only answer SQLITE_MISUSE and change nothing.
        unsafe {
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD);
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            );
        }
    });
}

/// The memory map of each SQLite connection (exports turn it off while they read).
pub const SQLITE_MMAP_SIZE: i64 = 268_435_456;

/// The connection pool, shared by the web server, the command line and the worker.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    /// SQLite: the one connection that the server's write transactions run on (see
    /// [`transaction`]).
    writer: Option<Arc<Writer>>,
}

/// SQLite's writer connection, and how to open it again should it break.
struct Writer {
    manager: Manager,
    conn: Mutex<DbConn>,
}

thread_local! {
    /// The writer connection of the [`Db`] whose [`Db::run`] this thread is running.
    static WRITER: RefCell<Option<Arc<Writer>>> = const { RefCell::new(None) };
}

/// Sets [`WRITER`] for the life of the guard.
struct WriterScope(Option<Arc<Writer>>);

impl WriterScope {
    fn enter(writer: Option<Arc<Writer>>) -> WriterScope {
        WriterScope(WRITER.with(|w| w.replace(writer)))
    }
}

impl Drop for WriterScope {
    fn drop(&mut self) {
        WRITER.with(|w| *w.borrow_mut() = self.0.take());
    }
}

impl Db {
    /// Opens the pool (creating the SQLite file and its folder when missing).
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Db, String> {
        if let DatabaseUrl::Sqlite(path) = url {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
        }
        let manager = Manager { url: url.clone() };
        let writer = match url {
            DatabaseUrl::Sqlite(_) => Some(Arc::new(Writer {
                conn: Mutex::new(
                    manager
                        .connect()
                        .map_err(|e| format!("cannot open the database: {e}"))?,
                ),
                manager: Manager { url: url.clone() },
            })),
            DatabaseUrl::Postgres(_) => None,
        };
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(15))
            .build(manager)
            .map_err(|e| format!("cannot open the database: {e}"))?;
        Ok(Db {
            pool,
            backend: url.backend(),
            writer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool's open connections, idle ones among them, and its size (for the metrics).
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let state = self.pool.state();
        (
            state.connections,
            state.idle_connections,
            self.pool.max_size(),
        )
    }

    /// A connection for blocking code (command line, worker threads, tests).
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, AppError> {
        self.pool
            .get()
            .map_err(|e| AppError::Unavailable(e.to_string()))
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, off the async executor.
    /// Inside a request [`scope`], the request's [`Prelude`] (the API token's check) runs first
    /// on the same connection, in the same blocking task: one hop per request.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let writer = self.writer.clone();
        let prelude = REQUEST
            .try_with(|scope| scope.prelude.get().cloned())
            .ok()
            .flatten();
        rocket::tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .map_err(|e| AppError::Unavailable(e.to_string()))?;
            let _writer = WriterScope::enter(writer);
            if let Some(prelude) = prelude {
                if let Err(err) = prelude.before(&mut conn) {
                    if !crate::error::lost::is_lost() {
                        return Err(err);
                    }
                    // The connection was lost before anything of the request ran (the server
                    // restarted since it was last used): once more on another, checked one.
                    drop(conn);
                    conn = pool
                        .get()
                        .map_err(|e| AppError::Unavailable(e.to_string()))?;
                    prelude.before(&mut conn)?;
                }
            }
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::Internal(format!("database task failed: {e}")))?
    }

    /// Runs blocking `f` (a worker, a background job) on a pooled connection, its write
    /// transactions on the same writer as the requests' (SQLite), queued with them.
    pub fn blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.get()?;
        let _writer = WriterScope::enter(self.writer.clone());
        f(&mut conn)
    }

    /// Applies pending migrations. On PostgreSQL an advisory lock keeps two instances
    /// starting together from racing.
    pub fn migrate(&self) -> Result<usize, AppError> {
        let mut conn = self.get()?;
        let applied = match &mut *conn {
            DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
            DbConn::Pg(c) => {
                c.batch_execute("SELECT pg_advisory_lock(7243911)")?;
                let result = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.len());
                c.batch_execute("SELECT pg_advisory_unlock(7243911)")?;
                result
            }
        };
        applied.map_err(|e| AppError::Internal(format!("migration failed: {e}")))
    }
}

/// Work that must precede a request's first database call, on its connection (the API
/// token's check, deferred by its guard into the handler's own [`Db::run`]).
pub trait Prelude: Send + Sync + 'static {
    /// Runs before `f` in every [`Db::run`] of the request; fails the call when it fails.
    fn before(&self, conn: &mut DbConn) -> Result<(), AppError>;
    fn as_any(&self) -> &dyn std::any::Any;
}

/// What the database layer knows of the request being served.
#[derive(Default)]
pub struct RequestScope {
    prelude: std::sync::OnceLock<Arc<dyn Prelude>>,
}

impl RequestScope {
    pub fn prelude(&self) -> Option<&Arc<dyn Prelude>> {
        self.prelude.get()
    }
}

rocket::tokio::task_local! {
    static REQUEST: Arc<RequestScope>;
}

/// Runs a request's handler with a [`RequestScope`] that its guards and [`Db::run`] share.
pub async fn scope<F: std::future::Future>(scope: Arc<RequestScope>, f: F) -> F::Output {
    REQUEST.scope(scope, f).await
}

/// Sets the prelude of the current request; `false` outside a [`scope`] (or when one is set
/// already), where the caller must do the work itself.
pub fn set_prelude(prelude: Arc<dyn Prelude>) -> bool {
    REQUEST
        .try_with(|scope| scope.prelude.set(prelude).is_ok())
        .unwrap_or(false)
}

/// The in-process queue of SQLite write transactions.
static SQLITE_WRITER: Mutex<()> = Mutex::new(());

/// Runs `$body` with `$c` bound to the backend's own connection, for what [`DbConn`] does not
/// do for both at once: multi-row inserts (`insert_into(t).values(&rows)`).
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Pg($c) => $body,
        }
    };
}
pub(crate) use per_backend;

/// Runs `f` in a write transaction. SQLite starts it with `BEGIN IMMEDIATE`, so that two
/// writers queue on the busy timeout instead of failing when a read lock is upgraded.
///
/// On SQLite, the transactions of [`Db::run`] all run on one connection kept for writing,
/// whatever connection the caller holds: its page cache and prepared statements stay warm
/// (a connection that another one wrote behind must read its pages again), and the write lock
/// never travels between connections. `f` must therefore use the connection it is given, not
/// one it captured.
pub fn transaction<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    let outermost = AnsiTransactionManager::transaction_manager_status_mut(match conn {
        DbConn::Sqlite(c) => c,
        DbConn::Pg(_) => return conn.transaction(f),
    })
    .transaction_depth()
    .map_err(AppError::from)?
    .is_none();
    if !outermost {
        return conn.transaction(f);
    }
    match WRITER.with(|w| w.borrow().clone()) {
        Some(writer) => {
            let mut conn = writer.conn.lock().unwrap_or_else(|e| e.into_inner());
            // Writers of this process queue here rather than in SQLite's busy handler, which
            // sleeps in steps of up to 100 ms. (Other processes on the same file still meet
            // the busy timeout.)
            let _queue = SQLITE_WRITER.lock().unwrap_or_else(|e| e.into_inner());
            // A connection left in a transaction by a panic, or whose rollback failed, is not
            // used again: the next writer opens another.
            if R2D2Connection::is_broken(&mut *conn) {
                *conn = writer
                    .manager
                    .connect()
                    .map_err(|e| AppError::Unavailable(e.to_string()))?;
            }
            immediate(&mut conn, f)
        }
        None => {
            let _queue = SQLITE_WRITER.lock().unwrap_or_else(|e| e.into_inner());
            immediate(conn, f)
        }
    }
}

/// Runs a short write `f`: inside the caller's transaction when there is one, else (SQLite)
/// in a transaction of its own on the writer, queued with the others. A write in autocommit on
/// a reader connection would wait in SQLite's busy handler instead, which polls and may miss
/// every gap between queued writers until its timeout ("database is locked").
pub fn write<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    let outside = match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()
            .map_err(AppError::from)?
            .is_none(),
        DbConn::Pg(_) => false,
    };
    if outside {
        transaction(conn, f)
    } else {
        f(conn)
    }
}

/// How long a background job's write transaction may run before it commits and lets the
/// requests' writes in (see [`pause`]).
pub const BATCH_TIME: Duration = Duration::from_millis(20);

/// What a background job does between two write transactions of a batch that took `took`:
/// it sleeps a little, so that the requests queued for the writer (woken when the job let it
/// go) take it before the job's next batch; the job keeps about two thirds of the writer's
/// time when nobody else wants it.
pub fn pause(took: Duration) {
    std::thread::sleep((took / 2).clamp(Duration::from_millis(2), BATCH_TIME));
}

/// `BEGIN IMMEDIATE`, `f`, then commit, or roll back when `f` fails. (A panic leaves the
/// transaction open: the pool drops such a connection, and the writer is opened again.)
fn immediate<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    let DbConn::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    match f(conn) {
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

/// The current time, UTC, to the second, as stored in the database.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    chrono::Timelike::with_nanosecond(&now, 0).unwrap_or(now)
}

/// Holds off every booking write of one organisation until the transaction ends (merges,
/// anonymisation, equipment). SQLite's write transaction is already exclusive; PostgreSQL takes
/// a transaction-scoped advisory lock, which holds across every app instance on the database:
/// the one that booking transactions hold shared beside their own keys ([`locks`]).
pub fn lock_organisation(conn: &mut DbConn, organisation_id: i32) -> Result<(), AppError> {
    if let DbConn::Pg(pg) = conn {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind::<diesel::sql_types::Integer, _>(locks::ORGANISATION_CLASS)
            .bind::<diesel::sql_types::Integer, _>(organisation_id)
            .execute(pg)?;
    }
    Ok(())
}

/// A transaction-scoped lock on an application-wide key (PostgreSQL; SQLite's write
/// transaction is exclusive already).
pub fn lock_key(conn: &mut DbConn, key: i32) -> Result<(), AppError> {
    advisory_lock(conn, "pg_advisory_xact_lock", key)
}

/// As [`lock_key`], shared: holders of the shared lock run together, and wait for (or keep
/// out) the one holding it alone.
pub fn lock_key_shared(conn: &mut DbConn, key: i32) -> Result<(), AppError> {
    advisory_lock(conn, "pg_advisory_xact_lock_shared", key)
}

fn advisory_lock(conn: &mut DbConn, function: &str, key: i32) -> Result<(), AppError> {
    if let DbConn::Pg(pg) = conn {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("SELECT {function}(7243900, $1)"))
            .bind::<diesel::sql_types::Integer, _>(key)
            .execute(pg)?;
    }
    Ok(())
}
