//! The import pages: upload a file, read the analysis, confirm. Between the two steps the file
//! waits in `data_dir/imports`, named after its owner and an unguessable token, and is removed
//! once imported.

use std::path::PathBuf;

use rand::RngCore;
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::{Analysis, Duplicates, MAX_BYTES};
use crate::auth::csrf::Csrf;
use crate::auth::WebUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::{page, Invalid};

fn pending_file(config: &Config, web: &WebUser, token: &str) -> Result<PathBuf, AppError> {
    if token.len() != 32 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(AppError::field(
            "token",
            "Ce fichier n'est plus disponible : déposez-le à nouveau.",
        ));
    }
    Ok(config
        .data_dir
        .join("imports")
        .join(format!("{}-{token}", web.user.id)))
}

fn upload_page(web: &WebUser, errors: serde_json::Value) -> Template {
    page(
        "people/import",
        web,
        crate::web::notice::with_summary(
            json!({ "errors": errors, "values": {}, "max_mb": MAX_BYTES / 1024 / 1024 }),
            &[("file", "Fichier")],
        ),
    )
}

#[rocket::get("/people/import")]
pub async fn form(web: WebUser) -> Template {
    upload_page(&web, json!({}))
}

#[derive(rocket::FromForm)]
pub struct Upload<'r> {
    /// Optional here so that a form without it is refused as forged (403), not as malformed.
    csrf_token: Option<String>,
    file: Option<TempFile<'r>>,
}

fn analysis_page(web: &WebUser, analysis: &Analysis, token: &str) -> Template {
    page(
        "people/import",
        web,
        json!({
            "analysis": analysis, "token": token, "errors": {},
            "max_mb": MAX_BYTES / 1024 / 1024,
            // The file's mistakes are in the table: the summary leads there.
            "summary": analysis.errors.iter().map(|e| json!({
                "href": "#import-errors", "label": format!("Ligne {}, {}", e.line, e.field), "message": e.message,
            })).collect::<Vec<_>>(),
        }),
    )
}

#[rocket::post("/people/import", data = "<upload>")]
pub async fn analyse(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    upload: Form<Upload<'_>>,
) -> Result<Result<Template, Invalid>, AppError> {
    let submitted = upload.csrf_token.as_deref().unwrap_or_default();
    if !crate::auth::csrf::matches(submitted, &web.csrf_token) {
        return Err(AppError::Forbidden(
            "Le formulaire a expiré ou ne vient pas de Passerelle : rechargez la page et recommencez."
                .into(),
        ));
    }
    let bytes = match &upload.file {
        Some(file) if file.len() > 0 => {
            use rocket::tokio::io::AsyncReadExt;
            let mut bytes = Vec::with_capacity(file.len() as usize);
            file.open()
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
            bytes
        }
        _ => {
            return Ok(Err(Invalid(upload_page(
                &web,
                json!({ "file": ["Choisissez un fichier CSV ou XLSX."] }),
            ))))
        }
    };
    let user = web.user.clone();
    let kept = bytes.clone();
    let analysis = db
        .run(move |conn| super::analyse(conn, &user, &kept))
        .await?;
    let mut token = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut token);
    let token = hex::encode(token);
    if analysis.errors.is_empty() {
        let path = pending_file(config, &web, &token)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| AppError::Internal(e.to_string()))?;
        }
        std::fs::write(&path, &bytes).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(Ok(analysis_page(&web, &analysis, &token)))
    } else {
        Ok(Err(Invalid(analysis_page(&web, &analysis, ""))))
    }
}

#[derive(rocket::FromForm)]
pub struct Confirm {
    token: String,
    duplicates: Option<String>,
}

#[rocket::post("/people/import/confirm", data = "<form>")]
pub async fn confirm(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    form: Csrf<Confirm>,
) -> Result<Result<Template, Invalid>, AppError> {
    let duplicates = match form.duplicates.as_deref() {
        Some("import") => Duplicates::Import,
        _ => Duplicates::Skip,
    };
    let path = pending_file(config, &web, &form.token)?;
    let bytes = std::fs::read(&path).map_err(|_| {
        AppError::field(
            "token",
            "Ce fichier n'est plus disponible : déposez-le à nouveau.",
        )
    })?;
    let user = web.user.clone();
    match db
        .run(move |conn| super::import(conn, &user, &bytes, duplicates))
        .await?
    {
        Ok(imported) => {
            let _ = std::fs::remove_file(&path);
            Ok(Ok(page(
                "people/import",
                &web,
                json!({ "done": imported, "errors": {}, "max_mb": MAX_BYTES / 1024 / 1024 }),
            )))
        }
        // The people changed since the analysis (a duplicate became an error): show it again.
        Err(analysis) => Ok(Err(Invalid(analysis_page(&web, &analysis, "")))),
    }
}
