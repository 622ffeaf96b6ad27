//! Thématiques of a session, with the codes of La Coop de la médiation numérique.

use crate::status::ParticipantStatus;

pub const DIGITAL: [(&str, &str); 19] = [
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
    ("reseaux_sociaux", "Réseaux sociaux"),
    ("sante", "Santé"),
    ("banque_et_achats_en_ligne", "Banque et achats en ligne"),
    ("entrepreneuriat", "Entrepreneuriat"),
    ("insertion_professionnelle", "Insertion professionnelle"),
    ("securite_numerique", "Sécurité numérique"),
    ("parentalite", "Parentalité"),
    ("scolarite_et_numerique", "Scolarité et numérique"),
    ("creer_avec_le_numerique", "Créer avec le numérique"),
    ("culture_numerique", "Culture numérique"),
    ("intelligence_artificielle", "Intelligence artificielle"),
    (
        "aide_aux_demarches_administratives",
        "Aide aux démarches administratives",
    ),
];

pub const PROCEDURES: [(&str, &str); 11] = [
    (
        "papiers_elections_citoyennete",
        "Papiers, élections, citoyenneté",
    ),
    ("famille_scolarite", "Famille, scolarité"),
    ("social_sante", "Social, santé"),
    ("travail_formation", "Travail, formation"),
    ("logement", "Logement"),
    ("transports_mobilite", "Transports, mobilité"),
    ("argent_impots", "Argent, impôts"),
    ("justice", "Justice"),
    ("etrangers_europe", "Étrangers, Europe"),
    ("loisirs_sports_culture", "Loisirs, sports, culture"),
    ("associations", "Associations"),
];

pub fn is_known(code: &str) -> bool {
    DIGITAL
        .iter()
        .chain(PROCEDURES.iter())
        .any(|(c, _)| *c == code)
}

pub const DEVICES: [(&str, &str); 4] = [
    ("own", "son propre appareil"),
    ("lent", "un appareil prêté"),
    ("structure", "un appareil de la structure"),
    ("none", "aucun"),
];

pub const AUTONOMY: [(&str, &str); 3] = [
    ("accompanied", "entièrement accompagné·e"),
    ("partly", "en partie autonome"),
    ("autonomous", "autonome"),
];

/// The attendances a session log records: participant statuses, with their labels.
pub const ATTENDANCE: [(&str, &str); 3] = [
    attendance(ParticipantStatus::Attended),
    attendance(ParticipantStatus::NoShow),
    attendance(ParticipantStatus::Excused),
];

const fn attendance(status: ParticipantStatus) -> (&'static str, &'static str) {
    (status.as_str(), status.label())
}

/// The French label of a thématique code.
pub fn label(code: &str) -> Option<&'static str> {
    DIGITAL
        .iter()
        .chain(PROCEDURES.iter())
        .find(|(c, _)| *c == code)
        .map(|(_, label)| *label)
}

/// Where a session took place (the Coop's `type_lieu`).
pub const LOCATION_TYPES: [(&str, &str); 4] = [
    ("place", "Lieu d'activité"),
    ("home", "À domicile"),
    ("remote", "À distance"),
    ("other", "Autre lieu"),
];

/// Where the person was sent afterwards (the Coop's `structure_de_redirection`).
pub const ORIENTATIONS: [(&str, &str); 7] = [
    ("administration", "Administration"),
    (
        "mediation_numerique",
        "Autre structure de médiation numérique",
    ),
    (
        "operateur_ou_organisme_en_charge",
        "Opérateur ou organisme en charge",
    ),
    ("aide_sociale", "Structure d'aide sociale"),
    ("insertion_professionnelle", "Insertion professionnelle"),
    (
        "aide_aux_demarches_administratives",
        "Aide aux démarches administratives",
    ),
    ("autre", "Autre"),
];

/// The codes of a table above, for the OpenAPI document.
fn codes(table: &'static [(&'static str, &'static str)]) -> impl Iterator<Item = &'static str> {
    table.iter().map(|(code, _)| *code)
}

pub fn attendance_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(codes(&ATTENDANCE))
}

pub fn device_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(codes(&DEVICES))
}

pub fn autonomy_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(codes(&AUTONOMY))
}

/// `structure_de_redirection` de La Coop.
pub fn orientation_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(codes(&ORIENTATIONS))
}

pub fn location_type_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(codes(&LOCATION_TYPES))
}
