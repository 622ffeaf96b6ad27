//! Staff accounts: roles, passwords (argon2id), browser sessions, API tokens, guards.

pub mod api;
pub mod model;
pub mod service;
pub mod web;

use base64::Engine;
use rand::RngCore;
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};

use crate::db::{Db, DbConn};
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

/// A user authenticated by `Authorization: Bearer TOKEN` (the JSON API never takes the cookie).
///
/// Inside the API's request scope (see [`crate::web::api::one_hop`]) the guard only reads the
/// header: the token is checked by the handler's first [`Db::run`], on its connection and in
/// its blocking task, before the handler's work. A handler that reads the user before that
/// gets it checked on the spot; with a bad token every answer of the request is a 401.
pub struct ApiUser(pub AuthUser);

/// The user of an API token, checked at the latest when first read.
#[derive(Clone)]
pub struct AuthUser(Arc<ApiAuth>);

/// A Bearer token to check (a staff member's, or an API client's for this method and path),
/// and once checked what it gave.
pub struct ApiAuth {
    hash: String,
    method: rocket::http::Method,
    path: String,
    today: chrono::NaiveDate,
    db: Db,
    user: OnceLock<Checked>,
}

/// What a token check gave: a user, no valid token, or a client token outside its scopes.
enum Checked {
    User(StaffUser),
    Refused,
    Forbidden(String),
}

/// Stands for the user of a refused token while a handler finishes (its answer is then
/// replaced by the 401): it sees no organisation and may do nothing.
static NOBODY: StaffUser = StaffUser {
    id: 0,
    organisation_id: 0,
    email: String::new(),
    name: String::new(),
    role: Role::Mediator,
};

impl ApiAuth {
    fn refused() -> AppError {
        AppError::Unauthorized("Jeton d'accès invalide, expiré ou révoqué.".into())
    }

    /// Reads the token: a staff member's, else an API client's.
    fn lookup(&self, conn: &mut DbConn) -> Result<Checked, AppError> {
        Self::lookup_token(conn, &self.hash, self.method, &self.path, self.today)
    }

    fn lookup_token(
        conn: &mut DbConn,
        hash: &str,
        method: rocket::http::Method,
        path: &str,
        today: chrono::NaiveDate,
    ) -> Result<Checked, AppError> {
        let found = match model::user_for_api_token(conn, hash)? {
            Some(user) => Ok(Some(user)),
            None => crate::api_clients::authenticate(conn, hash, method, path, today),
        };
        match found {
            Ok(Some(user)) => Ok(Checked::User(user)),
            Ok(None) => Ok(Checked::Refused),
            Err(AppError::Forbidden(message)) => Ok(Checked::Forbidden(message)),
            Err(e) => Err(e),
        }
    }

    fn outcome(&self) -> Option<Result<&StaffUser, AppError>> {
        self.user.get().map(|checked| match checked {
            Checked::User(user) => Ok(user),
            Checked::Refused => Err(Self::refused()),
            Checked::Forbidden(message) => Err(AppError::Forbidden(message.clone())),
        })
    }

    /// Checks the token on `conn`, once.
    pub fn check(&self, conn: &mut DbConn) -> Result<&StaffUser, AppError> {
        if self.user.get().is_none() {
            let found = self.lookup(conn)?;
            let _ = self.user.set(found);
        }
        self.outcome().unwrap_or_else(|| Err(Self::refused()))
    }

    /// `None` when not checked yet; else whether the token was accepted (the refusal if not).
    pub fn refusal(&self) -> Option<Result<(), AppError>> {
        self.outcome().map(|r| r.map(|_| ()))
    }

    /// Checks the token from async code (its own hop), once.
    pub async fn check_now(&self) -> Result<(), AppError> {
        if self.user.get().is_none() {
            let (hash, method, path, today) = (
                self.hash.clone(),
                self.method,
                self.path.clone(),
                self.today,
            );
            let found = self
                .db
                .run(move |conn| Self::lookup_token(conn, &hash, method, &path, today))
                .await?;
            let _ = self.user.set(found);
        }
        self.refusal().unwrap_or_else(|| Err(Self::refused()))
    }
}

impl crate::db::Prelude for ApiAuth {
    fn before(&self, conn: &mut DbConn) -> Result<(), AppError> {
        self.check(conn).map(|_| ())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl std::ops::Deref for AuthUser {
    type Target = StaffUser;

    fn deref(&self) -> &StaffUser {
        if self.0.user.get().is_none() {
            // Read before any `Db::run`: checked here, on this thread.
            let check = || {
                let mut conn = self.0.db.get()?;
                self.0.check(&mut conn).map(|_| ())
            };
            let flavor = rocket::tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
            let _ = match flavor {
                Ok(rocket::tokio::runtime::RuntimeFlavor::MultiThread) => {
                    rocket::tokio::task::block_in_place(check)
                }
                _ => check(),
            };
        }
        match self.0.user.get() {
            Some(Checked::User(user)) => user,
            _ => &NOBODY,
        }
    }
}

impl std::fmt::Debug for AuthUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.user.get() {
            Some(Checked::User(user)) => user.fmt(f),
            Some(_) => f.write_str("AuthUser(refused)"),
            None => f.write_str("AuthUser(not checked yet)"),
        }
    }
}

impl AuthUser {
    /// The user, as an owned value.
    pub fn staff(&self) -> StaffUser {
        (**self).clone()
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

fn bearer_token<'a>(req: &'a Request<'_>) -> Option<&'a str> {
    let header = req.headers().get_one("Authorization")?;
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn db_of(req: &Request<'_>) -> Option<Db> {
    req.rocket().state::<Db>().cloned()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiUser {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        let Some(token) = bearer_token(req) else {
            crate::web::api::remember_guard_error(
                req,
                AppError::Unauthorized(
                    "Jeton d'accès manquant : envoyez Authorization: Bearer JETON.".into(),
                ),
            );
            return Outcome::Error((
                Status::Unauthorized,
                AppError::Unauthorized("Jeton d'accès manquant.".into()),
            ));
        };
        let Some(db) = db_of(req).await else {
            return Outcome::Error((Status::InternalServerError, AppError::NotFound));
        };
        // A staff member's token, else an API client's (within its scopes for this request).
        let today = req
            .rocket()
            .state::<crate::config::Config>()
            .map(|config| crate::time::today(&config.timezone))
            .unwrap_or_else(|| chrono::Utc::now().date_naive());
        let auth = Arc::new(ApiAuth {
            hash: hash_token(token),
            method: req.method(),
            path: req.uri().path().to_string(),
            today,
            db,
            user: OnceLock::new(),
        });
        // In the API's request scope the handler's first `Db::run` checks the token.
        if crate::db::set_prelude(auth.clone()) {
            return Outcome::Success(ApiUser(AuthUser(auth)));
        }
        match auth.check_now().await {
            Ok(()) => Outcome::Success(ApiUser(AuthUser(auth))),
            Err(error @ AppError::Unauthorized(_)) => {
                crate::web::api::remember_guard_error(
                    req,
                    AppError::Unauthorized(error.to_string()),
                );
                Outcome::Error((Status::Unauthorized, error))
            }
            Err(AppError::Forbidden(message)) => {
                crate::web::api::remember_guard_error(req, AppError::Forbidden(message.clone()));
                Outcome::Error((Status::Forbidden, AppError::Forbidden(message)))
            }
            Err(e) => Outcome::Error((e.status(), e)),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for WebUser {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        // Cached: the CSRF check of the form body asks for the session again.
        let found: &Result<Option<WebUser>, String> = req
            .local_cache_async(async {
                let Some(cookie) = req.cookies().get(SESSION_COOKIE) else {
                    return Ok(None);
                };
                let hash = hash_token(cookie.value());
                let Some(db) = db_of(req).await else {
                    return Err("no database".to_string());
                };
                db.run(move |conn| model::user_for_session(conn, &hash))
                    .await
                    .map_err(|e| e.to_string())
            })
            .await;
        match found {
            Ok(Some(web)) => Outcome::Success(WebUser {
                section: crate::web::menu_section(req.uri().path().as_str()),
                ..web.clone()
            }),
            Ok(None) => Outcome::Error((
                Status::Unauthorized,
                AppError::Unauthorized("Connectez-vous.".into()),
            )),
            Err(e) => {
                Outcome::Error((Status::ServiceUnavailable, AppError::Unavailable(e.clone())))
            }
        }
    }
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens are stored hashed: a leaked database does not leak live sessions.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// argon2id with the crate's defaults (19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The raw Bearer token of the request (to revoke it).
pub struct BearerToken(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BearerToken {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        match bearer_token(req) {
            Some(token) => Outcome::Success(BearerToken(token.to_string())),
            None => Outcome::Error((
                Status::Unauthorized,
                AppError::Unauthorized("Jeton d'accès manquant.".into()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterie", &hash));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }
}
