//! One integration binary; every test runs on SQLite and on PostgreSQL.

mod fixtures;
mod harness;
mod kannel;
#[path = "../support/smtp_sink.rs"]
mod smtp_sink;

mod handovers_mail;
mod mail;
mod outbox;
mod smtp_tls;

mod accounts;
mod api_clients;
mod background;
mod booking;
mod browser;
mod bursts;
mod contract;
mod daily;
mod delivery;
mod equipment;
mod forms;
mod funder;
mod fuzz;
mod hardening;
mod import;
mod languages;
mod layers;
mod matrix;
mod merge;
mod national;
mod ops;
mod people;
mod platform;
mod privacy;
mod public;
mod reads;
mod reports;
mod reschedule;
mod sheets;
mod skills;
mod sms;
mod webhooks;
mod xss;
