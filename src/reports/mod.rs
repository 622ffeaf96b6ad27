//! What managers and funders ask: skills progress, activity and equipment, by period,
//! programme, place, mediator (and organisation, for admins). Reports read the aggregates of
//! [`crate::rollups`], so they stay fast on a département's data.
//!
//! SQL here is assembled from typed values only (integers, dates, times); see [`Where`].

pub mod api;
pub mod breakdowns;
pub mod charts;
pub mod web;

mod activity;
mod equipment;
mod filters;
mod skills;

pub use activity::*;
pub use equipment::*;
pub use filters::*;
pub use skills::*;
