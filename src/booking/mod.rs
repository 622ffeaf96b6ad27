//! Booking: services (kinds of appointment), opening hours, absences, free slots, individual
//! sessions and workshops, never double-booked.
//!
//! Every change is one service function owning its transaction. On SQLite the write
//! transaction (`BEGIN IMMEDIATE`) already serialises writers; on PostgreSQL, where several app
//! instances share the database, each booking transaction first takes a transaction-scoped
//! advisory lock on the organisation, so the check-then-insert of an invariant cannot interleave.

pub mod agenda;
pub mod api;
pub mod availability;
pub mod calendar;
pub mod card;
pub mod ics;
pub mod merge;
pub mod model;
pub mod service;
pub mod sharing;
pub mod slots;
pub mod web;

pub use model::*;
