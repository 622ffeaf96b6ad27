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
    // A record stays in its organisation: a patch that names one is refused, not ignored.
    if changes.contains_key("organisation_id") {
        return Err(AppError::field(
            "organisation_id",
            "Une fiche ne change pas de structure.",
        ));
    }
    let mut merged =
        serde_json::to_value(current).map_err(|e| AppError::Internal(e.to_string()))?;
    for (key, value) in changes {
        merged[key] = value;
    }
    crate::json::from_value(merged)
}
