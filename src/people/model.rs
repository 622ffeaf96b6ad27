//! A person as stored and as answered, with the schemas of its coded fields.

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::funder;
use crate::db::schema::people;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = people)]
pub struct PersonRow {
    pub id: i32,
    pub organisation_id: i32,
    pub given_name: String,
    pub family_name: Option<String>,
    pub birth_year: Option<i32>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub reminder_consent: bool,
    pub referent_name: Option<String>,
    pub referent_email: Option<String>,
    pub referent_organisation: Option<String>,
    pub referent_consent: bool,
    pub notes: Option<String>,
    pub anonymised_at: Option<NaiveDateTime>,
    pub sms_consent: bool,
    pub language: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub gender: Option<String>,
    pub social_status: Option<String>,
    pub commune_insee: Option<String>,
    pub merged_into: Option<i32>,
}

/// A person as the API and the pages show them.
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct Person {
    pub id: i32,
    pub organisation_id: i32,
    pub given_name: String,
    #[schema(required = true)]
    pub family_name: Option<String>,
    #[schema(required = true)]
    pub birth_year: Option<i32>,
    #[schema(required = true)]
    pub postal_code: Option<String>,
    #[schema(required = true)]
    pub city: Option<String>,
    #[schema(required = true)]
    pub email: Option<String>,
    /// E.164, par exemple +33612345678.
    #[schema(required = true)]
    pub phone: Option<String>,
    pub reminder_consent: bool,
    #[schema(required = true)]
    pub referent_name: Option<String>,
    #[schema(required = true)]
    pub referent_email: Option<String>,
    #[schema(required = true)]
    pub referent_organisation: Option<String>,
    /// Les rappels peuvent aller au prescripteur quand la personne n'a pas d'e-mail.
    pub referent_consent: bool,
    /// Les messages peuvent partir par SMS (numéro de mobile).
    pub sms_consent: bool,
    /// `fr`, `en` or `ar`: the language of the person's messages and pages.
    #[schema(schema_with = language_schema)]
    pub language: String,
    pub programme_ids: Vec<i32>,
    #[schema(required = true)]
    pub notes: Option<String>,
    pub anonymised: bool,
    /// `female|male|undisclosed`.
    #[schema(schema_with = gender_schema, required = true)]
    pub gender: Option<String>,
    /// `statut_social` de La Coop de la médiation numérique.
    #[schema(schema_with = social_status_schema, required = true)]
    pub social_status: Option<String>,
    /// Code INSEE d'une commune de la liste officielle.
    #[schema(min_length = 5, max_length = 5, required = true)]
    pub commune_insee: Option<String>,
}

pub(super) fn language_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(crate::i18n::LANGUAGES)
}

pub(super) fn language_or_null_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(crate::i18n::LANGUAGES)
}

pub(super) fn gender_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(funder::GENDERS.iter().map(|(code, _)| *code))
}

pub(super) fn social_status_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(funder::SOCIAL_STATUSES.iter().map(|(code, _)| *code))
}

/// From 1900 to this year, as [`check_birth_year`] says.
pub(super) fn birth_year_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(1900))
        .maximum(Some(chrono::Utc::now().year()))
        .build()
}

impl Person {
    pub(super) fn from_row(row: PersonRow, programme_ids: Vec<i32>) -> Person {
        Person {
            id: row.id,
            organisation_id: row.organisation_id,
            given_name: row.given_name,
            family_name: row.family_name,
            birth_year: row.birth_year,
            postal_code: row.postal_code,
            city: row.city,
            email: row.email,
            phone: row.phone,
            reminder_consent: row.reminder_consent,
            referent_name: row.referent_name,
            referent_email: row.referent_email,
            referent_organisation: row.referent_organisation,
            referent_consent: row.referent_consent,
            sms_consent: row.sms_consent,
            language: row.language,
            programme_ids,
            notes: row.notes,
            anonymised: row.anonymised_at.is_some(),
            gender: row.gender,
            social_status: row.social_status,
            commune_insee: row.commune_insee,
        }
    }

    /// "Hélène Dupont", or the given name alone.
    pub fn display_name(&self) -> String {
        match &self.family_name {
            Some(family) => format!("{} {}", self.given_name, family),
            None => self.given_name.clone(),
        }
    }
}
