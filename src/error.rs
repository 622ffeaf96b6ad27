//! The one application error. On `/api` (and on exports asked with a Bearer token) it answers
//! `application/problem+json`; elsewhere an HTML page in French.

use std::collections::BTreeMap;

use rocket::http::{ContentType, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket_dyn_templates::{context, Template};
use serde_json::json;

/// Messages per field, as in problem+json's `errors`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("introuvable")]
    NotFound,
    /// A person merged into another: 404, with the kept person's id (`merged_into`).
    #[error("fusionnée")]
    Merged(i32),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("certains champs sont invalides")]
    Validation(FieldErrors),
    #[error("{0}")]
    TooManyRequests(String),
    /// Throttled, with the seconds to wait (`Retry-After`).
    #[error("{0}")]
    RetryAfter(String, u64),
    #[error("service indisponible: {0}")]
    Unavailable(String),
    #[error("erreur interne: {0}")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> Status {
        match self {
            AppError::BadRequest(_) => Status::BadRequest,
            AppError::Unauthorized(_) => Status::Unauthorized,
            AppError::Forbidden(_) => Status::Forbidden,
            AppError::NotFound | AppError::Merged(_) => Status::NotFound,
            AppError::Conflict { .. } => Status::Conflict,
            AppError::Validation(_) => Status::UnprocessableEntity,
            AppError::TooManyRequests(_) | AppError::RetryAfter(..) => Status::TooManyRequests,
            AppError::Unavailable(_) => Status::ServiceUnavailable,
            AppError::Internal(_) => Status::InternalServerError,
        }
    }

    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_string(), vec![message.into()]);
        AppError::Validation(errors)
    }

    pub fn forbidden() -> AppError {
        AppError::Forbidden("Votre rôle ne permet pas cette action.".into())
    }

    /// What the person reading the answer is told (internal details stay in the log).
    pub fn detail(&self) -> String {
        match self {
            AppError::NotFound => "Cette ressource n'existe pas ou n'est pas accessible.".into(),
            AppError::Merged(id) => {
                format!("Cette personne a été fusionnée avec la fiche n° {id}.")
            }
            AppError::Validation(_) => "Certains champs sont invalides.".into(),
            AppError::Unavailable(_) => {
                "Le service est momentanément indisponible, réessayez dans un instant.".into()
            }
            AppError::Internal(_) => "Une erreur inattendue est survenue.".into(),
            other => other.to_string(),
        }
    }

    fn code(&self) -> Option<&'static str> {
        match self {
            AppError::Conflict { code, .. } => Some(code),
            AppError::Merged(_) => Some("merged"),
            _ => None,
        }
    }

    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            AppError::Validation(errors) => Some(errors),
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => {
                lost::connection_lost();
                AppError::Unavailable(format!("connexion à la base perdue : {}", info.message()))
            }
            // Two requests racing past a check-then-insert: the database's constraint decides.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => AppError::Conflict {
                code: "already_exists",
                message: "Cet enregistrement existe déjà.".into(),
            },
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                AppError::field("body", "Une des références n'existe pas.")
            }
            // PostgreSQL refuses U+0000 in text, wherever it came from (a query string…).
            Error::DatabaseError(_, info) if is_nul_in_text(info.message()) => {
                AppError::BadRequest(
                    "Le texte envoyé contient un caractère nul (U+0000), qui n'est pas accepté."
                        .into(),
                )
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// PostgreSQL's "invalid byte sequence for encoding \"UTF8\": 0x00".
fn is_nul_in_text(message: &str) -> bool {
    message.contains("invalid byte sequence") && message.contains("0x00")
}

impl From<validator::ValidationErrors> for AppError {
    fn from(e: validator::ValidationErrors) -> Self {
        let mut errors = FieldErrors::new();
        for (field, list) in e.field_errors() {
            let messages = list
                .iter()
                .map(|err| {
                    too_long(err).unwrap_or_else(|| {
                        err.message
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_else(|| "Valeur invalide.".into())
                    })
                })
                .collect();
            errors.insert(field.to_string(), messages);
        }
        AppError::Validation(errors)
    }
}

/// A text longer than its limit says so ("120 caractères au plus."), whatever the field's
/// message for a missing value ("Le nom est obligatoire…").
fn too_long(err: &validator::ValidationError) -> Option<String> {
    if err.code != "length" {
        return None;
    }
    let max = err.params.get("max")?.as_u64()?;
    let length = err.params.get("value")?.as_str()?.chars().count() as u64;
    (length > max).then(|| format!("{max} caractères au plus."))
}

/// French title of a status, for problem+json and the HTML error page.
pub fn status_title(status: Status) -> &'static str {
    match status.code {
        400 => "Requête invalide",
        401 => "Authentification requise",
        403 => "Accès refusé",
        404 => "Introuvable",
        405 => "Méthode non autorisée",
        409 => "Conflit",
        413 => "Requête trop volumineuse",
        415 => "Type de contenu non pris en charge",
        422 => "Données invalides",
        429 => "Trop de tentatives",
        503 => "Service indisponible",
        _ => "Erreur",
    }
}

/// Whether the answer to this request is problem+json rather than HTML.
pub fn wants_problem_json(req: &Request<'_>) -> bool {
    let path = req.uri().path();
    path.starts_with("/api/")
        || path == "/api"
        || (path.starts_with("/exports/") && req.headers().get_one("Authorization").is_some())
}

/// An `application/problem+json` answer.
pub fn problem_response<'r>(
    status: Status,
    detail: &str,
    code: Option<&str>,
    errors: Option<&FieldErrors>,
) -> Response<'r> {
    let mut body = json!({
        "type": code.map(|c| format!("urn:passerelle:problem:{c}")).unwrap_or_else(|| "about:blank".into()),
        "title": status_title(status),
        "status": status.code,
        "detail": detail,
    });
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    if let Some(errors) = errors {
        body["errors"] = json!(errors);
    }
    let text = body.to_string();
    Response::build()
        .status(status)
        .header(ContentType::new("application", "problem+json"))
        .sized_body(text.len(), std::io::Cursor::new(text))
        .finalize()
}

impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if let AppError::Internal(msg) | AppError::Unavailable(msg) = &self {
            // The route's pattern, not the path: paths can carry tokens and names.
            let route = req.route().map(|r| r.uri.to_string()).unwrap_or_default();
            log::error!("{} {route}: {msg}", req.method());
        }
        if let AppError::Merged(kept) = self {
            if !wants_problem_json(req) {
                return rocket::response::Redirect::to(format!("/people/{kept}")).respond_to(req);
            }
            let body = json!({
                "type": "urn:passerelle:problem:merged", "title": status_title(status),
                "status": status.code, "detail": self.detail(), "code": "merged", "merged_into": kept,
            })
            .to_string();
            return Response::build()
                .status(status)
                .header(ContentType::new("application", "problem+json"))
                .sized_body(body.len(), std::io::Cursor::new(body))
                .ok();
        }
        if wants_problem_json(req) {
            let mut response =
                problem_response(status, &self.detail(), self.code(), self.field_errors());
            if status == Status::Unauthorized {
                response.set_raw_header("WWW-Authenticate", "Bearer");
            }
            if let AppError::RetryAfter(_, seconds) = &self {
                response.set_raw_header("Retry-After", seconds.to_string());
            }
            return Ok(response);
        }
        let mut response = error_page_with(req, status, &self.detail(), self.field_errors())?;
        if let AppError::RetryAfter(_, seconds) = &self {
            response.set_raw_header("Retry-After", seconds.to_string());
        }
        Ok(response)
    }
}

/// The HTML error page.
pub fn error_page(req: &Request<'_>, status: Status, detail: &str) -> response::Result<'static> {
    error_page_with(req, status, detail, None)
}

/// The HTML error page, listing each field's problems.
pub fn error_page_with(
    req: &Request<'_>,
    status: Status,
    detail: &str,
    errors: Option<&FieldErrors>,
) -> response::Result<'static> {
    let messages: Vec<String> = errors
        .into_iter()
        .flatten()
        .flat_map(|(field, list)| list.iter().map(move |m| format!("{field} : {m}")))
        .collect();
    let page = Template::render(
        "error",
        context! { title: status_title(status), status: status.code, detail: detail, messages: messages },
    );
    Response::build_from(page.respond_to(req)?)
        .status(status)
        .ok()
}

/// The field errors of a `validator` result (empty when valid).
pub fn validation_errors(result: Result<(), validator::ValidationErrors>) -> FieldErrors {
    match result {
        Ok(()) => FieldErrors::new(),
        Err(e) => match AppError::from(e) {
            AppError::Validation(errors) => errors,
            _ => FieldErrors::new(),
        },
    }
}

/// Connections found lost (PostgreSQL restarted, a proxy cut them): marked here, where a
/// database error is mapped, and read by the pool (`crate::db`) as connections come back.
pub mod lost {
    use std::sync::Mutex;
    use std::time::Duration;

    /// How long, after a connection was found lost, every connection is checked as it leaves the
    /// pool: the server restarted, or a proxy cut idle connections, and the pool's other idle
    /// connections are likely gone too.
    const SUSPICION: Duration = Duration::from_secs(60);

    /// Until when connections are checked as they leave the pool (see [`SUSPICION`]).
    static SUSPECT_UNTIL: Mutex<Option<std::time::Instant>> = Mutex::new(None);

    thread_local! {
        /// The connection this thread is using was found lost: the pool drops it when it comes back.
        static LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    pub fn suspecting() -> bool {
        SUSPECT_UNTIL
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|until| std::time::Instant::now() < until)
    }

    /// Called when a statement fails because its connection is gone (PostgreSQL restarted, the
    /// backend terminated, the network cut): the request that met it fails (503), the connection
    /// is dropped as it goes back to the pool, and for [`SUSPICION`] every connection taken from
    /// the pool is checked first, so the idle ones that died with it fail no other request.
    pub fn connection_lost() {
        LOST.with(|lost| lost.set(true));
        *SUSPECT_UNTIL.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(std::time::Instant::now() + SUSPICION);
    }

    /// Whether this thread's connection was found lost, forgetting it (the pool asks as the
    /// connection comes back).
    pub fn take() -> bool {
        LOST.with(|lost| lost.replace(false))
    }

    /// Whether this thread's connection was found lost (without forgetting it).
    pub fn is_lost() -> bool {
        LOST.with(|lost| lost.get())
    }
}
