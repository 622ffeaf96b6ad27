//! `passerelle backup --to FILE` and `passerelle restore --from FILE`.
//!
//! SQLite: `VACUUM INTO` from a read transaction, so FILE is a consistent SQLite database of
//! one instant, taken while the server goes on writing (WAL: readers never block writers).
//! PostgreSQL: `pg_dump` in its custom format (one snapshot too), `pg_restore` back.
//! Either is written under a temporary name and renamed into place when complete, so a failed
//! or interrupted backup never leaves a truncated FILE behind.
//!
//! A restore goes only into a database that holds no data: a missing SQLite file, or a
//! database with no organisation, account or person (freshly migrated by a first start counts
//! as empty). Anything else is refused, never overwritten.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::db::{DatabaseUrl, Db};

/// The tables whose rows make a database "hold data" (the skills referential and other
/// defaults written at start do not).
const DATA_TABLES: [&str; 3] = ["organisations", "users", "people"];

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Writes a backup of the database to `to`, which must not exist yet. Returns its size.
pub fn backup(url: &DatabaseUrl, pg_bin_dir: Option<&Path>, to: &Path) -> Result<u64, String> {
    if to.exists() {
        return Err(format!(
            "{} existe déjà : choisissez un autre fichier (une sauvegarde n'en écrase jamais une autre)",
            to.display()
        ));
    }
    let partial = sibling(to, ".partial");
    let _ = std::fs::remove_file(&partial);
    let written = match url {
        DatabaseUrl::Sqlite(path) => sqlite_backup(path, &partial),
        DatabaseUrl::Postgres(url) => pg_backup(url, pg_bin_dir, &partial),
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, to)
        .map_err(|e| format!("impossible de nommer la sauvegarde {} : {e}", to.display()))?;
    std::fs::metadata(to)
        .map(|m| m.len())
        .map_err(|e| format!("{} : {e}", to.display()))
}

/// Restores `from` into the configured database, which must hold no data; then applies the
/// migrations the backup predates.
pub fn restore(url: &DatabaseUrl, pg_bin_dir: Option<&Path>, from: &Path) -> Result<(), String> {
    if !from.is_file() {
        return Err(format!("{} : fichier introuvable", from.display()));
    }
    match url {
        DatabaseUrl::Sqlite(path) => sqlite_restore(path, from)?,
        DatabaseUrl::Postgres(url) => pg_restore(url, pg_bin_dir, from)?,
    }
    let db = Db::connect(url, 1)?;
    db.migrate().map_err(|e| {
        format!(
            "base restaurée, mais ses migrations ont échoué : {}",
            e.detail()
        )
    })?;
    Ok(())
}

/// `path` with `suffix` added to its file name (`passerelle.db` → `passerelle.db-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn utf8(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("{} : chemin non UTF-8", path.display()))
}

fn open_sqlite(path: &Path) -> Result<SqliteConnection, String> {
    crate::db::sqlite_process_settings();
    let mut conn = SqliteConnection::establish(utf8(path)?)
        .map_err(|e| format!("impossible d'ouvrir {} : {e}", path.display()))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000;")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

fn sqlite_backup(db: &Path, to: &Path) -> Result<(), String> {
    if !db.is_file() {
        return Err(format!("la base {} n'existe pas", db.display()));
    }
    let mut conn = open_sqlite(db)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(utf8(to)?)
        .execute(&mut conn)
        .map_err(|e| format!("sauvegarde impossible : {e}"))?;
    Ok(())
}

fn sqlite_restore(db: &Path, from: &Path) -> Result<(), String> {
    if db.exists() {
        let mut conn = open_sqlite(db)?;
        refuse_if_holds_data(&mut conn, &db.display().to_string())?;
    }
    // The file must be a sound SQLite database that Passerelle wrote.
    let mut source = open_sqlite(from)?;
    let check = diesel::sql_query("PRAGMA integrity_check")
        .load::<IntegrityLine>(&mut source)
        .map_err(|_| format!("{} n'est pas une sauvegarde SQLite lisible", from.display()))?;
    if check.iter().map(|l| l.integrity_check.as_str()).ne(["ok"]) {
        return Err(format!(
            "{} est endommagé (PRAGMA integrity_check)",
            from.display()
        ));
    }
    if !source.table_exists("__diesel_schema_migrations")? {
        return Err(format!(
            "{} n'est pas une sauvegarde de Passerelle",
            from.display()
        ));
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{} : {e}", dir.display()))?;
    }
    let restoring = sibling(db, ".restoring");
    let _ = std::fs::remove_file(&restoring);
    let copied = diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(utf8(&restoring)?)
        .execute(&mut source)
        .map_err(|e| format!("restauration impossible : {e}"));
    drop(source);
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&restoring);
        return Err(e);
    }
    // The empty database's write-ahead log must not be replayed onto the restored file.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sibling(db, suffix));
    }
    std::fs::rename(&restoring, db).map_err(|e| format!("{} : {e}", db.display()))
}

#[derive(QueryableByName)]
struct IntegrityLine {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// Refuses a database with an organisation, an account or a person in it.
fn refuse_if_holds_data(conn: &mut impl DataCheck, name: &str) -> Result<(), String> {
    for table in DATA_TABLES {
        if conn.table_exists(table)? && conn.count(table)? > 0 {
            return Err(format!(
                "la base {name} contient déjà des données ({table}) : une restauration ne va que dans une base vide"
            ));
        }
    }
    Ok(())
}

trait DataCheck {
    fn table_exists(&mut self, table: &str) -> Result<bool, String>;
    fn count(&mut self, table: &str) -> Result<i64, String>;
}

impl DataCheck for SqliteConnection {
    fn table_exists(&mut self, table: &str) -> Result<bool, String> {
        diesel::sql_query(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
        )
        .bind::<Text, _>(table)
        .get_result::<Count>(self)
        .map(|c| c.n > 0)
        .map_err(|e| e.to_string())
    }

    fn count(&mut self, table: &str) -> Result<i64, String> {
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(self)
            .map(|c| c.n)
            .map_err(|e| e.to_string())
    }
}

impl DataCheck for PgConnection {
    fn table_exists(&mut self, table: &str) -> Result<bool, String> {
        diesel::sql_query(
            "SELECT COUNT(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1",
        )
        .bind::<Text, _>(table)
        .get_result::<Count>(self)
        .map(|c| c.n > 0)
        .map_err(|e| e.to_string())
    }

    fn count(&mut self, table: &str) -> Result<i64, String> {
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(self)
            .map(|c| c.n)
            .map_err(|e| e.to_string())
    }
}

/// A PostgreSQL URL without its password, and the password (for `PGPASSWORD`), so that it
/// never appears in the process list.
fn split_password(url: &str) -> Result<(String, Option<String>), String> {
    let mut parsed = url::Url::parse(url).map_err(|_| "database_url illisible".to_string())?;
    let password = parsed.password().map(|p| {
        url::form_urlencoded::parse(format!("p={p}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    });
    let _ = parsed.set_password(None);
    Ok((parsed.to_string(), password))
}

/// `pg_dump` or `pg_restore`: in `pg_bin_dir` when configured, else from the newest
/// `/usr/lib/postgresql/*/bin` (Debian), else on the `PATH`.
fn pg_tool(name: &str, pg_bin_dir: Option<&Path>) -> Result<PathBuf, String> {
    let missing = || {
        format!(
            "{name} est introuvable{} : installez le client PostgreSQL (paquet Debian postgresql-client, \
             de la version du serveur ou plus récente) ou indiquez son dossier dans pg_bin_dir",
            pg_bin_dir
                .map(|d| format!(" dans {}", d.display()))
                .unwrap_or_default()
        )
    };
    if let Some(dir) = pg_bin_dir {
        let path = dir.join(name);
        return path.is_file().then_some(path).ok_or_else(missing);
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let path = e.path().join("bin").join(name);
            path.is_file().then_some((version, path))
        })
        .collect();
    debian.sort();
    if let Some((_, path)) = debian.pop() {
        return Ok(path);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(missing)
}

fn run_pg_tool(mut command: Command, name: &str, password: Option<String>) -> Result<(), String> {
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let out = command
        .output()
        .map_err(|e| format!("{name} ne démarre pas : {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name} a échoué : {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn pg_backup(url: &str, pg_bin_dir: Option<&Path>, to: &Path) -> Result<(), String> {
    let pg_dump = pg_tool("pg_dump", pg_bin_dir)?;
    let (url, password) = split_password(url)?;
    let mut command = Command::new(pg_dump);
    command
        .args(["--format=custom", "--no-owner", "--no-acl", "--file"])
        .arg(to)
        .arg("--dbname")
        .arg(url);
    run_pg_tool(command, "pg_dump", password)
}

fn pg_restore(url: &str, pg_bin_dir: Option<&Path>, from: &Path) -> Result<(), String> {
    let pg_restore = pg_tool("pg_restore", pg_bin_dir)?;
    {
        let mut conn = PgConnection::establish(url)
            .map_err(|e| format!("impossible de joindre la base PostgreSQL : {e}"))?;
        refuse_if_holds_data(&mut conn, "PostgreSQL configurée")?;
    }
    let (url, password) = split_password(url)?;
    let mut command = Command::new(pg_restore);
    // --clean drops what a first start created (empty tables) before recreating it all; in one
    // transaction, so that a failed restore leaves the database as it was.
    command
        .args([
            "--no-owner",
            "--no-acl",
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
        ])
        .arg(url)
        .arg(from);
    run_pg_tool(command, "pg_restore", password)
}
