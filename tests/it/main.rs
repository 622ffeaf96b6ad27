//! One integration binary; every test runs on SQLite and on PostgreSQL.

mod harness;

mod mail;
mod smtp_tls;

mod accounts;
mod booking;
mod browser;
mod equipment;
mod funder;
mod fuzz;
mod hardening;
mod import;
mod matrix;
mod merge;
mod people;
mod platform;
mod privacy;
mod reports;
mod skills;
mod xss;
