//! Privacy: what a person's rights and the retention rules ask of the data, across every
//! capability. Erasure and anonymisation ([`erase`]), the export of everything held on a
//! person (right of access) and the periodic retention job sit here, on top: they call people,
//! booking, mail, referrals, skills and equipment, and none of those calls them.

pub mod api;
pub mod erasure;
pub mod export;
pub mod retention;
pub mod web;

pub use erasure::erase;
pub use retention::{
    alongside, run, run_by, run_if_due, with_worker, Report, INTERVAL, MESSAGE_RETENTION_DAYS,
};
