//! The request guards: [`ApiUser`] (Bearer token, checked in the handler's first database
//! hop, see [`one_hop`]), [`WebUser`] (session cookie) and [`BearerToken`].

use rocket::data::Data;
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use std::sync::{Arc, OnceLock};

use super::identity::{Role, StaffUser, WebUser, SESSION_COOKIE};
use super::model;
use super::secret::hash_token;
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::web::api::remember_guard_error;

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

/// A page is rendered for the session's user ([`crate::web::page`]).
impl crate::web::Viewer for WebUser {
    fn me(&self) -> crate::web::Me<'_> {
        let role = self.user.role;
        crate::web::Me {
            id: self.user.id,
            name: &self.user.name,
            role: role.as_str(),
            role_label: role.label(),
            is_admin: role == Role::Admin,
            can_manage: matches!(role, Role::Admin | Role::Manager),
        }
    }

    fn csrf_field(&self) -> String {
        super::csrf::masked(&self.csrf_token)
    }

    fn section(&self) -> &'static str {
        self.section
    }
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
            remember_guard_error(
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
                remember_guard_error(req, AppError::Unauthorized(error.to_string()));
                Outcome::Error((Status::Unauthorized, error))
            }
            Err(AppError::Forbidden(message)) => {
                remember_guard_error(req, AppError::Forbidden(message.clone()));
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

/// Runs each route's handler in a request scope ([`crate::db::scope`]) that its guards and its
/// [`crate::db::Db::run`] calls share: the API token is then checked on the handler's own
/// connection, in its own blocking task (one hop per request). A request whose token is refused
/// answers 401 whatever its handler did meanwhile (it could read nothing).
pub fn one_hop(routes: Vec<rocket::Route>) -> Vec<rocket::Route> {
    routes
        .into_iter()
        .map(|mut route| {
            route.handler = Box::new(OneHop(route.handler));
            route
        })
        .collect()
}

#[derive(Clone)]
struct OneHop(Box<dyn rocket::route::Handler>);

#[rocket::async_trait]
impl rocket::route::Handler for OneHop {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> rocket::route::Outcome<'r> {
        let scope = std::sync::Arc::new(crate::db::RequestScope::default());
        let outcome = crate::db::scope(scope.clone(), self.0.handle(req, data)).await;
        let Some(auth) = scope
            .prelude()
            .and_then(|p| p.as_any().downcast_ref::<ApiAuth>())
        else {
            return outcome;
        };
        // A handler that never reached the database: the token is checked now.
        let refusal = match auth.refusal() {
            Some(refusal) => refusal,
            None => auth.check_now().await,
        };
        if let Err(e) = refusal {
            let status = e.status();
            remember_guard_error(req, e);
            return Outcome::Error(status);
        }
        outcome
    }
}
