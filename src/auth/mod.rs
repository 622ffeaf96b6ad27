//! Staff accounts: roles, passwords (argon2id), browser sessions, API tokens, guards, and the
//! CSRF check of the forms.

pub mod api;
pub mod csrf;
pub mod guard;
pub mod identity;
pub mod model;
pub mod secret;
pub mod service;
pub mod web;

pub use guard::{ApiAuth, ApiUser, AuthUser, BearerToken};
pub use identity::{Role, StaffUser, WebUser, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE};
pub use secret::{constant_time_eq, hash_password, hash_token, random_token, verify_password};
