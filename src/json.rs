//! JSON bodies read strictly, one way for every route: a field the body type does not have is
//! refused by name (never dropped), a value of the wrong type names its field, U+0000 is refused
//! (PostgreSQL cannot store it; SQLite could), and an integral number written as a float
//! (`5.0`, which JSON Schema counts as an integer) is read as the integer it is.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{AppError, FieldErrors};

pub const UNKNOWN_FIELD: &str = "Ce champ n'existe pas.";
pub const NUL_MESSAGE: &str = "Le caractère nul (U+0000) n'est pas accepté.";

/// Parses a request body: a syntax error is `Err(None)` (the caller answers 400 with its own
/// message), anything else is read as [`from_value`] does.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Option<AppError>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|_| None)?;
    from_value(value).map_err(Some)
}

/// The line and column of a body's syntax error, for the 400's message.
pub fn syntax_error(bytes: &[u8]) -> Option<(usize, usize)> {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .err()
        .map(|e| (e.line(), e.column()))
}

/// Reads a value into `T`: unknown fields, wrong types and missing fields are one 422 naming
/// every field at fault.
pub fn from_value<T: DeserializeOwned>(mut value: Value) -> Result<T, AppError> {
    // Every body is an object (serde would otherwise read `[null, null]` as a struct's fields).
    if !value.is_object() {
        return Err(AppError::field("body", "Le corps doit être un objet JSON."));
    }
    if let Some(field) = field_with_nul(&value, "") {
        return Err(AppError::field(&field, NUL_MESSAGE));
    }
    integral_floats_as_integers(&mut value);
    let mut unknown = Vec::new();
    let mut note = |path: serde_ignored::Path<'_>| unknown.push(field_name(&path));
    let parsed = serde_path_to_error::deserialize::<_, T>(serde_ignored::Deserializer::new(
        value, &mut note,
    ));
    let mut errors = FieldErrors::new();
    let parsed = match parsed {
        Ok(parsed) => Some(parsed),
        Err(err) => {
            let path = err.path().to_string();
            let (field, message) = describe(&path, &err.into_inner().to_string());
            errors.insert(field, vec![message]);
            None
        }
    };
    for field in unknown {
        errors.insert(field, vec![UNKNOWN_FIELD.to_string()]);
    }
    match parsed {
        Some(parsed) if errors.is_empty() => Ok(parsed),
        _ => Err(AppError::Validation(errors)),
    }
}

/// `participants[0].note`, the way serde_path_to_error names a field.
fn field_name(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_name(parent)),
        Path::Map { parent, key } => match field_name(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_name(parent),
    }
}

/// The first field (`participants[0].note`) whose text or name holds U+0000.
fn field_with_nul(value: &Value, path: &str) -> Option<String> {
    let name = |p: &str| {
        if p.is_empty() {
            "body".to_string()
        } else {
            p.to_string()
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(name(path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| field_with_nul(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(name(path));
            }
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            field_with_nul(v, &here)
        }),
        _ => None,
    }
}

/// `5.0` → `5`: JSON has one number type, and a client (or a JSON Schema tool) may well write
/// an integer with a fractional part of zero.
fn integral_floats_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// Turns serde's message into a field name and a French message.
fn describe(path: &str, message: &str) -> (String, String) {
    let base = if path == "." {
        String::new()
    } else {
        path.to_string()
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let field = if base.is_empty() {
            name.to_string()
        } else {
            format!("{base}.{name}")
        };
        return (field, "Ce champ est obligatoire.".into());
    }
    let field = if base.is_empty() {
        "body".to_string()
    } else {
        base
    };
    let cleaned = message.split(" at line ").next().unwrap_or(message);
    (field, format!("Valeur invalide : {cleaned}."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Line {
        person_id: i32,
        note: Option<String>,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        given_name: String,
        lines: Vec<Line>,
    }

    fn errors(value: Value) -> FieldErrors {
        match from_value::<Body>(value) {
            Err(AppError::Validation(errors)) => errors,
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn every_field_at_fault_is_named() {
        let e = errors(serde_json::json!({"lines": [{"person_id": 1, "nte": "x"}], "famly": 1}));
        assert_eq!(e["given_name"], vec!["Ce champ est obligatoire."]);
        assert_eq!(e["lines[0].nte"], vec![UNKNOWN_FIELD]);
        assert_eq!(e["famly"], vec![UNKNOWN_FIELD]);
        let e = errors(serde_json::json!({"given_name": "A", "lines": [{"person_id": "x"}]}));
        assert!(
            e["lines[0].person_id"][0].starts_with("Valeur invalide"),
            "{e:?}"
        );
        let e = errors(serde_json::json!({"given_name": "A\u{0}", "lines": []}));
        assert_eq!(e["given_name"], vec![NUL_MESSAGE]);
        let e = errors(serde_json::json!(["A", []]));
        assert_eq!(e["body"], vec!["Le corps doit être un objet JSON."]);
    }

    #[test]
    fn an_integral_float_is_an_integer_and_a_fraction_is_not() {
        let body: Body =
            from_value(serde_json::json!({"given_name": "A", "lines": [{"person_id": 5.0}]}))
                .unwrap();
        assert_eq!(body.lines[0].person_id, 5);
        let e = errors(serde_json::json!({"given_name": "A", "lines": [{"person_id": 5.5}]}));
        assert!(e.contains_key("lines[0].person_id"), "{e:?}");
    }
}
