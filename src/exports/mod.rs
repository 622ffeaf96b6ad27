//! Exports (`/exports/{name}.csv|xlsx`), streamed in bounded memory: a blocking task walks the
//! table by id in batches and writes the rows through one [`sheet::RowWriter`] (CSV or XLSX),
//! which hands the bytes to the response through a small channel, so a million rows never sit
//! in memory at once.
//!
//! `sep=;` gives semicolons and a UTF-8 byte-order mark for French spreadsheets (CSV);
//! `pseudonymise=true` leaves out names and contacts and replaces person ids by a keyed
//! pseudonym (stable across files, not reversible without the server's secret key).

pub mod coop;
pub mod people;
pub mod places;
pub mod sheet;
pub mod tables;

use rocket::http::{ContentType, Header};
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder};
use rocket::tokio::sync::mpsc;
use rocket::State;

use crate::auth::{ApiUser, StaffUser, WebUser};
use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::reports::{FilterQuery, Filters};
use crate::web::openapi::{BinaryFile, Forbidden, Invalid, NotFound, Unauthorized};
use crate::web::query::Query;

/// The paths of this capability in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(download, places::export_csv, places::export_json))]
pub struct ApiDoc;
use sheet::{Csv, Format, RowWriter, Xlsx};

/// Exports answer a Bearer token (scripts) or the browser session (the dashboard's links).
pub struct ExportUser(pub StaffUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ExportUser {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, AppError> {
        if req.headers().get_one("Authorization").is_some() {
            // Outside the API's request scope: the token is checked by the guard itself.
            return ApiUser::from_request(req)
                .await
                .map(|a| ExportUser(a.0.staff()));
        }
        WebUser::from_request(req).await.map(|w| ExportUser(w.user))
    }
}

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    People,
    Appointments,
    Logs,
    Assessments,
    Equipment,
    /// Session logs in the columns of La Coop de la médiation numérique's activity export.
    CoopActivities,
}

/// The file type asked for, from the name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Csv,
    Xlsx,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::People,
        Kind::Appointments,
        Kind::Logs,
        Kind::Assessments,
        Kind::Equipment,
        Kind::CoopActivities,
    ];

    /// `people.csv` → (People, Csv); an unknown name → None.
    pub fn from_file(name: &str) -> Option<(Kind, FileType)> {
        let (stem, ext) = name.rsplit_once('.')?;
        let file_type = match ext {
            "csv" => FileType::Csv,
            "xlsx" => FileType::Xlsx,
            _ => return None,
        };
        let kind = Kind::ALL.into_iter().find(|k| k.stem() == stem)?;
        Some((kind, file_type))
    }

    pub fn stem(self) -> &'static str {
        match self {
            Kind::People => "people",
            Kind::Appointments => "appointments",
            Kind::Logs => "logs",
            Kind::Assessments => "assessments",
            Kind::Equipment => "equipment",
            Kind::CoopActivities => "activites-coop",
        }
    }

    /// The name of the downloaded file, in French, without its extension.
    fn download_name(self) -> &'static str {
        match self {
            Kind::People => "personnes",
            Kind::Appointments => "rendez-vous",
            Kind::Logs => "comptes-rendus",
            Kind::Assessments => "evaluations",
            Kind::Equipment => "materiel",
            Kind::CoopActivities => "activites-coop",
        }
    }

    /// The worksheet's name in the XLSX file.
    fn sheet(self) -> &'static str {
        match self {
            Kind::People => "Personnes",
            Kind::Appointments => "Rendez-vous",
            Kind::Logs => "Comptes rendus",
            Kind::Assessments => "Évaluations",
            Kind::Equipment => "Matériel",
            Kind::CoopActivities => "Activités",
        }
    }
}

/// Writes the whole export through `w`, batch by batch.
pub fn produce(
    conn: &mut DbConn,
    kind: Kind,
    filters: &Filters,
    format: &Format,
    w: &mut dyn RowWriter,
) -> Result<(), AppError> {
    match kind {
        Kind::People => people::people(conn, filters, format, w),
        Kind::Appointments => tables::appointments(conn, filters, format, w),
        Kind::Logs => tables::logs(conn, filters, format, w),
        Kind::Assessments => tables::assessments(conn, filters, format, w),
        Kind::Equipment => tables::equipment(conn, filters, format, w),
        Kind::CoopActivities => coop::activities(conn, filters, format, w),
    }
}

/// Runs a whole export into `tx` (the blocking task's body): the file, or a log line saying
/// why it ended early (the header is gone already).
pub fn write_file(
    conn: &mut DbConn,
    kind: Kind,
    file_type: FileType,
    filters: &Filters,
    format: &Format,
    tx: mpsc::Sender<Vec<u8>>,
) -> Result<(), AppError> {
    let mut w: Box<dyn RowWriter> = match file_type {
        FileType::Csv => Box::new(Csv::new(format.separator, tx)),
        FileType::Xlsx => Box::new(Xlsx::new(kind.sheet(), tx)?),
    };
    produce(conn, kind, filters, format, w.as_mut())?;
    w.finish()
}

/// The streamed answer.
pub struct Download {
    file: String,
    file_type: FileType,
    rx: mpsc::Receiver<Vec<u8>>,
}

impl<'r> Responder<'r, 'r> for Download {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'r> {
        let stream = rocket::futures::stream::unfold(self.rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        let mut response = rocket::response::stream::ByteStream::from(stream).respond_to(req)?;
        response.set_header(match self.file_type {
            FileType::Csv => ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            FileType::Xlsx => ContentType::new(
                "application",
                "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        });
        response.set_header(Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", self.file),
        ));
        response.set_header(Header::new("Cache-Control", "no-store"));
        Ok(response)
    }
}

/// The export's own parameters, beside the report filters.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `;` : points-virgules et BOM UTF-8 pour les tableurs français (CSV ; sans effet sur le
    /// XLSX)
    #[param(schema_with = separator_schema)]
    pub sep: Option<String>,
    /// true, false, 1 ou 0 ; toute autre valeur est refusée (422). Sans noms, contacts ni
    /// notes, les personnes sous un pseudonyme stable.
    #[serde(default, deserialize_with = "crate::web::query::flag")]
    pub pseudonymise: Option<bool>,
}

fn separator_schema() -> utoipa::openapi::schema::Object {
    let mut schema = crate::web::openapi::one_of([",", ";"]);
    schema.description = Some(
        "`;` : points-virgules et BOM UTF-8 pour les tableurs français (CSV ; sans effet sur \
         le XLSX)"
            .into(),
    );
    schema
}

/// Every file name `/exports/{file}` answers.
fn file_schema() -> utoipa::openapi::schema::Object {
    let names: Vec<String> = Kind::ALL
        .into_iter()
        .flat_map(|k| ["csv", "xlsx"].map(|ext| format!("{}.{ext}", k.stem())))
        .collect();
    crate::web::openapi::one_of(names.iter().map(String::as_str))
}

/// The `file` path parameter, for the document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct FileParam {
    #[param(schema_with = file_schema)]
    file: String,
}

/// Export en flux, CSV (UTF-8) ou XLSX (cellules typées : nombres, dates et heures locales, booléens ; ligne d'en-tête figée), mêmes filtres que les rapports ; jeton Bearer ou session du navigateur. Chaque export est consigné au journal d'audit.
///
/// `activites-coop` : une ligne par activité (séance individuelle ou atelier), dans les
/// colonnes, l'ordre et les libellés de l'export d'activités de La Coop de la médiation
/// numérique.
#[utoipa::path(
    get,
    path = "/exports/{file}",
    operation_id = "export_file",
    tag = "exports",
    params(FileParam, FilterQuery, ExportQuery),
    responses(
        (status = 200, description = "CSV ou XLSX selon l'extension", content(
            (String = "text/csv"),
            (BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
#[rocket::get("/exports/<file>")]
pub async fn download(
    db: &State<Db>,
    config: &State<Config>,
    user: ExportUser,
    file: &str,
    filters: Query<FilterQuery>,
    options: Query<ExportQuery>,
) -> Result<Download, AppError> {
    let ExportQuery { sep, pseudonymise } = options.into_inner();
    let filters = filters.into_inner();
    let (kind, file_type) = Kind::from_file(file).ok_or(AppError::NotFound)?;
    let user = user.0;
    crate::reports::require_reader(&user)?;
    let separator = match sep.as_deref() {
        None | Some(",") | Some("") => b',',
        Some(";") => b';',
        Some(_) => return Err(AppError::field("sep", "Séparateur : « ; » ou « , ».")),
    };
    let format = Format::new(separator, pseudonymise.unwrap_or(false), config);
    let file = format!(
        "{}.{}",
        kind.stem(),
        match file_type {
            FileType::Csv => "csv",
            FileType::Xlsx => "xlsx",
        }
    );
    let checked = {
        let user = user.clone();
        let audited = file.clone();
        db.run(move |conn| {
            let checked = filters.check(conn, &user)?;
            // Personal data leaving the server is recorded, before the first byte goes.
            crate::audit::record(
                conn,
                Some(&user),
                "export",
                &audited,
                None,
                checked.organisation_id,
            )?;
            Ok(checked)
        })
        .await?
    };
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let db = db.inner().clone();
    let name = file.clone();
    rocket::tokio::task::spawn_blocking(move || {
        let mut conn = match db.get() {
            Ok(conn) => conn,
            Err(e) => {
                log::error!("export {name}: {}", e.detail());
                return;
            }
        };
        // A whole table read once: on SQLite, through the page cache rather than the memory
        // map, so that the export does not grow the server's memory by the file's size.
        use diesel::connection::SimpleConnection;
        let sqlite = matches!(&*conn, DbConn::Sqlite(_));
        if sqlite {
            let _ = conn.batch_execute("PRAGMA mmap_size = 0");
        }
        if let Err(e) = write_file(&mut conn, kind, file_type, &checked, &format, tx) {
            // The header is gone already: the file ends early, and the log says why.
            log::error!("export {name} stopped: {}", e.detail());
        }
        if sqlite {
            let _ = conn.batch_execute(&format!(
                "PRAGMA mmap_size = {}",
                crate::db::SQLITE_MMAP_SIZE
            ));
        }
    });
    Ok(Download {
        file: format!(
            "{}.{}",
            kind.download_name(),
            match file_type {
                FileType::Csv => "csv",
                FileType::Xlsx => "xlsx",
            }
        ),
        file_type,
        rx,
    })
}

#[cfg(test)]
mod tests {
    use super::Kind;

    /// The reports page links each export it lists to a file this route serves.
    #[test]
    fn the_reports_page_lists_exports_that_exist() {
        for (stem, _) in crate::reports::web::EXPORTS {
            assert!(Kind::from_file(&format!("{stem}.csv")).is_some(), "{stem}");
        }
    }
}
