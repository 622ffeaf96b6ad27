//! Every state-changing HTML form is read through [`Csrf`], which refuses the request with 403
//! before parsing anything when its `csrf_token` field is not the session's (or, before sign-in,
//! the double-submit cookie's).
//!
//! Pages never show the token itself but [`masked`]: a new random pad and the token XORed with
//! it, different on every page. Pages are compressed (`web::compression`), and a secret repeated
//! as-is beside text an attacker chose could be guessed from compressed sizes (BREACH).

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::form::{Form, FromForm};
use rocket::http::{RawStr, Status};
use rocket::outcome::Outcome;
use rocket::request::Request;

use super::identity::{WebUser, PRE_SESSION_CSRF_COOKIE};
use super::secret::constant_time_eq;
use crate::error::{AppError, FieldErrors};
use crate::web::api::remember_guard_error;

pub struct Csrf<T>(pub T);

/// The token as a form carries it: `pad.(pad XOR token)`, both URL-safe base64, a new pad each time.
pub fn masked(token: &str) -> String {
    use base64::Engine;
    use rand::RngCore;
    let token = token.as_bytes();
    let mut pad = vec![0u8; token.len()];
    rand::rngs::OsRng.fill_bytes(&mut pad);
    let xored: Vec<u8> = pad.iter().zip(token).map(|(p, t)| p ^ t).collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!("{}.{}", b64.encode(&pad), b64.encode(xored))
}

/// Whether a submitted token is `expected`, masked (as pages show it) or as it is (a client
/// that read the cookie), compared in constant time.
pub fn matches(submitted: &str, expected: &str) -> bool {
    use base64::Engine;
    if submitted.is_empty() || expected.is_empty() {
        return false;
    }
    let Some((pad, xored)) = submitted.split_once('.') else {
        return constant_time_eq(submitted.as_bytes(), expected.as_bytes());
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    match (b64.decode(pad), b64.decode(xored)) {
        (Ok(pad), Ok(xored)) if pad.len() == xored.len() => {
            let token: Vec<u8> = pad.iter().zip(&xored).map(|(p, x)| p ^ x).collect();
            constant_time_eq(&token, expected.as_bytes())
        }
        _ => false,
    }
}

/// The body of a form whose only field is its CSRF token (logout, retry, revoke…).
#[derive(rocket::FromForm)]
pub struct TokenOnly {
    #[allow(dead_code)]
    csrf_token: String,
}

impl<T> Csrf<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Csrf<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn refuse<'r, T: FromData<'r, Error = ()>>(
    req: &Request<'_>,
    status: Status,
    error: AppError,
) -> data::Outcome<'r, T> {
    remember_guard_error(req, error);
    Outcome::Error((status, ()))
}

#[rocket::async_trait]
impl<'r, T> FromData<'r> for Csrf<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let limit = req.limits().get("form").unwrap_or(64.kibibytes());
        let body = match data.open(limit).into_string().await {
            Ok(body) if body.is_complete() => body.into_inner(),
            _ => {
                return refuse(
                    req,
                    Status::PayloadTooLarge,
                    AppError::BadRequest("Le formulaire est trop volumineux.".into()),
                )
            }
        };
        let submitted = Form::<()>::values(&body)
            .find(|field| field.name == "csrf_token")
            .map(|field| RawStr::new(field.value).url_decode_lossy().into_owned())
            .unwrap_or_default();
        let session_token = req
            .guard::<WebUser>()
            .await
            .succeeded()
            .map(|w| w.csrf_token);
        let cookie_token = req
            .cookies()
            .get(PRE_SESSION_CSRF_COOKIE)
            .map(|c| c.value().to_string());
        // Forms shown without a session (login, first setup, a beneficiary's pages) carry the
        // double-submit cookie's token; every other form, only the session's.
        let path = req.uri().path();
        let pre_session = path == "/login"
            || path.starts_with("/setup/")
            || path.starts_with("/r/")
            || path.starts_with("/h/")
            || path.starts_with("/rdv/");
        let expected = if pre_session {
            cookie_token
        } else {
            session_token
        };
        let valid = expected.is_some_and(|expected| matches(&submitted, &expected));
        if !valid {
            return refuse(req, Status::Forbidden, AppError::Forbidden(
                "Le formulaire a expiré ou ne vient pas de Passerelle : rechargez la page et recommencez."
                    .into(),
            ));
        }
        // PostgreSQL cannot store U+0000 in text: refused on both backends alike.
        if let Some(field) = Form::<()>::values(&body).find(|field| {
            RawStr::new(field.value).url_decode_lossy().contains('\0')
                || RawStr::new(field.name.source().as_str())
                    .url_decode_lossy()
                    .contains('\0')
        }) {
            return refuse(
                req,
                Status::UnprocessableEntity,
                AppError::field(field.name.source().as_str(), crate::web::api::NUL_MESSAGE),
            );
        }
        match Form::<T>::parse_encoded(RawStr::new(&body)) {
            Ok(value) => Outcome::Success(Csrf(value)),
            Err(errors) => {
                let mut fields = FieldErrors::new();
                for error in errors.iter() {
                    let name = error
                        .name
                        .as_ref()
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "form".into());
                    fields
                        .entry(name)
                        .or_default()
                        .push(format!("Valeur invalide : {}.", error.kind));
                }
                refuse(
                    req,
                    Status::UnprocessableEntity,
                    AppError::Validation(fields),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{masked, matches};

    #[test]
    fn a_masked_token_differs_every_time_and_still_matches_only_its_token() {
        let token = crate::auth::secret::random_token();
        let (a, b) = (masked(&token), masked(&token));
        assert_ne!(a, b, "two pages must not carry the same bytes");
        assert!(!a.contains(&token));
        assert!(matches(&a, &token) && matches(&b, &token));
        assert!(matches(&token, &token), "the token as it is still matches");
        let other = crate::auth::secret::random_token();
        assert!(!matches(&a, &other));
        assert!(!matches(&masked(&other), &token));
        assert!(!matches("", &token));
        assert!(!matches("abc.def", &token));
        assert!(!matches("not base64!.x", &token));
    }
}
