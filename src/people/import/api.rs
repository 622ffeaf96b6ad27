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
use crate::web::openapi::{BadRequest, BinaryFile, Unauthorized};

/// A problem+json whose `errors` lists rows: `[{line, field, message}]`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RowProblems {
    r#type: &'static str,
    title: &'static str,
    #[schema(value_type = i32, minimum = 100, maximum = 599)]
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
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// true, false, 1 ou 0 : analyse seulement, rien n'est enregistré.
    #[param(schema_with = dry_run_schema)]
    pub dry_run: Option<String>,
    /// Les doublons probables : laissés de côté (skip) ou importés.
    #[param(schema_with = duplicates_schema)]
    pub duplicates: Option<String>,
}

fn dry_run_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(["true", "false", "1", "0"])
}

fn duplicates_schema() -> utoipa::openapi::schema::Object {
    let mut schema = crate::web::openapi::one_of(["skip", "import"]);
    schema.default = Some("skip".into());
    schema
}

/// The paths of the people import in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(import),
    components(schemas(RowProblems), responses(RowsTooLarge, RowsInvalid)),
    modifiers(&OptionalBody)
)]
pub struct ApiDoc;

/// No body is an empty file (the analysis says so, the import is refused): the body is
/// optional, which `#[utoipa::path]` cannot say of a non-`Option` content.
struct OptionalBody;

impl utoipa::Modify for OptionalBody {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let body = openapi
            .paths
            .paths
            .get_mut("/api/v1/people/import")
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut());
        if let Some(body) = body {
            body.required = Some(utoipa::openapi::Required::False);
        }
    }
}

/// The import's 413: a [`RowProblems`] naming the file.
pub struct RowsTooLarge;

impl<'s> utoipa::ToResponse<'s> for RowsTooLarge {
    fn response() -> (
        &'s str,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    ) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        (
            "RowsTooLarge",
            ResponseBuilder::new()
                .description("Fichier trop volumineux (16 Mo au plus) : errors nomme le fichier")
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("RowProblems")))
                        .build(),
                )
                .build()
                .into(),
        )
    }
}

/// The import's 422: the rows to fix, or a query parameter.
pub struct RowsInvalid;

impl<'s> utoipa::ToResponse<'s> for RowsInvalid {
    fn response() -> (
        &'s str,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    ) {
        use utoipa::openapi::schema::OneOfBuilder;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let either = OneOfBuilder::new()
            .item(Ref::from_schema_name("RowProblems"))
            .item(Ref::from_schema_name("Problem"));
        (
            "RowsInvalid",
            ResponseBuilder::new()
                .description(
                    "Erreurs par ligne et colonne (errors : une entrée par erreur), rien n'est \
                     importé ; ou paramètre de la requête invalide (errors nomme le paramètre)",
                )
                .content(
                    "application/problem+json",
                    ContentBuilder::new().schema(Some(either)).build(),
                )
                .build()
                .into(),
        )
    }
}

/// Importer des personnes depuis un CSV (, ou ;, UTF-8 avec ou sans BOM) ou un XLSX, en-têtes français ou anglais : analyse (dry_run) puis import tout ou rien.
#[utoipa::path(
    post,
    path = "/api/v1/people/import",
    operation_id = "import_people",
    tag = "people",
    params(ImportQuery),
    request_body(
        description = "Le fichier tel quel. Sans corps : un fichier vide (l'analyse le dit, l'import est refusé)",
        content(
            // Any bytes are a file to read (an object is not refused for its type).
            (serde_json::Value = "text/csv"),
            (BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ),
    ),
    responses(
        (status = 200, description = "Analyse (dry_run) : rien n'est enregistré", body = Analysis),
        (status = 201, description = "Importé", body = Imported),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = RowsTooLarge),
        (status = 422, response = RowsInvalid),
    ),
    security(("bearer" = [])),
)]
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
