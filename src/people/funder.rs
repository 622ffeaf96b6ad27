//! The fields funders ask for: gender, social status (the Coop's `statut_social`), the INSEE
//! code of the commune (checked against the official list, `communes.tsv`, built by
//! `scripts/communes.mjs` from `@etalab/decoupage-administratif`), and the Coop's age bands.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::text::fold;

/// `(code, French label)`.
pub const GENDERS: &[(&str, &str)] = &[
    ("female", "Femme"),
    ("male", "Homme"),
    ("undisclosed", "Non communiqué"),
];

/// `(code, French label)`: the Coop's `statut_social`.
pub const SOCIAL_STATUSES: &[(&str, &str)] = &[
    ("in_school", "Scolarisé·e"),
    ("job_seeker", "Sans emploi"),
    ("employed", "En emploi"),
    ("retired", "Retraité·e"),
    ("undisclosed", "Non communiqué ou hétérogène"),
];

/// The Coop's age bands, youngest first, with the first age of each.
pub const AGE_BANDS: &[(&str, i32)] = &[
    ("<12", 0),
    ("12-17", 12),
    ("18-24", 18),
    ("25-39", 25),
    ("40-59", 40),
    ("60-69", 60),
    ("70+", 70),
];

/// Age band of someone born in `birth_year`, as of `year`; `unknown` without a birth year.
pub fn age_band(birth_year: Option<i32>, year: i32) -> &'static str {
    let Some(born) = birth_year else {
        return "unknown";
    };
    let age = year - born;
    AGE_BANDS
        .iter()
        .rev()
        .find(|(_, first)| age >= *first)
        .map(|(band, _)| *band)
        .unwrap_or("<12")
}

/// A code from its code or its French label (any case, accents optional): `Femme` → `female`.
pub fn code_of(list: &[(&'static str, &str)], text: &str) -> Option<&'static str> {
    let folded = fold(text);
    list.iter()
        .find(|(code, label)| folded == *code || folded == fold(label))
        .map(|(code, _)| *code)
        .or_else(|| {
            // Short French forms a spreadsheet uses: "F", "H", "M".
            let extra: &[(&str, &str)] = &[
                ("f", "female"),
                ("h", "male"),
                ("m", "male"),
                ("homme", "male"),
                ("femme", "female"),
                ("scolarise", "in_school"),
                ("scolarisee", "in_school"),
                ("retraite", "retired"),
                ("retraitee", "retired"),
                ("demandeur d'emploi", "job_seeker"),
                ("non communique", "undisclosed"),
            ];
            extra
                .iter()
                .find(|(alias, code)| folded == *alias && list.iter().any(|(c, _)| c == code))
                .map(|(_, code)| *code)
        })
}

pub fn label_of(list: &[(&str, &'static str)], code: &str) -> Option<&'static str> {
    list.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

pub struct Commune {
    pub insee: &'static str,
    pub name: &'static str,
    pub postal_codes: Vec<&'static str>,
}

struct Communes {
    by_insee: HashMap<&'static str, Commune>,
    by_postal_code: HashMap<&'static str, Vec<&'static str>>,
}

const COMMUNES_TSV: &str = include_str!("communes.tsv");

fn communes() -> &'static Communes {
    static LIST: OnceLock<Communes> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut by_insee = HashMap::new();
        let mut by_postal_code: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for line in COMMUNES_TSV.lines().filter(|l| !l.starts_with('#')) {
            let mut parts = line.split('\t');
            let (Some(insee), Some(name)) = (parts.next(), parts.next()) else {
                continue;
            };
            let postal_codes: Vec<&'static str> = parts
                .next()
                .unwrap_or("")
                .split(' ')
                .filter(|p| !p.is_empty())
                .collect();
            for code in &postal_codes {
                by_postal_code.entry(code).or_default().push(insee);
            }
            by_insee.insert(
                insee,
                Commune {
                    insee,
                    name,
                    postal_codes,
                },
            );
        }
        Communes {
            by_insee,
            by_postal_code,
        }
    })
}

/// The commune with this INSEE code, if it is in the official list.
pub fn commune(insee: &str) -> Option<&'static Commune> {
    communes().by_insee.get(insee)
}

/// Names compared without case, accents, dashes or "Saint"/"St" differences.
fn name_key(name: &str) -> String {
    fold(name)
        .replace(['-', '\'', '’'], " ")
        .split_whitespace()
        .map(|w| match w {
            "st" => "saint",
            "ste" => "sainte",
            w => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The INSEE code of the commune a postal code and city point to, when there is exactly one:
/// a postal code of one commune, or of several of which one has that name.
pub fn derive_insee(postal_code: &str, city: Option<&str>) -> Option<&'static str> {
    let list = communes();
    let candidates = list.by_postal_code.get(postal_code)?;
    if candidates.len() == 1 {
        return Some(candidates[0]);
    }
    let city = name_key(city?);
    let mut matching = candidates
        .iter()
        .filter(|insee| name_key(list.by_insee[**insee].name) == city);
    match (matching.next(), matching.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_every_commune() {
        assert!(communes().by_insee.len() > 34_000);
        assert_eq!(commune("75056").map(|c| c.name), Some("Paris"));
        assert!(commune("99999").is_none());
    }

    #[test]
    fn a_postal_code_of_one_commune_gives_it() {
        assert_eq!(derive_insee("35000", None), Some("35238"));
        // Whatever the city says: the postal code decides.
        assert_eq!(derive_insee("35000", Some("Ailleurs")), Some("35238"));
    }

    #[test]
    fn a_shared_postal_code_needs_the_city() {
        // 75001 is Paris and its 1st arrondissement: the name picks Paris.
        assert_eq!(derive_insee("75001", Some("PARIS")), Some("75056"));
        assert_eq!(derive_insee("75001", None), None);
        assert_eq!(derive_insee("00000", Some("Paris")), None);
    }

    #[test]
    fn labels_and_codes_are_both_read() {
        assert_eq!(code_of(GENDERS, "Femme"), Some("female"));
        assert_eq!(code_of(GENDERS, "male"), Some("male"));
        assert_eq!(code_of(SOCIAL_STATUSES, "Retraité·e"), Some("retired"));
        assert_eq!(code_of(SOCIAL_STATUSES, "retraite"), Some("retired"));
        assert_eq!(code_of(GENDERS, "retraite"), None);
    }

    #[test]
    fn age_bands_follow_the_coop() {
        assert_eq!(age_band(Some(2020), 2026), "<12");
        assert_eq!(age_band(Some(2014), 2026), "12-17");
        assert_eq!(age_band(Some(2002), 2026), "18-24");
        assert_eq!(age_band(Some(1956), 2026), "70+");
        assert_eq!(age_band(Some(1966), 2026), "60-69");
        assert_eq!(age_band(None, 2026), "unknown");
    }
}
