//! Query strings, read strictly: the one way every route (API, page, export) takes its query
//! parameters.
//!
//! [`Query<T>`] is a request guard that deserialises the whole query string into `T` (a plain
//! serde struct: `Option<i32>`, enums, [`flag`] booleans…). A value that does not parse is a 422
//! naming the parameter (`errors` keyed by its name): problem+json on the API and on exports
//! asked with a token, the French error page elsewhere. A filter is never dropped silently, as
//! Rocket's own `Option<T>` query parameters would do. On pages (and exports from the browser),
//! empty values (`?place_id=`, the "all" choice of a filter form) count as absent; on the API
//! an empty value is a value like another (refused where it does not parse). Parameters a route
//! does not read are ignored. Several `Query` guards may read the same query string (the
//! filters and the page).

use std::ops::Deref;

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;

use crate::error::{AppError, FieldErrors};
use crate::web::api::remember_guard_error;

/// The query string of the request, parsed into `T`. Declare it after the authentication guard,
/// so that a caller who is not signed in is told so first.
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

#[rocket::async_trait]
impl<'r, T: DeserializeOwned + Send + 'static> FromRequest<'r> for Query<T> {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let query = req.uri().query().map(|q| q.as_str()).unwrap_or("");
        let empty_is_absent = !crate::error::wants_problem_json(req);
        match parse_with::<T>(query, empty_is_absent) {
            Ok(value) => Outcome::Success(Query(value)),
            Err(error) => {
                remember_guard_error(req, error);
                Outcome::Error((Status::UnprocessableEntity, ()))
            }
        }
    }
}

/// Parses a raw (percent-encoded) query string into `T`, or the 422 naming the parameter; empty
/// values are kept.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    parse_with(query, false)
}

/// As [`parse`], leaving out empty values when `empty_is_absent`.
pub fn parse_with<T: DeserializeOwned>(query: &str, empty_is_absent: bool) -> Result<T, AppError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(_, value)| !(empty_is_absent && value.is_empty()))
        .collect();
    let kept = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(kept.as_bytes()));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let (field, message) = describe(&path, &message);
        let mut errors = FieldErrors::new();
        errors.insert(field, vec![message]);
        AppError::Validation(errors)
    })
}

/// The parameter a serde error is about, and a French message for it.
fn describe(path: &str, message: &str) -> (String, String) {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    if let Some(name) = quoted("missing field `") {
        return (name, "Ce paramètre est obligatoire.".into());
    }
    if let Some(name) = quoted("duplicate field `") {
        return (name, "Ce paramètre est donné plusieurs fois.".into());
    }
    let field = if path.is_empty() || path == "." {
        "query".to_string()
    } else {
        path.to_string()
    };
    let text = if message.contains("invalid digit")
        || message.contains("number too large")
        || message.contains("number too small")
        || message.contains("invalid type")
    {
        "Nombre entier attendu.".to_string()
    } else if let Some(rest) = message.strip_prefix("unknown variant `") {
        let expected = rest
            .split("expected ")
            .nth(1)
            .unwrap_or_default()
            .replace("one of ", "")
            .replace('`', "");
        format!("Valeur inconnue ; valeurs acceptées : {expected}.")
    } else {
        // Our own deserialisers (below) already speak French.
        message.to_string()
    };
    (field, text)
}

/// A boolean parameter: `true`, `false`, `1` or `0`, nothing else (`yes`, `on`… are refused
/// rather than read as false). Use with `#[serde(default, deserialize_with = "flag")]`.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match String::deserialize(d)?.as_str() {
        "true" | "1" => Ok(Some(true)),
        "false" | "0" => Ok(Some(false)),
        _ => Err(D::Error::custom(
            "Valeur booléenne attendue : true, false, 1 ou 0.",
        )),
    }
}

/// A calendar date `YYYY-MM-DD`. Use with `#[serde(default, deserialize_with = "date")]`.
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<chrono::NaiveDate>, D::Error> {
    let text = String::deserialize(d)?;
    crate::time::parse_date(text.trim())
        .map(Some)
        .ok_or_else(|| D::Error::custom("Date attendue au format AAAA-MM-JJ."))
}

/// Ids separated by commas (`3,7,12`). Use with `#[serde(default, deserialize_with = "ids")]`.
pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i32>, D::Error> {
    let text = String::deserialize(d)?;
    text.split(',')
        .map(|part| part.trim().parse::<i32>())
        .collect::<Result<_, _>>()
        .map_err(|_| D::Error::custom("Identifiants entiers séparés par des virgules attendus."))
}

/// One of the given codes; for a string parameter that names an enum value.
pub fn one_of<'de, D: Deserializer<'de>>(d: D, codes: &[&str]) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    if codes.contains(&text.as_str()) {
        Ok(Some(text))
    } else {
        Err(D::Error::custom(format!(
            "Valeur inconnue ; valeurs acceptées : {}.",
            codes.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Sample {
        mediator_id: Option<i32>,
        #[serde(default, deserialize_with = "flag")]
        pseudonymise: Option<bool>,
        #[serde(default, deserialize_with = "date")]
        day: Option<chrono::NaiveDate>,
        q: Option<String>,
    }

    fn field_of(e: AppError) -> Vec<String> {
        e.field_errors()
            .map(|f| f.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_value_that_does_not_parse_names_its_parameter() {
        for (query, name) in [
            ("mediator_id=abc", "mediator_id"),
            ("mediator_id=1.5", "mediator_id"),
            ("mediator_id=99999999999", "mediator_id"),
            ("pseudonymise=yes", "pseudonymise"),
            ("pseudonymise=on", "pseudonymise"),
            ("day=2026-02-30", "day"),
            ("q=x&mediator_id=1&mediator_id=2", "mediator_id"),
        ] {
            let err = parse::<Sample>(query).unwrap_err();
            assert_eq!(field_of(err), vec![name.to_string()], "{query}");
        }
    }

    #[test]
    fn booleans_are_true_false_1_or_0_and_empty_values_are_absent_on_pages() {
        assert!(
            parse::<Sample>("mediator_id=").is_err(),
            "the API refuses an empty id"
        );
        let s: Sample =
            parse_with("pseudonymise=1&mediator_id=&q=%C3%A9l%C3%A9na+x", true).unwrap();
        assert_eq!(s.pseudonymise, Some(true));
        assert_eq!(s.mediator_id, None);
        assert_eq!(s.q.as_deref(), Some("éléna x"));
        let s: Sample = parse("pseudonymise=0&other=whatever").unwrap();
        assert_eq!(s.pseudonymise, Some(false));
        let s: Sample = parse("").unwrap();
        assert!(s.pseudonymise.is_none() && s.day.is_none());
    }
}
