//! One integration binary; every test runs on SQLite and on PostgreSQL.

mod harness;

mod accounts;
mod booking;
mod people;
mod platform;
