//! The filters every report and export shares, checked and scoped to the user; the SQL
//! pieces they become (from typed values only, see [`Where`]); the filter form's lists.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{Role, StaffUser};
use crate::db::schema::{places, programmes, users};
use crate::db::DbConn;
use crate::error::{AppError, FieldErrors};

/// The filters every report and export shares, as given in the query string.
#[derive(Debug, Default, Clone, serde::Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// Début de période (AAAA-MM-JJ, heure locale)
    #[param(format = Date)]
    pub from: Option<String>,
    /// Fin de période incluse (AAAA-MM-JJ)
    #[param(format = Date)]
    pub to: Option<String>,
    /// Dispositif : les personnes qui en relèvent (matériel : celui du dispositif)
    pub programme_id: Option<i32>,
    pub place_id: Option<i32>,
    pub mediator_id: Option<i32>,
    /// Admins seulement ; ignoré pour les autres rôles (leur structure)
    pub organisation_id: Option<i32>,
}

/// Checked filters, scoped to what the user may see.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Filters {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub programme_id: Option<i32>,
    pub place_id: Option<i32>,
    pub mediator_id: Option<i32>,
    pub organisation_id: Option<i32>,
}

/// Reports are for managers and admins.
pub fn require_reader(user: &StaffUser) -> Result<(), AppError> {
    user.require(&[Role::Admin, Role::Manager])
        .map_err(|_| AppError::Forbidden("Les rapports sont réservés aux coordinateurs.".into()))
}

impl FilterQuery {
    pub fn check(&self, conn: &mut DbConn, user: &StaffUser) -> Result<Filters, AppError> {
        let mut errors = FieldErrors::new();
        let mut date = |field: &str, text: &Option<String>| -> Option<NaiveDate> {
            // Empty on the API is refused (pages leave empty values out before this).
            let text = text.as_deref().map(str::trim)?;
            let parsed = crate::time::parse_date(text);
            if parsed.is_none() {
                errors
                    .entry(field.into())
                    .or_default()
                    .push("Date attendue au format AAAA-MM-JJ.".into());
            }
            parsed
        };
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                errors
                    .entry("to".into())
                    .or_default()
                    .push("La fin de la période précède son début.".into());
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        // Managers see their organisation only; an admin may pick one.
        let organisation_id = match user.scope() {
            Some(own) => Some(own),
            None => self.organisation_id,
        };
        if let Some(id) = self.place_id {
            let owner: Option<i32> = places::table
                .find(id)
                .select(places::organisation_id)
                .first(conn)
                .optional()?;
            if !owner.is_some_and(|o| user.can_see(o)) {
                return Err(AppError::field("place_id", "Lieu inconnu."));
            }
        }
        if let Some(id) = self.mediator_id {
            let owner: Option<i32> = users::table
                .find(id)
                .select(users::organisation_id)
                .first(conn)
                .optional()?;
            if !owner.is_some_and(|o| user.can_see(o)) {
                return Err(AppError::field("mediator_id", "Médiateur inconnu."));
            }
        }
        if let Some(id) = self.programme_id {
            let found: Option<i32> = programmes::table
                .find(id)
                .select(programmes::id)
                .first(conn)
                .optional()?;
            if found.is_none() {
                return Err(AppError::field("programme_id", "Dispositif inconnu."));
            }
        }
        Ok(Filters {
            from,
            to,
            programme_id: self.programme_id,
            place_id: self.place_id,
            mediator_id: self.mediator_id,
            organisation_id,
        })
    }
}

impl Filters {
    /// The query string that reproduces these filters (for links to exports and pages).
    pub fn query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.from {
            parts.push(format!("from={d}"));
        }
        if let Some(d) = self.to {
            parts.push(format!("to={d}"));
        }
        for (name, value) in [
            ("programme_id", self.programme_id),
            ("place_id", self.place_id),
            ("mediator_id", self.mediator_id),
            ("organisation_id", self.organisation_id),
        ] {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        }
        parts.join("&")
    }
}

/// UTC start of a local day.
pub fn day_start(tz: &Tz, day: NaiveDate) -> NaiveDateTime {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(midnight)
}

/// A `WHERE` clause built from typed values only.
#[derive(Default)]
pub struct Where(pub(super) Vec<String>);

impl Where {
    pub fn int(&mut self, column: &str, value: Option<i32>) -> &mut Self {
        if let Some(v) = value {
            self.0.push(format!("{column} = {v}"));
        }
        self
    }

    pub fn time_from(&mut self, column: &str, value: Option<NaiveDateTime>) -> &mut Self {
        if let Some(v) = value {
            self.0
                .push(format!("{column} >= {}", crate::db::bulk::time(v)));
        }
        self
    }

    pub fn time_before(&mut self, column: &str, value: Option<NaiveDateTime>) -> &mut Self {
        if let Some(v) = value {
            self.0
                .push(format!("{column} < {}", crate::db::bulk::time(v)));
        }
        self
    }

    pub fn date_from(&mut self, column: &str, value: Option<NaiveDate>) -> &mut Self {
        if let Some(v) = value {
            self.0
                .push(format!("{column} >= {}", crate::db::bulk::date(v)));
        }
        self
    }

    pub fn date_before(&mut self, column: &str, value: Option<NaiveDate>) -> &mut Self {
        if let Some(v) = value {
            self.0
                .push(format!("{column} < {}", crate::db::bulk::date(v)));
        }
        self
    }

    pub fn date_until(&mut self, column: &str, value: Option<NaiveDate>) -> &mut Self {
        if let Some(v) = value {
            self.0
                .push(format!("{column} <= {}", crate::db::bulk::date(v)));
        }
        self
    }

    /// A fixed condition written in this module.
    pub fn raw(&mut self, condition: String) -> &mut Self {
        self.0.push(condition);
        self
    }

    pub fn sql(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.0.join(" AND "))
        }
    }
}

/// Tables whose rows the reports and exports name.
#[derive(Clone, Copy)]
pub enum Named {
    Users,
    Places,
    Programmes,
}

/// Every id of the table with its name (the tables are small: staff, places, programmes).
pub fn names(
    conn: &mut DbConn,
    table: Named,
) -> Result<std::collections::HashMap<i32, String>, AppError> {
    let rows: Vec<(i32, String)> = match table {
        Named::Users => users::table.select((users::id, users::name)).load(conn)?,
        Named::Places => places::table
            .select((places::id, places::name))
            .load(conn)?,
        Named::Programmes => programmes::table
            .select((programmes::id, programmes::name))
            .load(conn)?,
    };
    Ok(rows.into_iter().collect())
}

/// Runs a query on whichever backend the connection is.
pub fn query<T>(conn: &mut DbConn, sql: &str) -> Result<Vec<T>, AppError>
where
    T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
{
    Ok(match conn {
        DbConn::Sqlite(c) => diesel::sql_query(sql).load(c)?,
        DbConn::Pg(c) => diesel::sql_query(sql).load(c)?,
    })
}

/// `YYYY-MM` of a date or time column.
pub(super) fn month_of(conn: &DbConn, column: &str) -> String {
    match conn {
        DbConn::Sqlite(_) => format!("substr(CAST({column} AS TEXT), 1, 7)"),
        DbConn::Pg(_) => format!("to_char({column}, 'YYYY-MM')"),
    }
}

/// A sum that is a 64-bit integer on both backends, 0 when nothing matched.
pub(super) fn total(expr: &str) -> String {
    format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)")
}

pub(super) fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

pub(super) fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Months shown month by month: the period's, or the last twelve up to its end.
pub(super) fn months(filters: &Filters, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let end = filters.to.unwrap_or(today);
    let end_month = NaiveDate::from_ymd_opt(end.year(), end.month(), 1).expect("valid month");
    let start = filters
        .from
        .map(|f| NaiveDate::from_ymd_opt(f.year(), f.month(), 1).expect("valid month"))
        .unwrap_or_else(|| end_month - Months::new(11));
    (start, end_month)
}

pub(super) fn month_labels(start: NaiveDate, end: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let mut m = start;
    while m <= end && out.len() < 240 {
        out.push(m.format("%Y-%m").to_string());
        m = m + Months::new(1);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Skills progress

/// Names for the filter form: programmes, places, mediators and (admins) organisations.
#[derive(Serialize, Default)]
pub struct FilterChoices {
    pub programmes: Vec<(i32, String)>,
    pub places: Vec<(i32, String)>,
    pub mediators: Vec<(i32, String)>,
    pub organisations: Vec<(i32, String)>,
    /// An admin who chose no structure: the places and mediators are listed once a structure
    /// is chosen (the département's 150 places and 300 mediators would weigh 30 KB a page).
    pub choose_organisation_first: bool,
}

/// The filter form's lists: the places and mediators of the structure in view (the user's, or
/// the one an admin chose), and those the filters name.
pub fn filter_choices(
    conn: &mut DbConn,
    user: &StaffUser,
    filters: &Filters,
) -> Result<FilterChoices, AppError> {
    use crate::db::schema::organisations;
    let programmes = programmes::table
        .order(programmes::name)
        .select((programmes::id, programmes::name))
        .load(conn)?;
    let in_view = user.scope().or(filters.organisation_id);
    let (places, mediators) = match in_view {
        Some(o) => (
            places::table
                .filter(places::organisation_id.eq(o))
                .order(places::name)
                .select((places::id, places::name))
                .load(conn)?,
            users::table
                .filter(users::role.eq("mediator"))
                .filter(users::organisation_id.eq(o))
                .order(users::name)
                .select((users::id, users::name))
                .load(conn)?,
        ),
        None => (
            places::table
                .filter(places::id.nullable().eq(filters.place_id))
                .select((places::id, places::name))
                .load(conn)?,
            users::table
                .filter(users::id.nullable().eq(filters.mediator_id))
                .select((users::id, users::name))
                .load(conn)?,
        ),
    };
    let organisations = if user.is_admin() {
        organisations::table
            .order(organisations::name)
            .select((organisations::id, organisations::name))
            .load(conn)?
    } else {
        Vec::new()
    };
    Ok(FilterChoices {
        programmes,
        places,
        mediators,
        organisations,
        choose_organisation_first: in_view.is_none(),
    })
}
