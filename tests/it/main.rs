//! One integration binary; every test runs on SQLite and on PostgreSQL.

mod harness;

mod mail;
mod smtp_tls;

mod accounts;
mod api_clients;
mod booking;
mod browser;
mod equipment;
mod fuzz;
mod hardening;
mod matrix;
mod ops;
mod people;
mod platform;
mod privacy;
mod reports;
mod skills;
mod webhooks;
mod xss;
