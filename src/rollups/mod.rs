//! The roll-ups the reports read (`activity_days`, `topic_days`, `served_days` and their
//! months; `skill_progress`, `domain_progress` and the skills' months), kept in step with their
//! sources. They sit below every capability that writes a source: the writer calls them in its
//! own transaction (an appointment's day with [`mark`] or [`refresh_activity`], a person's
//! skills with [`refresh_skills`]); [`rebuild`] recomputes everything with the same functions
//! (at first start after the upgrade that added them, and after `passerelle demo`).
//! `crate::reports` only reads them.

mod activity;
mod months;
mod progress;
mod rebuild;
pub mod skill_months;

pub use activity::{flush, key_of, mark, pg_mark_member, refresh_activity, Counts, DayKey};
pub use months::{date_literal, month_end, month_start};
pub use progress::{progress, refresh_skills, Observation, Progress};
pub use rebuild::{rebuild, rebuild_if_missing};

/// The top level of the skills referential: a skill assessed at it is mastered (autonomous).
pub const TOP_LEVEL: i32 = 3;
