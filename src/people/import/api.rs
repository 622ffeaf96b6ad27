//! `POST /api/v1/people/import?dry_run=true|false&duplicates=skip|import`, the body being the
//! file itself (CSV or XLSX).

use rocket::data::{Data, ToByteUnit};
use rocket::http::{ContentType, Status};
use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;

use super::{Analysis, Duplicates, Imported, RowError, MAX_BYTES};
use crate::auth::ApiUser;
use crate::db::Db;
use crate::error::AppError;

/// A problem+json whose `errors` lists rows: `[{line, field, message}]`.
#[derive(Serialize)]
pub struct RowProblems {
    r#type: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    errors: Vec<RowError>,
}

pub type ProblemAnswer = (Status, (ContentType, Json<RowProblems>));

fn problem(status: Status, detail: String, errors: Vec<RowError>) -> ProblemAnswer {
    (
        status,
        (
            ContentType::new("application", "problem+json"),
            Json(RowProblems {
                r#type: "about:blank",
                title: if status == Status::PayloadTooLarge {
                    "Fichier trop volumineux"
                } else {
                    "Données invalides"
                },
                status: status.code,
                detail,
                errors,
            }),
        ),
    )
}

/// Reads the uploaded file; a larger one than [`MAX_BYTES`] is refused before parsing.
pub async fn read_body(body: Data<'_>) -> Result<Result<Vec<u8>, ProblemAnswer>, AppError> {
    let bytes = body
        .open(MAX_BYTES.bytes())
        .into_bytes()
        .await
        .map_err(|_| AppError::BadRequest("Le fichier n'a pas pu être lu en entier.".into()))?;
    if !bytes.is_complete() {
        return Ok(Err(problem(
            Status::PayloadTooLarge,
            format!(
                "Le fichier dépasse {} Mo : découpez-le en plusieurs fichiers.",
                MAX_BYTES / 1024 / 1024
            ),
            vec![RowError {
                line: 1,
                field: "file".into(),
                message: "Fichier trop volumineux.".into(),
            }],
        )));
    }
    Ok(Ok(bytes.into_inner()))
}

/// `dry_run` and `duplicates` as the query gives them; anything else is a 422 naming them.
pub fn options(
    dry_run: Option<&str>,
    duplicates: Option<&str>,
) -> Result<(bool, Duplicates), AppError> {
    let dry_run = match dry_run {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => return Err(AppError::field("dry_run", "dry_run : true, false, 1 ou 0.")),
    };
    let duplicates = match duplicates {
        None | Some("skip") => Duplicates::Skip,
        Some("import") => Duplicates::Import,
        Some(_) => {
            return Err(AppError::field(
                "duplicates",
                "duplicates : skip (par défaut) ou import.",
            ))
        }
    };
    Ok((dry_run, duplicates))
}

#[derive(Debug, rocket::Responder)]
pub enum ImportAnswer {
    #[response(status = 200)]
    Analysis(Json<Analysis>),
    #[response(status = 201)]
    Imported(Json<Imported>),
}

fn invalid(analysis: Analysis) -> ProblemAnswer {
    problem(
        Status::UnprocessableEntity,
        format!(
            "{} erreur(s) dans le fichier : rien n'a été importé.",
            analysis.errors.len()
        ),
        analysis.errors,
    )
}

/// `dry_run=true|false|1|0` and `duplicates=skip|import`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ImportQuery {
    pub dry_run: Option<String>,
    pub duplicates: Option<String>,
}

#[rocket::post("/people/import", data = "<body>")]
pub async fn import(
    db: &State<Db>,
    api: ApiUser,
    query: crate::web::query::Query<ImportQuery>,
    body: Data<'_>,
) -> Result<Result<ImportAnswer, ProblemAnswer>, AppError> {
    let user = api.0;
    let (dry_run, duplicates) = options(query.dry_run.as_deref(), query.duplicates.as_deref())?;
    let bytes = match read_body(body).await? {
        Ok(bytes) => bytes,
        Err(answer) => return Ok(Err(answer)),
    };
    if dry_run {
        let analysis = db
            .run(move |conn| super::analyse(conn, &user, &bytes))
            .await?;
        return Ok(Ok(ImportAnswer::Analysis(Json(analysis))));
    }
    Ok(
        match db
            .run(move |conn| super::import(conn, &user, &bytes, duplicates))
            .await?
        {
            Ok(imported) => Ok(ImportAnswer::Imported(Json(imported))),
            Err(analysis) => Err(invalid(analysis)),
        },
    )
}
