//! `passerelle demo`: realistic fake data, from a fixed seed, at two scales.
//!
//! `small`: 2 organisations, 1,000 people, 10,000 appointments — a newcomer's playground.
//! `department`: DOMAIN.md's scale — 40 organisations, 150 places, 300 mediators, 100,000
//! people, 1,000,000 appointments over five years, about 3,000,000 assessments, 20,000 devices.
//!
//! Rows are written in bulk with explicit ids (then PostgreSQL's sequences are moved past
//! them), and the report aggregates are rebuilt at the end. Shapes: about 15 % no-shows, 3 %
//! excused, 3 % appointments cancelled; each person works on a handful of skills that progress
//! over sessions; one workshop for nine individual sessions.
//!
//! The stages follow one another in [`run`], each in its own file: `structures.rs`
//! (organisations, programmes, accounts, places, services, opening hours), `people.rs`,
//! `appointments.rs` (with participants, session logs and assessments), `equipment.rs`, and
//! `finish.rs` (sequences, aggregates, planner statistics); `names.rs` holds the lists names
//! are drawn from. One random generator, seeded once, goes through them in that order, so the
//! same scale gives the same data.

mod appointments;
mod equipment;
mod finish;
mod names;
mod people;
mod structures;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::config::Config;
use crate::db::schema::people as people_table;
use crate::db::DbConn;
use crate::error::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    Small,
    Department,
}

struct Size {
    organisations: usize,
    places: usize,
    mediators: usize,
    people: usize,
    appointments: usize,
    devices: usize,
    days: i64,
}

impl Scale {
    fn size(self) -> Size {
        match self {
            Scale::Small => Size {
                organisations: 2,
                places: 4,
                mediators: 6,
                people: 1_000,
                appointments: 10_000,
                devices: 400,
                days: 540,
            },
            Scale::Department => Size {
                organisations: 40,
                places: 150,
                mediators: 300,
                people: 100_000,
                appointments: 1_000_000,
                devices: 20_000,
                days: 5 * 365,
            },
        }
    }
}

/// What was written, for the closing message.
#[derive(Debug, Default)]
pub struct Summary {
    pub organisations: usize,
    pub places: usize,
    pub staff: usize,
    pub people: usize,
    pub appointments: u64,
    pub participants: u64,
    pub logs: u64,
    pub assessments: u64,
    pub devices: usize,
    pub password: &'static str,
    /// A manager's and a mediator's sign-in, to try the demo with.
    pub manager_email: String,
    pub mediator_email: String,
}

pub const PASSWORD: &str = "demo-passerelle";

/// The days the demo covers, in the configured time zone, and the time it is written at.
#[derive(Clone, Copy)]
struct Calendar {
    tz: Tz,
    today: NaiveDate,
    first_day: NaiveDate,
    /// A month ahead: appointments are planned until then.
    last_day: NaiveDate,
    /// Now, for the rows' creation times.
    stamp: NaiveDateTime,
}

impl Calendar {
    /// The number of days from the first to the last (at least one).
    fn span(&self) -> i64 {
        (self.last_day - self.first_day).num_days().max(1)
    }
}

/// The highest id of a table (0 when empty): the demo's explicit ids follow it.
fn max_id(conn: &mut DbConn, table: &str) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct Max {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        id: Option<i32>,
    }
    Ok(
        crate::reports::query::<Max>(conn, &format!("SELECT MAX(id) AS id FROM {table}"))?
            .first()
            .and_then(|m| m.id)
            .unwrap_or(0)
            .into(),
    )
}

/// Fills an empty database. `progress(step, done, total)` is called as work goes on.
pub fn run(
    conn: &mut DbConn,
    config: &Config,
    scale: Scale,
    mut progress: impl FnMut(&str, u64, u64),
) -> Result<Summary, AppError> {
    let already: i64 = people_table::table.count().get_result(conn)?;
    if already > 0 {
        return Err(AppError::Conflict {
            code: "not_empty",
            message: format!(
                "La base contient déjà {already} personne(s) : la démonstration se charge dans une base vide \
                 (par exemple ROCKET_DATABASE_URL=sqlite://data/demo.db)."
            ),
        });
    }
    let size = scale.size();
    let tz: Tz = config.timezone;
    let mut rng = StdRng::seed_from_u64(20_261_126);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let calendar = Calendar {
        tz,
        today,
        first_day: today - Duration::days(size.days),
        last_day: today + Duration::days(30),
        stamp: crate::db::now(),
    };
    let mut summary = Summary {
        password: PASSWORD,
        ..Summary::default()
    };

    let structures = structures::write(conn, &calendar, &size, &mut summary)?;
    progress("structures, comptes et lieux", 1, 1);

    // People: each followed for a few months from a start date.
    let followed_by_org =
        people::write(conn, &mut rng, &calendar, &size, &structures, &mut progress)?;
    summary.people = size.people;

    // Appointments, mediator by mediator, in their opening hours.
    appointments::write(
        conn,
        &mut rng,
        &calendar,
        &size,
        &structures,
        &followed_by_org,
        &mut summary,
        &mut progress,
    )?;

    // Equipment: most of it handed over, some loans back, a few lost or broken.
    equipment::write(
        conn,
        &mut rng,
        &calendar,
        &size,
        &structures,
        &followed_by_org,
    )?;
    summary.devices = size.devices;
    progress("matériel", 1, 1);

    finish::finish(conn, &tz, &mut progress)?;
    Ok(summary)
}
