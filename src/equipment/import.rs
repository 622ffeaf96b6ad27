//! CSV import of an inventory: all or nothing, with every bad line named and why.
//! Separator `;` or `,` (found in the header line); headers in French or English; kinds in
//! French accepted too. Format: see README.md.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use super::{insert, ItemInput};
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
pub fn import(conn: &mut DbConn, actor: &StaffUser, csv: &str) -> Result<usize, ImportError> {
    let organisation_id = actor.target_organisation(None)?;
    let mut lines = csv
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
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
    let programme_ids: HashMap<String, i32> = programmes::table
        .select((programmes::name, programmes::id))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .map(|(name, id)| (crate::text::fold(&name), id))
        .collect();
    let (mut serials, mut imeis, mut iccids) = (HashSet::new(), HashSet::new(), HashSet::new());
    for (s, i, c) in equipment::table
        .select((equipment::serial, equipment::imei, equipment::iccid))
        .load::<(Option<String>, Option<String>, Option<String>)>(conn)?
    {
        serials.extend(s);
        imeis.extend(i);
        iccids.extend(c);
    }
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in lines {
        let number = index + 1;
        let values = fields(line, separator);
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
        if let Some(s) = &input.serial {
            if !serials.insert(s.clone()) {
                problems.push(format!("numéro de série {s} en double"));
            }
        }
        if let Some(i) = &input.imei {
            if !imeis.insert(i.clone()) {
                problems.push(format!("IMEI {i} en double"));
            }
        }
        if let Some(c) = &input.iccid {
            if !iccids.insert(c.clone()) {
                problems.push(format!("ICCID {c} en double"));
            }
        }
        if problems.is_empty() {
            items.push(input);
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
    let count = items.len();
    crate::db::transaction(conn, |conn| {
        for item in &items {
            insert(conn, actor, organisation_id, item)?;
        }
        crate::audit::record(
            conn,
            Some(actor),
            "import",
            "equipment",
            None,
            Some(organisation_id),
        )?;
        Ok(())
    })?;
    Ok(count)
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
