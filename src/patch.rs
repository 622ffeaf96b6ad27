//! JSON merge patch (RFC 7396) onto an input struct, so PATCH reuses the create validation.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::AppError;

pub fn merge<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: serde_json::Value,
) -> Result<T, AppError> {
    let serde_json::Value::Object(changes) = patch else {
        return Err(AppError::field("body", "Le corps doit être un objet JSON."));
    };
    let mut merged =
        serde_json::to_value(current).map_err(|e| AppError::Internal(e.to_string()))?;
    for (key, value) in changes {
        merged[key] = value;
    }
    serde_json::from_value(merged).map_err(|e| {
        let message = e.to_string();
        match message.strip_prefix("missing field `") {
            Some(rest) => AppError::field(
                rest.split('`').next().unwrap_or("body"),
                "Ce champ est obligatoire.",
            ),
            None => AppError::field("body", format!("Valeur invalide : {message}.")),
        }
    })
}
