//! Booking: services (kinds of appointment), opening hours, absences, free slots, individual
//! sessions and workshops, never double-booked.
//!
//! Every change is one service function owning its transaction. On SQLite the write
//! transaction (`BEGIN IMMEDIATE`) already serialises writers; on PostgreSQL, where several app
//! instances share the database, each booking transaction first takes transaction-scoped
//! advisory locks on the mediator, the appointment and the people it concerns, in a fixed order
//! (`crate::db::locks`), so the check-then-write of an invariant cannot interleave while
//! bookings of different mediators run side by side (`service` says which lock covers which
//! invariant).

pub mod agenda;
pub mod api;
pub mod availability;
pub mod calendar;
pub mod cancel;
pub mod card;
pub mod checks;
pub mod enrol;
pub mod history;
pub mod ics;
pub mod insert;
pub mod merge;
pub mod model;
pub mod new;
pub mod notify;
pub mod participation;
pub mod service;
pub mod services_web;
pub mod sharing;
pub mod slots;
pub mod web;
pub mod withdraw;

pub use model::*;
