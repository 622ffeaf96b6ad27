//! The national standard of places of médiation numérique (LaMednum/standard-mediation-num,
//! v1.0.2, `shared/standards/lieux-mediation-numerique.schema.json`): the fixed lists a place's
//! fields take their values from, the checks of SIRET and OpenStreetMap `opening_hours`, and
//! the opening hours computed from the mediators' weekly hours at the place.

use std::collections::BTreeMap;

use chrono::NaiveTime;
use serde::Serializer;
use validator::ValidationError;

/// `services`: what the place offers (the standard's labels).
pub const SERVICES: [&str; 9] = [
    "Aide aux démarches administratives",
    "Maîtrise des outils numériques du quotidien",
    "Insertion professionnelle via le numérique",
    "Utilisation sécurisée du numérique",
    "Parentalité et éducation avec le numérique",
    "Loisirs et créations numériques",
    "Compréhension du monde numérique",
    "Accès internet et matériel informatique",
    "Acquisition de matériel informatique à prix solidaire",
];

/// `modalites_acces`: how to come (the standard's labels).
pub const MODALITES_ACCES: [&str; 6] = [
    "Se présenter",
    "Téléphoner",
    "Contacter par mail",
    "Prendre un RDV en ligne",
    "Ce lieu n'accueille pas de public",
    "Envoyer un mail avec une fiche de prescription",
];

/// `typologie`: the kind of structure. The standard restricts it to data·inclusion's vocabulary
/// of structure typologies (`TypologieStructure` of `data-inclusion-schema`, checked against its
/// v0 and v1 lists: the same 91 codes); the labels are ours.
pub const TYPOLOGIES: [(&str, &str); 91] = [
    ("ACI", "Atelier et chantier d'insertion"),
    (
        "ACIPHC",
        "Atelier chantier d'insertion « premières heures »",
    ),
    (
        "AFPA",
        "Agence nationale pour la formation professionnelle des adultes",
    ),
    ("AI", "Association intermédiaire"),
    ("ASE", "Aide sociale à l'enfance"),
    ("ASSO", "Association"),
    ("ASSO_CHOMEUR", "Association de chômeurs"),
    ("AVIP", "Crèche à vocation d'insertion professionnelle"),
    ("Autre", "Autre"),
    ("BIB", "Bibliothèque, médiathèque"),
    (
        "CAARUD",
        "Centre d'accueil et de réduction des risques pour usagers de drogues",
    ),
    ("CADA", "Centre d'accueil de demandeurs d'asile"),
    ("CAF", "Caisse d'allocations familiales"),
    ("CAP_EMPLOI", "Cap Emploi"),
    ("CAVA", "Centre d'adaptation à la vie active"),
    ("CC", "Communauté de communes"),
    ("CCAS", "Centre communal d'action sociale"),
    (
        "CCONS",
        "Chambre consulaire (CCI, CMA, chambre d'agriculture)",
    ),
    ("CD", "Conseil départemental"),
    ("CDAS", "Centre départemental d'action sociale"),
    ("CFP", "Centre des finances publiques"),
    ("CHRS", "Centre d'hébergement et de réinsertion sociale"),
    ("CHU", "Centre d'hébergement d'urgence"),
    ("CIAS", "Centre intercommunal d'action sociale"),
    (
        "CIDFF",
        "Centre d'information sur les droits des femmes et des familles",
    ),
    ("CITMET", "Cité des métiers"),
    ("CMP", "Centre médico-psychologique"),
    ("CMS", "Centre médico-social"),
    ("CPAM", "Caisse primaire d'assurance maladie"),
    ("CPH", "Centre provisoire d'hébergement"),
    ("CS", "Centre social"),
    (
        "CSAPA",
        "Centre de soins, d'accompagnement et de prévention en addictologie",
    ),
    ("CSC", "Centre socioculturel"),
    (
        "DEETS",
        "Direction de l'économie, de l'emploi, du travail et des solidarités",
    ),
    ("DEPT", "Services sociaux du conseil départemental"),
    (
        "DIPLP",
        "Délégation interministérielle à la lutte contre la pauvreté",
    ),
    ("E2C", "École de la deuxième chance"),
    ("EA", "Entreprise adaptée"),
    ("EATT", "Entreprise adaptée de travail temporaire"),
    ("EI", "Entreprise d'insertion"),
    ("EITI", "Entreprise d'insertion par le travail indépendant"),
    ("ENM", "Espace numérique mobile"),
    ("EPCI", "Intercommunalité"),
    ("EPI", "Espace public internet"),
    ("EPIDE", "Établissement pour l'insertion dans l'emploi"),
    ("EPN", "Espace public numérique"),
    ("ES", "Épicerie solidaire"),
    ("ESS", "Structure de l'économie sociale et solidaire"),
    ("ETABL_PRI", "Établissement privé"),
    ("ETABL_PUB", "Établissement public"),
    ("ETAT", "Service de l'État"),
    ("ETTI", "Entreprise de travail temporaire d'insertion"),
    ("EVS", "Espace de vie sociale"),
    ("FABLAB", "Fablab, atelier partagé"),
    (
        "FAIS",
        "Fédération d'acteurs de l'insertion et de la solidarité",
    ),
    ("FT", "France Travail"),
    (
        "GEIQ",
        "Groupement d'employeurs pour l'insertion et la qualification",
    ),
    ("HUDA", "Hébergement d'urgence pour demandeurs d'asile"),
    ("LA_POSTE", "La Poste (bureau ou agence postale)"),
    ("MDE", "Maison de l'emploi"),
    ("MDEF", "Maison de l'emploi et de la formation"),
    ("MDPH", "Maison départementale des personnes handicapées"),
    ("MDS", "Maison départementale des solidarités"),
    ("MJC", "Maison des jeunes et de la culture"),
    ("ML", "Mission locale"),
    ("MQ", "Maison de quartier"),
    ("MSA", "Mutualité sociale agricole"),
    ("MSAP", "Maison de services au public"),
    ("MUNI", "Mairie, services municipaux"),
    (
        "OACAS",
        "Organisme d'accueil communautaire et d'activités solidaires",
    ),
    ("ODC", "Organisation délégataire d'un conseil départemental"),
    ("OF", "Organisme de formation"),
    ("OIL", "Opérateur d'intermédiation locative"),
    ("OPCS", "Organisation porteuse de la clause sociale"),
    ("PAD", "Point d'accès au droit"),
    ("PENSION", "Pension de famille, résidence accueil"),
    ("PI", "Point information"),
    ("PIJ_BIJ", "Point ou bureau information jeunesse"),
    ("PIMMS", "Point information médiation multi-services"),
    ("PJJ", "Protection judiciaire de la jeunesse"),
    ("PLIE", "Plan local pour l'insertion et l'emploi"),
    ("PREF", "Préfecture, sous-préfecture"),
    ("PREVENTION", "Service ou club de prévention"),
    ("REG", "Région"),
    ("RESSOURCERIE", "Ressourcerie"),
    ("RFS", "France Services"),
    ("RS_FJT", "Résidence sociale, foyer de jeunes travailleurs"),
    ("SCP", "Services et clubs de prévention"),
    ("SPIP", "Service pénitentiaire d'insertion et de probation"),
    ("TIERS_LIEUX", "Tiers-lieu, coworking"),
    ("UDAF", "Union départementale des associations familiales"),
];

/// A list of labels, each from `allowed`.
pub fn check_labels(values: &[String], allowed: &[&str]) -> Result<(), ValidationError> {
    match values.iter().find(|v| !allowed.contains(&v.as_str())) {
        None => Ok(()),
        Some(v) => Err(ValidationError::new("label").with_message(
            format!(
                "« {} » n'est pas une valeur du standard : {}.",
                v.chars().take(80).collect::<String>(),
                allowed.join(" ; ")
            )
            .into(),
        )),
    }
}

pub fn check_services(values: &[String]) -> Result<(), ValidationError> {
    check_labels(values, &SERVICES)
}

pub fn check_modalites_acces(values: &[String]) -> Result<(), ValidationError> {
    check_labels(values, &MODALITES_ACCES)
}

pub fn check_typologie(code: &str) -> Result<(), ValidationError> {
    if TYPOLOGIES.iter().any(|(c, _)| *c == code) {
        Ok(())
    } else {
        Err(ValidationError::new("typologie").with_message(
            "Typologie : un code du standard (ASSO, BIB, CCAS, EPN, MUNI, RFS, TIERS_LIEUX…)."
                .into(),
        ))
    }
}

/// 14 digits with a valid Luhn key (La Poste's establishments excepted, as INSEE does).
pub fn check_siret(siret: &str) -> Result<(), ValidationError> {
    let digits = siret.len() == 14 && siret.bytes().all(|b| b.is_ascii_digit());
    let luhn = || {
        let sum: u32 = siret
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 1 {
                    let d = d * 2;
                    if d > 9 {
                        d - 9
                    } else {
                        d
                    }
                } else {
                    d
                }
            })
            .sum();
        sum % 10 == 0
    };
    let la_poste = siret.starts_with("356000000");
    if digits && (la_poste || luhn()) {
        Ok(())
    } else {
        Err(ValidationError::new("siret")
            .with_message("Le SIRET compte 14 chiffres (clé de contrôle comprise).".into()))
    }
}

const DAYS: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];

/// The subset of OpenStreetMap's `opening_hours` a place needs: rules separated by `; `, each
/// days (`Mo-Fr`, `Sa,Su`, `PH`) then times (`09:00-12:00,14:00-18:30`) or `off`; or `24/7`.
pub fn check_opening_hours(value: &str) -> Result<(), ValidationError> {
    let error = || {
        ValidationError::new("opening_hours").with_message(
            "Horaires au format OpenStreetMap, par exemple « Mo-Fr 09:00-12:00,14:00-17:30; Sa 09:00-12:00 »."
                .into(),
        )
    };
    let value = value.trim();
    if value == "24/7" {
        return Ok(());
    }
    if value.is_empty() || value.len() > 500 {
        return Err(error());
    }
    for rule in value.split(';').map(str::trim) {
        let (days, times) = rule.split_once(' ').ok_or_else(error)?;
        let day_ok = |d: &str| DAYS.contains(&d) || d == "PH";
        for span in days.split(',') {
            let ok = match span.split_once('-') {
                Some((a, b)) => DAYS.contains(&a) && DAYS.contains(&b),
                None => day_ok(span),
            };
            if !ok {
                return Err(error());
            }
        }
        let times = times.trim();
        if times == "off" {
            continue;
        }
        for range in times.split(',') {
            let (a, b) = range.split_once('-').ok_or_else(error)?;
            let parse = |t: &str| {
                (t.len() == 5)
                    .then(|| NaiveTime::parse_from_str(t, "%H:%M").ok())
                    .flatten()
            };
            match (parse(a), parse(b)) {
                (Some(a), Some(b)) if a < b => {}
                _ => return Err(error()),
            }
        }
    }
    Ok(())
}

/// Weekly hours (`weekday` 1 = Monday … 7, start, end) as an `opening_hours` string: the
/// intervals of each day merged, and days in a row with the same hours grouped (`Mo-Fr`).
/// `None` when there are none.
pub fn opening_hours(hours: &[(i32, NaiveTime, NaiveTime)]) -> Option<String> {
    let mut by_day: BTreeMap<i32, Vec<(NaiveTime, NaiveTime)>> = BTreeMap::new();
    for &(day, start, end) in hours {
        if (1..=7).contains(&day) && start < end {
            by_day.entry(day).or_default().push((start, end));
        }
    }
    let mut days: Vec<(i32, String)> = Vec::new();
    for (day, mut spans) in by_day {
        spans.sort();
        let mut merged: Vec<(NaiveTime, NaiveTime)> = Vec::new();
        for (s, e) in spans {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let text = merged
            .iter()
            .map(|(s, e)| format!("{}-{}", s.format("%H:%M"), e.format("%H:%M")))
            .collect::<Vec<_>>()
            .join(",");
        days.push((day, text));
    }
    let mut rules: Vec<String> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && days[j + 1].0 == days[j].0 + 1 && days[j + 1].1 == days[i].1 {
            j += 1;
        }
        let first = DAYS[(days[i].0 - 1) as usize];
        let last = DAYS[(days[j].0 - 1) as usize];
        let span = match j - i {
            0 => first.to_string(),
            1 => format!("{first},{last}"),
            _ => format!("{first}-{last}"),
        };
        rules.push(format!("{span} {}", days[i].1));
        i = j + 1;
    }
    (!rules.is_empty()).then(|| rules.join("; "))
}

/// A `|`-separated list (as stored) written as a JSON array.
pub fn pipe_list<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(split(value))
}

pub fn split(value: &str) -> impl Iterator<Item = &str> {
    value.split('|').filter(|v| !v.is_empty())
}

/// `services` as the document lists it: labels of [`SERVICES`].
pub fn services_schema() -> utoipa::openapi::schema::Array {
    label_list_schema(&SERVICES)
}

/// `modalites_acces` as the document lists it: labels of [`MODALITES_ACCES`].
pub fn modalites_acces_schema() -> utoipa::openapi::schema::Array {
    label_list_schema(&MODALITES_ACCES)
}

fn label_list_schema(labels: &[&str]) -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(labels.iter().copied())),
        )
        .build()
}

/// `typologie` as the document lists it: a code of [`TYPOLOGIES`], or null.
pub fn typologie_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let codes = TYPOLOGIES
        .iter()
        .map(|(code, _)| serde_json::Value::from(*code))
        .chain([serde_json::Value::Null]);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(codes))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    #[test]
    fn weekly_hours_become_an_osm_string() {
        let hours = [
            (1, t("09:00"), t("12:00")),
            (1, t("14:00"), t("18:30")),
            (2, t("09:00"), t("12:00")),
            (2, t("14:00"), t("18:30")),
            (3, t("09:00"), t("12:00")),
            (3, t("11:00"), t("12:00")),
            (3, t("14:00"), t("16:00")),
            (3, t("15:00"), t("18:30")),
            (6, t("08:30"), t("12:00")),
        ];
        assert_eq!(
            opening_hours(&hours).as_deref(),
            Some("Mo-We 09:00-12:00,14:00-18:30; Sa 08:30-12:00")
        );
        assert_eq!(opening_hours(&[]), None);
        let two = [(4, t("10:00"), t("11:00")), (5, t("10:00"), t("11:00"))];
        assert_eq!(opening_hours(&two).as_deref(), Some("Th,Fr 10:00-11:00"));
        for good in [
            "Mo-Fr 09:00-12:00,14:00-18:30; Sa 08:30-12:00",
            "24/7",
            "Mo,We 10:00-11:00; PH off",
        ] {
            assert!(check_opening_hours(good).is_ok(), "{good}");
            if let Some(built) = opening_hours(&hours) {
                assert!(check_opening_hours(&built).is_ok());
            }
        }
        for bad in [
            "",
            "tous les jours",
            "Mo 12:00-09:00",
            "Xx 09:00-10:00",
            "Mo 9h-12h",
        ] {
            assert!(check_opening_hours(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn siret_is_fourteen_digits_with_its_key() {
        assert!(check_siret("43493312300029").is_ok());
        assert!(check_siret("43493312300028").is_err());
        assert!(check_siret("4349331230002").is_err());
        assert!(check_siret("35600000000048").is_ok());
    }
}
