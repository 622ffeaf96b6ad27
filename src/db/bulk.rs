//! Many rows at once, for the demo generator, the rebuild of report aggregates and the imports.
//!
//! Diesel's `MultiConnection` has no multi-row insert, so rows are written either as SQL text: a
//! `VALUES (…), (…)` list built only from typed values (integers, dates, times, and strings
//! quoted by [`text`]), never from raw user input; or, when the new rows' ids are needed, with
//! each backend's own multi-row insert ([`insert_returning_ids`]), its values bound.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;

use super::DbConn;
use crate::error::AppError;

/// Rows per statement: large enough to amortise parsing, small enough for any backend's limits
/// (of bound values too, below 30 columns a row).
pub const ROWS_PER_STATEMENT: usize = 500;

pub struct BulkInsert {
    head: String,
    tail: &'static str,
    rows: Vec<String>,
    auto_flush: bool,
    pub written: u64,
}

impl BulkInsert {
    pub fn new(table: &str, columns: &[&str]) -> Self {
        BulkInsert {
            head: format!("INSERT INTO {table} ({}) VALUES ", columns.join(", ")),
            tail: "",
            rows: Vec::with_capacity(ROWS_PER_STATEMENT),
            auto_flush: true,
            written: 0,
        }
    }

    /// Rows wait for an explicit [`flush`](Self::flush): the caller orders the tables so that
    /// every row's references are written before it.
    pub fn deferred(table: &str, columns: &[&str]) -> Self {
        BulkInsert {
            auto_flush: false,
            ..BulkInsert::new(table, columns)
        }
    }

    /// A row whose key is already stored is left out (both backends' `ON CONFLICT DO NOTHING`):
    /// for roll-ups written in several passes that may meet the same key.
    pub fn ignoring_duplicates(self) -> Self {
        BulkInsert {
            tail: " ON CONFLICT DO NOTHING",
            ..self
        }
    }

    /// Adds one row, given as its SQL values (see the helpers below), flushing when full.
    pub fn push(&mut self, conn: &mut DbConn, values: &[String]) -> Result<(), AppError> {
        self.rows.push(format!("({})", values.join(",")));
        if self.auto_flush && self.rows.len() >= ROWS_PER_STATEMENT {
            self.flush(conn)?;
        }
        Ok(())
    }

    pub fn flush(&mut self, conn: &mut DbConn) -> Result<(), AppError> {
        for chunk in self.rows.chunks(ROWS_PER_STATEMENT) {
            let mut sql = String::with_capacity(self.head.len() + chunk.len() * 64);
            sql.push_str(&self.head);
            sql.push_str(&chunk.join(","));
            sql.push_str(self.tail);
            conn.batch_execute(&sql)?;
            self.written += chunk.len() as u64;
        }
        self.rows.clear();
        Ok(())
    }
}

/// `INSERT INTO $table … VALUES (…), (…) RETURNING $id` of `$rows` (a `Vec` of Diesel
/// insertable tuples, at most [`ROWS_PER_STATEMENT`]) on the backend's own connection, in the
/// caller's transaction: the new ids in the rows' order. One statement numbers its rows in
/// order on both databases; `RETURNING` need not list them in that order, so they are sorted.
macro_rules! insert_returning_ids {
    ($conn:expr, $table:expr, $rows:expr, $id:expr) => {
        $crate::db::per_backend!($conn, |c| {
            diesel::insert_into($table)
                .values($rows)
                .returning($id)
                .get_results::<i32>(c)
        })
        .map(|mut ids: Vec<i32>| {
            ids.sort_unstable();
            ids
        })
    };
}
pub(crate) use insert_returning_ids;

pub fn int(v: i64) -> String {
    v.to_string()
}

pub fn opt_int(v: Option<i64>) -> String {
    v.map_or_else(|| "NULL".into(), |v| v.to_string())
}

pub fn boolean(v: bool) -> String {
    if v { "TRUE" } else { "FALSE" }.into()
}

/// A timestamp as both backends store and compare it.
pub fn time(v: NaiveDateTime) -> String {
    format!("'{}'", v.format("%Y-%m-%d %H:%M:%S"))
}

pub fn opt_time(v: Option<NaiveDateTime>) -> String {
    v.map_or_else(|| "NULL".into(), time)
}

pub fn date(v: NaiveDate) -> String {
    format!("'{}'", v.format("%Y-%m-%d"))
}

pub fn opt_date(v: Option<NaiveDate>) -> String {
    v.map_or_else(|| "NULL".into(), date)
}

/// A string literal; quotes are doubled and NUL, which neither backend stores, is dropped.
pub fn text(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\0' => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

pub fn opt_text(v: Option<&str>) -> String {
    v.map_or_else(|| "NULL".into(), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_literals_cannot_break_out() {
        assert_eq!(text("l'été"), "'l''été'");
        assert_eq!(
            text("'); DROP TABLE people; --"),
            "'''); DROP TABLE people; --'"
        );
        assert_eq!(text("a\0b"), "'ab'");
    }
}
