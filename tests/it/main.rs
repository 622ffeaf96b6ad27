//! One integration binary; every test runs on SQLite and on PostgreSQL.

mod harness;
mod kannel;

mod mail;
mod smtp_tls;

mod accounts;
mod booking;
mod browser;
mod contract;
mod equipment;
mod fuzz;
mod hardening;
mod matrix;
mod people;
mod platform;
mod privacy;
mod reads;
mod reports;
mod skills;
mod sms;
mod xss;
