//! The demo's people: each followed for a few months from a start date, on a handful of
//! skills, most in a programme or two. Written in chunks, each in its own transaction; the
//! follow-ups come back per organisation, for the appointments and the equipment to draw from.

use std::collections::HashMap;

use chrono::{Duration, NaiveTime};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::Rng;

use super::names::{FAMILY, GIVEN, TOWNS};
use super::structures::Structures;
use super::{max_id, Calendar, Size};
use crate::db::bulk::{self, BulkInsert};
use crate::db::schema::skills;
use crate::db::DbConn;
use crate::error::AppError;

/// A person's follow-up: from `start` to `end`, in days from the calendar's first day, on the
/// skills of `focus`.
pub(super) struct Followed {
    pub id: i32,
    pub start: i64,
    pub end: i64,
    pub focus: Vec<i32>,
}

/// The people's rows and their programme memberships, flushed together.
struct Rows {
    people: BulkInsert,
    memberships: BulkInsert,
}

/// Writes `size.people` people; returns their follow-ups per organisation, by start date.
pub(super) fn write(
    conn: &mut DbConn,
    rng: &mut StdRng,
    calendar: &Calendar,
    size: &Size,
    structures: &Structures,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<HashMap<i32, Vec<Followed>>, AppError> {
    let person_base = max_id(conn, "people")?;
    let skill_ids: Vec<i32> = skills::table
        .filter(skills::retired_at.is_null())
        .order(skills::id)
        .select(skills::id)
        .load(conn)?;
    let mut followed_by_org: HashMap<i32, Vec<Followed>> = HashMap::new();
    let mut rows = Rows {
        people: BulkInsert::deferred(
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
        ),
        memberships: BulkInsert::deferred("person_programmes", &["person_id", "programme_id"]),
    };
    let chunk = 5_000;
    for i in 0..size.people {
        let id = person_base + 1 + i as i64;
        let (org, followed) = person(conn, rng, calendar, structures, &skill_ids, id, &mut rows)?;
        followed_by_org.entry(org).or_default().push(followed);
        if (i + 1) % chunk == 0 || i + 1 == size.people {
            crate::db::transaction(conn, |conn| {
                rows.people.flush(conn)?;
                rows.memberships.flush(conn)
            })?;
            progress("personnes", i as u64 + 1, size.people as u64);
        }
    }
    for list in followed_by_org.values_mut() {
        list.sort_by_key(|f| f.start);
    }
    Ok(followed_by_org)
}

/// One person, drawn at random (about one in ten pseudonymous), with their memberships:
/// returns their organisation and follow-up.
fn person(
    conn: &mut DbConn,
    rng: &mut StdRng,
    calendar: &Calendar,
    structures: &Structures,
    skill_ids: &[i32],
    id: i64,
    rows: &mut Rows,
) -> Result<(i32, Followed), AppError> {
    let Structures {
        org_ids,
        programme_ids,
        ..
    } = structures;
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
    let start = rng.gen_range(0..calendar.span());
    let length = rng.gen_range(30..300);
    let created = crate::time::LocalTime::to_utc(
        &calendar.tz,
        calendar.first_day + Duration::days(start),
        NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
    )
    .min(calendar.stamp);
    let mut focus = Vec::new();
    while focus.len() < rng.gen_range(4..8).min(skill_ids.len()) {
        let s = skill_ids[rng.gen_range(0..skill_ids.len())];
        if !focus.contains(&s) {
            focus.push(s);
        }
    }
    let followed = Followed {
        id: id as i32,
        start,
        end: start + length,
        focus,
    };
    rows.people.push(
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
        rows.memberships
            .push(conn, &[bulk::int(id), bulk::int(first.into())])?;
        if rng.gen_bool(0.12) {
            let second = programme_ids[rng.gen_range(0..programme_ids.len())];
            if second != first {
                rows.memberships
                    .push(conn, &[bulk::int(id), bulk::int(second.into())])?;
            }
        }
    }
    Ok((org, followed))
}
