//! Who is signed in: roles, the staff member, the browser session's user, the cookies' names.
//! The lowest part of `auth`: what the layers below the capabilities may know of a user.

use serde::Serialize;

use crate::error::AppError;

pub const SESSION_COOKIE: &str = "passerelle_session";
/// Double-submit cookie protecting the forms shown before a session exists (login, setup).
pub const PRE_SESSION_CSRF_COOKIE: &str = "passerelle_csrf";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Mediator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Mediator => "mediator",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "manager" => Some(Role::Manager),
            "mediator" => Some(Role::Mediator),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "administrateur·rice",
            Role::Manager => "coordinateur·rice",
            Role::Mediator => "médiateur·rice",
        }
    }
}

/// The signed-in staff member, whichever way they authenticated.
#[derive(Clone, Debug, Serialize)]
pub struct StaffUser {
    pub id: i32,
    pub organisation_id: i32,
    pub email: String,
    pub name: String,
    pub role: Role,
}

impl StaffUser {
    /// `None` for admins (who see every organisation), otherwise the user's organisation.
    pub fn scope(&self) -> Option<i32> {
        match self.role {
            Role::Admin => None,
            _ => Some(self.organisation_id),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn require(&self, allowed: &[Role]) -> Result<(), AppError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }

    /// The organisation a new record goes to: the user's own, or for admins the one asked for.
    pub fn target_organisation(&self, asked: Option<i32>) -> Result<i32, AppError> {
        match (self.role, asked) {
            (Role::Admin, Some(id)) => Ok(id),
            (Role::Admin, None) => Ok(self.organisation_id),
            (_, Some(id)) if id != self.organisation_id => Err(AppError::forbidden()),
            _ => Ok(self.organisation_id),
        }
    }

    /// Whether a record of `organisation_id` is visible to this user.
    pub fn can_see(&self, organisation_id: i32) -> bool {
        self.is_admin() || self.organisation_id == organisation_id
    }
}

/// A user authenticated by the browser session cookie, with the session's CSRF token.
#[derive(Clone, Debug)]
pub struct WebUser {
    pub user: StaffUser,
    pub csrf_token: String,
    pub session_id: i32,
    /// The menu item the requested page belongs to (`web::menu_section`), marked in the menu.
    pub section: &'static str,
}
