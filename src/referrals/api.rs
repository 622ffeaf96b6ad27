//! The referral inbox for staff, in JSON.

use rocket::serde::json::Json;
use rocket::State;
use serde::Deserialize;

use super::{BookFromReferral, ReferralOut, ReferralPatch};
use crate::auth::ApiUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::api::{ApiJson, Page};
use crate::web::query::Query;

/// `?status=&limit=&offset=`
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ReferralQuery {
    #[serde(default, deserialize_with = "status")]
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    crate::web::query::one_of(d, &super::STATUS_CODES)
}

impl ReferralQuery {
    pub fn bounds(&self) -> Result<(i64, i64), AppError> {
        Page {
            limit: self.limit,
            offset: self.offset,
        }
        .bounds()
    }
}

#[rocket::get("/referrals")]
pub async fn list(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    query: Query<ReferralQuery>,
) -> Result<Json<Vec<ReferralOut>>, AppError> {
    let user = api.0;
    let query = query.into_inner();
    let (limit, offset) = query.bounds()?;
    let tz = config.timezone;
    db.run(move |conn| {
        super::list(
            conn,
            &user,
            query.status.as_deref(),
            limit,
            offset,
            &tz,
            None,
        )
    })
    .await
    .map(Json)
}

#[rocket::patch("/referrals/<id>", data = "<input>")]
pub async fn update(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<ReferralPatch>,
) -> Result<Json<ReferralOut>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let tz = config.timezone;
    db.run(move |conn| super::set_status(conn, &user, id, input, &tz))
        .await
        .map(Json)
}

#[rocket::post("/referrals/<id>/booking", data = "<input>")]
pub async fn book(
    db: &State<Db>,
    config: &State<Config>,
    api: ApiUser,
    id: i32,
    input: ApiJson<BookFromReferral>,
) -> Result<Json<ReferralOut>, AppError> {
    let user = api.0;
    let input = input.into_inner();
    let cfg = config.inner().clone();
    db.run(move |conn| super::book(conn, &user, id, input, &cfg))
        .await
        .map(Json)
}
