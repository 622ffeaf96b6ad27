//! Booking without an account: the organisation's public pages (`/rdv/{slug}`), the referrer's
//! page (`/rdv/{slug}/orienter`) and the same for portals in JSON (`/api/v1/public/{slug}/…`).
//! Everything goes through the booking service (same rules, same messages, never
//! double-booked); people are matched or created silently by the people capability; referral
//! requests are written by the referrals capability.

pub mod api;
mod schemas;
pub mod service;
pub mod throttle;
pub mod web;
