//! Session logs as La Coop de la médiation numérique's activity export (`activites-coop`):
//! one row per activity — an individual session, or a workshop with everyone who came — in the
//! columns, order and labels of the Coop's "Activités" worksheet, so a structure reports there
//! without re-typing. The lists about beneficiaries (name, commune, gender, age band, status)
//! hold one line per beneficiary, in the same order in every column; people who came to a
//! workshop without a record count as anonymous beneficiaries ("Non communiqué").

use std::collections::HashMap;

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;

use super::sheet::{walk, Cell, Format, Row, RowWriter};
use super::tables::{appointment_filters, period};
use crate::db::schema::{
    anonymous_attendees, appointments, equipment, people, person_programmes, places, services,
    session_logs,
};
use crate::db::DbConn;
use crate::error::AppError;
use crate::reports::Filters;
use crate::status::{AppointmentStatus, ParticipantStatus};

const BATCH: i64 = 2_000;

/// The Coop's columns, in its order.
pub const HEADER: [&str; 20] = [
    "Date",
    "Type",
    "Nombre de participants",
    "Bénéficiaire",
    "Canaux d’accompagnement",
    "Lieu",
    "Durée (min)",
    "Nom de l’atelier",
    "Matériel numérique utilisé",
    "Thématique(s) d’accompagnement",
    "Tags",
    "Nom de la démarche administrative",
    "Niveau d’autonomie (ou de l’atelier)",
    "Bénéficiaire réorienté",
    "Structure de redirection",
    "Commune de résidence du bénéficiaire",
    "Genre du bénéficiaire",
    "Tranche d’âge du bénéficiaire",
    "Statut du bénéficiaire",
    "Notes supplémentaires",
];

/// Our thématique codes (the Coop's API values) with the Coop's labels.
const THEMATIQUES: [(&str, &str); 30] = [
    ("diagnostic_numerique", "Diagnostic numérique"),
    ("prendre_en_main_du_materiel", "Prendre en main du matériel"),
    ("maintenance_de_materiel", "Maintenance de matériel"),
    (
        "gere_ses_contenus_numeriques",
        "Gérer ses contenus numériques",
    ),
    ("navigation_sur_internet", "Navigation sur internet"),
    ("email", "E-mail"),
    ("bureautique", "Bureautique"),
    ("reseaux_sociaux", "Réseaux sociaux communication"),
    ("sante", "Santé"),
    ("banque_et_achats_en_ligne", "Banque et achats en ligne"),
    ("entrepreneuriat", "Accompagner un professionnel"),
    ("insertion_professionnelle", "Insertion professionnelle"),
    ("securite_numerique", "Prévention en sécurité numérique"),
    ("parentalite", "Parentalité"),
    ("scolarite_et_numerique", "Scolarité et numérique"),
    ("creer_avec_le_numerique", "Créer avec le numérique"),
    ("culture_numerique", "Culture numérique"),
    (
        "intelligence_artificielle",
        "Intelligence artificielle (IA)",
    ),
    (
        "aide_aux_demarches_administratives",
        "Aide aux démarches administratives",
    ),
    (
        "papiers_elections_citoyennete",
        "Papiers - Élections - Citoyenneté",
    ),
    ("famille_scolarite", "Famille - Scolarité"),
    ("social_sante", "Social - Santé"),
    ("travail_formation", "Travail - Formation - Entreprise"),
    ("logement", "Logement"),
    ("transports_mobilite", "Transports - Mobilité"),
    ("argent_impots", "Argent - Impôts"),
    ("justice", "Justice"),
    ("etrangers_europe", "Étrangers - Europe"),
    ("loisirs_sports_culture", "Loisirs - Sports - Culture"),
    ("associations", "Associations"),
];

/// `location_type` → the Coop's "type de lieu".
const LIEUX: [(&str, &str); 4] = [
    ("place", "Lieu d’activité"),
    ("home", "À domicile"),
    ("remote", "À distance"),
    ("other", "Autre lieu"),
];

/// `orientation` → the Coop's "structure de redirection".
const REDIRECTIONS: [(&str, &str); 7] = [
    ("administration", "Administration (mairie, préfecture…)"),
    (
        "mediation_numerique",
        "Autre structure de médiation numérique",
    ),
    (
        "operateur_ou_organisme_en_charge",
        "Opérateur ou organisme en charge de la démarche administrative",
    ),
    (
        "aide_sociale",
        "Structure d’aide sociale (maison des solidarités, centre social…)",
    ),
    (
        "insertion_professionnelle",
        "Structure d’insertion professionnelle (France Travail, mission locale, chambre de commerce…)",
    ),
    (
        "aide_aux_demarches_administratives",
        "Structure d’aide aux démarches administratives (France Services…)",
    ),
    ("autre", "Autre"),
];

const GENRES: [(&str, &str); 2] = [("female", "Féminin"), ("male", "Masculin")];

const STATUTS: [(&str, &str); 4] = [
    ("in_school", "Scolarisé"),
    ("job_seeker", "Sans emploi"),
    ("employed", "En emploi"),
    ("retired", "Retraité"),
];

const TRANCHES: [(&str, &str); 7] = [
    ("<12", "Moins de 12 ans"),
    ("12-17", "12 - 17 ans"),
    ("18-24", "18 - 24 ans"),
    ("25-39", "25 - 39 ans"),
    ("40-59", "40 - 59 ans"),
    ("60-69", "60 - 69 ans"),
    ("70+", "70 ans et plus"),
];

const NON_COMMUNIQUE: &str = "Non communiqué";
const STATUT_NON_COMMUNIQUE: &str = "Non communiqué ou hétérogène";

fn lookup(list: &[(&str, &'static str)], code: Option<&str>) -> Option<&'static str> {
    let code = code?;
    list.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// The Coop's "Matériel numérique utilisé": known for no device and for a device we lent.
fn materiel(device: Option<&str>, lent_kind: Option<&str>) -> Option<&'static str> {
    match (device, lent_kind) {
        (Some("none"), _) => Some("Pas de matériel"),
        (Some("lent"), Some("tablet")) => Some("Tablette"),
        (Some("lent"), Some("laptop")) => Some("Ordinateur"),
        (Some("lent"), Some("smartphone")) => Some("Téléphone"),
        (Some("lent"), Some(_)) => Some("Autre"),
        _ => None,
    }
}

#[derive(Queryable)]
struct Log {
    appointment_id: i32,
    person_id: i32,
    duration_minutes: Option<i32>,
    topics: String,
    device: Option<String>,
    autonomy: Option<String>,
    orientation: Option<String>,
    location_type: Option<String>,
    note: Option<String>,
    equipment_id: Option<i32>,
}

#[derive(Queryable)]
struct Person {
    id: i32,
    given_name: String,
    family_name: Option<String>,
    birth_year: Option<i32>,
    postal_code: Option<String>,
    city: Option<String>,
    gender: Option<String>,
    social_status: Option<String>,
}

/// Lines of one cell, one per beneficiary (or one per activity for the rest).
fn lines(values: impl IntoIterator<Item = String>) -> String {
    values.into_iter().collect::<Vec<_>>().join("\n")
}

/// Places by id: name, postal code, city.
type Places = HashMap<i32, (String, String, String)>;
/// Services by id: name, kind.
type Services = HashMap<i32, (String, String)>;
/// An appointment someone came to: id, start, end, service, place, capacity, title.
type Activity = (
    i32,
    NaiveDateTime,
    NaiveDateTime,
    i32,
    i32,
    i32,
    Option<String>,
);

pub fn activities(
    conn: &mut DbConn,
    filters: &Filters,
    format: &Format,
    w: &mut dyn RowWriter,
) -> Result<(), AppError> {
    let place_rows: Places = places::table
        .select((places::id, places::name, places::postal_code, places::city))
        .load::<(i32, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, postal_code, city)| (id, (name, postal_code, city)))
        .collect();
    let service_rows: Services = services::table
        .select((services::id, services::name, services::kind))
        .load::<(i32, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, kind)| (id, (name, kind)))
        .collect();
    w.header(&HEADER)?;
    let (from, to) = period(&format.tz, filters);
    walk(conn, w, |conn, w, last| {
        let rows = activity_batch(conn, filters, from, to, last)?;
        let Some(end) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
        let attendance = attendance(conn, &ids)?;
        for activity in rows {
            let row = activity_row(format, &place_rows, &service_rows, &attendance, activity);
            w.row(&row)?;
        }
        Ok(Some(end))
    })
}

/// The next batch of activities after `last`, in id order: appointments someone came to (with
/// a record, or anonymously), within the filters.
fn activity_batch(
    conn: &mut DbConn,
    filters: &Filters,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    last: i32,
) -> Result<Vec<Activity>, AppError> {
    // Activities: appointments someone came to (with a record, or anonymously).
    let mut q = appointments::table
        .filter(appointments::id.gt(last))
        .filter(appointments::status.ne(AppointmentStatus::Cancelled))
        .filter(
            appointments::id
                .eq_any(
                    session_logs::table
                        .filter(session_logs::current.eq(true))
                        .filter(session_logs::attendance.eq(ParticipantStatus::Attended))
                        .select(session_logs::appointment_id),
                )
                .or(appointments::id.eq_any(
                    anonymous_attendees::table
                        .filter(anonymous_attendees::attendees.gt(0))
                        .select(anonymous_attendees::appointment_id),
                )),
        )
        .order(appointments::id)
        .limit(BATCH)
        .into_boxed();
    q = appointment_filters!(q, filters, from, to);
    if let Some(p) = filters.programme_id {
        q = q.filter(
            appointments::id.eq_any(
                session_logs::table
                    .inner_join(
                        person_programmes::table
                            .on(person_programmes::person_id.eq(session_logs::person_id)),
                    )
                    .filter(person_programmes::programme_id.eq(p))
                    .select(session_logs::appointment_id),
            ),
        );
    }
    Ok(q.select((
        appointments::id,
        appointments::starts_at,
        appointments::ends_at,
        appointments::service_id,
        appointments::place_id,
        appointments::capacity,
        appointments::title,
    ))
    .load(conn)?)
}

/// Who came to a batch of activities: the current "attended" logs by appointment (in log
/// order), the records of their people, the kind of each item lent, and the anonymous
/// attendees by appointment.
struct Attendance {
    logs: HashMap<i32, Vec<Log>>,
    persons: HashMap<i32, Person>,
    kinds: HashMap<i32, String>,
    anonymous: HashMap<i32, i32>,
}

/// Reads who came to the activities `ids`.
fn attendance(conn: &mut DbConn, ids: &[i32]) -> Result<Attendance, AppError> {
    let mut logs: HashMap<i32, Vec<Log>> = HashMap::new();
    for log in session_logs::table
        .filter(session_logs::appointment_id.eq_any(ids))
        .filter(session_logs::current.eq(true))
        .filter(session_logs::attendance.eq(ParticipantStatus::Attended))
        .order((session_logs::appointment_id, session_logs::id))
        .select((
            session_logs::appointment_id,
            session_logs::person_id,
            session_logs::duration_minutes,
            session_logs::topics,
            session_logs::device,
            session_logs::autonomy,
            session_logs::orientation,
            session_logs::location_type,
            session_logs::note,
            session_logs::equipment_id,
        ))
        .load::<Log>(conn)?
    {
        logs.entry(log.appointment_id).or_default().push(log);
    }
    let person_ids: Vec<i32> = logs.values().flatten().map(|l| l.person_id).collect();
    let persons: HashMap<i32, Person> = people::table
        .filter(people::id.eq_any(&person_ids))
        .select((
            people::id,
            people::given_name,
            people::family_name,
            people::birth_year,
            people::postal_code,
            people::city,
            people::gender,
            people::social_status,
        ))
        .load::<Person>(conn)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let lent: Vec<i32> = logs
        .values()
        .flatten()
        .filter_map(|l| l.equipment_id)
        .collect();
    let kinds: HashMap<i32, String> = equipment::table
        .filter(equipment::id.eq_any(&lent))
        .select((equipment::id, equipment::kind))
        .load::<(i32, String)>(conn)?
        .into_iter()
        .collect();
    let anonymous: HashMap<i32, i32> = anonymous_attendees::table
        .filter(anonymous_attendees::appointment_id.eq_any(ids))
        .select((
            anonymous_attendees::appointment_id,
            anonymous_attendees::attendees,
        ))
        .load::<(i32, i32)>(conn)?
        .into_iter()
        .collect();
    Ok(Attendance {
        logs,
        persons,
        kinds,
        anonymous,
    })
}

/// One activity in the Coop's columns.
fn activity_row(
    format: &Format,
    place_rows: &Places,
    service_rows: &Services,
    attendance: &Attendance,
    activity: Activity,
) -> Row<'static> {
    let (id, starts_at, ends_at, service_id, place_id, capacity, title) = activity;
    let logs = attendance.logs.get(&id).map(Vec::as_slice).unwrap_or(&[]);
    let anonymous = attendance.anonymous.get(&id).copied().unwrap_or(0).max(0) as usize;
    let (service_name, service_kind) = service_rows
        .get(&service_id)
        .map(|(n, k)| (n.as_str(), k.as_str()))
        .unwrap_or(("", ""));
    let workshop = service_kind == "workshop" || capacity > 1;
    let start = format.local(starts_at);
    let first = logs.first();
    let location = first.and_then(|l| l.location_type.as_deref());
    let lieu_type = lookup(&LIEUX, location.or(Some("place"))).unwrap_or("");
    let lieu = match (location.unwrap_or("place"), place_rows.get(&place_id)) {
        ("place", Some((name, postal_code, city))) => {
            format!("{name}, {postal_code} {city}")
        }
        _ => String::new(),
    };
    let duration = logs
        .iter()
        .filter_map(|l| l.duration_minutes)
        .max()
        .unwrap_or_else(|| (ends_at - starts_at).num_minutes() as i32);
    let (materiels, thematiques) = materiels_and_thematiques(logs, &attendance.kinds);
    let (autonomie, reoriente, redirection) = follow_up(workshop, first);
    let people: Vec<Option<&Person>> = logs
        .iter()
        .map(|l| attendance.persons.get(&l.person_id))
        .chain(std::iter::repeat_n(None, anonymous))
        .collect();
    let beneficiaries = beneficiaries(format, &people, start.date().year());
    let notes = if format.pseudonymise {
        String::new()
    } else {
        lines(logs.iter().filter_map(|l| l.note.clone()))
    };
    let mut row = Row::new();
    row.cell(Cell::Date(start.date()))
        .code(if workshop {
            "Atelier collectif"
        } else {
            "Accompagnement individuel"
        })
        .int((logs.len() + anonymous) as i64)
        .text(beneficiaries.names)
        .code(lieu_type)
        .text(lieu)
        .int(duration)
        .text(if workshop {
            title.as_deref().unwrap_or(service_name).to_string()
        } else {
            String::new()
        })
        .code(materiels.join("\n"))
        .code(thematiques.join("\n"))
        .code("")
        .code("")
        .code(autonomie)
        .code(reoriente)
        .code(redirection)
        .text(beneficiaries.communes)
        .code(beneficiaries.genres)
        .code(beneficiaries.tranches)
        .code(beneficiaries.statuts)
        .text(notes);
    row
}

/// The Coop's labels of the devices used and of the thématiques, each once, in the order the
/// logs name them.
fn materiels_and_thematiques(
    logs: &[Log],
    kinds: &HashMap<i32, String>,
) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut materiels: Vec<&str> = Vec::new();
    let mut thematiques: Vec<&str> = Vec::new();
    for l in logs {
        let kind = l
            .equipment_id
            .and_then(|e| kinds.get(&e))
            .map(String::as_str);
        if let Some(m) = materiel(l.device.as_deref(), kind) {
            if !materiels.contains(&m) {
                materiels.push(m);
            }
        }
        for t in l.topics.split(',').filter(|t| !t.is_empty()) {
            if let Some(label) = lookup(&THEMATIQUES, Some(t)) {
                if !thematiques.contains(&label) {
                    thematiques.push(label);
                }
            }
        }
    }
    (materiels, thematiques)
}

/// Autonomy, "réorienté" and the structure of redirection: about one person, so an individual
/// session's (its first log), empty for a workshop.
fn follow_up(workshop: bool, first: Option<&Log>) -> (&'static str, &'static str, &'static str) {
    // Autonomy and orientation are about one person: an individual session's.
    match (workshop, first) {
        (false, Some(l)) => (
            match l.autonomy.as_deref() {
                Some("accompanied") => "1/3",
                Some("partly") => "2/3",
                Some("autonomous") => "3/3",
                _ => "",
            },
            if l.orientation.is_some() {
                "Oui"
            } else {
                "Non"
            },
            lookup(&REDIRECTIONS, l.orientation.as_deref()).unwrap_or(""),
        ),
        _ => ("", "", ""),
    }
}

/// The cells about beneficiaries, one line per beneficiary in the same order in each.
struct Beneficiaries {
    names: String,
    communes: String,
    genres: String,
    tranches: String,
    statuts: String,
}

/// The beneficiaries' cells of an activity (`None` for an anonymous beneficiary); age bands as
/// of the activity's `year`.
fn beneficiaries(format: &Format, people: &[Option<&Person>], year: i32) -> Beneficiaries {
    let names = lines(people.iter().map(|p| match p {
        Some(p) if format.pseudonymise => format.pseudonym(p.id),
        Some(p) => match &p.family_name {
            Some(family) => format!("{} {family}", p.given_name),
            None => p.given_name.clone(),
        },
        None => "Anonyme".to_string(),
    }));
    let communes = lines(people.iter().map(|p| match p {
        Some(Person {
            postal_code: Some(code),
            city: Some(city),
            ..
        }) => format!("{code} {city}"),
        _ => "-".to_string(),
    }));
    let genres = lines(people.iter().map(|p| {
        lookup(&GENRES, p.and_then(|p| p.gender.as_deref()))
            .unwrap_or(NON_COMMUNIQUE)
            .to_string()
    }));
    let tranches = lines(people.iter().map(|p| {
        let band = p
            .and_then(|p| p.birth_year)
            .map(|born| crate::people::funder::age_band(Some(born), year));
        lookup(&TRANCHES, band)
            .unwrap_or(NON_COMMUNIQUE)
            .to_string()
    }));
    let statuts = lines(people.iter().map(|p| {
        lookup(&STATUTS, p.and_then(|p| p.social_status.as_deref()))
            .unwrap_or(STATUT_NON_COMMUNIQUE)
            .to_string()
    }));
    Beneficiaries {
        names,
        communes,
        genres,
        tranches,
        statuts,
    }
}
