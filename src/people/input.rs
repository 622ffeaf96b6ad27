//! A person as a form or the API gives it: the checks of each field, and the changes it
//! makes to a stored person.

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use super::funder;
use super::model::{
    birth_year_schema, gender_schema, language_or_null_schema, social_status_schema, Person,
};

use super::stored_phone;
use crate::db::schema::{people, programmes};
use crate::db::{now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::text::{clean, fold};

pub(super) fn check_phone(phone: &str) -> Result<(), ValidationError> {
    match crate::phone::parse(phone) {
        Some(_) => Ok(()),
        None => Err(ValidationError::new("phone").with_message(
            "Numéro de téléphone inutilisable : écrivez-le comme 06 12 34 56 78, 0692 12 34 56 \
             ou avec l'indicatif (+33 6 12 34 56 78)."
                .into(),
        )),
    }
}

pub(super) fn check_language(language: &str) -> Result<(), ValidationError> {
    if crate::i18n::LANGUAGES.contains(&language) {
        Ok(())
    } else {
        Err(ValidationError::new("language").with_message("Langue inconnue : fr, en ou ar.".into()))
    }
}

/// Empty and too long are two different mistakes, told apart.
pub(super) fn check_given_name(name: &str) -> Result<(), ValidationError> {
    let message = match name.chars().count() {
        0 => "Le prénom (ou un pseudonyme) est obligatoire.",
        1..=80 => return Ok(()),
        _ => "80 caractères au plus.",
    };
    Err(ValidationError::new("given_name").with_message(message.into()))
}

pub(super) fn check_postal_code(code: &str) -> Result<(), ValidationError> {
    if code.len() == 5 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ValidationError::new("postal_code")
            .with_message("Le code postal compte 5 chiffres.".into()))
    }
}

pub(super) fn check_birth_year(year: i32) -> Result<(), ValidationError> {
    let current = chrono::Utc::now().year();
    if (1900..=current).contains(&year) {
        Ok(())
    } else {
        Err(ValidationError::new("birth_year").with_message(
            format!("L'année de naissance doit être comprise entre 1900 et {current}.").into(),
        ))
    }
}

pub(super) fn check_gender(code: &str) -> Result<(), ValidationError> {
    funder::label_of(funder::GENDERS, code)
        .map(|_| ())
        .ok_or_else(|| {
            ValidationError::new("gender")
                .with_message("Genre : female, male ou undisclosed.".into())
        })
}

pub(super) fn check_social_status(code: &str) -> Result<(), ValidationError> {
    funder::label_of(funder::SOCIAL_STATUSES, code)
        .map(|_| ())
        .ok_or_else(|| {
            ValidationError::new("social_status").with_message(
                "Statut : in_school, job_seeker, employed, retired ou undisclosed.".into(),
            )
        })
}

pub(super) fn check_commune(code: &str) -> Result<(), ValidationError> {
    funder::commune(code).map(|_| ()).ok_or_else(|| {
        ValidationError::new("commune_insee").with_message(
            "Code commune INSEE inconnu (5 caractères de la liste officielle, par exemple 35238)."
                .into(),
        )
    })
}

/// What a person is created or updated from (API body and HTML form alike).
#[derive(Deserialize, Serialize, Validate, Debug, Default, Clone, utoipa::ToSchema)]
pub struct PersonInput {
    #[validate(custom(function = "check_given_name"))]
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    pub given_name: String,
    #[validate(length(max = 80, message = "80 caractères au plus."))]
    #[schema(max_length = 80)]
    pub family_name: Option<String>,
    #[validate(custom(function = "check_birth_year"))]
    #[schema(schema_with = birth_year_schema)]
    pub birth_year: Option<i32>,
    #[validate(custom(function = "check_postal_code"))]
    #[schema(pattern = "^\\s*[0-9]{5}\\s*$")]
    pub postal_code: Option<String>,
    #[validate(length(max = 80, message = "80 caractères au plus."))]
    #[schema(max_length = 80)]
    pub city: Option<String>,
    #[validate(email(message = "Adresse e-mail invalide."))]
    pub email: Option<String>,
    /// 06 12 34 56 78, 0692 12 34 56 ou +33… ; stocké en E.164 ; un numéro inutilisable est
    /// une 422.
    #[validate(custom(function = "check_phone"))]
    pub phone: Option<String>,
    #[serde(default)]
    pub reminder_consent: bool,
    #[validate(length(max = 120, message = "120 caractères au plus."))]
    #[schema(max_length = 120)]
    pub referent_name: Option<String>,
    #[validate(email(message = "Adresse e-mail invalide."))]
    pub referent_email: Option<String>,
    #[validate(length(max = 120, message = "120 caractères au plus."))]
    #[schema(max_length = 120)]
    pub referent_organisation: Option<String>,
    /// Les rappels peuvent aller au prescripteur quand la personne n'a pas d'e-mail.
    #[serde(default)]
    pub referent_consent: bool,
    /// Les messages peuvent partir par SMS (numéro de mobile).
    #[serde(default)]
    pub sms_consent: bool,
    /// `fr` par défaut.
    #[validate(custom(function = "check_language"))]
    #[schema(schema_with = language_or_null_schema)]
    pub language: Option<String>,
    #[serde(default)]
    #[schema(schema_with = programme_ids_schema)]
    pub programme_ids: Vec<i32>,
    #[validate(length(max = 500, message = "500 caractères au plus."))]
    #[schema(max_length = 500)]
    pub notes: Option<String>,
    /// Admins seulement : la structure de la personne.
    #[serde(default, skip_serializing)]
    #[schema(minimum = 1, maximum = 2147483647)]
    pub organisation_id: Option<i32>,
    #[validate(custom(function = "check_gender"))]
    #[schema(schema_with = gender_schema)]
    pub gender: Option<String>,
    /// `statut_social` de La Coop de la médiation numérique.
    #[validate(custom(function = "check_social_status"))]
    #[schema(schema_with = social_status_schema)]
    pub social_status: Option<String>,
    /// Code INSEE d'une commune de la liste officielle ; déduit du code postal et de la commune
    /// quand ils en désignent une seule.
    #[validate(custom(function = "check_commune"))]
    #[schema(min_length = 5, max_length = 5)]
    pub commune_insee: Option<String>,
}

pub(super) fn programme_ids_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(i32::MAX)),
        )
        .build()
}

/// `PATCH /api/v1/people/{id}`: a JSON merge patch (RFC 7396) of a [`PersonInput`]; nothing is
/// required and a record does not change organisation (`organisation_id` refused).
pub struct PersonPatch;

impl utoipa::PartialSchema for PersonPatch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::Schema;
        let mut schema = <PersonInput as utoipa::PartialSchema>::schema();
        if let utoipa::openapi::RefOr::T(Schema::Object(object)) = &mut schema {
            object.properties.shift_remove("organisation_id");
            object.required.clear();
            object.description = Some(
                "JSON merge patch (RFC 7396) : seuls les champs donnés changent ; une fiche ne \
                 change pas de structure (organisation_id refusé)"
                    .into(),
            );
        }
        schema
    }
}

impl utoipa::ToSchema for PersonPatch {}

impl PersonInput {
    fn normalise(mut self) -> Self {
        self.given_name = self.given_name.trim().to_string();
        self.family_name = clean(self.family_name);
        self.postal_code = clean(self.postal_code);
        self.city = clean(self.city);
        self.email = clean(self.email).map(|e| e.to_lowercase());
        self.phone = clean(self.phone);
        self.language = clean(self.language);
        self.referent_name = clean(self.referent_name);
        self.referent_email = clean(self.referent_email).map(|e| e.to_lowercase());
        self.referent_organisation = clean(self.referent_organisation);
        self.notes = clean(self.notes);
        self.gender = clean(self.gender);
        self.social_status = clean(self.social_status);
        self.commune_insee = clean(self.commune_insee).or_else(|| {
            let derived = funder::derive_insee(self.postal_code.as_deref()?, self.city.as_deref());
            derived.map(str::to_string)
        });
        self.programme_ids.sort_unstable();
        self.programme_ids.dedup();
        self
    }

    /// The errors the fields have on their own (without looking at the database).
    pub fn field_errors(self) -> FieldErrors {
        match self.normalise().validate() {
            Ok(()) => FieldErrors::new(),
            Err(e) => match AppError::from(e) {
                AppError::Validation(errors) => errors,
                _ => FieldErrors::new(),
            },
        }
    }

    /// Normalised (commune derived) and validated on its own, without the database: what an
    /// import checks each row with.
    pub(crate) fn checked(self) -> Result<PersonInput, FieldErrors> {
        let input = self.normalise();
        match input.validate() {
            Ok(()) => Ok(input),
            Err(e) => match AppError::from(e) {
                AppError::Validation(errors) => Err(errors),
                _ => Err(FieldErrors::new()),
            },
        }
    }

    /// Validates everything, including that the programmes exist.
    pub(super) fn check(self, conn: &mut DbConn) -> Result<PersonInput, AppError> {
        let input = self.normalise();
        let mut errors = match input.validate() {
            Ok(()) => FieldErrors::new(),
            Err(e) => match AppError::from(e) {
                AppError::Validation(errors) => errors,
                other => return Err(other),
            },
        };
        if !input.programme_ids.is_empty() {
            let found: i64 = programmes::table
                .filter(programmes::id.eq_any(&input.programme_ids))
                .count()
                .get_result(conn)?;
            if found != input.programme_ids.len() as i64 {
                errors
                    .entry("programme_ids".into())
                    .or_default()
                    .push("Un des dispositifs n'existe pas.".into());
            }
        }
        if errors.is_empty() {
            Ok(input)
        } else {
            Err(AppError::Validation(errors))
        }
    }

    /// "given family" folded: people with the same and the same birth year may be duplicates.
    pub(crate) fn name_key(&self) -> String {
        format!(
            "{} {}",
            fold(&self.given_name),
            fold(self.family_name.as_deref().unwrap_or(""))
        )
    }

    /// "given family email phone " folded, searched by substring.
    pub(crate) fn search_key(&self) -> String {
        let mut key = String::new();
        for part in [
            fold(&self.given_name),
            fold(self.family_name.as_deref().unwrap_or("")),
            fold(self.email.as_deref().unwrap_or("")),
            self.phone
                .as_deref()
                .map(crate::phone::searchable)
                .unwrap_or_default(),
        ] {
            key.push_str(&part);
            key.push(' ');
        }
        key
    }
}

#[derive(AsChangeset, Insertable)]
#[diesel(table_name = people, treat_none_as_null = true)]
pub(crate) struct PersonChanges<'a> {
    given_name: &'a str,
    family_name: Option<&'a str>,
    birth_year: Option<i32>,
    postal_code: Option<&'a str>,
    city: Option<&'a str>,
    email: Option<&'a str>,
    phone: Option<String>,
    reminder_consent: bool,
    referent_name: Option<&'a str>,
    referent_email: Option<&'a str>,
    referent_organisation: Option<&'a str>,
    referent_consent: bool,
    sms_consent: bool,
    language: &'a str,
    notes: Option<&'a str>,
    gender: Option<&'a str>,
    social_status: Option<&'a str>,
    commune_insee: Option<&'a str>,
    search_key: String,
    name_key: String,
    updated_at: NaiveDateTime,
}

impl<'a> PersonChanges<'a> {
    pub(crate) fn from_input(input: &'a PersonInput) -> Self {
        PersonChanges {
            given_name: &input.given_name,
            family_name: input.family_name.as_deref(),
            birth_year: input.birth_year,
            postal_code: input.postal_code.as_deref(),
            city: input.city.as_deref(),
            email: input.email.as_deref(),
            phone: input.phone.as_deref().map(stored_phone),
            reminder_consent: input.reminder_consent,
            referent_name: input.referent_name.as_deref(),
            referent_email: input.referent_email.as_deref(),
            referent_organisation: input.referent_organisation.as_deref(),
            referent_consent: input.referent_consent,
            sms_consent: input.sms_consent,
            language: input.language.as_deref().unwrap_or("fr"),
            notes: input.notes.as_deref(),
            gender: input.gender.as_deref(),
            social_status: input.social_status.as_deref(),
            commune_insee: input.commune_insee.as_deref(),
            search_key: input.search_key(),
            name_key: input.name_key(),
            updated_at: now(),
        }
    }
}

impl Person {
    /// The record as the form and the API take it (to edit it, or to merge two).
    pub fn input(&self) -> PersonInput {
        PersonInput {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            birth_year: self.birth_year,
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            reminder_consent: self.reminder_consent,
            referent_name: self.referent_name.clone(),
            referent_email: self.referent_email.clone(),
            referent_organisation: self.referent_organisation.clone(),
            referent_consent: self.referent_consent,
            sms_consent: self.sms_consent,
            language: Some(self.language.clone()),
            programme_ids: self.programme_ids.clone(),
            notes: self.notes.clone(),
            organisation_id: Some(self.organisation_id),
            gender: self.gender.clone(),
            social_status: self.social_status.clone(),
            commune_insee: self.commune_insee.clone(),
        }
    }
}
