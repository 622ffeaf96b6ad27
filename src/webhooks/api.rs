//! `/api/v1/webhooks`: subscribe, list, stop; each one's deliveries, and a retry.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

use super::{DeliveryOut, WebhookInput, WebhookOut};
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
) -> Result<Created<WebhookOut>, AppError> {
    let (user, input, config) = (api.0, input.into_inner(), config.inner().clone());
    let tz = config.timezone;
    let webhook = db
        .run(move |conn| super::create(conn, &config, &user, input))
        .await?;
    Ok(Created::new(
        format!("/api/v1/webhooks/{}", webhook.id),
        webhook.out(&tz),
    ))
}

#[rocket::get("/webhooks")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
) -> Result<Json<Vec<WebhookOut>>, AppError> {
    let (user, tz) = (api.0, config.timezone);
    let webhooks = db.run(move |conn| super::list(conn, &user)).await?;
    Ok(Json(webhooks.iter().map(|w| w.out(&tz)).collect()))
}

#[rocket::delete("/webhooks/<id>")]
pub async fn delete(db: &State<Db>, api: ApiUser, id: i32) -> Result<Status, AppError> {
    let user = api.0;
    db.run(move |conn| super::delete(conn, &user, id)).await?;
    Ok(Status::NoContent)
}

/// The deliveries list's query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct DeliveriesQuery {
    /// `pending|sending|delivered|dead|cancelled`.
    pub status: Option<String>,
}

#[rocket::get("/webhooks/<id>/deliveries")]
pub async fn deliveries(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    query: Query<DeliveriesQuery>,
    page: Query<Page>,
) -> Result<Json<Vec<DeliveryOut>>, AppError> {
    let (user, tz) = (api.0, config.timezone);
    let status = super::delivery_status(query.status.as_deref())?;
    let (limit, offset) = page.bounds()?;
    let rows = db
        .run(move |conn| super::deliveries(conn, &user, id, status, limit, offset))
        .await?;
    Ok(Json(rows.iter().map(|d| d.out(&tz)).collect()))
}

#[rocket::post("/webhooks/<id>/deliveries/<delivery_id>/retry")]
pub async fn retry(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    delivery_id: i32,
) -> Result<Json<DeliveryOut>, AppError> {
    let (user, tz) = (api.0, config.timezone);
    let delivery = db
        .run(move |conn| super::retry(conn, &user, id, delivery_id))
        .await?;
    Ok(Json(delivery.out(&tz)))
}
