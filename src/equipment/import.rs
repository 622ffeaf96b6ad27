//! CSV import of an inventory: all or nothing, with every bad line named and why.
//! Separator `;` or `,` (found in the header line); headers in French or English; kinds in
//! French accepted too. Format: see README.md.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::ItemInput;
use crate::auth::StaffUser;
use crate::db::schema::{equipment, programmes};
use crate::db::DbConn;
use crate::error::{AppError, FieldErrors};

#[derive(Serialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug)]
pub enum ImportError {
    Lines(Vec<LineError>),
    Other(AppError),
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError::Other(e.into())
    }
}

impl From<AppError> for ImportError {
    fn from(e: AppError) -> Self {
        ImportError::Other(e)
    }
}

/// Splits one CSV record (quotes with doubled quotes inside).
fn fields(line: &str, separator: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == separator && !quoted => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out.into_iter().map(|f| f.trim().to_string()).collect()
}

fn column(header: &str) -> Option<&'static str> {
    let h = crate::text::fold(header.trim().trim_start_matches('\u{feff}'));
    Some(match h.as_str() {
        "kind" | "type" | "nature" => "kind",
        "model" | "modele" => "model",
        "serial" | "numero de serie" | "n° de serie" | "no de serie" | "serie" => "serial",
        "imei" => "imei",
        "iccid" => "iccid",
        "phone_number" | "numero" | "telephone" | "numero de telephone" | "ligne" => "phone_number",
        "operator" | "operateur" => "operator",
        "data_allowance" | "forfait" | "donnees" => "data_allowance",
        "valid_until" | "fin de validite" | "validite" | "expiration" => "valid_until",
        "programme" | "dispositif" | "financeur" => "programme",
        _ => return None,
    })
}

fn kind(text: &str) -> String {
    match crate::text::fold(text).as_str() {
        "tablette" | "tablet" => "tablet",
        "ordinateur" | "ordinateur portable" | "portable" | "pc portable" | "laptop" => "laptop",
        "smartphone" | "telephone" | "mobile" => "smartphone",
        "carte sim" | "sim" | "sim_card" => "sim_card",
        "box" | "cle 4g" | "routeur" | "hotspot" => "hotspot",
        "autre" | "other" => "other",
        other => return other.to_string(),
    }
    .to_string()
}

fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .ok()
}

/// Imports every line or none. Returns how many items were added.
///
/// The file is read and checked, and its serials, IMEIs and ICCIDs compared with the inventory's,
/// before the write starts: a file with errors never takes the writer, and the write transaction
/// only compares them with the items created meanwhile and inserts, a few hundred rows a
/// statement, so that the requests waiting behind it (SQLite has one writer) wait milliseconds.
pub fn import(conn: &mut DbConn, actor: &StaffUser, csv: &str) -> Result<usize, ImportError> {
    let organisation_id = actor.target_organisation(None)?;
    // A minute of margin: an item whose transaction began before the analysis and committed
    // after it has a creation time a little before the analysis.
    let analysed_at = crate::db::now() - chrono::Duration::minutes(1);
    let items = analyse(conn, csv)?;
    crate::db::transaction(conn, |conn| {
        let taken = taken_meanwhile(conn, analysed_at, &items)?;
        if !taken.is_empty() {
            return Ok(Err(taken));
        }
        let inputs: Vec<&ItemInput> = items.iter().map(|(_, input)| input).collect();
        super::insert_many(conn, actor, organisation_id, &inputs)?;
        crate::audit::record(
            conn,
            Some(actor),
            "import",
            "equipment",
            None,
            Some(organisation_id),
        )?;
        Ok(Ok(()))
    })?
    .map_err(ImportError::Lines)?;
    Ok(items.len())
}

/// Reads and checks every line, against the programmes and the identifiers already in the
/// inventory; nothing is written. The items with their line, or every bad line.
fn analyse(conn: &mut DbConn, csv: &str) -> Result<Vec<(usize, ItemInput)>, ImportError> {
    let mut lines = csv
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (separator, columns) = read_header(lines.next().map(|(_, header)| header))?;
    let programme_ids: HashMap<String, i32> = programmes::table
        .select((programmes::name, programmes::id))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .map(|(name, id)| (crate::text::fold(&name), id))
        .collect();
    let mut identifiers = Identifiers::stored(conn, None)?;
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in lines {
        let number = index + 1;
        let values = fields(line, separator);
        let (input, mut problems) = read_item(&columns, &values, &programme_ids);
        identifiers.claim(&input, &mut problems);
        if problems.is_empty() {
            items.push((number, input));
        } else {
            errors.push(LineError {
                line: number,
                message: problems.join(" ; "),
            });
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Lines(errors));
    }
    Ok(items)
}

/// The separator (the one the header line has most of, `;` when tied) and the field of each
/// column (`None` for an unknown one); an error when there is no header or no kind column.
fn read_header(header: Option<&str>) -> Result<(char, Vec<Option<&'static str>>), ImportError> {
    let Some(header) = header else {
        return Err(ImportError::Lines(vec![LineError {
            line: 1,
            message: "Le fichier est vide.".into(),
        }]));
    };
    let separator = if header.matches(';').count() >= header.matches(',').count() {
        ';'
    } else {
        ','
    };
    let columns: Vec<Option<&str>> = fields(header, separator)
        .iter()
        .map(|h| column(h))
        .collect();
    if !columns.contains(&Some("kind")) {
        return Err(ImportError::Lines(vec![LineError {
            line: 1,
            message: "La première ligne doit nommer les colonnes, dont « type » (ou « kind »)."
                .into(),
        }]));
    }
    Ok((separator, columns))
}

/// A line read as an item, normalised, with the problems of its cells and fields (unreadable
/// date, unknown programme, the item's own checks); uniqueness is left to [`Identifiers`].
fn read_item(
    columns: &[Option<&str>],
    values: &[String],
    programme_ids: &HashMap<String, i32>,
) -> (ItemInput, Vec<String>) {
    let get = |name: &str| {
        columns
            .iter()
            .position(|c| *c == Some(name))
            .and_then(|i| values.get(i))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let mut problems = Vec::new();
    let valid_until = match get("valid_until") {
        Some(text) => match date(&text) {
            Some(d) => Some(d),
            None => {
                problems.push(format!(
                    "date de validité illisible « {text} » (AAAA-MM-JJ ou JJ/MM/AAAA)"
                ));
                None
            }
        },
        None => None,
    };
    let programme_id = match get("programme") {
        Some(name) => match programme_ids.get(&crate::text::fold(&name)) {
            Some(id) => Some(*id),
            None => {
                problems.push(format!("dispositif inconnu « {name} »"));
                None
            }
        },
        None => None,
    };
    let mut field_errors = FieldErrors::new();
    let input = ItemInput {
        kind: kind(&get("kind").unwrap_or_default()),
        model: get("model"),
        serial: get("serial"),
        imei: get("imei"),
        iccid: get("iccid"),
        phone_number: get("phone_number"),
        operator: get("operator"),
        data_allowance: get("data_allowance"),
        valid_until,
        programme_id,
        organisation_id: None,
    }
    .normalised(&mut field_errors);
    for (field, messages) in field_errors {
        problems.push(format!("{field} : {}", messages.join(" ")));
    }
    (input, problems)
}

/// Serials, IMEIs and ICCIDs that a new item may not have (they are unique in the whole
/// inventory): those stored, then those of the file's earlier lines.
#[derive(Default)]
struct Identifiers {
    serials: HashSet<String>,
    imeis: HashSet<String>,
    iccids: HashSet<String>,
}

impl Identifiers {
    /// Every item's; with `since`, only those of the items created since then.
    fn stored(conn: &mut DbConn, since: Option<NaiveDateTime>) -> Result<Identifiers, AppError> {
        let mut query = equipment::table
            .select((equipment::serial, equipment::imei, equipment::iccid))
            .into_boxed();
        if let Some(since) = since {
            query = query.filter(equipment::created_at.ge(since));
        }
        let mut identifiers = Identifiers::default();
        for (s, i, c) in query.load::<(Option<String>, Option<String>, Option<String>)>(conn)? {
            identifiers.serials.extend(s);
            identifiers.imeis.extend(i);
            identifiers.iccids.extend(c);
        }
        Ok(identifiers)
    }

    fn is_empty(&self) -> bool {
        self.serials.is_empty() && self.imeis.is_empty() && self.iccids.is_empty()
    }

    /// Takes the item's identifiers; one problem for each that was taken already.
    fn claim(&mut self, input: &ItemInput, problems: &mut Vec<String>) {
        if let Some(s) = &input.serial {
            if !self.serials.insert(s.clone()) {
                problems.push(format!("numéro de série {s} en double"));
            }
        }
        if let Some(i) = &input.imei {
            if !self.imeis.insert(i.clone()) {
                problems.push(format!("IMEI {i} en double"));
            }
        }
        if let Some(c) = &input.iccid {
            if !self.iccids.insert(c.clone()) {
                problems.push(format!("ICCID {c} en double"));
            }
        }
    }
}

/// Inside the write transaction: the lines whose serial, IMEI or ICCID an item created since
/// `since` (after the analysis read the inventory, with a margin) has taken meanwhile, with the
/// message the analysis gives. The analysis compared the file with everything else.
fn taken_meanwhile(
    conn: &mut DbConn,
    since: NaiveDateTime,
    items: &[(usize, ItemInput)],
) -> Result<Vec<LineError>, AppError> {
    let mut created = Identifiers::stored(conn, Some(since))?;
    if created.is_empty() {
        return Ok(Vec::new());
    }
    let mut errors = Vec::new();
    for (line, input) in items {
        let mut problems = Vec::new();
        created.claim(input, &mut problems);
        if !problems.is_empty() {
            errors.push(LineError {
                line: *line,
                message: problems.join(" ; "),
            });
        }
    }
    Ok(errors)
}

#[cfg(test)]
mod tests {
    use super::fields;

    #[test]
    fn csv_fields_with_quotes() {
        assert_eq!(
            fields(r#"tablette;"Lenovo; M10";"dit ""neuf""""#, ';'),
            vec!["tablette", "Lenovo; M10", r#"dit "neuf""#]
        );
        assert_eq!(fields("a,b,,c", ','), vec!["a", "b", "", "c"]);
    }
}
