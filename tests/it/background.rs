//! Background work never starves requests: the long jobs write through the same writer as the
//! requests, in short transactions that let them in between.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use passerelle::db::bulk::{self, BulkInsert};
use passerelle::db::schema::{audit_log, people};
use rocket::http::Status;

use crate::both_backends;
use crate::fixtures::{at, book, person, setup, today, Setup};
use crate::harness::{Staff, TestApp};

/// People inactive for longer than the retention period, written straight through the
/// database layer (thousands in a second).
const INACTIVE: usize = 3000;

/// One round of what a manager and a mediator do: read the activity report, export the
/// appointments (which writes its audit row first), add a person and book them. Returns each
/// request's name and time; panics on an answer that is not the expected one.
async fn round(app: &TestApp, s: &Setup, n: i64, admin: &Staff) -> Vec<(&'static str, Duration)> {
    let mut times = Vec::new();
    let started = Instant::now();
    let report = app
        .get("/api/v1/reports/activity", Some(&s.manager.token))
        .await;
    assert_eq!(
        report.status,
        Status::Ok,
        "activity report: {}",
        report.body
    );
    times.push(("activity report", started.elapsed()));

    let started = Instant::now();
    let (status, _, body) = app
        .get_bytes("/exports/appointments.csv", Some(&s.manager.token))
        .await;
    assert_eq!(status, Status::Ok, "{}", String::from_utf8_lossy(&body));
    assert!(
        body.starts_with(b"id,debut,fin"),
        "a whole file: {}",
        String::from_utf8_lossy(&body)
    );
    times.push(("appointments export", started.elapsed()));

    let started = Instant::now();
    let someone = person(app, &s.mediator.token, &format!("Pendant{n}")).await;
    times.push(("new person", started.elapsed()));

    let started = Instant::now();
    // Nine bookings a day (an hour and a pause each, from 08:00), from the day after tomorrow.
    let starts =
        chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap() + chrono::Duration::minutes(75 * (n % 9));
    let day = today() + chrono::Duration::days(2 + n / 9);
    let booked = book(
        app,
        s,
        &s.mediator.token,
        &at(day, &starts.format("%H:%M").to_string()),
        &[someone],
    )
    .await;
    assert_eq!(booked.status, Status::Created, "booking: {}", booked.body);
    times.push(("booking", started.elapsed()));

    let started = Instant::now();
    let audit = app.get("/api/v1/audit?limit=5", Some(&admin.token)).await;
    assert_eq!(audit.status, Status::Ok, "audit: {}", audit.body);
    times.push(("audit log", started.elapsed()));
    times
}

/// What anonymisation leaves of a person: id, given and family names, email, search key,
/// reminder consent.
type Anonymised = (i32, String, Option<String>, Option<String>, String, bool);

/// The longest time of each request name.
fn longest(rounds: &[Vec<(&'static str, Duration)>]) -> Vec<(&'static str, Duration)> {
    let mut out: Vec<(&'static str, Duration)> = Vec::new();
    for (name, took) in rounds.iter().flatten() {
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, max)) => *max = (*max).max(*took),
            None => out.push((name, *took)),
        }
    }
    out
}

both_backends! {
    async fn the_retention_job_over_thousands_of_people_never_fails_or_stalls_requests(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let admin = app.staff("admin", "Département").await;
        let organisation_id = s.mediator.user.organisation_id;
        // A few people still followed, and thousands gone quiet 30 months ago.
        let mut active = Vec::new();
        for i in 0..5 {
            active.push(person(&app, &s.mediator.token, &format!("Suivie{i}")).await as i32);
        }
        let long_ago = passerelle::db::now() - chrono::Duration::days(30 * 31);
        app.db().run(move |conn| {
            passerelle::db::transaction(conn, |conn| {
                let mut rows = BulkInsert::new("people", &[
                    "organisation_id", "given_name", "family_name", "email", "search_key", "name_key",
                    "reminder_consent", "referent_consent", "sms_consent", "language", "created_at", "updated_at",
                ]);
                for i in 0..INACTIVE {
                    let given = format!("Ancienne{i}");
                    rows.push(conn, &[
                        bulk::int(organisation_id.into()), bulk::text(&given), bulk::text("Martin"),
                        bulk::text(&format!("ancienne{i}@example.org")), bulk::text(&format!("{} martin", given.to_lowercase())),
                        bulk::text(&format!("{} martin", given.to_lowercase())),
                        bulk::boolean(true), bulk::boolean(false), bulk::boolean(false), bulk::text("fr"),
                        bulk::time(long_ago), bulk::time(long_ago),
                    ])?;
                }
                rows.flush(conn)
            })
        }).await.unwrap();

        // The same requests without the job, twice (the first warms the caches).
        let mut baseline = Vec::new();
        for n in 0..3 {
            baseline.push(round(&app, &s, n, &admin).await);
        }
        let baseline = longest(&baseline[1..]);

        // The job as the worker runs it, while the requests go on.
        let worker = app.worker();
        let job = rocket::tokio::task::spawn_blocking(move || passerelle::privacy::run_by(&worker));
        let job_started = Instant::now();
        let mut during = Vec::new();
        let mut n = 3;
        while !job.is_finished() {
            during.push(round(&app, &s, n, &admin).await);
            n += 1;
        }
        let job_took = job_started.elapsed();
        eprintln!("{:?}: {} rounds during the job ({job_took:?}); longest without it {baseline:?}, with it {:?}", app.backend, during.len(), longest(&during));
        let report = job.await.unwrap().unwrap().expect("the job was due");
        assert_eq!(report.anonymised, INACTIVE, "{report:?}");
        assert!(!during.is_empty(), "requests were served while the job ran ({job_took:?})");

        // Each request answered promptly: at most ten times its time without the job, or two
        // seconds (a loaded machine), never the seconds a long write transaction would cost.
        for ((name, took), (_, before)) in longest(&during).into_iter().zip(&baseline) {
            let bound = (*before * 10).max(Duration::from_secs(2));
            assert!(took <= bound, "{name}: {took:?} during the job, {before:?} without it ({} rounds in {job_took:?})", during.len());
        }

        // Everyone inactive is anonymised wholly, with one audit row by the system; the people
        // still followed and those added meanwhile are untouched.
        let (rows, audited) = app.db().run(|conn| {
            let rows: Vec<Anonymised> = people::table
                .filter(people::anonymised_at.is_not_null())
                .select((people::id, people::given_name, people::family_name, people::email, people::search_key, people::reminder_consent))
                .load(conn)?;
            let audited: Vec<Option<i32>> = audit_log::table
                .filter(audit_log::action.eq("anonymise"))
                .filter(audit_log::actor_id.is_null())
                .select(audit_log::entity_id)
                .load(conn)?;
            Ok((rows, audited))
        }).await.unwrap();
        assert_eq!(rows.len(), INACTIVE);
        for (id, given, family, email, key, consent) in &rows {
            assert!(given == "Personne anonymisée" && family.is_none() && email.is_none() && key.is_empty() && !consent, "person {id} half anonymised");
            assert!(!active.contains(id), "person {id} is still followed");
        }
        let mut audited: Vec<i32> = audited.into_iter().flatten().collect();
        audited.sort();
        let mut ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
        ids.sort();
        assert_eq!(audited, ids, "one audit row per person anonymised");
        let still = app.get(&format!("/api/v1/people/{}", active[0]), Some(&s.manager.token)).await.json();
        assert_eq!(still["anonymised"], false);
    }
}

/// Posts `csv` to the import at `path` while rounds of requests are served, and asserts that
/// each request answered within ten times its own time without the import (2 s at least): the
/// import holds the writer for its inserts only. The import's answer.
async fn import_while_serving(
    app: &TestApp,
    s: &Setup,
    admin: &Staff,
    path: &str,
    csv: String,
) -> crate::harness::Response {
    let mut baseline = Vec::new();
    for n in 0..3 {
        baseline.push(round(app, s, n, admin).await);
    }
    let baseline = longest(&baseline[1..]);
    // The import and the requests at once, on one task: each waits for the database on a
    // blocking thread while the other goes on.
    let done = std::sync::atomic::AtomicBool::new(false);
    let started = Instant::now();
    let import = async {
        let answer = app
            .client
            .post(path.to_string())
            .header(rocket::http::ContentType::CSV)
            .header(rocket::http::Header::new(
                "Authorization",
                format!("Bearer {}", s.manager.token),
            ))
            .body(csv)
            .dispatch()
            .await;
        let answer = crate::harness::collect(answer).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        answer
    };
    let requests = async {
        let mut during = Vec::new();
        let mut n = 3;
        loop {
            during.push(round(app, s, n, admin).await);
            n += 1;
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                return during;
            }
        }
    };
    let (imported, during) = rocket::tokio::join!(import, requests);
    eprintln!(
        "{:?}: {path} in {:?}, {} rounds meanwhile; longest without it {baseline:?}, with it {:?}",
        app.backend,
        started.elapsed(),
        during.len(),
        longest(&during)
    );
    for ((name, took), (_, before)) in longest(&during).into_iter().zip(&baseline) {
        let bound = (*before * 10).max(Duration::from_secs(2));
        assert!(
            took <= bound,
            "{name}: {took:?} during the import, {before:?} without it"
        );
    }
    imported
}

/// Rows of the import that runs while requests are served. Its write transaction holds
/// SQLite's writer for its inserts only (about a second for 5,000 rows in a debug build on a
/// loaded machine; before, for the reading and checking of the file too).
const IMPORTED: usize = 5_000;

both_backends! {
    async fn a_large_import_never_stalls_requests_and_lands_whole(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let admin = app.staff("admin", "Département").await;
        let programme = app.post_json("/api/v1/programmes", &s.manager.token,
            serde_json::json!({"name": "RSA 2026"})).await.json();
        // Every third row in the programme: each person must get their own row's programmes.
        let mut csv = String::from("prénom;nom;année de naissance;téléphone;dispositif\n");
        for i in 0..IMPORTED {
            let programme = if i % 3 == 0 { "RSA 2026" } else { "" };
            csv.push_str(&format!("Importée{i};Durand;{};06 {:02} {:02} {:02} {:02};{programme}\n",
                1950 + i % 50, 10 + i / 1_000_000, i / 10_000 % 100, i / 100 % 100, i % 100));
        }
        let imported = import_while_serving(&app, &s, &admin, "/api/v1/people/import", csv).await;
        assert_eq!(imported.status, Status::Created, "{}", imported.body);
        assert_eq!(imported.json(), serde_json::json!({"imported": IMPORTED, "skipped": 0}));

        // Everyone is there once, with their own row's programme and one audit row each.
        let programme_id = programme["id"].as_i64().unwrap() as i32;
        let (named, in_programme, audited) = app.db().run(move |conn| {
            use passerelle::db::schema::person_programmes;
            let named: Vec<(i32, String)> = people::table
                .filter(people::given_name.like("Importée%"))
                .select((people::id, people::given_name))
                .load(conn)?;
            let in_programme: Vec<i32> = person_programmes::table
                .filter(person_programmes::programme_id.eq(programme_id))
                .select(person_programmes::person_id)
                .load(conn)?;
            let audited: i64 = audit_log::table
                .filter(audit_log::action.eq("import"))
                .count()
                .get_result(conn)?;
            Ok((named, in_programme, audited))
        }).await.unwrap();
        assert_eq!(named.len(), IMPORTED);
        assert_eq!(audited, IMPORTED as i64);
        let mut expected: Vec<i32> = named.iter()
            .filter(|(_, name)| name["Importée".len()..].parse::<usize>().unwrap() % 3 == 0)
            .map(|(id, _)| *id)
            .collect();
        expected.sort();
        let mut in_programme = in_programme;
        in_programme.sort();
        assert_eq!(in_programme, expected, "each person has their own row's programmes");
    }
}

/// Devices of the equipment import that runs while requests are served (its write transaction
/// holds SQLite's writer for its inserts, a few hundred rows a statement, only).
const DEVICES: usize = 3_000;

/// What the equipment import leaves of a device: model, kind, programme, status, holder,
/// validity.
type Device = (
    i32,
    Option<String>,
    String,
    Option<i32>,
    String,
    Option<i32>,
    Option<chrono::NaiveDate>,
);

both_backends! {
    async fn a_large_equipment_import_never_stalls_requests_and_lands_whole(app) {
        use passerelle::db::schema::{equipment, equipment_events};
        use passerelle::equipment::ids::luhn_check_digit;
        let s = setup(&app, "Emmaüs Connect").await;
        let admin = app.staff("admin", "Département").await;
        let programme = app.post_json("/api/v1/programmes", &s.manager.token,
            serde_json::json!({"name": "Équipement 2026"})).await.json();
        // Tablets (serial, IMEI) and SIM cards (ICCID, validity); every third in the programme.
        let mut csv = String::from("Type;Modèle;Numéro de série;IMEI;ICCID;Fin de validité;Dispositif\n");
        for i in 0..DEVICES {
            let programme = if i % 3 == 0 { "Équipement 2026" } else { "" };
            if i % 2 == 0 {
                let imei = format!("35209900{i:06}");
                csv.push_str(&format!("tablette;Modèle{i};SN-{i};{imei}{};;;{programme}\n", luhn_check_digit(&imei)));
            } else {
                let iccid = format!("893315031900{i:06}");
                csv.push_str(&format!("carte SIM;Modèle{i};;;{iccid}{};31/12/2027;{programme}\n", luhn_check_digit(&iccid)));
            }
        }
        let imported = import_while_serving(&app, &s, &admin, "/api/v1/equipment/import", csv).await;
        assert_eq!(imported.status, Status::Ok, "{}", imported.body);
        assert_eq!(imported.json(), serde_json::json!({"imported": DEVICES}));

        // Every device is there once, whole: its own row's kind, programme and validity, in
        // stock in the manager's organisation, with one "created" event by the manager; the
        // import has its one audit row.
        let programme_id = programme["id"].as_i64().unwrap() as i32;
        let organisation_id = s.manager.user.organisation_id;
        let manager_id = s.manager.user.id;
        let (devices, events, audited) = app.db().run(move |conn| {
            let devices: Vec<Device> = equipment::table
                .filter(equipment::model.like("Modèle%"))
                .filter(equipment::organisation_id.eq(organisation_id))
                .select((equipment::id, equipment::model, equipment::kind, equipment::programme_id,
                    equipment::status, equipment::current_holder_id, equipment::valid_until))
                .load(conn)?;
            let events: Vec<(i32, String, String, Option<i32>)> = equipment_events::table
                .select((equipment_events::equipment_id, equipment_events::action,
                    equipment_events::status, equipment_events::actor_id))
                .load(conn)?;
            let audited: Vec<(Option<i32>, Option<i32>, Option<i32>)> = audit_log::table
                .filter(audit_log::action.eq("import"))
                .filter(audit_log::entity.eq("equipment"))
                .select((audit_log::actor_id, audit_log::entity_id, audit_log::organisation_id))
                .load(conn)?;
            Ok((devices, events, audited))
        }).await.unwrap();
        assert_eq!(devices.len(), DEVICES);
        let mut seen = vec![false; DEVICES];
        for (id, model, kind, programme, status, holder, valid_until) in &devices {
            let i: usize = model.as_deref().unwrap()["Modèle".len()..].parse().unwrap();
            assert!(!std::mem::replace(&mut seen[i], true), "row {i} imported twice");
            let expected_kind = if i % 2 == 0 { "tablet" } else { "sim_card" };
            let expected_until = (i % 2 == 1).then(|| chrono::NaiveDate::from_ymd_opt(2027, 12, 31).unwrap());
            assert!(kind == expected_kind && *valid_until == expected_until, "device {id} (row {i}): {kind} {valid_until:?}");
            assert_eq!(*programme, (i % 3 == 0).then_some(programme_id), "device {id} (row {i}) has its own row's programme");
            assert!(status == "in_stock" && holder.is_none(), "device {id}: {status} {holder:?}");
        }
        let mut created: Vec<i32> = events.iter()
            .filter(|(_, action, status, actor)| action == "created" && status == "in_stock" && *actor == Some(manager_id))
            .map(|(id, ..)| *id)
            .collect();
        created.sort();
        let mut ids: Vec<i32> = devices.iter().map(|d| d.0).collect();
        ids.sort();
        assert_eq!(created, ids, "one \"created\" event per device");
        assert_eq!(events.len(), DEVICES, "no other event");
        assert_eq!(audited, vec![(Some(manager_id), None, Some(organisation_id))], "one audit row for the import");
    }
}
