//! The demo's first stage: organisations, programmes, staff accounts, places, services and
//! opening hours. Everything later hangs on these ids, so they come back in [`Structures`];
//! the rows wait and are written together, in reference order, in one transaction.

use std::collections::HashMap;

use diesel::prelude::*;

use super::names::{FAMILY, GIVEN, ORGANISATION_KINDS, PROGRAMMES, TOWNS};
use super::{max_id, Calendar, Size, Summary, PASSWORD};
use crate::db::bulk::{self, BulkInsert};
use crate::db::schema::{organisations, programmes, users};
use crate::db::DbConn;
use crate::error::AppError;

/// What the later stages need of the structures written.
pub(super) struct Structures {
    /// The highest organisation id before the demo: tags this run's accounts and identifiers.
    pub org_base: i64,
    pub org_ids: Vec<i32>,
    pub programme_ids: Vec<i32>,
    /// (user id, organisation id)
    pub mediators: Vec<(i32, i32)>,
    /// (individual, workshop) service ids per organisation
    pub services_of: HashMap<i32, (i32, i32)>,
    /// The place each mediator receives at.
    pub home_place: HashMap<i32, i32>,
}

/// Writes the structures, the accounts and the places, and counts them in `summary`.
pub(super) fn write(
    conn: &mut DbConn,
    calendar: &Calendar,
    size: &Size,
    summary: &mut Summary,
) -> Result<Structures, AppError> {
    let stamp = calendar.stamp;
    let (org_base, org_ids, mut out) = organisations(conn, size, stamp)?;
    let (programme_ids, mut new_programmes) = programmes(conn, calendar)?;
    let (mediators, mut staff) = staff(conn, size, org_base, &org_ids, stamp, summary)?;
    let (places_of, mut places_out) = places(conn, size, &org_ids, stamp)?;
    let (services_of, mut services_out) = services(conn, &org_ids, stamp)?;
    let (home_place, mut hours_out) = opening_hours(conn, &mediators, &places_of, stamp)?;
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
    Ok(Structures {
        org_base,
        org_ids,
        programme_ids,
        mediators,
        services_of,
        home_place,
    })
}

/// The organisations, named after their kind and town (" — démo" when the name is taken):
/// the highest id before them, their ids, and the rows.
fn organisations(
    conn: &mut DbConn,
    size: &Size,
    stamp: chrono::NaiveDateTime,
) -> Result<(i64, Vec<i32>, BulkInsert), AppError> {
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
    Ok((org_base, org_ids, out))
}

/// The programmes, reusing those already stored under the same name: their ids and the new rows.
fn programmes(conn: &mut DbConn, calendar: &Calendar) -> Result<(Vec<i32>, BulkInsert), AppError> {
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
                        bulk::date(calendar.first_day),
                        bulk::time(calendar.stamp),
                    ],
                )?;
            }
        }
    }
    Ok((programme_ids, new_programmes))
}

/// The accounts, all with [`PASSWORD`]: an admin when there is none, a manager per
/// organisation, the mediators spread over the organisations. Returns the mediators
/// (user id, organisation id) and the rows; sets the summary's staff count and sign-ins.
fn staff(
    conn: &mut DbConn,
    size: &Size,
    org_base: i64,
    org_ids: &[i32],
    stamp: chrono::NaiveDateTime,
    summary: &mut Summary,
) -> Result<(Vec<(i32, i32)>, BulkInsert), AppError> {
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
    Ok((mediators, staff))
}

/// The places, spread over the organisations and the towns: their ids per organisation and
/// the rows.
fn places(
    conn: &mut DbConn,
    size: &Size,
    org_ids: &[i32],
    stamp: chrono::NaiveDateTime,
) -> Result<(HashMap<i32, Vec<i32>>, BulkInsert), AppError> {
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
    Ok((places_of, places_out))
}

/// Two services per organisation, an individual one and a workshop: their ids per
/// organisation and the rows.
fn services(
    conn: &mut DbConn,
    org_ids: &[i32],
    stamp: chrono::NaiveDateTime,
) -> Result<(HashMap<i32, (i32, i32)>, BulkInsert), AppError> {
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
    Ok((services_of, services_out))
}

/// Each mediator's opening hours, at one of their organisation's places, weekdays 9:00–12:30
/// and 13:30–17:30: the place of each mediator and the rows.
fn opening_hours(
    conn: &mut DbConn,
    mediators: &[(i32, i32)],
    places_of: &HashMap<i32, Vec<i32>>,
    stamp: chrono::NaiveDateTime,
) -> Result<(HashMap<i32, i32>, BulkInsert), AppError> {
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
    Ok((home_place, hours_out))
}
