//! Browser sign-in, first-admin setup, staff accounts and organisations pages.

use std::net::IpAddr;

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::service::{self, SetupInput, UserInput};
use super::{model, random_token, Role, WebUser, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE};
use crate::auth::csrf::{Csrf, TokenOnly};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::notice::with_summary;
use crate::web::{page, FormOutcome, Invalid};

/// The forms' fields in their order on the page, for their error summaries.
const SETUP_FIELDS: [(&str, &str); 5] = [
    ("organisation", "Nom de votre structure"),
    ("name", "Votre nom"),
    ("email", "Adresse e-mail"),
    ("password", "Mot de passe"),
    ("password_confirmation", "Mot de passe, une seconde fois"),
];
const USER_FIELDS: [(&str, &str); 5] = [
    ("name", "Nom"),
    ("email", "E-mail"),
    ("role", "Rôle"),
    ("organisation_id", "Structure"),
    ("password", "Mot de passe provisoire"),
];
const ORGANISATION_FIELDS: [(&str, &str); 1] = [("name", "Nom")];

/// The CSRF token for forms shown before sign-in (double-submit cookie).
pub(crate) fn pre_session_token(jar: &CookieJar<'_>, config: &Config) -> String {
    if let Some(cookie) = jar.get(PRE_SESSION_CSRF_COOKIE) {
        return cookie.value().to_string();
    }
    let token = random_token();
    jar.add(
        Cookie::build((PRE_SESSION_CSRF_COOKIE, token.clone()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(config.secure_cookies())
            .path("/"),
    );
    token
}

fn start_session(jar: &CookieJar<'_>, config: &Config, token: String) {
    jar.remove(Cookie::build(PRE_SESSION_CSRF_COOKIE).path("/"));
    jar.add(
        Cookie::build((SESSION_COOKIE, token))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(config.secure_cookies())
            .path("/")
            .max_age(rocket::time::Duration::seconds(
                config.session_ttl.as_secs() as i64,
            )),
    );
}

#[rocket::get("/login")]
pub fn login_page(jar: &CookieJar<'_>, config: &State<Config>) -> Template {
    let csrf_token = crate::auth::csrf::masked(&pre_session_token(jar, config));
    Template::render("login", json!({ "csrf_token": csrf_token, "email": "" }))
}

#[derive(rocket::FromForm)]
pub struct LoginForm {
    email: String,
    password: String,
}

#[rocket::post("/login", data = "<form>")]
pub async fn login(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    ip: Option<IpAddr>,
    form: Csrf<LoginForm>,
) -> Result<Result<Redirect, (Status, Template)>, AppError> {
    let form = form.into_inner();
    let ip = ip.map(|ip| ip.to_string()).unwrap_or_default();
    let ttl = config.session_ttl;
    let email = form.email.clone();
    let outcome = db
        .run(move |conn| {
            let user = service::authenticate(conn, &form.email, &form.password, &ip)?;
            service::open_session(conn, user.id, ttl)
        })
        .await;
    match outcome {
        Ok(token) => {
            start_session(jar, config, token);
            Ok(Ok(Redirect::to("/")))
        }
        Err(e @ (AppError::Unauthorized(_) | AppError::TooManyRequests(_))) => {
            let csrf_token = crate::auth::csrf::masked(&pre_session_token(jar, config));
            Ok(Err((
                e.status(),
                Template::render(
                    "login",
                    json!({ "csrf_token": csrf_token, "email": email, "error": e.detail() }),
                ),
            )))
        }
        Err(e) => Err(e),
    }
}

#[rocket::post("/logout", data = "<_form>")]
pub async fn logout(
    db: &State<Db>,
    jar: &CookieJar<'_>,
    web: WebUser,
    _form: Csrf<TokenOnly>,
) -> Result<Redirect, AppError> {
    let session_id = web.session_id;
    db.run(move |conn| model::revoke_session(conn, session_id))
        .await?;
    jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok(Redirect::to("/login"))
}

#[rocket::get("/setup/<token>")]
pub async fn setup_page(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    token: String,
) -> Result<Template, AppError> {
    let hash = super::hash_token(&token);
    let valid = db
        .run(move |conn| {
            Ok(model::count_users(conn)? == 0 && model::setup_token_is_valid(conn, &hash)?)
        })
        .await?;
    if !valid {
        return Err(AppError::NotFound);
    }
    let csrf_token = crate::auth::csrf::masked(&pre_session_token(jar, config));
    Ok(Template::render(
        "setup",
        json!({ "csrf_token": csrf_token, "token": token, "values": {}, "errors": {}, "summary": [] }),
    ))
}

#[derive(rocket::FromForm)]
pub struct SetupForm {
    organisation: String,
    name: String,
    email: String,
    password: String,
    password_confirmation: String,
}

#[rocket::post("/setup/<token>", data = "<form>")]
pub async fn setup(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    token: String,
    form: Csrf<SetupForm>,
) -> Result<FormOutcome, AppError> {
    let form = form.into_inner();
    let input = SetupInput {
        organisation: form.organisation,
        name: form.name,
        email: form.email,
        password: form.password,
        password_confirmation: form.password_confirmation,
    };
    let values =
        json!({ "organisation": input.organisation, "name": input.name, "email": input.email });
    let ttl = config.session_ttl;
    let token_for_db = token.clone();
    let outcome = db
        .run(move |conn| {
            let user = service::setup_first_admin(conn, &token_for_db, input)?;
            service::open_session(conn, user.id, ttl)
        })
        .await;
    match outcome {
        Ok(session) => {
            start_session(jar, config, session);
            Ok(FormOutcome::Done(Redirect::to("/")))
        }
        Err(AppError::Validation(errors)) => {
            let csrf_token = crate::auth::csrf::masked(&pre_session_token(jar, config));
            Ok(FormOutcome::Invalid(Invalid(Template::render(
                "setup",
                with_summary(
                    json!({ "csrf_token": csrf_token, "token": token, "values": values, "errors": errors }),
                    &SETUP_FIELDS,
                ),
            ))))
        }
        Err(e) => Err(e),
    }
}

async fn users_page(
    db: &Db,
    web: &WebUser,
    values: serde_json::Value,
    errors: serde_json::Value,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    let (users, organisations) = db
        .run(move |conn| {
            let users = model::list_users(conn, user.scope(), 1000, 0)?;
            let organisations = match user.scope() {
                None => crate::organisations::list(conn, 1000, 0)?,
                Some(id) => vec![crate::organisations::find(conn, id)?],
            };
            Ok((users, organisations))
        })
        .await?;
    let users: Vec<_> = users
        .iter()
        .map(|u| {
            let org = organisations.iter().find(|o| o.id == u.organisation_id);
            json!({
                "id": u.id, "name": u.name, "email": u.email, "active": u.active,
                "role_label": Role::parse(&u.role).map(|r| r.label()).unwrap_or(""),
                "organisation": org.map(|o| o.name.clone()).unwrap_or_default(),
            })
        })
        .collect();
    Ok(page(
        "users/list",
        web,
        with_summary(
            json!({ "users": users, "organisations": organisations, "values": values, "errors": errors }),
            &USER_FIELDS,
        ),
    ))
}

#[rocket::get("/users")]
pub async fn users(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    web.user.require(&[Role::Admin, Role::Manager])?;
    users_page(db, &web, json!({ "role": "mediator" }), json!({})).await
}

#[derive(rocket::FromForm)]
pub struct UserForm {
    name: String,
    email: String,
    role: String,
    organisation_id: Option<i32>,
    password: String,
}

#[rocket::post("/users", data = "<form>")]
pub async fn create_user(
    db: &State<Db>,
    web: WebUser,
    form: Csrf<UserForm>,
) -> Result<FormOutcome, AppError> {
    web.user.require(&[Role::Admin, Role::Manager])?;
    let form = form.into_inner();
    let values = json!({ "name": form.name, "email": form.email, "role": form.role, "organisation_id": form.organisation_id });
    let input = UserInput {
        email: form.email,
        name: form.name,
        role: form.role,
        organisation_id: form.organisation_id,
        password: form.password,
    };
    let user = web.user.clone();
    match db
        .run(move |conn| service::create_user(conn, Some(&user), input))
        .await
    {
        Ok(_) => Ok(FormOutcome::Done(Redirect::to("/users"))),
        Err(AppError::Validation(errors)) => Ok(FormOutcome::Invalid(Invalid(
            users_page(db, &web, values, json!(errors)).await?,
        ))),
        Err(AppError::Conflict { message, .. }) => Ok(FormOutcome::Invalid(Invalid(
            users_page(db, &web, values, json!({ "email": [message] })).await?,
        ))),
        Err(e) => Err(e),
    }
}

#[rocket::get("/organisations")]
pub async fn organisations(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    web.user.require(&[Role::Admin])?;
    let list = db
        .run(|conn| crate::organisations::list(conn, 1000, 0))
        .await?;
    Ok(page(
        "organisations",
        &web,
        json!({ "organisations": list, "values": {}, "errors": {} }),
    ))
}

#[derive(rocket::FromForm)]
pub struct OrganisationForm {
    name: String,
}

#[rocket::post("/organisations", data = "<form>")]
pub async fn create_organisation(
    db: &State<Db>,
    web: WebUser,
    form: Csrf<OrganisationForm>,
) -> Result<FormOutcome, AppError> {
    web.user.require(&[Role::Admin])?;
    let name = form.into_inner().name;
    let user = web.user.clone();
    let input = crate::organisations::OrganisationInput { name: name.clone() };
    let errors = match db
        .run(move |conn| crate::organisations::create(conn, &user, input))
        .await
    {
        Ok(_) => return Ok(FormOutcome::Done(Redirect::to("/organisations"))),
        Err(AppError::Validation(errors)) => json!(errors),
        Err(AppError::Conflict { message, .. }) => json!({ "name": [message] }),
        Err(e) => return Err(e),
    };
    let list = db
        .run(|conn| crate::organisations::list(conn, 1000, 0))
        .await?;
    Ok(FormOutcome::Invalid(Invalid(page(
        "organisations",
        &web,
        with_summary(
            json!({ "organisations": list, "values": { "name": name }, "errors": errors }),
            &ORGANISATION_FIELDS,
        ),
    ))))
}

#[derive(rocket::FromForm)]
pub struct OrganisationEditForm {
    name: String,
    slug: String,
}

/// Renames an organisation or changes the address of its public pages.
#[rocket::post("/organisations/<id>", data = "<form>")]
pub async fn update_organisation(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    form: Csrf<OrganisationEditForm>,
) -> Result<FormOutcome, AppError> {
    web.user.require(&[Role::Admin])?;
    let form = form.into_inner();
    let user = web.user.clone();
    let patch = crate::organisations::OrganisationPatch {
        name: Some(form.name.clone()),
        slug: Some(form.slug.clone()),
    };
    let errors = match db
        .run(move |conn| crate::organisations::update(conn, &user, id, patch))
        .await
    {
        Ok(_) => return Ok(FormOutcome::Done(Redirect::to("/organisations"))),
        Err(AppError::Validation(errors)) => json!(errors),
        Err(AppError::Conflict {
            message,
            code: "slug_taken",
        }) => {
            json!({ "slug": [message] })
        }
        Err(AppError::Conflict { message, .. }) => json!({ "name": [message] }),
        Err(e) => return Err(e),
    };
    let list = db
        .run(|conn| crate::organisations::list(conn, 1000, 0))
        .await?;
    Ok(FormOutcome::Invalid(Invalid(page(
        "organisations",
        &web,
        json!({ "organisations": list, "values": {}, "errors": {}, "edit_id": id,
                "edit_values": { "name": form.name, "slug": form.slug }, "edit_errors": errors,
                "summary": edit_summary(id, &errors) }),
    ))))
}

/// The summary of an organisation's edit form: its inputs are `name-{id}` and `slug-{id}`.
fn edit_summary(id: i32, errors: &serde_json::Value) -> serde_json::Value {
    let errors: crate::error::FieldErrors =
        serde_json::from_value(errors.clone()).unwrap_or_default();
    let errors = errors
        .into_iter()
        .map(|(field, messages)| (format!("{field}-{id}"), messages))
        .collect();
    let (name, slug) = (format!("name-{id}"), format!("slug-{id}"));
    crate::web::notice::summary(
        &errors,
        &[
            (name.as_str(), "Nom"),
            (slug.as_str(), "Adresse de la page publique"),
        ],
    )
}
