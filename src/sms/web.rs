use rocket::http::Status;
use rocket::State;

use super::replies;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::query::Query;

/// A delivery report from Kannel (`type`: 1 delivered, 2 failed, 16 rejected by the centre;
/// 4 buffered and 8 submitted say nothing final). The URL carries the message's signature.
/// The query of a delivery report.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DlrQuery {
    /// Kannel's `%d`.
    pub r#type: Option<u32>,
}

#[rocket::get("/sms/dlr/<id>/<signature>")]
pub async fn delivery_report(
    db: &State<Db>,
    config: &State<Config>,
    id: i32,
    signature: &str,
    query: Query<DlrQuery>,
) -> Result<(Status, &'static str), AppError> {
    let expected = crate::channels::sms::dlr_signature(&config.secret_key, id);
    if !crate::auth::constant_time_eq(signature.as_bytes(), expected.as_bytes()) {
        return Ok((Status::NotFound, "inconnu"));
    }
    let Some(code) = query.r#type else {
        return Ok((
            Status::UnprocessableEntity,
            "type : un nombre attendu (1, 2, 4, 8, 16)",
        ));
    };
    let delivery = match code {
        1 => "delivered",
        2 | 16 => "failed",
        _ => return Ok((Status::Ok, "noté")),
    };
    let found = db
        .run(move |conn| crate::outbox::record_delivery(conn, id, delivery))
        .await?;
    Ok(if found {
        (Status::Ok, "noté")
    } else {
        (Status::NotFound, "inconnu")
    })
}

/// A text message a person sent (Kannel's sms-service `get-url`:
/// `/sms/inbound?secret=…&from=%p&text=%a`). The answer goes out through the outbox; the
/// body here is empty, so that Kannel sends nothing itself.
/// The query Kannel's sms-service sends.
#[derive(Debug, Default, serde::Deserialize)]
pub struct InboundQuery {
    pub secret: Option<String>,
    pub from: Option<String>,
    pub text: Option<String>,
}

#[rocket::get("/sms/inbound")]
pub async fn inbound(
    db: &State<Db>,
    config: &State<Config>,
    query: Query<InboundQuery>,
) -> Result<(Status, &'static str), AppError> {
    let InboundQuery { secret, from, text } = query.into_inner();
    let Some(expected) = config.sms_inbound_secret.as_deref() else {
        return Ok((Status::Forbidden, ""));
    };
    if !secret
        .as_deref()
        .is_some_and(|s| crate::auth::constant_time_eq(s.as_bytes(), expected.as_bytes()))
    {
        return Ok((Status::Forbidden, ""));
    }
    let (Some(from), Some(text)) = (from, text) else {
        return Ok((Status::UnprocessableEntity, ""));
    };
    let cfg = config.inner().clone();
    db.run(move |conn| replies::handle(conn, &cfg, &from, &text))
        .await?;
    Ok((Status::Ok, ""))
}
