//! Who may book a service: staff only (the default), also referrers from the public referral
//! page, or anyone from the public booking page. Changed by managers and admins.

use diesel::prelude::*;
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::State;
use serde::Deserialize;

use super::availability::get_service;
use super::model::{check_bookable_by, Service};
use crate::auth::csrf::Csrf;
use crate::auth::{ApiUser, Role, StaffUser, WebUser};
use crate::db::schema::services;
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::web::api::ApiJson;
use crate::web::openapi::{BadRequest, Forbidden, Invalid, NotFound, Unauthorized};

/// Whether a referrer (`true`) or a member of the public may book this service.
pub fn open_to(service: &Service, referrer: bool) -> bool {
    match service.bookable_by.as_str() {
        "public" => true,
        "referrers" => referrer,
        _ => false,
    }
}

/// `PATCH /api/v1/services/{id}`.
#[derive(Deserialize, Debug, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePatch {
    /// Absent or null: unchanged.
    #[schema(schema_with = super::model::bookable_by_or_null_schema)]
    pub bookable_by: Option<String>,
}

/// Changes who may book a service (managers and admins of its organisation); audited.
pub fn update_service(
    conn: &mut DbConn,
    actor: &StaffUser,
    id: i32,
    patch: ServicePatch,
) -> Result<Service, AppError> {
    let service = get_service(conn, actor, id)?;
    actor.require(&[Role::Admin, Role::Manager])?;
    if let Some(message) = patch.bookable_by.as_deref().and_then(check_bookable_by) {
        return Err(AppError::field("bookable_by", message));
    }
    crate::db::transaction(conn, |conn| {
        if let Some(value) = &patch.bookable_by {
            diesel::update(services::table.find(id))
                .set(services::bookable_by.eq(value))
                .execute(conn)?;
        }
        crate::audit::record(
            conn,
            Some(actor),
            "update",
            "service",
            Some(id),
            Some(service.organisation_id),
        )?;
        get_service(conn, actor, id)
    })
}

/// Qui peut réserver un motif (admin, coordinateur).
#[utoipa::path(
    patch,
    path = "/api/v1/services/{id}",
    operation_id = "update_service",
    tag = "services",
    params(("id" = i32, Path)),
    request_body = ServicePatch,
    responses(
        (status = 200, description = "OK", body = Service),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
    security(("bearer" = [])),
)]
#[rocket::patch("/services/<id>", data = "<input>")]
pub async fn api_update(
    db: &State<Db>,
    api: ApiUser,
    id: i32,
    input: ApiJson<ServicePatch>,
) -> Result<Json<Service>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    db.run(move |conn| update_service(conn, &user, id, input))
        .await
        .map(Json)
}

#[derive(rocket::FromForm)]
pub struct BookableByForm {
    bookable_by: String,
}

/// The form beside each service on `/services`.
#[rocket::post("/services/<id>/bookable-by", data = "<form>")]
pub async fn web_update(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    form: Csrf<BookableByForm>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    let patch = ServicePatch {
        bookable_by: Some(form.into_inner().bookable_by),
    };
    db.run(move |conn| update_service(conn, &user, id, patch))
        .await?;
    Ok(Redirect::to("/services"))
}
