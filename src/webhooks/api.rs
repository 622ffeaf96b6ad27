//! `/api/v1/webhooks`: subscribe, list, stop; each one's deliveries, and a retry.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;

use super::{DeliveryOut, WebhookInput, WebhookOut};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::status::DeliveryStatus;
use crate::web::api::{ApiJson, Created, Page};
use crate::web::openapi::{BadRequest, Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, delete, deliveries, retry))]
pub struct ApiDoc;

/// S'abonner à des événements (admin, coordinateur) : corps {id, event, occurred_at, data}, en-têtes X-Passerelle-Event, X-Passerelle-Delivery, X-Passerelle-Signature.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    operation_id = "create_webhook",
    tag = "webhooks",
    request_body = WebhookInput,
    responses(
        (status = 201, description = "Créé", body = WebhookOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Webhooks de la structure (admin, coordinateur), sans leur secret.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    operation_id = "list_webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "OK", body = Vec<WebhookOut>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = [])),
)]
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

/// Arrêter un webhook (admin, coordinateur) ; ses envois en attente sont annulés.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    operation_id = "delete_webhook",
    tag = "webhooks",
    params(("id" = i32, Path)),
    responses(
        (status = 204, description = "Arrêté"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::delete("/webhooks/<id>")]
pub async fn delete(db: &State<Db>, api: ApiUser, id: i32) -> Result<Status, AppError> {
    let user = api.0;
    db.run(move |conn| super::delete(conn, &user, id)).await?;
    Ok(Status::NoContent)
}

/// The deliveries list's query (beside `limit` and `offset`).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `pending|sending|delivered|dead|cancelled`.
    #[param(schema_with = DeliveryStatus::schema)]
    pub status: Option<String>,
}

/// Envois d'un webhook, du plus récent au plus ancien.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    params(("id" = i32, Path), DeliveriesQuery, Page),
    responses(
        (status = 200, description = "OK", body = Vec<DeliveryOut>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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

/// Relancer un envoi abandonné (dead) : même corps, même X-Passerelle-Delivery.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
    operation_id = "retry_webhook_delivery",
    tag = "webhooks",
    params(("id" = i32, Path), ("delivery_id" = i32, Path)),
    responses(
        (status = 200, description = "Relancé", body = DeliveryOut),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
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
