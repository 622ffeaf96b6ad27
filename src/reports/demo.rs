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

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveTime, Weekday};
use chrono_tz::Tz;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::Config;
use crate::db::bulk::{self, BulkInsert};
use crate::db::schema::{organisations, people, programmes, skills, users};
use crate::db::DbConn;
use crate::error::AppError;
use crate::time::LocalTime;

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

const GIVEN: [&str; 40] = [
    "Marie", "Jean", "Fatima", "Mohamed", "Nathalie", "Pierre", "Aïcha", "Karim", "Isabelle",
    "Michel", "Sandrine", "Youssef", "Sophie", "Alain", "Nadia", "Philippe", "Céline", "Ali",
    "Monique", "Bernard", "Léa", "Lucas", "Chloé", "Hugo", "Emma", "Nathan", "Inès", "Enzo",
    "Manon", "Théo", "Josiane", "Gérard", "Hélène", "Rachid", "Samia", "Patrick", "Brigitte",
    "Mamadou", "Awa", "Kevin",
];
const FAMILY: [&str; 40] = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Benali",
    "Diallo",
    "Traoré",
    "Nguyen",
    "Haddad",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Masson",
    "Sanchez",
];
const TOWNS: [(&str, &str); 20] = [
    ("Lille", "59000"),
    ("Roubaix", "59100"),
    ("Tourcoing", "59200"),
    ("Dunkerque", "59140"),
    ("Valenciennes", "59300"),
    ("Douai", "59500"),
    ("Cambrai", "59400"),
    ("Maubeuge", "59600"),
    ("Villeneuve-d'Ascq", "59650"),
    ("Armentières", "59280"),
    ("Hazebrouck", "59190"),
    ("Denain", "59220"),
    ("Wattrelos", "59150"),
    ("Lambersart", "59130"),
    ("Fourmies", "59610"),
    ("Avesnes-sur-Helpe", "59440"),
    ("Caudry", "59540"),
    ("Bailleul", "59270"),
    ("Seclin", "59113"),
    ("Sin-le-Noble", "59450"),
];
const PROGRAMMES: [(&str, &str); 6] = [
    ("RSA — équipement et accompagnement", "Département"),
    ("ASE — jeunes majeurs", "Département"),
    ("Mission locale — jeunes 16-25 ans", "État"),
    ("Collèges — familles équipées", "Département"),
    ("Cartes SIM solidaires", "Emmaüs Connect"),
    ("Seniors connectés", "Conférence des financeurs"),
];
const ORGANISATION_KINDS: [&str; 5] = [
    "Association Les Connectés",
    "Centre social",
    "Espace France Services",
    "Médiathèque",
    "Tiers-lieu numérique",
];

fn max_id(conn: &mut DbConn, table: &str) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct Max {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        id: Option<i32>,
    }
    Ok(
        super::query::<Max>(conn, &format!("SELECT MAX(id) AS id FROM {table}"))?
            .first()
            .and_then(|m| m.id)
            .unwrap_or(0)
            .into(),
    )
}

fn luhn_complete(payload: &str) -> String {
    format!(
        "{payload}{}",
        crate::equipment::ids::luhn_check_digit(payload)
    )
}

/// Fills an empty database. `progress(step, done, total)` is called as work goes on.
pub fn run(
    conn: &mut DbConn,
    config: &Config,
    scale: Scale,
    mut progress: impl FnMut(&str, u64, u64),
) -> Result<Summary, AppError> {
    let already: i64 = people::table.count().get_result(conn)?;
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
    let first_day = today - Duration::days(size.days);
    let last_day = today + Duration::days(30);
    let stamp = crate::db::now();
    let mut summary = Summary {
        password: PASSWORD,
        ..Summary::default()
    };

    // Organisations, programmes, staff, places, services, opening hours.
    let org_base = max_id(conn, "organisations")?;
    let existing_names: Vec<String> = organisations::table
        .select(organisations::name)
        .load(conn)?;
    let mut org_ids = Vec::new();
    let mut out = BulkInsert::deferred("organisations", &["id", "name", "created_at"]);
    for i in 0..size.organisations {
        let (town, _) = TOWNS[i % TOWNS.len()];
        let mut name = format!(
            "{} de {town}",
            ORGANISATION_KINDS[i % ORGANISATION_KINDS.len()]
        );
        if i >= TOWNS.len() {
            name.push_str(&format!(" ({})", i / TOWNS.len() + 1));
        }
        if existing_names.contains(&name) {
            name.push_str(" — démo");
        }
        let id = org_base + 1 + i as i64;
        org_ids.push(id as i32);
        out.push(conn, &[bulk::int(id), bulk::text(&name), bulk::time(stamp)])?;
    }
    let existing_programmes: HashMap<String, i32> = programmes::table
        .select((programmes::name, programmes::id))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .collect();
    let programme_base = max_id(conn, "programmes")?;
    let mut programme_ids = Vec::new();
    let mut new_programmes = BulkInsert::deferred(
        "programmes",
        &["id", "name", "funder", "starts_on", "created_at"],
    );
    for (i, (name, funder)) in PROGRAMMES.iter().enumerate() {
        match existing_programmes.get(*name) {
            Some(id) => programme_ids.push(*id),
            None => {
                let id = programme_base + 1 + i as i64;
                programme_ids.push(id as i32);
                new_programmes.push(
                    conn,
                    &[
                        bulk::int(id),
                        bulk::text(name),
                        bulk::text(funder),
                        bulk::date(first_day),
                        bulk::time(stamp),
                    ],
                )?;
            }
        }
    }

    let password_hash = crate::auth::hash_password(PASSWORD)?;
    let user_base = max_id(conn, "users")?;
    let has_admin = users::table
        .filter(users::role.eq("admin"))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    let mut staff = BulkInsert::deferred(
        "users",
        &[
            "id",
            "organisation_id",
            "email",
            "name",
            "role",
            "password_hash",
            "active",
            "created_at",
        ],
    );
    let mut next_user = user_base;
    let mut add_user = |conn: &mut DbConn,
                        staff: &mut BulkInsert,
                        org: i32,
                        email: String,
                        name: String,
                        role: &str|
     -> Result<i32, AppError> {
        next_user += 1;
        staff.push(
            conn,
            &[
                bulk::int(next_user),
                bulk::int(org.into()),
                bulk::text(&email),
                bulk::text(&name),
                bulk::text(role),
                bulk::text(&password_hash),
                bulk::boolean(true),
                bulk::time(stamp),
            ],
        )?;
        Ok(next_user as i32)
    };
    let run_tag = org_base + 1;
    summary.manager_email = format!("coordination1.{run_tag}@demo.passerelle.fr");
    summary.mediator_email = format!("mediation1.{run_tag}@demo.passerelle.fr");
    if !has_admin {
        add_user(
            conn,
            &mut staff,
            org_ids[0],
            "admin@demo.passerelle.fr".into(),
            "Administratrice Démo".into(),
            "admin",
        )?;
    }
    let mut mediators: Vec<(i32, i32)> = Vec::new(); // (user id, organisation id)
    for (o, org) in org_ids.iter().enumerate() {
        add_user(
            conn,
            &mut staff,
            *org,
            format!("coordination{}.{run_tag}@demo.passerelle.fr", o + 1),
            format!("{} {} (coordination)", GIVEN[o % 40], FAMILY[(o * 7) % 40]),
            "manager",
        )?;
    }
    for m in 0..size.mediators {
        let org = org_ids[m % org_ids.len()];
        let id = add_user(
            conn,
            &mut staff,
            org,
            format!("mediation{}.{run_tag}@demo.passerelle.fr", m + 1),
            format!("{} {}", GIVEN[(m * 3 + 1) % 40], FAMILY[(m * 11 + 5) % 40]),
            "mediator",
        )?;
        mediators.push((id, org));
    }
    summary.staff = (next_user - user_base) as usize;

    let place_base = max_id(conn, "places")?;
    let mut places_out = BulkInsert::deferred(
        "places",
        &[
            "id",
            "organisation_id",
            "name",
            "address",
            "postal_code",
            "city",
            "phone",
            "created_at",
            "updated_at",
        ],
    );
    let mut places_of: HashMap<i32, Vec<i32>> = HashMap::new();
    for p in 0..size.places {
        let org = org_ids[p % org_ids.len()];
        let (town, code) = TOWNS[(p * 3) % TOWNS.len()];
        let id = place_base + 1 + p as i64;
        places_of.entry(org).or_default().push(id as i32);
        places_out.push(
            conn,
            &[
                bulk::int(id),
                bulk::int(org.into()),
                bulk::text(&format!("Lieu {} — {town}", p + 1)),
                bulk::text(&format!("{} rue de la République", 1 + (p * 7) % 120)),
                bulk::text(code),
                bulk::text(town),
                bulk::text(&format!(
                    "03 20 {:02} {:02} {:02}",
                    p % 100,
                    (p * 7) % 100,
                    (p * 13) % 100
                )),
                bulk::time(stamp),
                bulk::time(stamp),
            ],
        )?;
    }
    let service_base = max_id(conn, "services")?;
    let mut services_out = BulkInsert::deferred(
        "services",
        &[
            "id",
            "organisation_id",
            "name",
            "kind",
            "duration_minutes",
            "capacity",
            "min_notice_minutes",
            "buffer_minutes",
            "horizon_days",
            "created_at",
            "what_to_bring",
        ],
    );
    // (individual, workshop) service ids per organisation
    let mut services_of: HashMap<i32, (i32, i32)> = HashMap::new();
    for (o, org) in org_ids.iter().enumerate() {
        let individual = service_base + 1 + 2 * o as i64;
        let workshop = individual + 1;
        services_of.insert(*org, (individual as i32, workshop as i32));
        for (id, name, kind, minutes, capacity) in [
            (individual, "Accompagnement individuel", "individual", 60, 1),
            (workshop, "Atelier collectif", "workshop", 120, 8),
        ] {
            services_out.push(
                conn,
                &[
                    bulk::int(id),
                    bulk::int((*org).into()),
                    bulk::text(name),
                    bulk::text(kind),
                    bulk::int(minutes),
                    bulk::int(capacity),
                    bulk::int(60),
                    bulk::int(0),
                    bulk::int(90),
                    bulk::time(stamp),
                    bulk::text(
                        "Votre téléphone ou votre tablette, et vos identifiants si vous les avez.",
                    ),
                ],
            )?;
        }
    }
    let hours_base = max_id(conn, "opening_hours")?;
    let mut hours_out = BulkInsert::deferred(
        "opening_hours",
        &[
            "id",
            "user_id",
            "place_id",
            "weekday",
            "start_minute",
            "end_minute",
            "created_at",
        ],
    );
    let mut home_place: HashMap<i32, i32> = HashMap::new();
    let mut next_hours = hours_base;
    for (i, (mediator, org)) in mediators.iter().enumerate() {
        let list = &places_of[org];
        let place = list[i % list.len()];
        home_place.insert(*mediator, place);
        for weekday in 1..=5 {
            for (start, end) in [(9 * 60, 12 * 60 + 30), (13 * 60 + 30, 17 * 60 + 30)] {
                next_hours += 1;
                hours_out.push(
                    conn,
                    &[
                        bulk::int(next_hours),
                        bulk::int((*mediator).into()),
                        bulk::int(place.into()),
                        bulk::int(weekday),
                        bulk::int(start),
                        bulk::int(end),
                        bulk::time(stamp),
                    ],
                )?;
            }
        }
    }
    crate::db::transaction(conn, |conn| {
        out.flush(conn)?;
        new_programmes.flush(conn)?;
        staff.flush(conn)?;
        places_out.flush(conn)?;
        services_out.flush(conn)?;
        hours_out.flush(conn)
    })?;
    summary.organisations = size.organisations;
    summary.places = size.places;
    progress("structures, comptes et lieux", 1, 1);

    // People: each followed for a few months from a start date.
    let person_base = max_id(conn, "people")?;
    struct Followed {
        id: i32,
        start: i64,
        end: i64,
        focus: Vec<i32>,
    }
    let skill_ids: Vec<i32> = skills::table
        .filter(skills::retired_at.is_null())
        .order(skills::id)
        .select(skills::id)
        .load(conn)?;
    let mut followed_by_org: HashMap<i32, Vec<Followed>> = HashMap::new();
    let span = (last_day - first_day).num_days().max(1);
    let mut people_out = BulkInsert::deferred(
        "people",
        &[
            "id",
            "organisation_id",
            "given_name",
            "family_name",
            "birth_year",
            "postal_code",
            "city",
            "email",
            "phone",
            "reminder_consent",
            "referent_name",
            "referent_email",
            "referent_organisation",
            "referent_consent",
            "search_key",
            "name_key",
            "created_at",
            "updated_at",
        ],
    );
    let mut memberships = BulkInsert::deferred("person_programmes", &["person_id", "programme_id"]);
    let chunk = 5_000;
    for i in 0..size.people {
        let id = person_base + 1 + i as i64;
        let org = org_ids[rng.gen_range(0..org_ids.len())];
        let given = GIVEN[rng.gen_range(0..GIVEN.len())];
        let family = FAMILY[rng.gen_range(0..FAMILY.len())];
        let (town, code) = TOWNS[rng.gen_range(0..TOWNS.len())];
        let pseudonymous = rng.gen_bool(0.1);
        let email = (!pseudonymous && rng.gen_bool(0.45)).then(|| {
            format!(
                "{}.{}{}@example.org",
                crate::text::fold(given).replace(' ', "-"),
                crate::text::fold(family).replace(' ', "-"),
                id
            )
        });
        // Stored in E.164, as the people form stores it.
        let phone = (!pseudonymous && rng.gen_bool(0.75)).then(|| {
            format!(
                "+336{:02}{:02}{:02}{:02}",
                (id / 1_000_000) % 100,
                (id / 10_000) % 100,
                (id / 100) % 100,
                id % 100
            )
        });
        let referent = rng.gen_bool(0.3);
        let input = crate::people::PersonInput {
            given_name: given.to_string(),
            family_name: (!pseudonymous).then(|| family.to_string()),
            email: email.clone(),
            phone: phone.clone(),
            ..Default::default()
        };
        let start = rng.gen_range(0..span);
        let length = rng.gen_range(30..300);
        let created = crate::time::LocalTime::to_utc(
            &tz,
            first_day + Duration::days(start),
            NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
        )
        .min(stamp);
        let mut focus = Vec::new();
        while focus.len() < rng.gen_range(4..8).min(skill_ids.len()) {
            let s = skill_ids[rng.gen_range(0..skill_ids.len())];
            if !focus.contains(&s) {
                focus.push(s);
            }
        }
        followed_by_org.entry(org).or_default().push(Followed {
            id: id as i32,
            start,
            end: start + length,
            focus,
        });
        people_out.push(
            conn,
            &[
                bulk::int(id),
                bulk::int(org.into()),
                bulk::text(given),
                bulk::opt_text(input.family_name.as_deref()),
                bulk::opt_int((!pseudonymous).then(|| rng.gen_range(1940..2009))),
                bulk::text(code),
                bulk::text(town),
                bulk::opt_text(email.as_deref()),
                bulk::opt_text(phone.as_deref()),
                bulk::boolean(email.is_some()),
                bulk::opt_text(referent.then_some("Conseillère RSA")),
                bulk::opt_text(
                    referent
                        .then(|| format!("referent{}@example.org", id % 500))
                        .as_deref(),
                ),
                bulk::opt_text(referent.then_some("Unité territoriale d'action sociale")),
                bulk::boolean(referent),
                bulk::text(&input.search_key()),
                bulk::text(&input.name_key()),
                bulk::time(created),
                bulk::time(created),
            ],
        )?;
        if rng.gen_bool(0.85) {
            let first = programme_ids[rng.gen_range(0..programme_ids.len())];
            memberships.push(conn, &[bulk::int(id), bulk::int(first.into())])?;
            if rng.gen_bool(0.12) {
                let second = programme_ids[rng.gen_range(0..programme_ids.len())];
                if second != first {
                    memberships.push(conn, &[bulk::int(id), bulk::int(second.into())])?;
                }
            }
        }
        if (i + 1) % chunk == 0 || i + 1 == size.people {
            crate::db::transaction(conn, |conn| {
                people_out.flush(conn)?;
                memberships.flush(conn)
            })?;
            progress("personnes", i as u64 + 1, size.people as u64);
        }
    }
    summary.people = size.people;
    for list in followed_by_org.values_mut() {
        list.sort_by_key(|f| f.start);
    }

    // Appointments, mediator by mediator, in their opening hours.
    let slots_per_day = 6;
    let working_days = (span * 5 / 7).max(1) as f64;
    let fill = (size.appointments as f64
        / (mediators.len() as f64 * working_days * slots_per_day as f64))
        .min(0.95);
    let ids = |table: &str, conn: &mut DbConn| max_id(conn, table);
    let mut next_appointment = ids("appointments", conn)?;
    let mut next_participant = ids("participants", conn)?;
    let mut next_log = ids("session_logs", conn)?;
    let mut next_assessment = ids("assessments", conn)?;
    let mut levels: HashMap<(i32, i32), i32> = HashMap::new();
    let digital: Vec<&str> = crate::skills::topics::DIGITAL.iter().map(|t| t.0).collect();
    let procedures: Vec<&str> = crate::skills::topics::PROCEDURES
        .iter()
        .map(|t| t.0)
        .collect();
    let mut appointments_out = BulkInsert::deferred(
        "appointments",
        &[
            "id",
            "organisation_id",
            "service_id",
            "mediator_id",
            "place_id",
            "starts_at",
            "ends_at",
            "blocked_until",
            "capacity",
            "title",
            "status",
            "walk_in",
            "sequence",
            "created_at",
            "updated_at",
        ],
    );
    let mut participants_out = BulkInsert::deferred(
        "participants",
        &[
            "id",
            "appointment_id",
            "person_id",
            "status",
            "created_at",
            "updated_at",
        ],
    );
    let mut logs_out = BulkInsert::deferred(
        "session_logs",
        &[
            "id",
            "appointment_id",
            "person_id",
            "version",
            "current",
            "attendance",
            "duration_minutes",
            "topics",
            "device",
            "autonomy",
            "author_id",
            "created_at",
        ],
    );
    let mut assessments_out = BulkInsert::deferred(
        "assessments",
        &[
            "id",
            "person_id",
            "skill_id",
            "level",
            "kind",
            "session_log_id",
            "active",
            "assessed_at",
            "author_id",
            "created_at",
        ],
    );
    let now_utc = stamp;
    let total_mediators = mediators.len() as u64;
    for (m, (mediator, org)) in mediators.iter().enumerate() {
        let place = home_place[mediator];
        let (individual, workshop) = services_of[org];
        let cohort = followed_by_org.get(org).map(Vec::as_slice).unwrap_or(&[]);
        if cohort.is_empty() {
            continue;
        }
        let mut day = first_day;
        while day <= last_day {
            if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                day += Duration::days(1);
                continue;
            }
            let offset = (day - first_day).num_days();
            // Slots: three in the morning, three in the afternoon; a workshop takes two.
            let mut slot = 0;
            while slot < slots_per_day {
                let hour = [9, 10, 11, 14, 15, 16][slot];
                let is_workshop = slot == 3 && rng.gen_bool((0.6 * fill).min(0.9));
                if !is_workshop && !rng.gen_bool(fill) {
                    slot += 1;
                    continue;
                }
                let minutes = if is_workshop { 120 } else { 60 };
                let starts_at = tz.to_utc(day, NaiveTime::from_hms_opt(hour, 0, 0).expect("valid"));
                let ends_at = starts_at + Duration::minutes(minutes);
                let past = ends_at <= now_utc;
                let cancelled = rng.gen_bool(0.03);
                let status = match (cancelled, past) {
                    (true, _) => "cancelled",
                    (false, true) => "done",
                    (false, false) => "planned",
                };
                next_appointment += 1;
                let appointment_id = next_appointment;
                appointments_out.push(
                    conn,
                    &[
                        bulk::int(appointment_id),
                        bulk::int((*org).into()),
                        bulk::int(if is_workshop { workshop } else { individual }.into()),
                        bulk::int((*mediator).into()),
                        bulk::int(place.into()),
                        bulk::time(starts_at),
                        bulk::time(ends_at),
                        bulk::time(ends_at),
                        bulk::int(if is_workshop { 8 } else { 1 }),
                        bulk::opt_text(is_workshop.then_some("Atelier : démarches en ligne")),
                        bulk::text(status),
                        bulk::boolean(false),
                        bulk::int(0),
                        bulk::time(starts_at - Duration::days(7)),
                        bulk::time(starts_at - Duration::days(7)),
                    ],
                )?;
                summary.appointments += 1;
                // Who comes: people whose follow-up covers the day.
                let seats = if is_workshop { rng.gen_range(3..=8) } else { 1 };
                let upper = cohort.partition_point(|f| f.start <= offset);
                let lower = cohort[..upper].partition_point(|f| f.start < offset - 300);
                let mut chosen: Vec<&Followed> = Vec::new();
                for _ in 0..seats * 4 {
                    if chosen.len() == seats {
                        break;
                    }
                    let candidate = if upper > lower {
                        &cohort[rng.gen_range(lower..upper)]
                    } else {
                        &cohort[rng.gen_range(0..cohort.len())]
                    };
                    if (candidate.end >= offset || upper <= lower)
                        && !chosen.iter().any(|c| c.id == candidate.id)
                    {
                        chosen.push(candidate);
                    }
                }
                for person in chosen {
                    let outcome = if cancelled {
                        if rng.gen_bool(0.5) {
                            "excused"
                        } else {
                            "cancelled"
                        }
                    } else if !past {
                        "booked"
                    } else {
                        let roll: f64 = rng.gen();
                        if roll < 0.15 {
                            "no_show"
                        } else if roll < 0.18 {
                            "excused"
                        } else {
                            "attended"
                        }
                    };
                    next_participant += 1;
                    participants_out.push(
                        conn,
                        &[
                            bulk::int(next_participant),
                            bulk::int(appointment_id),
                            bulk::int(person.id.into()),
                            bulk::text(outcome),
                            bulk::time(starts_at - Duration::days(7)),
                            bulk::time(if past {
                                ends_at
                            } else {
                                starts_at - Duration::days(7)
                            }),
                        ],
                    )?;
                    summary.participants += 1;
                    if !matches!(outcome, "attended" | "no_show") {
                        continue;
                    }
                    next_log += 1;
                    let log_id = next_log;
                    let mut topics = vec![digital[rng.gen_range(0..digital.len())]];
                    if rng.gen_bool(0.4) {
                        topics.push(procedures[rng.gen_range(0..procedures.len())]);
                    }
                    let attended = outcome == "attended";
                    logs_out.push(
                        conn,
                        &[
                            bulk::int(log_id),
                            bulk::int(appointment_id),
                            bulk::int(person.id.into()),
                            bulk::int(1),
                            bulk::boolean(true),
                            bulk::text(outcome),
                            bulk::opt_int(attended.then_some(minutes)),
                            bulk::text(&if attended {
                                topics.join(",")
                            } else {
                                String::new()
                            }),
                            bulk::opt_text(attended.then(|| {
                                ["own", "lent", "structure", "none"][rng.gen_range(0..4)]
                            })),
                            bulk::opt_text(attended.then(|| {
                                ["accompanied", "partly", "autonomous"][rng.gen_range(0..3)]
                            })),
                            bulk::int((*mediator).into()),
                            bulk::time(ends_at),
                        ],
                    )?;
                    summary.logs += 1;
                    if !attended {
                        continue;
                    }
                    let observed = rng.gen_range(2..=4).min(person.focus.len());
                    let start = rng.gen_range(0..person.focus.len());
                    for k in 0..observed {
                        let skill = person.focus[(start + k) % person.focus.len()];
                        let (level, kind) = match levels.get(&(person.id, skill)) {
                            None => (rng.gen_range(0..=1), "diagnostic"),
                            Some(l) if *l < 3 && rng.gen_bool(0.3) => (l + 1, "session"),
                            Some(l) => (*l, "session"),
                        };
                        levels.insert((person.id, skill), level);
                        next_assessment += 1;
                        assessments_out.push(
                            conn,
                            &[
                                bulk::int(next_assessment),
                                bulk::int(person.id.into()),
                                bulk::int(skill.into()),
                                bulk::int(level.into()),
                                bulk::text(kind),
                                bulk::int(log_id),
                                bulk::boolean(true),
                                bulk::time(starts_at),
                                bulk::int((*mediator).into()),
                                bulk::time(ends_at),
                            ],
                        )?;
                        summary.assessments += 1;
                    }
                }
                slot += if is_workshop { 2 } else { 1 };
            }
            day += Duration::days(1);
        }
        crate::db::transaction(conn, |conn| {
            appointments_out.flush(conn)?;
            participants_out.flush(conn)?;
            logs_out.flush(conn)?;
            assessments_out.flush(conn)
        })?;
        progress(
            "rendez-vous, comptes rendus et évaluations",
            m as u64 + 1,
            total_mediators,
        );
    }

    // Equipment: most of it handed over, some loans back, a few lost or broken.
    let equipment_base = max_id(conn, "equipment")?;
    let mut next_assignment = max_id(conn, "assignments")?;
    let mut next_event = max_id(conn, "equipment_events")?;
    let mut items_out = BulkInsert::deferred(
        "equipment",
        &[
            "id",
            "organisation_id",
            "kind",
            "model",
            "serial",
            "imei",
            "iccid",
            "phone_number",
            "operator",
            "data_allowance",
            "valid_until",
            "programme_id",
            "status",
            "current_holder_id",
            "created_at",
            "updated_at",
        ],
    );
    let mut assignments_out = BulkInsert::deferred(
        "assignments",
        &[
            "id",
            "equipment_id",
            "person_id",
            "mode",
            "handed_over_on",
            "due_back_on",
            "acceptance",
            "accepted_by_name",
            "returned_on",
            "return_condition",
            "author_id",
            "created_at",
        ],
    );
    let mut events_out = BulkInsert::deferred(
        "equipment_events",
        &[
            "id",
            "equipment_id",
            "person_id",
            "action",
            "status",
            "note",
            "actor_id",
            "at",
        ],
    );
    let mediators_of: HashMap<i32, Vec<i32>> =
        mediators.iter().fold(HashMap::new(), |mut acc, (m, o)| {
            acc.entry(*o).or_default().push(*m);
            acc
        });
    for i in 0..size.devices {
        let id = equipment_base + 1 + i as i64;
        let org = org_ids[rng.gen_range(0..org_ids.len())];
        let roll: f64 = rng.gen();
        let kind = if roll < 0.45 {
            "tablet"
        } else if roll < 0.75 {
            "sim_card"
        } else if roll < 0.9 {
            "laptop"
        } else if roll < 0.97 {
            "smartphone"
        } else {
            "hotspot"
        };
        let imei = matches!(kind, "tablet" | "smartphone").then(|| {
            luhn_complete(&format!(
                "35{:012}",
                100_000_000 + id + org_base * 1_000_000
            ))
        });
        let iccid = (kind == "sim_card").then(|| {
            luhn_complete(&format!(
                "8933{:014}",
                10_000_000 + id + org_base * 1_000_000
            ))
        });
        let model = match kind {
            "tablet" => "Samsung Galaxy Tab A8",
            "sim_card" => "Carte SIM prépayée 20 Go",
            "laptop" => "Lenovo ThinkPad reconditionné",
            "smartphone" => "Fairphone 4",
            _ => "Routeur 4G",
        };
        let programme = programme_ids[rng.gen_range(0..programme_ids.len())];
        let cohort = followed_by_org.get(&org).map(Vec::as_slice).unwrap_or(&[]);
        let handed = !cohort.is_empty() && rng.gen_bool(0.88);
        let author = mediators_of[&org][rng.gen_range(0..mediators_of[&org].len())];
        let created = tz.to_utc(first_day, NaiveTime::from_hms_opt(9, 0, 0).expect("valid"));
        next_event += 1;
        events_out.push(
            conn,
            &[
                bulk::int(next_event),
                bulk::int(id),
                "NULL".into(),
                bulk::text("created"),
                bulk::text("in_stock"),
                "NULL".into(),
                bulk::int(author.into()),
                bulk::time(created),
            ],
        )?;
        let mut status = "in_stock";
        let mut holder: Option<i32> = None;
        if handed {
            let person = &cohort[rng.gen_range(0..cohort.len())];
            let on = (first_day + Duration::days(person.start)).min(today);
            let loan = rng.gen_bool(0.3);
            let due = loan.then(|| on + Duration::days(180));
            let returned = due.filter(|d| *d < today && rng.gen_bool(0.6));
            next_assignment += 1;
            assignments_out.push(
                conn,
                &[
                    bulk::int(next_assignment),
                    bulk::int(id),
                    bulk::int(person.id.into()),
                    bulk::text(if loan { "loan" } else { "donation" }),
                    bulk::date(on),
                    bulk::opt_date(due),
                    bulk::text(if rng.gen_bool(0.7) {
                        "paper_signature"
                    } else {
                        "typed_name"
                    }),
                    "NULL".into(),
                    bulk::opt_date(returned),
                    bulk::opt_text(returned.map(|_| "bon état")),
                    bulk::int(author.into()),
                    bulk::time(tz.to_utc(on, NaiveTime::from_hms_opt(10, 0, 0).expect("valid"))),
                ],
            )?;
            next_event += 1;
            events_out.push(
                conn,
                &[
                    bulk::int(next_event),
                    bulk::int(id),
                    bulk::int(person.id.into()),
                    bulk::text(if loan { "loaned" } else { "donated" }),
                    bulk::text("assigned"),
                    "NULL".into(),
                    bulk::int(author.into()),
                    bulk::time(tz.to_utc(on, NaiveTime::from_hms_opt(10, 0, 0).expect("valid"))),
                ],
            )?;
            if let Some(back) = returned {
                next_event += 1;
                events_out.push(
                    conn,
                    &[
                        bulk::int(next_event),
                        bulk::int(id),
                        bulk::int(person.id.into()),
                        bulk::text("returned"),
                        bulk::text("in_stock"),
                        "NULL".into(),
                        bulk::int(author.into()),
                        bulk::time(
                            tz.to_utc(back, NaiveTime::from_hms_opt(10, 0, 0).expect("valid")),
                        ),
                    ],
                )?;
            } else {
                status = "assigned";
                holder = Some(person.id);
            }
        } else if rng.gen_bool(0.3) {
            status = if rng.gen_bool(0.5) { "lost" } else { "broken" };
        }
        items_out.push(
            conn,
            &[
                bulk::int(id),
                bulk::int(org.into()),
                bulk::text(kind),
                bulk::text(model),
                bulk::text(&format!("SN-{org}-{id:07}")),
                bulk::opt_text(imei.as_deref()),
                bulk::opt_text(iccid.as_deref()),
                bulk::opt_text(
                    (kind == "sim_card")
                        .then(|| {
                            format!(
                                "07 {:02} {:02} {:02} {:02}",
                                (id / 1_000_000) % 100,
                                (id / 10_000) % 100,
                                (id / 100) % 100,
                                id % 100
                            )
                        })
                        .as_deref(),
                ),
                bulk::opt_text((kind == "sim_card").then_some("Opérateur solidaire")),
                bulk::opt_text((kind == "sim_card").then_some("20 Go / mois")),
                bulk::opt_date(
                    (kind == "sim_card").then(|| today + Duration::days(rng.gen_range(-60..365))),
                ),
                bulk::int(programme.into()),
                bulk::text(status),
                bulk::opt_int(holder.map(i64::from)),
                bulk::time(created),
                bulk::time(created),
            ],
        )?;
    }
    crate::db::transaction(conn, |conn| {
        items_out.flush(conn)?;
        assignments_out.flush(conn)?;
        events_out.flush(conn)
    })?;
    summary.devices = size.devices;
    progress("matériel", 1, 1);

    if let DbConn::Pg(_) = conn {
        for table in [
            "organisations",
            "programmes",
            "users",
            "places",
            "services",
            "opening_hours",
            "people",
            "appointments",
            "participants",
            "session_logs",
            "assessments",
            "equipment",
            "assignments",
            "equipment_events",
        ] {
            conn.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            ))?;
        }
    }
    crate::rollups::rebuild(conn, &tz, |done, total| {
        progress("agrégats des rapports", done, total)
    })?;
    // Fresh statistics for the planner; on PostgreSQL also the visibility map, so that the
    // covering indexes the reports read are scanned without visiting the table.
    conn.batch_execute(match conn {
        DbConn::Sqlite(_) => "ANALYZE",
        DbConn::Pg(_) => "VACUUM ANALYZE",
    })?;
    progress("statistiques de la base", 1, 1);
    Ok(summary)
}
