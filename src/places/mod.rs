//! Places (lieux de médiation), each belonging to an organisation.

pub mod api;
pub mod standard;
pub mod web;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use crate::auth::StaffUser;
use crate::db::schema::places;
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::text::clean;

#[derive(Queryable, Selectable, Serialize, Debug, Clone, utoipa::ToSchema)]
#[diesel(table_name = places)]
pub struct Place {
    pub id: i32,
    pub organisation_id: i32,
    pub name: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    #[schema(required = true)]
    pub phone: Option<String>,
    #[schema(required = true)]
    pub accessibility_notes: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    pub created_at: NaiveDateTime,
    #[serde(skip)]
    #[schema(ignore)]
    pub updated_at: NaiveDateTime,
    /// The fields of the national standard of places of médiation numérique.
    #[schema(required = true, pattern = "^[0-9]{14}$")]
    pub siret: Option<String>,
    #[serde(serialize_with = "standard::pipe_list")]
    #[schema(schema_with = standard::services_schema)]
    pub services: String,
    #[serde(serialize_with = "standard::pipe_list")]
    #[schema(schema_with = standard::modalites_acces_schema)]
    pub modalites_acces: String,
    #[schema(schema_with = standard::typologie_schema)]
    pub typologie: Option<String>,
    #[schema(required = true, max_length = 280)]
    pub presentation_resume: Option<String>,
    /// Horaires au format OpenStreetMap opening_hours (« Mo-Fr 09:00-12:00,14:00-17:30; Sa
    /// 09:00-12:00 ») ; absent : ceux des médiateurs dans ce lieu.
    #[schema(required = true, max_length = 500)]
    pub opening_hours: Option<String>,
}

fn check_postal_code(code: &str) -> Result<(), ValidationError> {
    if code.len() == 5 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ValidationError::new("postal_code")
            .with_message("Le code postal compte 5 chiffres.".into()))
    }
}

#[derive(Deserialize, Serialize, Validate, Debug, Default, Clone, utoipa::ToSchema)]
pub struct PlaceInput {
    #[validate(length(
        min = 1,
        max = 120,
        message = "Le nom est obligatoire (120 caractères au plus)."
    ))]
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    pub name: String,
    #[validate(length(
        min = 1,
        max = 200,
        message = "L'adresse est obligatoire (200 caractères au plus)."
    ))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    pub address: String,
    #[validate(custom(function = "check_postal_code"))]
    #[schema(pattern = "^[0-9]{5}$")]
    pub postal_code: String,
    #[validate(length(min = 1, max = 80, message = "La commune est obligatoire."))]
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    pub city: String,
    #[validate(length(max = 30, message = "30 caractères au plus."))]
    #[schema(max_length = 30)]
    pub phone: Option<String>,
    #[validate(length(max = 500, message = "500 caractères au plus."))]
    #[schema(max_length = 500)]
    pub accessibility_notes: Option<String>,
    /// Admins seulement.
    #[serde(default, skip_serializing)]
    #[schema(minimum = 1, maximum = 2147483647)]
    pub organisation_id: Option<i32>,
    /// 14 chiffres, clé de Luhn vérifiée (espaces ignorés).
    #[serde(default)]
    #[validate(custom(function = "standard::check_siret"))]
    pub siret: Option<String>,
    /// Labels of [`standard::SERVICES`].
    #[serde(default)]
    #[validate(custom(function = "standard::check_services"))]
    #[schema(schema_with = standard::services_schema)]
    pub services: Vec<String>,
    /// Labels of [`standard::MODALITES_ACCES`].
    #[serde(default)]
    #[validate(custom(function = "standard::check_modalites_acces"))]
    #[schema(schema_with = standard::modalites_acces_schema)]
    pub modalites_acces: Vec<String>,
    /// A code of [`standard::TYPOLOGIES`].
    #[serde(default)]
    #[validate(custom(function = "standard::check_typologie"))]
    #[schema(schema_with = standard::typologie_schema)]
    pub typologie: Option<String>,
    #[serde(default)]
    #[validate(length(max = 280, message = "280 caractères au plus."))]
    #[schema(max_length = 280)]
    pub presentation_resume: Option<String>,
    /// Horaires au format OpenStreetMap opening_hours (« Mo-Fr 09:00-12:00,14:00-17:30; Sa
    /// 09:00-12:00 ») ; absent : ceux des médiateurs dans ce lieu.
    #[serde(default)]
    #[validate(custom(function = "standard::check_opening_hours"))]
    #[schema(max_length = 500)]
    pub opening_hours: Option<String>,
}

/// `PATCH /api/v1/places/{id}`: JSON merge patch (RFC 7396) of a [`PlaceInput`]; only the
/// fields given change; a place does not change organisation (`organisation_id` refused).
/// The type the document describes; the handler merges the raw JSON onto the current place.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PlacePatch {
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 120,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    name: Option<String>,
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 200,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    address: Option<String>,
    #[schema(nullable = false, pattern = "^[0-9]{5}$")]
    postal_code: Option<String>,
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 80,
        pattern = "^[^\u{0}]*[^\u{0}\\s][^\u{0}]*$"
    )]
    city: Option<String>,
    #[schema(max_length = 30)]
    phone: Option<String>,
    #[schema(max_length = 500)]
    accessibility_notes: Option<String>,
}

/// Labels as stored: `|`-separated, each once, in the standard's order.
fn stored(values: &[String], order: &[&str]) -> String {
    order
        .iter()
        .filter(|label| values.iter().any(|v| v == *label))
        .copied()
        .collect::<Vec<_>>()
        .join("|")
}

impl PlaceInput {
    fn checked(mut self) -> Result<Self, AppError> {
        self.name = self.name.trim().to_string();
        self.address = self.address.trim().to_string();
        self.postal_code = self.postal_code.trim().to_string();
        self.city = self.city.trim().to_string();
        self.phone = clean(self.phone);
        self.accessibility_notes = clean(self.accessibility_notes);
        self.siret = clean(self.siret).map(|s| s.replace(' ', ""));
        self.typologie = clean(self.typologie);
        self.presentation_resume = clean(self.presentation_resume);
        self.opening_hours = clean(self.opening_hours);
        for list in [&mut self.services, &mut self.modalites_acces] {
            *list = list
                .iter()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
        }
        self.validate()?;
        Ok(self)
    }
}

impl Place {
    /// A place by id, without scope (for the beneficiary's page and emails).
    pub fn load(conn: &mut DbConn, id: i32) -> Result<Place, AppError> {
        Ok(places::table
            .find(id)
            .select(Place::as_select())
            .first(conn)?)
    }

    pub fn input(&self) -> PlaceInput {
        PlaceInput {
            name: self.name.clone(),
            address: self.address.clone(),
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            phone: self.phone.clone(),
            accessibility_notes: self.accessibility_notes.clone(),
            organisation_id: Some(self.organisation_id),
            siret: self.siret.clone(),
            services: standard::split(&self.services).map(String::from).collect(),
            modalites_acces: standard::split(&self.modalites_acces)
                .map(String::from)
                .collect(),
            typologie: self.typologie.clone(),
            presentation_resume: self.presentation_resume.clone(),
            opening_hours: self.opening_hours.clone(),
        }
    }
}

#[derive(AsChangeset, Insertable)]
#[diesel(table_name = places, treat_none_as_null = true)]
struct PlaceChanges<'a> {
    name: &'a str,
    address: &'a str,
    postal_code: &'a str,
    city: &'a str,
    phone: Option<&'a str>,
    accessibility_notes: Option<&'a str>,
    siret: Option<&'a str>,
    services: String,
    modalites_acces: String,
    typologie: Option<&'a str>,
    presentation_resume: Option<&'a str>,
    opening_hours: Option<&'a str>,
    updated_at: NaiveDateTime,
}

impl<'a> PlaceChanges<'a> {
    fn from_input(input: &'a PlaceInput) -> Self {
        PlaceChanges {
            name: &input.name,
            address: &input.address,
            postal_code: &input.postal_code,
            city: &input.city,
            phone: input.phone.as_deref(),
            accessibility_notes: input.accessibility_notes.as_deref(),
            siret: input.siret.as_deref(),
            services: stored(&input.services, &standard::SERVICES),
            modalites_acces: stored(&input.modalites_acces, &standard::MODALITES_ACCES),
            typologie: input.typologie.as_deref(),
            presentation_resume: input.presentation_resume.as_deref(),
            opening_hours: input.opening_hours.as_deref(),
            updated_at: now(),
        }
    }
}

pub fn list(
    conn: &mut DbConn,
    user: &StaffUser,
    limit: i64,
    offset: i64,
) -> Result<Vec<Place>, AppError> {
    let mut query = places::table.select(Place::as_select()).into_boxed();
    if let Some(org) = user.scope() {
        query = query.filter(places::organisation_id.eq(org));
    }
    Ok(query
        .order((places::name, places::id))
        .limit(limit)
        .offset(offset)
        .load(conn)?)
}

pub fn get(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<Place, AppError> {
    places::table
        .find(id)
        .select(Place::as_select())
        .first(conn)
        .optional()?
        .filter(|p| user.can_see(p.organisation_id))
        .ok_or(AppError::NotFound)
}

pub fn create(conn: &mut DbConn, user: &StaffUser, input: PlaceInput) -> Result<Place, AppError> {
    let input = input.checked()?;
    let organisation_id = user.target_organisation(input.organisation_id)?;
    crate::db::transaction(conn, |conn| {
        if crate::organisations::find(conn, organisation_id).is_err() {
            return Err(AppError::field(
                "organisation_id",
                "Cette structure n'existe pas.",
            ));
        }
        let stamp = now();
        let id: i32 = diesel::insert_into(places::table)
            .values((
                places::organisation_id.eq(organisation_id),
                places::created_at.eq(stamp),
                PlaceChanges::from_input(&input),
            ))
            .returning(places::id)
            .get_result(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "create",
            "place",
            Some(id),
            Some(organisation_id),
        )?;
        get(conn, user, id)
    })
}

pub fn update(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    input: PlaceInput,
) -> Result<Place, AppError> {
    let input = input.checked()?;
    crate::db::transaction(conn, |conn| {
        let current = get(conn, user, id)?;
        diesel::update(places::table.find(id))
            .set(PlaceChanges::from_input(&input))
            .execute(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "update",
            "place",
            Some(id),
            Some(current.organisation_id),
        )?;
        get(conn, user, id)
    })
}

pub fn patch(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    patch: serde_json::Value,
) -> Result<Place, AppError> {
    let current = get(conn, user, id)?;
    let input = crate::patch::merge(&current.input(), patch)?;
    update(conn, user, id, input)
}
