//! Import of people from a spreadsheet: CSV (`,` or `;`, UTF-8 with or without BOM) or XLSX,
//! French or English headers. An analysis lists every error by line and field and every likely
//! duplicate of someone already recorded; the import writes every row or none.

pub mod api;
pub mod web;

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use super::funder::{code_of, GENDERS, SOCIAL_STATUSES};
use super::{DuplicateIndex, PersonInput};
use crate::auth::StaffUser;
use crate::db::schema::programmes;
use crate::db::DbConn;
use crate::error::AppError;
use crate::text::fold;

/// The largest file read; beyond it the upload is refused before anything is parsed.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Rows of people in one file.
pub const MAX_ROWS: usize = 50_000;

#[derive(Serialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct RowError {
    /// Line of the file; the header is line 1.
    #[schema(minimum = 1)]
    pub line: usize,
    pub field: String,
    pub message: String,
}

#[derive(Serialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = ImportDuplicate)]
pub struct Duplicate {
    pub line: usize,
    pub person_id: i32,
}

/// The dry run's answer.
#[derive(Serialize, Debug, Default, utoipa::ToSchema)]
#[schema(as = ImportAnalysis)]
pub struct Analysis {
    /// Rows of people read (empty lines left out).
    pub rows: usize,
    /// Rows without error (duplicates included).
    pub valid: usize,
    pub errors: Vec<RowError>,
    pub duplicates: Vec<Duplicate>,
    #[serde(skip)]
    #[schema(ignore)]
    people: Vec<(usize, PersonInput)>,
}

/// The import's answer.
#[derive(Serialize, Debug, utoipa::ToSchema)]
#[schema(as = PeopleImported)]
pub struct Imported {
    pub imported: usize,
    /// Duplicates left out (imported only with `duplicates=import`).
    pub skipped: usize,
}

/// What to do with a row that looks like someone already recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    Skip,
    Import,
}

/// A column of the file: the person's field it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    GivenName,
    FamilyName,
    BirthYear,
    PostalCode,
    City,
    CommuneInsee,
    Email,
    Phone,
    Gender,
    SocialStatus,
    Programmes,
    ReminderConsent,
    ReferentName,
    ReferentEmail,
    ReferentOrganisation,
    ReferentConsent,
    Notes,
}

impl Column {
    fn field(self) -> &'static str {
        match self {
            Column::GivenName => "given_name",
            Column::FamilyName => "family_name",
            Column::BirthYear => "birth_year",
            Column::PostalCode => "postal_code",
            Column::City => "city",
            Column::CommuneInsee => "commune_insee",
            Column::Email => "email",
            Column::Phone => "phone",
            Column::Gender => "gender",
            Column::SocialStatus => "social_status",
            Column::Programmes => "programmes",
            Column::ReminderConsent => "reminder_consent",
            Column::ReferentName => "referent_name",
            Column::ReferentEmail => "referent_email",
            Column::ReferentOrganisation => "referent_organisation",
            Column::ReferentConsent => "referent_consent",
            Column::Notes => "notes",
        }
    }

    /// A header in French or English, any case, accents optional.
    fn of_header(header: &str) -> Option<Column> {
        let h =
            fold(header.trim().trim_start_matches('\u{feff}')).replace(['_', '-', '’', '\''], " ");
        let h = h.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(match h.as_str() {
            "prenom" | "given name" | "first name" | "pseudonyme" => Column::GivenName,
            "nom" | "nom de famille" | "family name" | "last name" | "surname" => {
                Column::FamilyName
            }
            "annee de naissance" | "annee naissance" | "naissance" | "birth year" => {
                Column::BirthYear
            }
            "code postal" | "cp" | "postal code" | "zip" => Column::PostalCode,
            "commune" | "ville" | "city" => Column::City,
            "code insee" | "insee" | "commune insee" | "code commune" => Column::CommuneInsee,
            "email" | "e mail" | "courriel" | "mail" | "adresse e mail" => Column::Email,
            "telephone" | "tel" | "portable" | "phone" | "mobile" => Column::Phone,
            "genre" | "sexe" | "gender" => Column::Gender,
            "statut" | "statut social" | "social status" => Column::SocialStatus,
            "dispositif" | "dispositifs" | "programme" | "programmes" => Column::Programmes,
            "consentement rappels" | "rappels" | "reminder consent" => Column::ReminderConsent,
            "referent" | "prescripteur" | "referent name" | "nom du prescripteur" => {
                Column::ReferentName
            }
            "email du prescripteur" | "email prescripteur" | "referent email" => {
                Column::ReferentEmail
            }
            "structure du prescripteur" | "structure prescripteur" | "referent organisation" => {
                Column::ReferentOrganisation
            }
            "rappels au prescripteur" | "referent consent" => Column::ReferentConsent,
            "notes" | "informations pratiques" => Column::Notes,
            _ => return None,
        })
    }
}

/// The file's rows as text cells, with the line each comes from (the header is line 1).
struct Sheet {
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

fn file_error(message: impl Into<String>) -> RowError {
    RowError {
        line: 1,
        field: "file".into(),
        message: message.into(),
    }
}

fn read(bytes: &[u8]) -> Result<Sheet, RowError> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else {
        read_csv(bytes)
    }
}

fn read_csv(bytes: &[u8]) -> Result<Sheet, RowError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        file_error(
            "Le fichier n'est ni un classeur XLSX ni un CSV en UTF-8 : enregistrez-le en \
             « CSV UTF-8 » ou en XLSX.",
        )
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or("");
    let separator = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut header = None;
    let mut rows = Vec::new();
    let mut lines = Lines::new(text);
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(1, |p| lines.at(p.byte() as usize));
            RowError {
                line,
                field: "file".into(),
                message: "Ligne illisible (guillemet non fermé ?).".into(),
            }
        })?;
        let line = lines.at(record.position().map_or(0, |p| p.byte() as usize));
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if header.is_none() {
            header = Some(cells);
        } else if cells.iter().any(|c| !c.is_empty()) {
            rows.push((line, cells));
            if rows.len() > MAX_ROWS {
                return Err(file_error(format!(
                    "Le fichier dépasse {MAX_ROWS} personnes : découpez-le."
                )));
            }
        }
    }
    let header = header.ok_or_else(|| file_error("Le fichier est vide."))?;
    Ok(Sheet { header, rows })
}

/// Line numbers of records, counted from the file's start once (records come in order).
struct Lines<'a> {
    bytes: &'a [u8],
    counted_to: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            bytes: text.as_bytes(),
            counted_to: 0,
            line: 1,
        }
    }

    /// The line (from 1) a record starting at byte `start` is on, past the line ends before it.
    fn at(&mut self, start: usize) -> usize {
        let mut start = start.min(self.bytes.len()).max(self.counted_to);
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        self.line += self.bytes[self.counted_to..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.counted_to = start;
        self.line
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Sheet, RowError> {
    use calamine::{Data, Reader, Xlsx};
    let unreadable = || file_error("Le classeur XLSX est illisible.");
    let mut book: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes.to_vec())).map_err(|_| unreadable())?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| file_error("Le classeur n'a aucune feuille."))?;
    let range = book.worksheet_range(&first).map_err(|_| unreadable())?;
    let first_row = range.start().map(|(row, _)| row as usize).unwrap_or(0);
    let first_column = range.start().map(|(_, col)| col as usize).unwrap_or(0);
    let text = |cell: &Data| -> String {
        match cell {
            Data::Empty => String::new(),
            Data::String(s) => s.trim().to_string(),
            // Whole numbers (years, postal codes, phones typed as numbers) without ".0".
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Bool(b) => if *b { "oui" } else { "non" }.into(),
            // A serial day number counted from 1899-12-30 (Excel's 1900 system).
            Data::DateTime(d) => chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|epoch| {
                    epoch.checked_add_signed(chrono::Duration::days(d.as_f64().floor() as i64))
                })
                .map(|d| d.to_string())
                .unwrap_or_default(),
            Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
            Data::Error(_) => "#ERREUR".into(),
        }
    };
    let mut header = None;
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        // Cells left of the used range are empty: keep the columns where they are.
        let mut cells = vec![String::new(); first_column];
        cells.extend(row.iter().map(text));
        let line = first_row + i + 1;
        if header.is_none() {
            if cells.iter().any(|c| !c.is_empty()) {
                header = Some(cells);
            }
        } else if cells.iter().any(|c| !c.is_empty()) {
            rows.push((line, cells));
            if rows.len() > MAX_ROWS {
                return Err(file_error(format!(
                    "Le fichier dépasse {MAX_ROWS} personnes : découpez-le."
                )));
            }
        }
    }
    let header = header.ok_or_else(|| file_error("Le classeur est vide."))?;
    Ok(Sheet { header, rows })
}

fn yes_no(text: &str) -> Option<bool> {
    match fold(text).as_str() {
        "oui" | "o" | "yes" | "y" | "true" | "vrai" | "1" | "x" => Some(true),
        "non" | "n" | "no" | "false" | "faux" | "0" | "" => Some(false),
        _ => None,
    }
}

/// Reads and checks every row; nothing is written.
pub fn analyse(conn: &mut DbConn, user: &StaffUser, bytes: &[u8]) -> Result<Analysis, AppError> {
    let organisation_id = user.target_organisation(None)?;
    let sheet = match read(bytes) {
        Ok(sheet) => sheet,
        Err(error) => {
            return Ok(Analysis {
                errors: vec![error],
                ..Analysis::default()
            })
        }
    };
    let mut analysis = Analysis {
        rows: sheet.rows.len(),
        ..Analysis::default()
    };
    let columns = columns_of(&sheet.header, &mut analysis.errors);
    if !analysis.errors.is_empty() {
        return Ok(analysis);
    }
    let programme_ids: HashMap<String, i32> = programmes::table
        .select((programmes::name, programmes::id))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .map(|(name, id)| (fold(&name), id))
        .collect();
    let existing = DuplicateIndex::of_organisation(conn, organisation_id, None)?;
    for (line, cells) in &sheet.rows {
        let (input, mut errors) = read_person(*line, &columns, cells, &programme_ids);
        match input.checked() {
            Ok(input) if errors.is_empty() => {
                if let Some(person_id) = existing.find(&input) {
                    analysis.duplicates.push(Duplicate {
                        line: *line,
                        person_id,
                    });
                }
                analysis.valid += 1;
                analysis.people.push((*line, input));
            }
            Ok(_) => {}
            Err(field_errors) => {
                for (field, messages) in field_errors {
                    for message in messages {
                        errors.push(RowError {
                            line: *line,
                            field: field.clone(),
                            message,
                        });
                    }
                }
            }
        }
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        analysis.errors.extend(errors);
    }
    if analysis.rows == 0 {
        analysis.errors.push(RowError {
            line: 2,
            field: "file".into(),
            message: "Le fichier ne contient aucune personne sous la ligne des titres.".into(),
        });
    }
    Ok(analysis)
}

/// The field of each column of the header (`None` for an unknown one); unknown, repeated and
/// missing columns go to `errors` (line 1).
fn columns_of(headers: &[String], errors: &mut Vec<RowError>) -> Vec<Option<Column>> {
    let mut columns: Vec<Option<Column>> = Vec::new();
    for header in headers {
        let column = Column::of_header(header);
        if column.is_none() && !header.trim().is_empty() {
            errors.push(RowError {
                line: 1,
                field: header.trim().to_string(),
                message: format!(
                    "Colonne inconnue « {} » : renommez-la (prénom, nom, année de naissance, \
                     code postal, commune, code INSEE, téléphone, email, genre, statut, \
                     dispositif, prescripteur…) ou retirez-la.",
                    header.trim()
                ),
            });
        }
        if column.is_some() && columns.contains(&column) {
            errors.push(RowError {
                line: 1,
                field: column.map(Column::field).unwrap_or_default().into(),
                message: format!("La colonne « {} » figure deux fois.", header.trim()),
            });
        }
        columns.push(column);
    }
    if !columns.contains(&Some(Column::GivenName)) {
        errors.push(RowError {
            line: 1,
            field: "given_name".into(),
            message: "Il manque la colonne « prénom » (ou « given_name »).".into(),
        });
    }
    columns
}

/// A row read as a person, with the errors of its cells (unreadable year, unknown code,
/// programme or yes/no); the person's own checks are left to [`PersonInput::checked`].
fn read_person(
    line: usize,
    columns: &[Option<Column>],
    cells: &[String],
    programme_ids: &HashMap<String, i32>,
) -> (PersonInput, Vec<RowError>) {
    let mut errors = Vec::new();
    let mut error = |field: &str, message: String| {
        errors.push(RowError {
            line,
            field: field.into(),
            message,
        })
    };
    let get = |column: Column| -> Option<String> {
        columns
            .iter()
            .position(|c| *c == Some(column))
            .and_then(|i| cells.get(i))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let birth_year = get(Column::BirthYear).and_then(|y| match y.parse::<i32>() {
        Ok(year) => Some(year),
        Err(_) => {
            error(
                "birth_year",
                format!("Année illisible « {y} » (par exemple 1968)."),
            );
            None
        }
    });
    let coded = |column: Column,
                 list: &[(&'static str, &str)],
                 error: &mut dyn FnMut(&str, String)|
     -> Option<String> {
        let text = get(column)?;
        match code_of(list, &text) {
            Some(code) => Some(code.to_string()),
            None => {
                let allowed: Vec<&str> = list.iter().map(|(_, label)| *label).collect();
                error(
                    column.field(),
                    format!("« {text} » inconnu : {}.", allowed.join(", ")),
                );
                None
            }
        }
    };
    let gender = coded(Column::Gender, GENDERS, &mut error);
    let social_status = coded(Column::SocialStatus, SOCIAL_STATUSES, &mut error);
    let mut programme_list = Vec::new();
    for name in get(Column::Programmes)
        .unwrap_or_default()
        .split(['|', ',', ';'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        match programme_ids.get(&fold(name)) {
            Some(id) => programme_list.push(*id),
            None => error("programmes", format!("Dispositif inconnu « {name} ».")),
        }
    }
    let mut consent = |column: Column| match get(column) {
        None => false,
        Some(text) => yes_no(&text).unwrap_or_else(|| {
            error(column.field(), format!("« {text} » : oui ou non."));
            false
        }),
    };
    let reminder_consent = consent(Column::ReminderConsent);
    let referent_consent = consent(Column::ReferentConsent);
    let input = PersonInput {
        given_name: get(Column::GivenName).unwrap_or_default(),
        family_name: get(Column::FamilyName),
        birth_year,
        postal_code: get(Column::PostalCode).map(|p| {
            // A spreadsheet drops the leading zero of "01400".
            if p.len() == 4 && p.chars().all(|c| c.is_ascii_digit()) {
                format!("0{p}")
            } else {
                p
            }
        }),
        city: get(Column::City),
        email: get(Column::Email),
        phone: get(Column::Phone).map(|p| {
            // …and of "0612345678" typed as a number.
            if p.len() == 9 && p.chars().all(|c| c.is_ascii_digit()) {
                format!("0{p}")
            } else {
                p
            }
        }),
        reminder_consent,
        // An import never gives consent to text messages: it is asked of the person.
        sms_consent: false,
        language: None,
        referent_name: get(Column::ReferentName),
        referent_email: get(Column::ReferentEmail),
        referent_organisation: get(Column::ReferentOrganisation),
        referent_consent,
        programme_ids: programme_list,
        notes: get(Column::Notes),
        organisation_id: None,
        gender,
        social_status,
        commune_insee: get(Column::CommuneInsee),
    };
    (input, errors)
}

/// Imports every row, or none when one has an error (the analysis is then the error).
///
/// The file is read, checked and compared with the people already there before the write
/// starts: a file with errors never takes the writer, and the write transaction only looks for
/// the people created meanwhile and inserts, a few hundred rows a statement, so that the
/// requests waiting behind it (SQLite has one writer) wait milliseconds, not seconds.
pub fn import(
    conn: &mut DbConn,
    user: &StaffUser,
    bytes: &[u8],
    duplicates: Duplicates,
) -> Result<Result<Imported, Analysis>, AppError> {
    let organisation_id = user.target_organisation(None)?;
    // A minute of margin: a person whose transaction began before the analysis and committed
    // after it has a creation time a little before the analysis.
    let analysed_at = crate::db::now() - chrono::Duration::minutes(1);
    let analysis = analyse(conn, user, bytes)?;
    if !analysis.errors.is_empty() {
        return Ok(Err(analysis));
    }
    let mut skip: std::collections::HashSet<usize> = match duplicates {
        Duplicates::Skip => analysis.duplicates.iter().map(|d| d.line).collect(),
        Duplicates::Import => Default::default(),
    };
    let rows = super::ImportRows::new(analysis.people.iter().map(|(_, input)| input));
    crate::db::transaction(conn, |conn| {
        if duplicates == Duplicates::Skip {
            let created =
                super::DuplicateIndex::of_organisation(conn, organisation_id, Some(analysed_at))?;
            if !created.is_empty() {
                for (line, input) in &analysis.people {
                    if created.find(input).is_some() {
                        skip.insert(*line);
                    }
                }
            }
        }
        let keep: Vec<bool> = analysis
            .people
            .iter()
            .map(|(line, _)| !skip.contains(line))
            .collect();
        let imported = rows.insert(conn, user, organisation_id, &keep)?.len();
        Ok(Ok(Imported {
            imported,
            skipped: skip.len(),
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_french_or_english() {
        assert_eq!(Column::of_header("Prénom"), Some(Column::GivenName));
        assert_eq!(Column::of_header("given_name"), Some(Column::GivenName));
        assert_eq!(
            Column::of_header("\u{feff}Année de naissance"),
            Some(Column::BirthYear)
        );
        assert_eq!(Column::of_header("E-mail"), Some(Column::Email));
        assert_eq!(Column::of_header("Code INSEE"), Some(Column::CommuneInsee));
        assert_eq!(Column::of_header("Pointure"), None);
    }

    #[test]
    fn csv_with_semicolons_bom_and_quotes() {
        let sheet = read(
            "\u{feff}prénom;nom\r\n\"Anne; Marie\";Durand\r\n;\r\nLéo;\"dit \"\"Lulu\"\"\"\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(sheet.header, vec!["prénom", "nom"]);
        assert_eq!(
            sheet.rows,
            vec![
                (2, vec!["Anne; Marie".to_string(), "Durand".to_string()]),
                (4, vec!["Léo".to_string(), "dit \"Lulu\"".to_string()]),
            ]
        );
    }

    #[test]
    fn not_utf8_nor_xlsx_is_said_so() {
        let error = read(b"pr\xe9nom;nom\n").err().unwrap();
        assert_eq!(error.field, "file");
        let error = read(b"PK\x03\x04garbage").err().unwrap();
        assert!(error.message.contains("XLSX"));
    }
}
