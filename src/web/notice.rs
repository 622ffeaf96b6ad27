//! What a page says after a saved change (`?ok=…`, read through the strict query guard), and
//! the summary of a form's errors at its top (RGAA: every error, each linking to its field).

use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::error::FieldErrors;

/// Each `ok` code a redirect may carry, and the sentence the page shows.
pub const NOTICES: [(&str, &str); 13] = [
    ("booked", "Le rendez-vous est enregistré."),
    ("enrolled", "La personne est inscrite."),
    ("withdrawn", "La personne est désinscrite."),
    ("moved", "Le rendez-vous est déplacé."),
    (
        "cancelled",
        "Le rendez-vous est annulé ; les personnes inscrites sont prévenues.",
    ),
    ("assigned", "La remise est enregistrée."),
    ("returned", "Le retour est enregistré."),
    ("status", "Le statut est enregistré."),
    ("created", "La fiche est créée."),
    ("saved", "Les modifications sont enregistrées."),
    ("erased", "La personne est anonymisée."),
    ("logged", "Le compte rendu est enregistré."),
    ("merged", "Les fiches sont fusionnées."),
];

/// The `ok` parameter of a page: one of [`NOTICES`]' codes (another value is a 422).
pub fn ok_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let codes: Vec<&str> = NOTICES.iter().map(|(code, _)| *code).collect();
    crate::web::query::one_of(d, &codes)
}

/// The sentence of an `ok` code.
pub fn text(code: Option<&str>) -> Option<&'static str> {
    let code = code?;
    NOTICES.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
}

/// A page's query that only carries a notice.
#[derive(Debug, Default, Deserialize)]
pub struct OkQuery {
    #[serde(default, deserialize_with = "ok_code")]
    pub ok: Option<String>,
}

/// The error summary of a form: one entry per message, in the order of `fields` (field name,
/// its label, the id of the input to link to), then any other field's messages.
pub fn summary(errors: &FieldErrors, fields: &[(&str, &str)]) -> serde_json::Value {
    let mut entries = Vec::new();
    for (field, label) in fields {
        for message in errors.get(*field).into_iter().flatten() {
            entries
                .push(json!({ "href": format!("#{field}"), "label": label, "message": message }));
        }
    }
    for (field, messages) in errors {
        if fields.iter().any(|(f, _)| f == field) {
            continue;
        }
        for message in messages {
            entries.push(json!({ "href": "#contenu", "label": "", "message": message }));
        }
    }
    json!(entries)
}

/// A form's page context with the summary of its `errors` (`{field: [messages]}`), the fields
/// named in their order on the page (`fields`: name, which is also the input's id, and label).
pub fn with_summary(mut context: serde_json::Value, fields: &[(&str, &str)]) -> serde_json::Value {
    let errors: FieldErrors = serde_json::from_value(context["errors"].clone()).unwrap_or_default();
    context["summary"] = summary(&errors, fields);
    context
}
