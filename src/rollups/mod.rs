//! The roll-ups the reports read (`activity_days`, `topic_days`, `served_days`, `served_people`
//! and their months; `skill_progress`, `domain_progress`, `equipped_progress` and the skills'
//! months), kept in step with their sources. They sit below every capability that writes a
//! source: the writer says what happened, in its own transaction, with one of [`events`]'
//! functions (an appointment changed, a person's skills, programmes or devices changed);
//! [`rebuild`] recomputes everything with the same functions (at first start after the upgrade that added them, and after
//! `passerelle demo`).
//! `crate::reports` only reads them (after [`flush`]).

mod activity;
mod equipped;
pub mod events;
mod months;
mod progress;
mod rebuild;
mod skill_months;

use activity::mark;
pub use activity::{flush, pg_mark_member};
pub use events::{appointment_changed, equipment_changed, programmes_changed, skills_changed};
pub use months::{date_literal, month_end, month_start};
use progress::refresh_skills;
pub use rebuild::{rebuild, rebuild_if_missing};

/// The top level of the skills referential: a skill assessed at it is mastered (autonomous).
pub const TOP_LEVEL: i32 = 3;
