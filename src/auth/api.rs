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
use crate::web::openapi::{
    BadRequest, Conflict, Forbidden, Invalid, TooManyRequests, Unauthorized,
};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create_token, revoke_current_token, list_users, create_user))]
pub struct ApiDoc;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    email: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Token)]
pub struct TokenOut {
    token: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

/// Obtenir un jeton d'accès.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    operation_id = "create_token",
    tag = "tokens",
    request_body = Credentials,
    responses(
        (status = 201, description = "Créé", body = TokenOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
        (status = 429, response = TooManyRequests),
    ),
)]
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

/// Révoquer le jeton utilisé (déconnexion d'un client).
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/current",
    operation_id = "revoke_current_token",
    tag = "tokens",
    responses(
        (status = 204, description = "Révoqué"),
        (status = 401, response = Unauthorized),
    ),
    security(("bearer" = [])),
)]
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

/// Comptes (admin : tous ; coordinateur : sa structure).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "list_users",
    tag = "users",
    params(Page),
    responses(
        (status = 200, description = "OK", body = Vec<UserOut>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Créer un compte.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "create_user",
    tag = "users",
    request_body = UserInput,
    responses(
        (status = 201, description = "Créé", body = UserOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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
