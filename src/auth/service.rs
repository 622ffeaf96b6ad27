//! Account invariants: who may create whom, login with throttling, sessions and tokens.

use std::time::Duration;

use chrono::NaiveDateTime;
use serde::Deserialize;
use validator::Validate;

use super::model::{self, NewUser, UserRow};
use super::{hash_password, hash_token, random_token, verify_password, Role, StaffUser};
use crate::db::{now, DbConn};
use crate::error::AppError;

/// Failed logins counted over this window.
const THROTTLE_WINDOW_MINUTES: i64 = 15;
/// Failed attempts allowed per account within the window.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
/// Failed attempts allowed per client address within the window.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 30;
pub const MIN_PASSWORD_LENGTH: u64 = 10;

#[derive(Deserialize, Validate, Debug, Default, Clone, utoipa::ToSchema)]
pub struct UserInput {
    #[validate(email(message = "Adresse e-mail invalide."))]
    #[schema(format = Email)]
    pub email: String,
    #[validate(length(
        min = 1,
        max = 120,
        message = "Le nom est obligatoire (120 caractères au plus)."
    ))]
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    pub name: String,
    #[schema(value_type = super::Role)]
    pub role: String,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub organisation_id: Option<i32>,
    #[validate(length(
        min = 10,
        max = 200,
        message = "Le mot de passe doit compter au moins 10 caractères."
    ))]
    #[schema(min_length = 10, max_length = 200)]
    pub password: String,
}

impl UserInput {
    fn normalise(mut self) -> Self {
        self.email = self.email.trim().to_lowercase();
        self.name = self.name.trim().to_string();
        self
    }
}

fn parse_role(text: &str) -> Result<Role, AppError> {
    Role::parse(text)
        .ok_or_else(|| AppError::field("role", "Le rôle doit être admin, manager ou mediator."))
}

/// Creates a staff account. `actor` is `None` for the command line and the first setup.
/// Managers create managers and mediators of their own organisation; admins create anyone.
pub fn create_user(
    conn: &mut DbConn,
    actor: Option<&StaffUser>,
    input: UserInput,
) -> Result<UserRow, AppError> {
    let input = input.normalise();
    let mut errors = match input.validate() {
        Ok(()) => Default::default(),
        Err(e) => match AppError::from(e) {
            AppError::Validation(errors) => errors,
            other => return Err(other),
        },
    };
    let role = match parse_role(&input.role) {
        Ok(role) => Some(role),
        Err(AppError::Validation(e)) => {
            errors.extend(e);
            None
        }
        Err(other) => return Err(other),
    };
    if input.organisation_id.is_none() && actor.is_none_or(|a| a.is_admin()) {
        errors
            .entry("organisation_id".into())
            .or_default()
            .push("La structure est obligatoire.".into());
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let role = role.unwrap_or(Role::Mediator);
    let organisation_id = match actor {
        Some(actor) => {
            actor.require(&[Role::Admin, Role::Manager])?;
            if actor.role == Role::Manager && role == Role::Admin {
                return Err(AppError::forbidden());
            }
            actor.target_organisation(input.organisation_id)?
        }
        None => input.organisation_id.unwrap_or_default(),
    };
    let password_hash = hash_password(&input.password)?;
    crate::db::transaction(conn, |conn| {
        // An unknown organisation is a field error, not a foreign-key failure.
        if crate::organisations::find(conn, organisation_id).is_err() {
            return Err(AppError::field(
                "organisation_id",
                "Cette structure n'existe pas.",
            ));
        }
        if model::user_by_email(conn, &input.email)?.is_some() {
            return Err(AppError::Conflict {
                code: "email_taken",
                message: "Un compte existe déjà avec cette adresse e-mail.".into(),
            });
        }
        use diesel::prelude::*;
        let id: i32 = diesel::insert_into(crate::db::schema::users::table)
            .values(NewUser {
                organisation_id,
                email: &input.email,
                name: &input.name,
                role: role.as_str(),
                password_hash: &password_hash,
                active: true,
                created_at: now(),
            })
            .returning(crate::db::schema::users::id)
            .get_result(conn)?;
        crate::audit::record(
            conn,
            actor,
            "create",
            "user",
            Some(id),
            Some(organisation_id),
        )?;
        model::user_by_id(conn, id)?.ok_or(AppError::NotFound)
    })
}

fn minutes_ago(minutes: i64) -> NaiveDateTime {
    now() - chrono::Duration::minutes(minutes)
}

fn add(duration: Duration) -> NaiveDateTime {
    now() + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::hours(12))
}

/// Checks an email and password. Failed attempts are recorded and, past the limits per account
/// or per address, refused with 429 before the password is even looked at.
pub fn authenticate(
    conn: &mut DbConn,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<StaffUser, AppError> {
    let email = email.trim().to_lowercase();
    let (by_email, by_ip) =
        model::count_recent_failures(conn, &email, ip, minutes_ago(THROTTLE_WINDOW_MINUTES))?;
    if by_email >= MAX_FAILURES_PER_ACCOUNT || by_ip >= MAX_FAILURES_PER_ADDRESS {
        return Err(AppError::TooManyRequests(format!(
            "Trop de tentatives de connexion : réessayez dans {THROTTLE_WINDOW_MINUTES} minutes."
        )));
    }
    let user = model::user_by_email(conn, &email)?;
    let valid = match &user {
        Some(user) => verify_password(password, &user.password_hash) && user.active,
        None => {
            // Same work whether or not the account exists, so timing tells nothing.
            let _ = verify_password(password, DUMMY_HASH);
            false
        }
    };
    match user {
        Some(user) if valid => {
            model::clear_failures(conn, &email, minutes_ago(24 * 60))?;
            Ok(user.staff())
        }
        _ => {
            model::insert_failure(conn, &email, ip)?;
            Err(AppError::Unauthorized(
                "Adresse e-mail ou mot de passe incorrect.".into(),
            ))
        }
    }
}

/// An argon2id hash of a random string, checked against when the account does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Cqk6ZJZ3nLq7yJ0s5rLw0q3iY1bH0v1mQjv0m7d2E3A";

/// Opens a browser session; returns the cookie value.
pub fn open_session(conn: &mut DbConn, user_id: i32, ttl: Duration) -> Result<String, AppError> {
    let token = random_token();
    model::insert_session(
        conn,
        user_id,
        &hash_token(&token),
        &random_token(),
        add(ttl),
    )?;
    Ok(token)
}

/// Issues an API token; returns it (shown once) and its expiry.
pub fn issue_api_token(
    conn: &mut DbConn,
    user_id: i32,
    ttl: Duration,
) -> Result<(String, NaiveDateTime), AppError> {
    let token = random_token();
    let expires_at = add(ttl);
    model::insert_api_token(conn, user_id, &hash_token(&token), expires_at)?;
    Ok((token, expires_at))
}

/// When no account exists yet, creates a one-time setup token (valid 24 hours) and returns it.
pub fn setup_token_if_no_user(conn: &mut DbConn) -> Result<Option<String>, AppError> {
    if model::count_users(conn)? > 0 {
        return Ok(None);
    }
    let token = random_token();
    model::insert_setup_token(
        conn,
        &hash_token(&token),
        add(Duration::from_secs(24 * 3600)),
    )?;
    Ok(Some(token))
}

#[derive(Deserialize, Validate, Debug, Default, Clone)]
pub struct SetupInput {
    #[validate(length(
        min = 1,
        max = 120,
        message = "Le nom de la structure est obligatoire."
    ))]
    pub organisation: String,
    pub name: String,
    pub email: String,
    pub password: String,
    pub password_confirmation: String,
}

/// Creates the first admin from the one-time setup link; refused once any account exists.
pub fn setup_first_admin(
    conn: &mut DbConn,
    token: &str,
    input: SetupInput,
) -> Result<UserRow, AppError> {
    // Every field's mistake at once: the structure's, the account's, the confirmation's.
    let mut errors = crate::error::validation_errors(input.validate());
    let account = UserInput {
        email: input.email.clone(),
        name: input.name.clone(),
        role: "admin".into(),
        organisation_id: None,
        password: input.password.clone(),
    }
    .normalise();
    errors.extend(crate::error::validation_errors(account.validate()));
    if input.password != input.password_confirmation {
        errors.insert(
            "password_confirmation".into(),
            vec!["Les deux mots de passe ne sont pas identiques.".into()],
        );
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    crate::db::transaction(conn, |conn| {
        if model::count_users(conn)? > 0 || !model::consume_setup_token(conn, &hash_token(token))? {
            return Err(AppError::NotFound);
        }
        let org = crate::organisations::find_or_create(conn, None, &input.organisation)?;
        create_user(
            conn,
            None,
            UserInput {
                email: input.email.clone(),
                name: input.name.clone(),
                role: "admin".into(),
                organisation_id: Some(org.id),
                password: input.password.clone(),
            },
        )
    })
}
