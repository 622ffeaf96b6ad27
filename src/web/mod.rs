//! What every page and every route share: the layout context, catchers, health, OpenAPI,
//! the stylesheet and the security headers.

pub mod api;
pub mod compression;

pub mod notice;
pub mod openapi;
pub mod query;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, content::RawJson, Redirect, Responder, Response};
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use crate::db::Db;
use crate::error::{error_page, problem_response, status_title, wants_problem_json, AppError};

/// The signed-in user as every page's layout shows them.
#[derive(serde::Serialize)]
pub struct Me<'a> {
    pub id: i32,
    pub name: &'a str,
    pub role: &'static str,
    pub role_label: &'static str,
    pub is_admin: bool,
    pub can_manage: bool,
}

/// Who a page is rendered for: the layout's user, the session's CSRF token as the page's forms
/// carry it, and the menu item of the page. The browser session's user (`auth::WebUser`) is
/// one; this layer knows no more of it.
pub trait Viewer {
    fn me(&self) -> Me<'_>;
    /// The session's CSRF token, masked anew (`auth::csrf::masked`).
    fn csrf_field(&self) -> String;
    fn section(&self) -> &'static str;
}

/// Renders a page with the signed-in user and the session's CSRF token in its context.
pub fn page(name: &'static str, viewer: &impl Viewer, mut context: serde_json::Value) -> Template {
    context["me"] = json!(viewer.me());
    context["csrf_token"] = json!(viewer.csrf_field());
    context["section"] = json!(viewer.section());
    // A form's page without errors has an empty summary.
    if context.get("summary").is_none() {
        context["summary"] = json!([]);
    }
    Template::render(name, context)
}

/// The menu item a page belongs to, by its path: `/appointments/12` is the agenda's, a user's
/// opening hours are "Mes horaires". Empty for pages outside the menu (the home page).
pub fn menu_section(path: &str) -> &'static str {
    const SECTIONS: [(&str, &str); 19] = [
        ("/agenda", "/agenda"),
        ("/appointments", "/agenda"),
        ("/to-call", "/to-call"),
        ("/logs-to-fill", "/logs-to-fill"),
        ("/referrals", "/referrals"),
        ("/people", "/people"),
        ("/equipment", "/equipment"),
        ("/calendar", "/calendar"),
        ("/places", "/places"),
        ("/services", "/services"),
        ("/programmes", "/programmes"),
        ("/skills", "/skills"),
        ("/reports", "/reports"),
        ("/exports", "/reports"),
        ("/messages", "/messages"),
        ("/users", "/users"),
        ("/webhooks", "/webhooks"),
        ("/organisations", "/organisations"),
        ("/audit", "/audit"),
    ];
    if path.starts_with("/users/") && path.ends_with("/availability") {
        return "/availability";
    }
    SECTIONS
        .iter()
        .find(|(prefix, _)| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .map(|(_, section)| *section)
        .unwrap_or("")
}

/// A page shown again with its errors (422), after a failed form submission.
pub struct Invalid(pub Template);

impl<'r> Responder<'r, 'static> for Invalid {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        Response::build_from(self.0.respond_to(req)?)
            .status(Status::UnprocessableEntity)
            .ok()
    }
}

/// Either a redirect after a successful POST, or the form again with its errors.
#[derive(Responder)]
pub enum FormOutcome {
    Done(Redirect),
    Invalid(Invalid),
}

/// Parses an optional whole number typed in a form field.
pub fn optional_number(
    field: &str,
    text: &str,
    errors: &mut crate::error::FieldErrors,
) -> Option<i32> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors
                .entry(field.to_string())
                .or_default()
                .push("Nombre entier attendu.".into());
            None
        }
    }
}

pub struct CaughtError(Status);

#[rocket::catch(default)]
pub fn default_catcher(status: Status, _req: &Request<'_>) -> CaughtError {
    CaughtError(status)
}

impl<'r> Responder<'r, 'static> for CaughtError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.0;
        if let Some(error) = api::take_guard_error(req) {
            if error.status() == status || status.code == 413 {
                let mut response = error.respond_to(req)?;
                response.set_status(status);
                return Ok(response);
            }
        }
        // A path that exists, asked with a method it does not serve. Rocket answers a method it
        // does not know at all (`QUERY`, `PROPFIND`…) with a 400 before routing, on a salvaged
        // request that has no route: that is the same case for the client.
        // And a path that only a route with a parameter seems to fit (`/equipment/import` is
        // not an item, `import` not an id: Rocket forwards with 422) is the more specific
        // route's path.
        let unknown_method = status == Status::BadRequest && req.route().is_none();
        let forwarded = status == Status::UnprocessableEntity;
        if status == Status::NotFound || unknown_method || forwarded {
            let allowed = allowed_methods(req, unknown_method);
            if !allowed.is_empty() {
                let status = Status::MethodNotAllowed;
                let detail = "Cette adresse existe, mais pas avec cette méthode.";
                let mut response = if wants_problem_json(req) {
                    problem_response(status, detail, None, None)
                } else {
                    error_page(req, status, detail)?
                };
                response.set_raw_header("Allow", allowed.join(", "));
                return Ok(response);
            }
        }
        // An id in the path that is not a whole number (`/appointments/None/cancel`) names no
        // record: 404, as an id that does not exist, not a 422.
        let status = if forwarded && id_in_path_does_not_parse(req) {
            Status::NotFound
        } else {
            status
        };
        let detail = match status.code {
            400 => "La requête est mal formée.",
            401 => "Authentification requise.",
            403 => "Accès refusé.",
            404 => "Cette page n'existe pas ou n'est pas accessible.",
            422 => "Un paramètre de la requête est invalide.",
            _ if status.code >= 500 => "Une erreur inattendue est survenue.",
            _ => status_title(status),
        };
        if wants_problem_json(req) {
            let mut response = problem_response(status, detail, None, None);
            if status == Status::Unauthorized {
                response.set_raw_header("WWW-Authenticate", "Bearer");
            }
            return Ok(response);
        }
        if status == Status::Unauthorized {
            return Redirect::to("/login").respond_to(req);
        }
        error_page(req, status, detail)
    }
}

/// The methods of the routes whose path pattern matches the request's path, when none of them
/// has the request's method (then the answer is 405 with `Allow`, not 404). `any_method`: the
/// request's own method is unknown to Rocket (it reads as GET), so every route counts.
fn allowed_methods(req: &Request<'_>, any_method: bool) -> Vec<&'static str> {
    let path: Vec<&str> = req
        .uri()
        .path()
        .as_str()
        .trim_end_matches('/')
        .split('/')
        .collect();
    // Of the routes whose pattern fits the path, only the most specific count, as in Rocket's
    // ranking: `/equipment/import` is the POST route's, not `/equipment/<id>`'s.
    let mut fitting: Vec<(usize, &rocket::Route)> = Vec::new();
    for route in req.rocket().routes() {
        let pattern: Vec<&str> = route.uri.path().trim_end_matches('/').split('/').collect();
        let trailing = pattern.last().is_some_and(|s| s.ends_with("..>"));
        let matches = if trailing {
            path.len() >= pattern.len() - 1
        } else {
            path.len() == pattern.len()
        } && pattern
            .iter()
            .zip(&path)
            .all(|(p, s)| p.starts_with('<') || p == s);
        if matches {
            let fixed = pattern.iter().filter(|p| !p.starts_with('<')).count();
            fitting.push((fixed, route));
        }
    }
    let most = fitting.iter().map(|(fixed, _)| *fixed).max().unwrap_or(0);
    // Rocket answers HEAD with the GET route.
    let asked = match req.method() {
        rocket::http::Method::Head => rocket::http::Method::Get,
        other => other,
    };
    let mut methods = Vec::new();
    for (_, route) in fitting.into_iter().filter(|(fixed, _)| *fixed == most) {
        if route.method == asked && !any_method {
            return Vec::new();
        }
        methods.push(route.method.as_str());
        if route.method == rocket::http::Method::Get {
            methods.push("HEAD");
        }
    }
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// Whether a route of the request's method fits its path but for an `<id>` / `<…_id>` segment
/// that is not a whole number.
fn id_in_path_does_not_parse(req: &Request<'_>) -> bool {
    let path: Vec<&str> = req
        .uri()
        .path()
        .as_str()
        .trim_end_matches('/')
        .split('/')
        .collect();
    let asked = match req.method() {
        rocket::http::Method::Head => rocket::http::Method::Get,
        other => other,
    };
    req.rocket()
        .routes()
        .filter(|r| r.method == asked)
        .any(|route| {
            let pattern: Vec<&str> = route.uri.path().trim_end_matches('/').split('/').collect();
            pattern.len() == path.len()
                && pattern
                    .iter()
                    .zip(&path)
                    .all(|(p, s)| p.starts_with('<') || p == s)
                && pattern.iter().zip(&path).any(|(p, s)| {
                    let name = p.trim_start_matches('<').trim_end_matches('>');
                    p.starts_with('<')
                        && (name == "id" || name.ends_with("_id"))
                        && s.parse::<i32>().is_err()
                })
        })
}

/// `GET /health`: 200 when the database answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "service",
    summary = "État du service",
    responses(
        (status = 200, description = "OK", body = openapi::Health),
        (status = 503, description = "Base de données injoignable", body = openapi::Health),
    ),
)]
#[rocket::get("/health")]
pub async fn health(db: &State<Db>) -> (Status, RawJson<String>) {
    let ok = db
        .run(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .await
        .is_ok();
    if ok {
        (
            Status::Ok,
            RawJson(json!({"status": "ok", "database": "ok"}).to_string()),
        )
    } else {
        (
            Status::ServiceUnavailable,
            RawJson(json!({"status": "error", "database": "unreachable"}).to_string()),
        )
    }
}

#[rocket::get("/static/style.css")]
pub fn stylesheet() -> (ContentType, &'static str) {
    (
        ContentType::CSS,
        include_str!("../../templates/static/style.css"),
    )
}

#[rocket::get("/static/card.css")]
pub fn card_stylesheet() -> (ContentType, &'static str) {
    (
        ContentType::CSS,
        include_str!("../../templates/static/card.css"),
    )
}

#[rocket::get("/static/handover.css")]
pub fn handover_stylesheet() -> (ContentType, &'static str) {
    (
        ContentType::CSS,
        include_str!("../../templates/static/handover.css"),
    )
}

/// The icon of the browser's tab: a footbridge (a passerelle). `/favicon.ico` too, for the
/// clients that ask for it without reading the page's `<link rel="icon">`.
#[rocket::get("/favicon.svg")]
pub fn favicon() -> (ContentType, &'static str) {
    (
        ContentType::SVG,
        include_str!("../../templates/static/favicon.svg"),
    )
}

#[rocket::get("/favicon.ico")]
pub fn favicon_ico() -> (ContentType, &'static str) {
    favicon()
}

/// Security headers on every answer.
pub struct SecurityHeaders;

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ));
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new("Referrer-Policy", "same-origin"));
        // Behind HTTPS (the public URL says so), browsers keep to HTTPS for a year.
        if req
            .rocket()
            .state::<crate::config::Config>()
            .is_some_and(|c| c.secure_cookies())
        {
            res.set_header(Header::new("Strict-Transport-Security", "max-age=31536000"));
        }
        if !res.headers().contains("Cache-Control") {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}

/// A helper so handlers can return an [`AppError`] for a missing page.
pub fn not_found<T>() -> Result<T, AppError> {
    Err(AppError::NotFound)
}

/// Percent-encodes a query-string value.
pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
