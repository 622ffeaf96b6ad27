use rocket::http::Status;
use rocket::State;

use super::replies;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;

/// A delivery report from Kannel (`type`: 1 delivered, 2 failed, 16 rejected by the centre;
/// 4 buffered and 8 submitted say nothing final). The URL carries the message's signature.
#[rocket::get("/sms/dlr/<id>/<signature>?<type>")]
pub async fn delivery_report(
    db: &State<Db>,
    config: &State<Config>,
    id: i32,
    signature: &str,
    r#type: Option<&str>,
) -> Result<(Status, &'static str), AppError> {
    let expected = crate::channels::sms::dlr_signature(&config.secret_key, id);
    if !crate::auth::constant_time_eq(signature.as_bytes(), expected.as_bytes()) {
        return Ok((Status::NotFound, "inconnu"));
    }
    let Some(code) = r#type.and_then(|t| t.trim().parse::<u32>().ok()) else {
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
        .run(move |conn| crate::mail::outbox::record_delivery(conn, id, delivery))
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
#[rocket::get("/sms/inbound?<secret>&<from>&<text>")]
pub async fn inbound(
    db: &State<Db>,
    config: &State<Config>,
    secret: Option<&str>,
    from: Option<&str>,
    text: Option<&str>,
) -> Result<(Status, &'static str), AppError> {
    let Some(expected) = config.sms_inbound_secret.as_deref() else {
        return Ok((Status::Forbidden, ""));
    };
    if !secret.is_some_and(|s| crate::auth::constant_time_eq(s.as_bytes(), expected.as_bytes())) {
        return Ok((Status::Forbidden, ""));
    }
    let (Some(from), Some(text)) = (from, text) else {
        return Ok((Status::UnprocessableEntity, ""));
    };
    let (from, text) = (from.to_string(), text.to_string());
    let cfg = config.inner().clone();
    db.run(move |conn| replies::handle(conn, &cfg, &from, &text))
        .await?;
    Ok((Status::Ok, ""))
}
