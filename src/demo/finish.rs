//! The demo's last steps, once every row is written: PostgreSQL's sequences moved past the
//! explicit ids, the report aggregates rebuilt, and fresh statistics for the planner.

use chrono_tz::Tz;
use diesel::connection::SimpleConnection;

use crate::db::DbConn;
use crate::error::AppError;

/// The tables the demo writes with explicit ids.
const TABLES: [&str; 14] = [
    "organisations",
    "programmes",
    "users",
    "places",
    "services",
    "opening_hours",
    "people",
    "appointments",
    "participants",
    "session_logs",
    "assessments",
    "equipment",
    "assignments",
    "equipment_events",
];

/// Moves the sequences, rebuilds the aggregates and analyses the database.
pub(super) fn finish(
    conn: &mut DbConn,
    tz: &Tz,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<(), AppError> {
    if let DbConn::Pg(_) = conn {
        for table in TABLES {
            conn.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            ))?;
        }
    }
    crate::rollups::rebuild(conn, tz, |done, total| {
        progress("agrégats des rapports", done, total)
    })?;
    // Fresh statistics for the planner; on PostgreSQL also the visibility map, so that the
    // covering indexes the reports read are scanned without visiting the table.
    conn.batch_execute(match conn {
        DbConn::Sqlite(_) => "ANALYZE",
        DbConn::Pg(_) => "VACUUM ANALYZE",
    })?;
    progress("statistiques de la base", 1, 1);
    Ok(())
}
