//! API clients: long-lived Bearer tokens for other systems, limited to scopes and an optional
//! expiry date, acting within the organisation of the manager or admin who created them.
//! The token is shown once at creation and stored as its SHA-256 hash, like staff tokens.

pub mod api;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::identity::{Role, StaffUser};
use crate::auth::model::UserRow;
use crate::auth::secret::{hash_token, random_token};
use crate::db::schema::{api_clients, users};
use crate::db::{now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::time::LocalTime;

/// The scopes a client can be given.
pub const SCOPES: [&str; 7] = [
    "people:read",
    "people:write",
    "appointments:read",
    "appointments:write",
    "reports:read",
    "equipment:read",
    "equipment:write",
];

/// How often a client's last use is written down (not at every call).
const LAST_USE_PRECISION: chrono::Duration = chrono::Duration::minutes(1);

/// `POST /api/v1/api-clients`.
#[derive(Deserialize, Debug, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiClientInput {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(schema_with = scopes_input_schema)]
    pub scopes: Vec<String>,
    /// Dernier jour de validité (date locale) ; absent : jusqu'à révocation.
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
}

/// The scopes as the document lists them: one of [`SCOPES`] each.
fn scopes_schema() -> utoipa::openapi::schema::ArrayBuilder {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new().items(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(SCOPES)),
    )
}

fn scopes_input_schema() -> utoipa::openapi::schema::Array {
    scopes_schema().min_items(Some(1)).build()
}

fn scopes_output_schema() -> utoipa::openapi::schema::Array {
    scopes_schema().build()
}

/// A client as stored (never its token).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = api_clients)]
pub struct ApiClientRow {
    pub id: i32,
    pub organisation_id: i32,
    pub created_by: i32,
    pub name: String,
    pub scopes: String,
    pub expires_on: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A client as listed (never its token), its times in the configured offset.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct ApiClient {
    pub id: i32,
    pub organisation_id: i32,
    pub created_by: i32,
    pub name: String,
    #[serde(serialize_with = "scope_list")]
    #[schema(schema_with = scopes_output_schema)]
    pub scopes: String,
    #[schema(required = true)]
    pub expires_on: Option<NaiveDate>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime, required = true)]
    pub last_used_at: Option<String>,
    #[schema(format = DateTime, required = true)]
    pub revoked_at: Option<String>,
}

impl ApiClient {
    fn of(row: ApiClientRow, tz: &Tz) -> Self {
        ApiClient {
            id: row.id,
            organisation_id: row.organisation_id,
            created_by: row.created_by,
            name: row.name,
            scopes: row.scopes,
            expires_on: row.expires_on,
            created_at: tz.rfc3339(row.created_at),
            last_used_at: row.last_used_at.map(|t| tz.rfc3339(t)),
            revoked_at: row.revoked_at.map(|t| tz.rfc3339(t)),
        }
    }
}

fn scope_list<S: serde::Serializer>(scopes: &str, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(scopes.split_whitespace())
}

/// The answer to a creation: the client and its token, shown this once.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct CreatedApiClient {
    #[serde(flatten)]
    pub client: ApiClient,
    /// Affiché cette fois seulement.
    pub token: String,
}

/// The scope a request needs: `people:read` for `GET /api/v1/people/…`, `…:write` for the
/// other methods. `None`: nothing a client may call (accounts, tokens, webhooks, clients…).
pub fn required_scope(method: rocket::http::Method, path: &str) -> Option<String> {
    let area = match path
        .strip_prefix("/api/v1/")?
        .split('/')
        .next()
        .unwrap_or_default()
    {
        "people" => "people",
        "appointments" | "slots" | "services" => "appointments",
        "reports" => "reports",
        "equipment" => "equipment",
        _ => return None,
    };
    let access = match method {
        rocket::http::Method::Get | rocket::http::Method::Head => "read",
        _ => "write",
    };
    let scope = format!("{area}:{access}");
    SCOPES.contains(&scope.as_str()).then_some(scope)
}

/// The staff member a client's token acts as, if it is a live client token. A call outside
/// its scopes is `403`. Admins' clients act within the admin's own organisation only.
pub fn authenticate(
    conn: &mut DbConn,
    token_hash: &str,
    method: rocket::http::Method,
    path: &str,
    today: NaiveDate,
) -> Result<Option<StaffUser>, AppError> {
    let found = api_clients::table
        .inner_join(users::table)
        .filter(api_clients::token_hash.eq(token_hash))
        .filter(api_clients::revoked_at.is_null())
        .filter(
            api_clients::expires_on
                .is_null()
                .or(api_clients::expires_on.ge(today)),
        )
        .filter(users::active.eq(true))
        .select((ApiClientRow::as_select(), UserRow::as_select()))
        .first::<(ApiClientRow, UserRow)>(conn)
        .optional()?;
    let Some((client, creator)) = found else {
        return Ok(None);
    };
    let mut user = creator.staff();
    user.organisation_id = client.organisation_id;
    if user.role == Role::Admin {
        user.role = Role::Manager;
    }
    let granted = client.scopes.split_whitespace().collect::<Vec<_>>();
    match required_scope(method, path) {
        Some(scope) if granted.contains(&scope.as_str()) => {}
        Some(scope) => {
            return Err(AppError::Forbidden(format!(
                "Ce client d'API n'a pas la portée {scope}."
            )))
        }
        None => {
            return Err(AppError::Forbidden(
                "Un client d'API n'accède qu'aux personnes, rendez-vous, rapports et matériel, selon ses portées."
                    .into(),
            ))
        }
    }
    let current = now();
    if client
        .last_used_at
        .is_none_or(|last| current - last >= LAST_USE_PRECISION)
    {
        crate::db::transaction(conn, |conn| {
            diesel::update(api_clients::table.find(client.id))
                .set(api_clients::last_used_at.eq(current))
                .execute(conn)?;
            Ok(())
        })?;
    }
    Ok(Some(user))
}

/// Creates a client in the creator's organisation; returns it with its token.
pub fn create(
    conn: &mut DbConn,
    user: &StaffUser,
    input: ApiClientInput,
    today: NaiveDate,
    tz: &Tz,
) -> Result<CreatedApiClient, AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    let name = input.name.trim().to_string();
    let mut errors = FieldErrors::new();
    if name.is_empty() || name.chars().count() > 100 {
        errors
            .entry("name".into())
            .or_default()
            .push("Le nom est obligatoire (100 caractères au plus).".into());
    }
    let mut scopes: Vec<&str> = Vec::new();
    for scope in &input.scopes {
        match SCOPES.iter().find(|s| **s == scope.as_str()) {
            Some(known) if !scopes.contains(known) => scopes.push(known),
            Some(_) => {}
            None => errors.entry("scopes".into()).or_default().push(format!(
                "Portée inconnue : choisissez parmi {}.",
                SCOPES.join(", ")
            )),
        }
    }
    if input.scopes.is_empty() {
        errors
            .entry("scopes".into())
            .or_default()
            .push("Donnez au moins une portée.".into());
    }
    if input.expires_on.is_some_and(|d| d < today) {
        errors
            .entry("expires_on".into())
            .or_default()
            .push("La date d'expiration est passée.".into());
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let token = random_token();
    let client = crate::db::transaction(conn, |conn| {
        let id: i32 = diesel::insert_into(api_clients::table)
            .values((
                api_clients::organisation_id.eq(user.organisation_id),
                api_clients::created_by.eq(user.id),
                api_clients::name.eq(&name),
                api_clients::scopes.eq(scopes.join(" ")),
                api_clients::token_hash.eq(hash_token(&token)),
                api_clients::expires_on.eq(input.expires_on),
                api_clients::created_at.eq(now()),
            ))
            .returning(api_clients::id)
            .get_result(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "create",
            "api_client",
            Some(id),
            Some(user.organisation_id),
        )?;
        Ok(api_clients::table
            .find(id)
            .select(ApiClientRow::as_select())
            .first(conn)?)
    })?;
    let client = ApiClient::of(client, tz);
    Ok(CreatedApiClient { client, token })
}

/// The clients of the user's organisation (every organisation's for admins), newest first.
pub fn list(conn: &mut DbConn, user: &StaffUser, tz: &Tz) -> Result<Vec<ApiClient>, AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    let mut query = api_clients::table
        .select(ApiClientRow::as_select())
        .order(api_clients::id.desc())
        .into_boxed();
    if let Some(organisation) = user.scope() {
        query = query.filter(api_clients::organisation_id.eq(organisation));
    }
    let rows: Vec<ApiClientRow> = query.load(conn)?;
    Ok(rows.into_iter().map(|row| ApiClient::of(row, tz)).collect())
}

/// Revokes a client: its token stops working at once.
pub fn revoke(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<(), AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    crate::db::transaction(conn, |conn| {
        let client: Option<ApiClientRow> = api_clients::table
            .find(id)
            .select(ApiClientRow::as_select())
            .first(conn)
            .optional()?;
        let client = client
            .filter(|c| user.can_see(c.organisation_id))
            .ok_or(AppError::NotFound)?;
        if client.revoked_at.is_none() {
            diesel::update(api_clients::table.find(id))
                .set(api_clients::revoked_at.eq(now()))
                .execute(conn)?;
            crate::audit::record(
                conn,
                Some(user),
                "delete",
                "api_client",
                Some(id),
                Some(client.organisation_id),
            )?;
        }
        Ok(())
    })
}
