//! Month and date helpers of the roll-ups.

use chrono::{Datelike, NaiveDate};

use crate::db::bulk;
use crate::db::DbConn;

/// A date literal of the connection's backend.
pub fn date_literal(conn: &DbConn, day: NaiveDate) -> String {
    match conn {
        DbConn::Sqlite(_) => bulk::date(day),
        DbConn::Pg(_) => format!("DATE {}", bulk::date(day)),
    }
}

pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("the first exists")
}

pub fn month_end(day: NaiveDate) -> NaiveDate {
    (month_start(day) + chrono::Months::new(1))
        .pred_opt()
        .expect("a day before")
}
