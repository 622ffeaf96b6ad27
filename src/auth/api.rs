use std::net::IpAddr;

use rocket::serde::json::Json;
use rocket::State;
use serde::{Deserialize, Serialize};

use super::model::{self, UserOut};
use super::service::{self, UserInput};
use super::{ApiUser, Role};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::time::LocalTime;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::query::Query;

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

#[derive(Serialize)]
pub struct TokenOut {
    token: String,
    expires_at: String,
}

#[rocket::post("/tokens", data = "<credentials>")]
pub async fn create_token(
    db: &State<Db>,
    config: &State<Config>,
    ip: Option<IpAddr>,
    credentials: ApiJson<Credentials>,
) -> Result<Created<TokenOut>, AppError> {
    let Credentials { email, password } = credentials.into_inner();
    let ip = ip.map(|ip| ip.to_string()).unwrap_or_default();
    let ttl = config.token_ttl;
    let tz = config.timezone;
    let (token, expires_at) = db
        .run(move |conn| {
            let user = service::authenticate(conn, &email, &password, &ip)?;
            service::issue_api_token(conn, user.id, ttl)
        })
        .await?;
    Ok(Created::new(
        "/api/v1/tokens/current".into(),
        TokenOut {
            token,
            expires_at: tz.rfc3339(expires_at),
        },
    ))
}

/// Revokes the token this request was made with (logout for API clients).
#[rocket::delete("/tokens/current")]
pub async fn revoke_current_token(
    db: &State<Db>,
    api: ApiUser,
    token: super::BearerToken,
) -> Result<rocket::http::Status, AppError> {
    let user = api.0;
    let hash = super::hash_token(&token.0);
    db.run(move |conn| model::revoke_api_token(conn, user.id, &hash))
        .await?;
    Ok(rocket::http::Status::NoContent)
}

#[rocket::get("/users")]
pub async fn list_users(
    db: &State<Db>,
    api: ApiUser,
    page: Query<Page>,
) -> Result<Json<Vec<UserOut>>, AppError> {
    let user = api.0;
    user.require(&[Role::Admin, Role::Manager])?;
    let (limit, offset) = page.bounds()?;
    let scope = user.scope();
    let rows = db
        .run(move |conn| model::list_users(conn, scope, limit, offset))
        .await?;
    Ok(Json(rows.iter().map(|r| r.public()).collect()))
}

#[rocket::post("/users", data = "<input>")]
pub async fn create_user(
    db: &State<Db>,
    api: ApiUser,
    input: ApiJson<UserInput>,
) -> Result<Created<UserOut>, AppError> {
    let user = api.0;
    user.require(&[Role::Admin, Role::Manager])?;
    let input = input.into_inner();
    let row = db
        .run(move |conn| service::create_user(conn, Some(&user), input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/users/{}", row.id),
        row.public(),
    ))
}
