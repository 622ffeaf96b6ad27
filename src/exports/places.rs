//! `/exports/lieux-mediation-numerique.csv|json`: the organisation's places in the national
//! standard of places of médiation numérique (v1.0.2), every column of its schema in its
//! order, valid against it (tested with the Frictionless validator and the schema's own
//! constraints).

use chrono::{NaiveDate, NaiveTime};
use diesel::prelude::*;
use rocket::http::{ContentType, Header};
use rocket::response::{self, Responder};
use rocket::{Request, State};
use serde::Serialize;

use crate::config::Config;
use crate::db::schema::{opening_hours, places};
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::exports::ExportUser;
use crate::places::{standard, Place};
use crate::reports::FilterQuery;
use crate::web::openapi::{Forbidden, Invalid, Unauthorized};
use crate::web::query::Query;

/// The schema's columns, in its order.
pub const COLUMNS: [&str; 32] = [
    "id",
    "pivot",
    "nom",
    "commune",
    "code_postal",
    "code_insee",
    "adresse",
    "complement_adresse",
    "latitude",
    "longitude",
    "typologie",
    "telephone",
    "courriels",
    "site_web",
    "horaires",
    "presentation_resume",
    "presentation_detail",
    "source",
    "itinerance",
    "structure_parente",
    "date_maj",
    "services",
    "publics_specifiquement_adresses",
    "prise_en_charge_specifique",
    "frais_a_charge",
    "dispositif_programmes_nationaux",
    "formations_labels",
    "autres_formations_labels",
    "modalites_acces",
    "modalites_accompagnement",
    "fiche_acces_libre",
    "prise_rdv",
];

/// A SIRET the standard accepts when the structure has none.
const NO_PIVOT: &str = "00000000000000";

/// Un lieu au standard national des lieux de médiation numérique (v1.0.2) ; une cellule vide
/// du CSV est une clé absente.
// One place in the standard; `None` is an empty cell (CSV) or an absent key (JSON).
#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = LieuMediationNumerique)]
pub struct Lieu {
    pub id: String,
    #[schema(pattern = "^[a-zA-Z0-9]{9,14}$")]
    pub pivot: String,
    pub nom: String,
    pub commune: String,
    #[schema(pattern = "^\\d{5}$")]
    pub code_postal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub code_insee: Option<String>,
    pub adresse: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub typologie: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub telephone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub horaires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 280)]
    pub presentation_resume: Option<String>,
    pub source: String,
    pub date_maj: NaiveDate,
    /// libellés du standard séparés par |
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub services: Option<String>,
    /// libellés du standard séparés par |
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub modalites_acces: Option<String>,
}

impl Lieu {
    /// The value of a column (empty for the ones we do not hold).
    fn column(&self, name: &str) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        match name {
            "id" => self.id.clone(),
            "pivot" => self.pivot.clone(),
            "nom" => self.nom.clone(),
            "commune" => self.commune.clone(),
            "code_postal" => self.code_postal.clone(),
            "code_insee" => opt(&self.code_insee),
            "adresse" => self.adresse.clone(),
            "typologie" => opt(&self.typologie),
            "telephone" => opt(&self.telephone),
            "horaires" => opt(&self.horaires),
            "presentation_resume" => opt(&self.presentation_resume),
            "source" => self.source.clone(),
            "date_maj" => self.date_maj.to_string(),
            "services" => opt(&self.services),
            "modalites_acces" => opt(&self.modalites_acces),
            _ => String::new(),
        }
    }
}

/// The places the user may see (an admin: all, or one organisation's), in the standard.
pub fn lieux(
    conn: &mut DbConn,
    organisation_id: Option<i32>,
    config: &Config,
) -> Result<Vec<Lieu>, AppError> {
    let mut q = places::table.select(Place::as_select()).into_boxed();
    if let Some(o) = organisation_id {
        q = q.filter(places::organisation_id.eq(o));
    }
    let list: Vec<Place> = q.order(places::id).load(conn)?;
    let today = crate::time::today(&config.timezone);
    let ids: Vec<i32> = list.iter().map(|p| p.id).collect();
    // The mediators' weekly hours at each place, as they stand today.
    let hours: Vec<(i32, i32, i32, i32)> = opening_hours::table
        .filter(opening_hours::place_id.eq_any(&ids))
        .filter(
            opening_hours::valid_from
                .is_null()
                .or(opening_hours::valid_from.le(today)),
        )
        .filter(
            opening_hours::valid_until
                .is_null()
                .or(opening_hours::valid_until.ge(today)),
        )
        .select((
            opening_hours::place_id,
            opening_hours::weekday,
            opening_hours::start_minute,
            opening_hours::end_minute,
        ))
        .load(conn)?;
    let minute = |m: i32| {
        NaiveTime::from_num_seconds_from_midnight_opt((m.clamp(0, 24 * 60 - 1) * 60) as u32, 0)
            .unwrap_or(NaiveTime::MIN)
    };
    Ok(list
        .into_iter()
        .map(|p| {
            let weekly: Vec<(i32, NaiveTime, NaiveTime)> = hours
                .iter()
                .filter(|h| h.0 == p.id)
                .map(|h| (h.1, minute(h.2), minute(h.3)))
                .collect();
            let list = |v: &str| (!v.is_empty()).then(|| v.to_string());
            Lieu {
                id: format!("passerelle-lieu-{}", p.id),
                pivot: p.siret.clone().unwrap_or_else(|| NO_PIVOT.to_string()),
                code_insee: crate::people::funder::derive_insee(&p.postal_code, Some(&p.city))
                    .map(String::from),
                telephone: p
                    .phone
                    .as_deref()
                    .and_then(crate::phone::parse)
                    .map(|phone| phone.e164)
                    .filter(|e164| telephone_ok(e164)),
                horaires: p
                    .opening_hours
                    .clone()
                    .or_else(|| standard::opening_hours(&weekly)),
                typologie: p.typologie.clone(),
                presentation_resume: p.presentation_resume.clone(),
                source: "Passerelle".to_string(),
                date_maj: p.updated_at.date(),
                services: list(&p.services),
                modalites_acces: list(&p.modalites_acces),
                nom: p.name,
                commune: p.city,
                code_postal: p.postal_code,
                adresse: p.address,
            }
        })
        .collect())
}

/// The schema's pattern for `telephone`: the French country codes, 6 to 9 digits after.
fn telephone_ok(e164: &str) -> bool {
    const CODES: [&str; 10] = [
        "+33", "+590", "+594", "+262", "+596", "+269", "+687", "+689", "+508", "+681",
    ];
    CODES.iter().any(|code| {
        e164.strip_prefix(code).is_some_and(|rest| {
            (6..=9).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit())
        })
    })
}

/// The standard's CSV: every column, comma-separated, quoted when needed, CRLF.
pub fn csv(lieux: &[Lieu]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    w.write_record(COLUMNS).map_err(fail)?;
    for lieu in lieux {
        w.write_record(COLUMNS.iter().map(|c| lieu.column(c)))
            .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))
}

/// The answer: a file to download.
pub struct NationalFile {
    name: &'static str,
    content_type: ContentType,
    body: Vec<u8>,
}

impl<'r> Responder<'r, 'static> for NationalFile {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = self.body.respond_to(req)?;
        response.set_header(self.content_type);
        response.set_header(Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", self.name),
        ));
        response.set_header(Header::new("Cache-Control", "no-store"));
        Ok(response)
    }
}

/// Only `organisation_id` (admins) applies to places; the other filters are refused.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NationalQuery {
    /// Admins seulement ; ignoré pour les autres rôles (leur structure)
    pub organisation_id: Option<i32>,
}

async fn load(
    db: &State<Db>,
    config: &State<Config>,
    user: ExportUser,
    query: NationalQuery,
    file: &'static str,
) -> Result<Vec<Lieu>, AppError> {
    let user = user.0;
    crate::reports::require_reader(&user)?;
    let config = config.inner().clone();
    db.run(move |conn| {
        let filters = FilterQuery {
            organisation_id: query.organisation_id,
            ..FilterQuery::default()
        }
        .check(conn, &user)?;
        crate::audit::record(
            conn,
            Some(&user),
            "export",
            file,
            None,
            filters.organisation_id,
        )?;
        lieux(conn, filters.organisation_id, &config)
    })
    .await
}

/// Les lieux de la structure au standard national des lieux de médiation numérique (CSV, toutes les colonnes du schéma dans son ordre), valide contre son schéma Table Schema. Consigné au journal d'audit.
#[utoipa::path(
    get,
    path = "/exports/lieux-mediation-numerique.csv",
    operation_id = "export_places_national_csv",
    tag = "exports",
    params(NationalQuery),
    responses(
        (status = 200, description = "CSV", content_type = "text/csv", body = String),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
)]
#[rocket::get("/exports/lieux-mediation-numerique.csv")]
pub async fn export_csv(
    db: &State<Db>,
    config: &State<Config>,
    user: ExportUser,
    query: Query<NationalQuery>,
) -> Result<NationalFile, AppError> {
    let name = "lieux-mediation-numerique.csv";
    let lieux = load(db, config, user, query.into_inner(), name).await?;
    Ok(NationalFile {
        name,
        content_type: ContentType::new("text", "csv").with_params(("charset", "utf-8")),
        body: csv(&lieux)?,
    })
}

/// Les mêmes lieux en JSON : un tableau d'objets aux noms de colonnes du standard.
#[utoipa::path(
    get,
    path = "/exports/lieux-mediation-numerique.json",
    operation_id = "export_places_national_json",
    tag = "exports",
    params(NationalQuery),
    responses(
        (status = 200, description = "JSON", body = Vec<Lieu>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
)]
#[rocket::get("/exports/lieux-mediation-numerique.json")]
pub async fn export_json(
    db: &State<Db>,
    config: &State<Config>,
    user: ExportUser,
    query: Query<NationalQuery>,
) -> Result<NationalFile, AppError> {
    let name = "lieux-mediation-numerique.json";
    let lieux = load(db, config, user, query.into_inner(), name).await?;
    Ok(NationalFile {
        name,
        content_type: ContentType::JSON,
        body: serde_json::to_vec_pretty(&lieux)
            .map_err(|e| AppError::Internal(format!("json: {e}")))?,
    })
}
