//! `/api/v1/webhooks`: subscribe, list, stop; each one's deliveries, and a retry.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

use super::{Delivery, Webhook, WebhookInput};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::query::Query;

#[rocket::post("/webhooks", data = "<input>")]
pub async fn create(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    input: ApiJson<WebhookInput>,
) -> Result<Created<Webhook>, AppError> {
    let (user, input, config) = (api.0, input.into_inner(), config.inner().clone());
    let webhook = db
        .run(move |conn| super::create(conn, &config, &user, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/webhooks/{}", webhook.id),
        webhook,
    ))
}

#[rocket::get("/webhooks")]
pub async fn list(db: &State<Db>, api: ApiUser) -> Result<Json<Vec<Webhook>>, AppError> {
    let user = api.0;
    db.run(move |conn| super::list(conn, &user)).await.map(Json)
}

#[rocket::delete("/webhooks/<id>")]
pub async fn delete(db: &State<Db>, api: ApiUser, id: i32) -> Result<Status, AppError> {
    let user = api.0;
    db.run(move |conn| super::delete(conn, &user, id)).await?;
    Ok(Status::NoContent)
}

#[rocket::get("/webhooks/<id>/deliveries")]
pub async fn deliveries(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    page: Query<Page>,
) -> Result<Json<Vec<Delivery>>, AppError> {
    let user = api.0;
    let (limit, offset) = page.bounds()?;
    db.run(move |conn| super::deliveries(conn, &user, id, limit, offset))
        .await
        .map(Json)
}

#[rocket::post("/webhooks/<id>/deliveries/<delivery_id>/retry")]
pub async fn retry(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    delivery_id: i32,
) -> Result<Json<Delivery>, AppError> {
    let user = api.0;
    db.run(move |conn| super::retry(conn, &user, id, delivery_id))
        .await
        .map(Json)
}
