//! People (bénéficiaires). Pseudonymous allowed: only the given name is required.

pub mod api;
pub mod duplicates;
pub mod export;
pub mod funder;
pub mod import;
pub mod merge;
pub mod picker;
pub mod public;
pub mod web;

use std::collections::HashMap;

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use crate::auth::{Role, StaffUser};
use crate::config::Config;
use crate::db::schema::{participants, people, people_fts, person_programmes, programmes};
use crate::db::{now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::text::{clean, fold, like_escape, normalise_phone};

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

fn language_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(crate::i18n::LANGUAGES)
}

fn language_or_null_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(crate::i18n::LANGUAGES)
}

fn gender_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(funder::GENDERS.iter().map(|(code, _)| *code))
}

fn social_status_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(funder::SOCIAL_STATUSES.iter().map(|(code, _)| *code))
}

/// From 1900 to this year, as [`check_birth_year`] says.
fn birth_year_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(1900))
        .maximum(Some(chrono::Utc::now().year()))
        .build()
}

impl Person {
    fn from_row(row: PersonRow, programme_ids: Vec<i32>) -> Person {
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

fn check_phone(phone: &str) -> Result<(), ValidationError> {
    match crate::phone::parse(phone) {
        Some(_) => Ok(()),
        None => Err(ValidationError::new("phone").with_message(
            "Numéro de téléphone inutilisable : écrivez-le comme 06 12 34 56 78, 0692 12 34 56 \
             ou avec l'indicatif (+33 6 12 34 56 78)."
                .into(),
        )),
    }
}

fn check_language(language: &str) -> Result<(), ValidationError> {
    if crate::i18n::LANGUAGES.contains(&language) {
        Ok(())
    } else {
        Err(ValidationError::new("language").with_message("Langue inconnue : fr, en ou ar.".into()))
    }
}

/// Empty and too long are two different mistakes, told apart.
fn check_given_name(name: &str) -> Result<(), ValidationError> {
    let message = match name.chars().count() {
        0 => "Le prénom (ou un pseudonyme) est obligatoire.",
        1..=80 => return Ok(()),
        _ => "80 caractères au plus.",
    };
    Err(ValidationError::new("given_name").with_message(message.into()))
}

fn check_postal_code(code: &str) -> Result<(), ValidationError> {
    if code.len() == 5 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ValidationError::new("postal_code")
            .with_message("Le code postal compte 5 chiffres.".into()))
    }
}

fn check_birth_year(year: i32) -> Result<(), ValidationError> {
    let current = chrono::Utc::now().year();
    if (1900..=current).contains(&year) {
        Ok(())
    } else {
        Err(ValidationError::new("birth_year").with_message(
            format!("L'année de naissance doit être comprise entre 1900 et {current}.").into(),
        ))
    }
}

fn check_gender(code: &str) -> Result<(), ValidationError> {
    funder::label_of(funder::GENDERS, code)
        .map(|_| ())
        .ok_or_else(|| {
            ValidationError::new("gender")
                .with_message("Genre : female, male ou undisclosed.".into())
        })
}

fn check_social_status(code: &str) -> Result<(), ValidationError> {
    funder::label_of(funder::SOCIAL_STATUSES, code)
        .map(|_| ())
        .ok_or_else(|| {
            ValidationError::new("social_status").with_message(
                "Statut : in_school, job_seeker, employed, retired ou undisclosed.".into(),
            )
        })
}

fn check_commune(code: &str) -> Result<(), ValidationError> {
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

fn programme_ids_schema() -> utoipa::openapi::schema::Array {
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
    fn check(self, conn: &mut DbConn) -> Result<PersonInput, AppError> {
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
struct PersonChanges<'a> {
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
    fn from_input(input: &'a PersonInput) -> Self {
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

/// Rewrites in E.164 the phones stored before numbers were (`06 12…` → `+33612…`, overseas
/// départements with their own country code). A number no plan knows is left as it was: it
/// gets no text message. Runs at start; cheap once done (only numbers without `+` are read).
pub fn phones_to_e164(conn: &mut DbConn) -> Result<usize, AppError> {
    let rows: Vec<(i32, String)> = people::table
        .filter(people::phone.is_not_null())
        .filter(people::phone.not_like("+%"))
        .select((people::id, people::phone.assume_not_null()))
        .load(conn)?;
    let mut changed = 0;
    for (id, phone) in rows {
        if let Some(parsed) = crate::phone::parse(&phone) {
            crate::db::transaction(conn, |conn| {
                diesel::update(people::table.find(id))
                    .set(people::phone.eq(&parsed.e164))
                    .execute(conn)?;
                Ok(())
            })?;
            changed += 1;
        }
    }
    if changed > 0 {
        log::info!("{changed} phone numbers rewritten in E.164");
    }
    Ok(changed)
}

/// A checked phone as stored: E.164.
fn stored_phone(phone: &str) -> String {
    crate::phone::parse(phone)
        .map(|p| p.e164)
        .unwrap_or_else(|| normalise_phone(phone))
}

fn programme_ids_of(conn: &mut DbConn, ids: &[i32]) -> Result<HashMap<i32, Vec<i32>>, AppError> {
    let mut map: HashMap<i32, Vec<i32>> = HashMap::new();
    if ids.is_empty() {
        return Ok(map);
    }
    let rows: Vec<(i32, i32)> = person_programmes::table
        .filter(person_programmes::person_id.eq_any(ids))
        .select((
            person_programmes::person_id,
            person_programmes::programme_id,
        ))
        .order((
            person_programmes::person_id,
            person_programmes::programme_id,
        ))
        .load(conn)?;
    for (person, programme) in rows {
        map.entry(person).or_default().push(programme);
    }
    Ok(map)
}

fn with_programmes(conn: &mut DbConn, rows: Vec<PersonRow>) -> Result<Vec<Person>, AppError> {
    let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
    let mut programmes = programme_ids_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let ids = programmes.remove(&row.id).unwrap_or_default();
            Person::from_row(row, ids)
        })
        .collect())
}

fn set_programmes(conn: &mut DbConn, person_id: i32, ids: &[i32]) -> Result<(), AppError> {
    let mut current: Vec<i32> = person_programmes::table
        .filter(person_programmes::person_id.eq(person_id))
        .select(person_programmes::programme_id)
        .load(conn)?;
    current.sort_unstable();
    let mut wanted = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if current == wanted {
        return Ok(());
    }
    // The report aggregates count each programme's members: take the person out of them and
    // put them back under their new programmes.
    let organisation_id: i32 = people::table
        .find(person_id)
        .select(people::organisation_id)
        .first(conn)?;
    crate::rollups::skill_months::lock_for_change(conn, organisation_id)?;
    let before = crate::rollups::skill_months::Cells::of_person(conn, person_id)?;
    diesel::delete(person_programmes::table.filter(person_programmes::person_id.eq(person_id)))
        .execute(conn)?;
    // One row per statement: PostgreSQL through the multi-backend connection has no
    // multi-row insert.
    for programme_id in &wanted {
        diesel::insert_into(person_programmes::table)
            .values((
                person_programmes::person_id.eq(person_id),
                person_programmes::programme_id.eq(programme_id),
            ))
            .execute(conn)?;
    }
    let after = crate::rollups::skill_months::Cells::of_person(conn, person_id)?;
    before.replace_with(conn, after)?;
    let appointments: Vec<i32> = participants::table
        .filter(participants::person_id.eq(person_id))
        .select(participants::appointment_id)
        .load(conn)?;
    for appointment_id in appointments {
        crate::rollups::mark(conn, appointment_id)?;
    }
    Ok(())
}

fn row_by_id(conn: &mut DbConn, id: i32) -> Result<PersonRow, AppError> {
    Ok(people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)?)
}

/// The person if it exists and the user may see it; another organisation's person is a 404.
pub fn get(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<Person, AppError> {
    let row = people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?
        .filter(|row| user.can_see(row.organisation_id))
        .ok_or(AppError::NotFound)?;
    if let Some(kept) = row.merged_into {
        return Err(AppError::Merged(kept));
    }
    Ok(with_programmes(conn, vec![row])?.remove(0))
}

/// Searches by name, email or phone, ignoring case and accents; every word must match.
pub fn search(
    conn: &mut DbConn,
    user: &StaffUser,
    q: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Person>, AppError> {
    let mut query = people::table
        .select(PersonRow::as_select())
        .filter(people::merged_into.is_null())
        .into_boxed();
    if let Some(org) = user.scope() {
        query = query.filter(people::organisation_id.eq(org));
    }
    let sqlite = matches!(conn, DbConn::Sqlite(_));
    for word in q
        .map(fold)
        .unwrap_or_default()
        .split(' ')
        .filter(|w| !w.is_empty())
    {
        // Phone numbers are stored as digits: "06.12" is searched as "0612".
        let word = if word
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        {
            normalise_phone(word)
        } else {
            word.to_string()
        };
        let plain = !word.contains(['%', '_', '\\']);
        query = match (sqlite, plain) {
            // SQLite's trigram index answers LIKE without an ESCAPE clause.
            (true, true) => query.filter(
                people::id.eq_any(
                    people_fts::table
                        .select(people_fts::rowid)
                        .filter(people_fts::search_key.like(format!("%{word}%"))),
                ),
            ),
            // PostgreSQL's trigram index answers LIKE directly.
            _ => query.filter(
                people::search_key
                    .like(format!("%{}%", like_escape(&word)))
                    .escape('\\'),
            ),
        };
    }
    let rows = query
        .order((people::given_name, people::family_name, people::id))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    with_programmes(conn, rows)
}

/// Ids of people of the same organisation who look like the same person: same names and
/// birth year, or same email, or same phone.
fn possible_duplicates(
    conn: &mut DbConn,
    organisation_id: i32,
    input: &PersonInput,
    except: Option<i32>,
) -> Result<Vec<i32>, AppError> {
    let mut ids: Vec<i32> = Vec::new();
    let base = || {
        people::table
            .filter(people::organisation_id.eq(organisation_id))
            .filter(people::anonymised_at.is_null())
            .filter(people::merged_into.is_null())
            .filter(people::id.ne(except.unwrap_or(-1)))
            .select(people::id)
            .into_boxed()
    };
    if let (Some(_), Some(year)) = (&input.family_name, input.birth_year) {
        ids.extend(
            base()
                .filter(people::name_key.eq(input.name_key()))
                .filter(people::birth_year.eq(year))
                .load::<i32>(conn)?,
        );
    }
    if let Some(email) = &input.email {
        ids.extend(base().filter(people::email.eq(email)).load::<i32>(conn)?);
    }
    if let Some(phone) = &input.phone {
        ids.extend(
            base()
                .filter(people::phone.eq(stored_phone(phone)))
                .load::<i32>(conn)?,
        );
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// What makes a person of an organisation a likely duplicate, read once for an import.
#[derive(Default)]
pub(crate) struct DuplicateIndex {
    by_name_year: HashMap<(String, i32), i32>,
    by_email: HashMap<String, i32>,
    by_phone: HashMap<String, i32>,
}

impl DuplicateIndex {
    /// The organisation's people; with `since`, only those created since then.
    pub(crate) fn of_organisation(
        conn: &mut DbConn,
        organisation_id: i32,
        since: Option<NaiveDateTime>,
    ) -> Result<DuplicateIndex, AppError> {
        type Keys = (i32, String, Option<i32>, Option<String>, Option<String>);
        let mut query = people::table
            .filter(people::organisation_id.eq(organisation_id))
            .into_boxed();
        if let Some(since) = since {
            query = query.filter(people::created_at.ge(since));
        }
        let rows: Vec<Keys> = query
            .filter(people::anonymised_at.is_null())
            .filter(people::merged_into.is_null())
            .select((
                people::id,
                people::name_key,
                people::birth_year,
                people::email,
                people::phone,
            ))
            .order(people::id)
            .load(conn)?;
        let mut index = DuplicateIndex::default();
        for (id, name_key, year, email, phone) in rows {
            if let Some(year) = year {
                index.by_name_year.entry((name_key, year)).or_insert(id);
            }
            if let Some(email) = email {
                index.by_email.entry(email).or_insert(id);
            }
            if let Some(phone) = phone {
                index.by_phone.entry(phone).or_insert(id);
            }
        }
        Ok(index)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_name_year.is_empty() && self.by_email.is_empty() && self.by_phone.is_empty()
    }

    /// The person this one looks like (same rules as [`possible_duplicates`]).
    pub(crate) fn find(&self, input: &PersonInput) -> Option<i32> {
        let by_name = match (&input.family_name, input.birth_year) {
            (Some(_), Some(year)) => self.by_name_year.get(&(input.name_key(), year)),
            _ => None,
        };
        by_name
            .or_else(|| input.email.as_ref().and_then(|e| self.by_email.get(e)))
            .or_else(|| {
                input
                    .phone
                    .as_ref()
                    .and_then(|p| self.by_phone.get(&stored_phone(p)))
            })
            .copied()
    }
}

/// Imported people ready to insert, already checked (programmes included): their rows (keys,
/// phones in E.164) are computed before the write transaction, which then only inserts.
pub(crate) struct ImportRows<'a> {
    rows: Vec<(PersonChanges<'a>, &'a [i32])>,
}

impl<'a> ImportRows<'a> {
    pub(crate) fn new(inputs: impl Iterator<Item = &'a PersonInput>) -> Self {
        ImportRows {
            rows: inputs
                .map(|input| (PersonChanges::from_input(input), &input.programme_ids[..]))
                .collect(),
        }
    }

    /// Inserts the rows that `keep` (one flag a row) keeps, inside the caller's transaction, a
    /// few hundred a statement; audited. A new person has no participation nor assessment
    /// yet, so their programmes change no report aggregate. Returns their ids, in order.
    pub(crate) fn insert(
        &self,
        conn: &mut DbConn,
        user: &StaffUser,
        organisation_id: i32,
        keep: &[bool],
    ) -> Result<Vec<i32>, AppError> {
        // 24 columns a row: 500 rows stay well below both databases' limit of bound values.
        const CHUNK: usize = 500;
        let stamp = now();
        let kept: Vec<&(PersonChanges, &[i32])> = self
            .rows
            .iter()
            .zip(keep)
            .filter(|(_, keep)| **keep)
            .map(|(row, _)| row)
            .collect();
        let mut ids = Vec::with_capacity(kept.len());
        for chunk in kept.chunks(CHUNK) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(row, _)| {
                    (
                        row,
                        people::organisation_id.eq(organisation_id),
                        people::created_at.eq(stamp),
                    )
                })
                .collect();
            let mut chunk_ids: Vec<i32> = crate::db::per_backend!(conn, |c| {
                diesel::insert_into(people::table)
                    .values(rows)
                    .returning(people::id)
                    .get_results(c)
            })?;
            // One statement numbers its rows in order on both databases; RETURNING need not
            // list them in that order.
            chunk_ids.sort_unstable();
            let programmes: Vec<_> = chunk
                .iter()
                .zip(&chunk_ids)
                .flat_map(|((_, programme_ids), id)| {
                    programme_ids.iter().map(move |programme_id| {
                        (
                            person_programmes::person_id.eq(*id),
                            person_programmes::programme_id.eq(*programme_id),
                        )
                    })
                })
                .collect();
            for programmes in programmes.chunks(CHUNK) {
                crate::db::per_backend!(conn, |c| diesel::insert_into(person_programmes::table)
                    .values(programmes)
                    .execute(c))?;
            }
            crate::audit::record_each(
                conn,
                Some(user),
                "import",
                "person",
                &chunk_ids,
                Some(organisation_id),
            )?;
            ids.extend(chunk_ids);
        }
        Ok(ids)
    }
}

/// Creates a person in the user's organisation (or, for an admin, the one asked for).
/// Returns the person and the ids of possible duplicates.
pub fn create(
    conn: &mut DbConn,
    user: &StaffUser,
    input: PersonInput,
) -> Result<(Person, Vec<i32>), AppError> {
    let organisation_id = user.target_organisation(input.organisation_id)?;
    crate::db::transaction(conn, |conn| {
        let input = input.check(conn)?;
        if crate::organisations::find(conn, organisation_id).is_err() {
            return Err(AppError::field(
                "organisation_id",
                "Cette structure n'existe pas.",
            ));
        }
        let duplicates = possible_duplicates(conn, organisation_id, &input, None)?;
        let stamp = now();
        let id: i32 = diesel::insert_into(people::table)
            .values((
                PersonChanges::from_input(&input),
                people::organisation_id.eq(organisation_id),
                people::created_at.eq(stamp),
            ))
            .returning(people::id)
            .get_result(conn)?;
        let row = row_by_id(conn, id)?;
        set_programmes(conn, row.id, &input.programme_ids)?;
        crate::audit::record(
            conn,
            Some(user),
            "create",
            "person",
            Some(row.id),
            Some(organisation_id),
        )?;
        Ok((Person::from_row(row, input.programme_ids), duplicates))
    })
}

/// Replaces a person's fields.
pub fn update(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    input: PersonInput,
) -> Result<Person, AppError> {
    crate::db::transaction(conn, |conn| {
        let current = get(conn, user, id)?;
        if current.anonymised {
            return Err(AppError::Conflict {
                code: "anonymised",
                message: "Cette personne a été anonymisée : sa fiche ne peut plus être modifiée."
                    .into(),
            });
        }
        let input = input.check(conn)?;
        diesel::update(people::table.find(id))
            .set(PersonChanges::from_input(&input))
            .execute(conn)?;
        let row = row_by_id(conn, id)?;
        set_programmes(conn, id, &input.programme_ids)?;
        crate::audit::record(
            conn,
            Some(user),
            "update",
            "person",
            Some(id),
            Some(row.organisation_id),
        )?;
        Ok(Person::from_row(row, input.programme_ids))
    })
}

/// Applies a JSON merge patch (RFC 7396) to a person.
pub fn patch(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    patch: serde_json::Value,
) -> Result<Person, AppError> {
    crate::db::transaction(conn, |conn| {
        let current = get(conn, user, id)?;
        let input = crate::patch::merge(&current.input(), patch)?;
        update(conn, user, id, input)
    })
}

/// Erasure: names, contacts, notes and referent removed; the person is withdrawn from their
/// upcoming appointments (the waitlist moves up) and their messages forgotten. The record, its
/// programmes, past participations, logs, assessments and equipment history stay, so every
/// statistic built on them does too.
pub fn erase(
    conn: &mut DbConn,
    config: &Config,
    user: &StaffUser,
    id: i32,
) -> Result<(), AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    crate::db::transaction(conn, |conn| {
        let current = get(conn, user, id)?;
        anonymise(
            conn,
            config,
            Some(user),
            id,
            current.organisation_id,
            "erase",
        )?;
        Ok(())
    })
}

/// Anonymises a person inside the caller's transaction, and audits it as `action` (by
/// `actor`, or the system when `None`). False when they already were: nothing is done.
pub(crate) fn anonymise(
    conn: &mut DbConn,
    config: &Config,
    actor: Option<&StaffUser>,
    id: i32,
    organisation_id: i32,
    action: &str,
) -> Result<bool, AppError> {
    use crate::db::schema::{appointments, assignments, participants, session_logs};
    // Same order as a booking (organisation, then rows), so the two never deadlock.
    crate::db::lock_organisation(conn, organisation_id)?;
    let stamp = now();
    let changed = diesel::update(
        people::table
            .find(id)
            .filter(people::anonymised_at.is_null()),
    )
    .set((
        people::given_name.eq(ANONYMISED_NAME),
        people::family_name.eq(None::<String>),
        people::birth_year.eq(None::<i32>),
        people::email.eq(None::<String>),
        people::phone.eq(None::<String>),
        people::city.eq(None::<String>),
        people::reminder_consent.eq(false),
        people::sms_consent.eq(false),
        people::referent_name.eq(None::<String>),
        people::referent_email.eq(None::<String>),
        people::referent_organisation.eq(None::<String>),
        people::referent_consent.eq(false),
        people::notes.eq(None::<String>),
        people::search_key.eq(""),
        people::name_key.eq(""),
        people::anonymised_at.eq(Some(stamp)),
        people::updated_at.eq(stamp),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    // Upcoming seats are given up through the booking service, which moves the waitlist up.
    let upcoming: Vec<i32> = participants::table
        .inner_join(appointments::table)
        .filter(participants::person_id.eq(id))
        .filter(participants::status.eq_any(["booked", "waitlisted"]))
        .filter(appointments::status.eq("planned"))
        .filter(appointments::starts_at.gt(stamp))
        .select(appointments::id)
        .load(conn)?;
    for appointment_id in upcoming {
        crate::booking::service::withdraw(conn, actor, appointment_id, id, "cancelled", config)?;
    }
    crate::mail::outbox::forget_person(conn, id)?;
    crate::referrals::forget_person(conn, id)?;
    // Free texts written about them: the log notes, the name typed to accept a device, and the
    // notes of appointments they were alone in. Counts, levels and dates stay.
    diesel::update(session_logs::table.filter(session_logs::person_id.eq(id)))
        .set((
            session_logs::note.eq(None::<String>),
            session_logs::orientation_note.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::update(assignments::table.filter(assignments::person_id.eq(id)))
        .set(assignments::accepted_by_name.eq(None::<String>))
        .execute(conn)?;
    diesel::update(
        appointments::table
            .filter(
                appointments::id.eq_any(
                    participants::table
                        .filter(participants::person_id.eq(id))
                        .select(participants::appointment_id),
                ),
            )
            .filter(diesel::dsl::not(diesel::dsl::exists(
                participants::table
                    .filter(participants::appointment_id.eq(appointments::id))
                    .filter(participants::person_id.ne(id)),
            ))),
    )
    .set(appointments::notes.eq(None::<String>))
    .execute(conn)?;
    crate::webhooks::announce_anonymised(conn, &config.timezone, organisation_id, id)?;
    crate::audit::record(
        conn,
        actor,
        action,
        "person",
        Some(id),
        Some(organisation_id),
    )?;
    Ok(true)
}

/// The given name a record merged into another keeps.
pub const MERGED_NAME: &str = "Fiche fusionnée";

/// The given name an anonymised person is shown with.
pub const ANONYMISED_NAME: &str = "Personne anonymisée";
