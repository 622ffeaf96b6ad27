//! Reads that cost what they show: every read of a period walks an index over that period only
//! (both ends of the range bounded), not the whole history before it. Checked on the plans the
//! databases make for the statements the application really sends (`EXPLAIN QUERY PLAN` on
//! SQLite, `EXPLAIN` of the generic plan on PostgreSQL).

use std::sync::{Arc, Mutex};

use chrono::{Datelike, Duration, NaiveDate};
use diesel::connection::{Connection, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel::sql_types::Text;
use passerelle::auth::StaffUser;
use passerelle::booking::service::{self, AppointmentFilter};
use passerelle::db::DbConn;
use passerelle::reports::Filters;
use passerelle::time::LocalTime;
use rocket::http::Status;

use crate::both_backends;
use crate::fixtures::{at, book, person, setup, today};

/// The SQL of every statement `f` sends on `conn` (binds left out).
fn statements<T>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> T) -> (T, Vec<String>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            let sql = text.split(" -- binds: ").next().unwrap_or_default();
            sink.lock().unwrap().push(sql.to_string());
        }
    });
    let value = f(conn);
    conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
    let sql = seen.lock().unwrap().clone();
    (value, sql)
}

#[derive(QueryableByName)]
struct SqlitePlan {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlan {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The plan of `sql`, one line per step. PostgreSQL: the generic plan (the one a prepared
/// statement keeps), with sequential scans priced out so that the tiny test tables still show
/// which index, and which bounds, the statement can use.
fn plan(conn: &mut DbConn, sql: &str) -> String {
    match conn {
        DbConn::Sqlite(c) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load::<SqlitePlan>(c)
            .expect("explain")
            .into_iter()
            .map(|r| r.detail)
            .collect::<Vec<_>>()
            .join("\n"),
        DbConn::Pg(c) => {
            let params = (1..=64)
                .take_while(|n| sql.contains(&format!("${n}")))
                .count();
            c.batch_execute("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan;")
                .unwrap();
            c.batch_execute(&format!("PREPARE reads_plan AS {sql}"))
                .expect("prepare");
            let args = vec!["NULL"; params].join(", ");
            let execute = if params == 0 {
                "EXPLAIN EXECUTE reads_plan".to_string()
            } else {
                format!("EXPLAIN EXECUTE reads_plan({args})")
            };
            let lines = diesel::sql_query(execute)
                .load::<PgPlan>(c)
                .expect("explain");
            c.batch_execute("DEALLOCATE reads_plan; RESET enable_seqscan; RESET plan_cache_mode;")
                .unwrap();
            lines
                .into_iter()
                .map(|r| r.line)
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

/// Whether one step of the plan walks an index with `column` bounded below and above.
fn bounded(plan: &str, column: &str) -> bool {
    plan.lines().any(|line| {
        let line = line.replace(['"', '`', '(', ')'], "");
        let index_step = line.contains("USING INDEX")
            || line.contains("USING COVERING INDEX")
            || line.contains("Index Cond:");
        let below = [">", " >"]
            .iter()
            .any(|op| line.contains(&format!("{column}{op}")));
        let above = ["<", " <"]
            .iter()
            .any(|op| line.contains(&format!("{column}{op}")));
        index_step && below && above
    })
}

/// Every statement of `f` that compares `column` (of its table or alias) walks an index bounded
/// at both ends; and there was at least one.
fn assert_ranges_bounded<T>(
    conn: &mut DbConn,
    what: &str,
    column: &str,
    f: impl FnOnce(&mut DbConn) -> T,
) -> T {
    let (value, sql) = statements(conn, f);
    let ranges: Vec<&String> = sql
        .iter()
        .filter(|s| {
            let s = s.replace(['"', '`'], "");
            [" >", " <"]
                .iter()
                .any(|op| s.contains(&format!(".{column}{op}")))
        })
        .collect();
    assert!(
        !ranges.is_empty(),
        "{what}: no read of a period on {column} in {sql:#?}"
    );
    for s in ranges {
        let p = plan(conn, s);
        assert!(
            bounded(&p, column),
            "{what}: {column} is not bounded at both ends of an index range.\n{s}\n{p}"
        );
    }
    value
}

both_backends! {
    async fn reads_of_a_period_walk_an_index_bounded_at_both_ends(app) {
        let s = setup(&app, "Roubaix").await;
        let admin = app.staff("admin", "Roubaix").await;
        let alice = person(&app, &s.mediator.token, "Alice").await;
        let monday = today() + Duration::days(14);
        let r = book(&app, &s, &s.mediator.token, &at(monday, "10:00"), &[alice]).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let (mediator, manager, admin) = (s.mediator.user.clone(), s.manager.user.clone(), admin.user.clone());
        let place_id = s.place_id as i32;
        let config = app.config();
        let tz = config.timezone;
        app.db()
            .run(move |conn| {
                let from = tz.to_utc(monday, chrono::NaiveTime::MIN);
                let week = |f: AppointmentFilter| AppointmentFilter {
                    from: Some(from),
                    to: Some(from + Duration::days(7)),
                    limit: 1000,
                    ..f
                };
                let agendas: [(&str, &StaffUser, AppointmentFilter); 4] = [
                    ("a mediator's week", &mediator, week(AppointmentFilter { mediator_id: Some(mediator.id), ..Default::default() })),
                    ("a place's week", &manager, week(AppointmentFilter { place_id: Some(place_id), ..Default::default() })),
                    ("an organisation's week", &manager, week(AppointmentFilter::default())),
                    ("every organisation's week", &admin, week(AppointmentFilter::default())),
                ];
                for (what, user, filter) in agendas {
                    let found = assert_ranges_bounded(conn, what, "starts_at", |conn| {
                        service::list(conn, user, &filter)
                    })?;
                    // The participants came along (read by the bounded join, not an IN list).
                    assert_eq!(found.len(), 1, "{what}");
                    assert_eq!(found[0].participants.len(), 1, "{what}");
                    assert_eq!(found[0].participants[0].person_id as i64, alice);
                }
                assert_ranges_bounded(conn, "logs to fill", "starts_at", |conn| {
                    passerelle::skills::logs::to_fill(conn, &manager, Some(mediator.id), None)
                })?;
                // A period that does not start or end on a month: its edges are read from the
                // per-person rows.
                let year = today().year();
                let filters = Filters {
                    from: NaiveDate::from_ymd_opt(year, 3, 10),
                    to: NaiveDate::from_ymd_opt(year, 6, 20),
                    organisation_id: Some(manager.organisation_id),
                    ..Default::default()
                };
                assert_ranges_bounded(conn, "skills report's edge days", "last_at", |conn| {
                    passerelle::reports::skills_progress(conn, &tz, &filters)
                })?;
                Ok(())
            })
            .await
            .unwrap();
    }
}

both_backends! {
    /// The skills report sums the monthly roll-ups of a programme over every month and
    /// organisation in scope: each sum reads its programme's rows from the index keyed by
    /// programme then skill (or domain), which holds every summed column; SQLite groups them in
    /// the index's order, without sorting. The people in scope are counted from their index.
    async fn the_skills_reports_roll_up_sums_read_their_programmes_index(app) {
        let s = setup(&app, "Roubaix").await;
        let manager = s.manager.user.clone();
        let tz = app.config().timezone;
        app.db()
            .run(move |conn| {
                for filters in [
                    Filters::default(),
                    Filters { organisation_id: Some(manager.organisation_id), ..Default::default() },
                ] {
                    let (report, sql) = statements(conn, |conn| {
                        passerelle::reports::skills_progress(conn, &tz, &filters)
                    });
                    report?;
                    for (table, index) in [
                        ("skill_months", "skill_months_programme"),
                        ("domain_months", "domain_months_programme"),
                    ] {
                        let sums: Vec<&String> =
                            sql.iter().filter(|s| s.contains(&format!("FROM {table} m"))).collect();
                        assert_eq!(sums.len(), 1, "{table} summed once in {sql:#?}");
                        let p = plan(conn, sums[0]);
                        assert!(p.contains(index), "{table} ({filters:?}) not read by {index}:\n{}\n{p}", sums[0]);
                        if matches!(conn, DbConn::Sqlite(_)) {
                            assert!(p.contains(&format!("COVERING INDEX {index}")), "{p}");
                            assert!(!p.contains("TEMP B-TREE"), "{table} sorted:\n{p}");
                        }
                    }
                    // The people in scope are counted from their index, not from the table.
                    let counted: Vec<&String> =
                        sql.iter().filter(|s| s.contains("COUNT(*) AS n FROM people p")).collect();
                    assert_eq!(counted.len(), 1, "the people counted once in {sql:#?}");
                    let p = plan(conn, counted[0]);
                    match conn {
                        DbConn::Sqlite(_) => assert!(p.contains("COVERING INDEX people_in_scope"), "{filters:?}:\n{p}"),
                        // PostgreSQL finds one organisation's people by any index of theirs.
                        DbConn::Pg(_) if filters.organisation_id.is_none() => {
                            assert!(p.contains("people_in_scope"), "{filters:?}:\n{}\n{p}", counted[0])
                        }
                        DbConn::Pg(_) => assert!(p.contains("Index Cond: (organisation_id"), "{p}"),
                    }
                }
                Ok(())
            })
            .await
            .unwrap();
    }
}

both_backends! {
    /// The breakdowns every report shows count the people served from `served_people`, one row
    /// per person, never probing `served_days` once per person: all time, the grouped columns'
    /// index of `people` is scanned (SQLite: read from the index alone); a period looks up in
    /// `served_days` only those served before and after it.
    async fn the_breakdowns_count_the_people_served_from_their_roll_up(app) {
        let _s = setup(&app, "Roubaix").await;
        let tz = app.config().timezone;
        app.db()
            .run(move |conn| {
                let day = today();
                for filters in [
                    Filters::default(),
                    Filters { from: Some(day - Duration::days(30)), ..Default::default() },
                    Filters { from: Some(day - Duration::days(30)), to: Some(day), ..Default::default() },
                ] {
                    let (breakdowns, sql) = statements(conn, |conn| {
                        passerelle::reports::breakdowns::breakdowns(conn, &tz, &filters)
                    });
                    breakdowns?;
                    let grouped: Vec<&String> = sql.iter().filter(|s| s.contains("FROM people p")).collect();
                    assert_eq!(grouped.len(), 1, "the people grouped once in {sql:#?}");
                    assert!(grouped[0].contains("FROM served_people sp"), "{filters:?}: {}", grouped[0]);
                    let p = plan(conn, grouped[0]);
                    if filters.to.is_none() {
                        assert!(!p.contains("served_days"), "{filters:?} probes served_days:\n{}\n{p}", grouped[0]);
                    }
                    if matches!(conn, DbConn::Sqlite(_)) {
                        assert!(p.contains("COVERING INDEX people_breakdown"), "{filters:?}:\n{p}");
                    }
                }
                Ok(())
            })
            .await
            .unwrap();
    }
}

both_backends! {
    /// The token is checked inside the handler's own database call (one hop): a refused token
    /// must still be a 401, before any data, whether the handler reads the user first
    /// (creating a place checks the role), reads the database first (the agenda) or fails on
    /// its body before either.
    async fn a_refused_token_is_a_401_whatever_the_handler_does_first(app) {
        let s = setup(&app, "Roubaix").await;
        let revoked = app.staff("manager", "Roubaix").await;
        let r = app.delete("/api/v1/tokens/current", &revoked.token).await;
        assert_eq!(r.status, Status::NoContent);
        for token in [revoked.token.as_str(), "pas-un-jeton"] {
            let place = app
                .post_json("/api/v1/places", token, serde_json::json!({"name": "Annexe", "address": "1 rue", "postal_code": "59100", "city": "Roubaix"}))
                .await;
            assert_eq!(place.status, Status::Unauthorized, "{}", place.body);
            assert_eq!(place.header("WWW-Authenticate"), Some("Bearer"));
            assert!(place.body.contains("Jeton d'accès invalide"), "{}", place.body);
            let agenda = app.get(&format!("/api/v1/appointments?mediator_id={}", s.mediator.user.id), Some(token)).await;
            assert_eq!(agenda.status, Status::Unauthorized, "{}", agenda.body);
            assert!(!agenda.body.contains("starts_at"), "{}", agenda.body);
            let bad_body = app.send_json("POST", "/api/v1/places", Some(token), "{").await;
            assert_eq!(bad_body.status, Status::Unauthorized, "{}", bad_body.body);
        }
        // Nothing was written under the refused tokens.
        let places = app.get("/api/v1/places", Some(&s.manager.token)).await;
        assert_eq!(places.status, Status::Ok);
        assert!(!places.body.contains("Annexe"), "{}", places.body);
        // And a valid token still reads and writes.
        let place = app
            .post_json("/api/v1/places", &s.manager.token, serde_json::json!({"name": "Annexe", "address": "1 rue", "postal_code": "59100", "city": "Roubaix"}))
            .await;
        assert_eq!(place.status, Status::Created, "{}", place.body);
    }
}

both_backends! {
    /// An admin's agenda of a mediator offers that organisation's staff, places and services
    /// to filter on (not every organisation's), and still names what it shows.
    async fn an_admins_agenda_offers_the_lists_of_the_organisation_in_view(app) {
        let a = setup(&app, "Roubaix").await;
        let b = setup(&app, "Tourcoing").await;
        let admin = app.staff("admin", "Département").await;
        let alice = person(&app, &a.mediator.token, "Alice").await;
        let day = today() + Duration::days(14);
        let r = book(&app, &a, &a.mediator.token, &at(day, "10:00"), &[alice]).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();
        let option = |staff: &crate::harness::Staff| format!(">{}</option>", staff.user.name);
        let page = app
            .page(&format!("/agenda?date={day}&view=week&mediator_id={}", a.mediator.user.id), &admin.session)
            .await;
        assert_eq!(page.status, Status::Ok);
        assert!(page.body.contains(&format!("/appointments/{id}")), "{}", page.body);
        assert!(page.body.contains(&a.mediator.user.name), "the appointment names its mediator");
        assert!(page.body.contains(&option(&a.mediator)), "A's mediator is offered");
        assert!(!page.body.contains(&option(&b.mediator)), "B's mediator is not offered");
        let places = page.body.matches("Médiathèque Jean Macé</option>").count();
        assert_eq!(places, 1, "only A's place is offered");
        // On B's place, B's lists.
        let page = app
            .page(&format!("/agenda?date={day}&view=week&place_id={}", b.place_id), &admin.session)
            .await;
        assert_eq!(page.status, Status::Ok);
        assert!(page.body.contains(&option(&b.mediator)), "B's mediator is offered");
        assert!(!page.body.contains(&option(&a.mediator)), "A's mediator is not offered");
        // With no mediator nor place, the admin's own structure; A's when the admin picks it,
        // with its appointments named.
        let page = app.page(&format!("/agenda?date={day}&view=week"), &admin.session).await;
        assert_eq!(page.status, Status::Ok);
        assert!(!page.body.contains(&format!("/appointments/{id}\"")), "{}", page.body);
        let page = app
            .page(&format!("/agenda?date={day}&view=week&organisation_id={}", a.manager.user.organisation_id), &admin.session)
            .await;
        assert!(page.body.contains(&format!("/appointments/{id}\"")), "{}", page.body);
        assert!(page.body.contains(&a.mediator.user.name));
        assert!(page.body.contains(&option(&a.mediator)) && !page.body.contains(&option(&b.mediator)));
    }
}

both_backends! {
    /// A session log's assessments are found by an index, not a scan of every assessment: the
    /// logs export reads them 10,000 logs at a time (a scan of 3.4 million assessments per batch
    /// made it 15,000 rows/s on the department demo), and editing or merging a log updates them.
    async fn a_session_logs_assessments_are_read_by_an_index(app) {
        app.db()
            .run(|conn| {
                for sql in [
                    "SELECT session_log_id, skill_id, level FROM assessments WHERE session_log_id IN (1, 2, 3)",
                    "UPDATE assessments SET active = false WHERE session_log_id = 7",
                ] {
                    let p = plan(conn, sql);
                    assert!(p.contains("assessments_session_log"), "{sql}\n{p}");
                }
                Ok(())
            })
            .await
            .unwrap();
    }
}

/// SQLite: after the upgrade, the timestamp and date columns have TEXT affinity, so comparing
/// one with a bound value compares text instead of first trying to read each stored value as a
/// number (issue 14, point 2; `benches/timestamps.sh`). The rows written before the upgrade are
/// untouched: the database is intact and they are found by the same range reads.
#[test]
fn sqlite_timestamps_compare_as_text_after_the_upgrade() {
    use diesel::sql_types::{Date, Timestamp};
    use diesel::SqliteConnection;
    use diesel_migrations::MigrationHarness;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        type_name: String,
    }
    let columns = |conn: &mut SqliteConnection| -> Vec<Column> {
        diesel::sql_query(
            "SELECT m.name AS table_name, c.name AS name, c.type AS type_name \
             FROM sqlite_schema m, pragma_table_info(m.name) c WHERE m.type = 'table'",
        )
        .load(conn)
        .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("before.db");
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    // The schema as it was before the upgrade, with a person and an activity day in it.
    let upgrade = "20261130000020";
    let version = |m: &dyn diesel::migration::Migration<diesel::sqlite::Sqlite>| {
        m.name().version().to_string().replace('-', "")
    };
    let mut before = conn
        .pending_migrations(passerelle::db::SQLITE_MIGRATIONS)
        .unwrap();
    before.retain(|m| version(&**m).as_str() < upgrade);
    before.sort_by_key(|m| version(&**m));
    assert!(
        before.len() >= 16,
        "{} migrations before the upgrade",
        before.len()
    );
    for migration in before {
        conn.run_migration(&*migration).unwrap();
    }
    assert!(columns(&mut conn)
        .iter()
        .any(|c| c.table_name == "people" && c.name == "created_at" && c.type_name == "TIMESTAMP"));
    conn.batch_execute(
        "INSERT INTO organisations (id, name, created_at) VALUES (1, 'Roubaix', '2024-01-02 03:04:05');
         INSERT INTO people (id, organisation_id, given_name, search_key, name_key, created_at, updated_at)
              VALUES (1, 1, 'Alice', 'alice', 'alice', '2024-01-02 03:04:05', '2024-01-02 03:04:05');
         INSERT INTO users (id, organisation_id, email, name, role, password_hash, created_at)
              VALUES (1, 1, 'm@example.org', 'M', 'mediator', 'x', '2024-01-02 03:04:05');
         INSERT INTO places (id, organisation_id, name, address, postal_code, city, created_at, updated_at)
              VALUES (1, 1, 'Médiathèque', '2 rue de la Gare', '59100', 'Roubaix', '2024-01-02 03:04:05', '2024-01-02 03:04:05');
         INSERT INTO activity_days (day, mediator_id, place_id, programme_id, organisation_id, appointments, workshops,
              cancelled_appointments, booked, attended, no_show, excused, cancelled, minutes)
              VALUES ('2024-01-02', 1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 60);",
    )
    .unwrap();
    // Another connection open across the upgrade, as the pool's and the writer's are.
    let mut other = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    assert_eq!(
        columns(&mut other)
            .iter()
            .filter(|c| c.type_name == "TIMESTAMP")
            .count(),
        columns(&mut conn)
            .iter()
            .filter(|c| c.type_name == "TIMESTAMP")
            .count()
    );
    conn.run_pending_migrations(passerelle::db::SQLITE_MIGRATIONS)
        .unwrap();

    for conn in [&mut conn, &mut other] {
        let numeric: Vec<String> = columns(conn)
            .into_iter()
            .filter(|c| {
                ["TIMESTAMP", "DATE", "DATETIME"].contains(&c.type_name.to_uppercase().as_str())
            })
            .map(|c| format!("{}.{} {}", c.table_name, c.name, c.type_name))
            .collect();
        assert!(
            numeric.is_empty(),
            "columns of NUMERIC affinity (declare a timestamp TEXT on SQLite): {numeric:?}"
        );
    }
    let check: Vec<SqlitePlan> =
        diesel::sql_query("SELECT integrity_check AS detail FROM pragma_integrity_check")
            .load(&mut conn)
            .unwrap();
    assert_eq!(
        check.iter().map(|c| c.detail.as_str()).collect::<Vec<_>>(),
        ["ok"]
    );
    let count = |conn: &mut SqliteConnection, sql: &str, at: chrono::NaiveDateTime| -> i64 {
        diesel::sql_query(sql)
            .bind::<Timestamp, _>(at)
            .get_result::<Count>(conn)
            .unwrap()
            .n
    };
    let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    let after =
        "SELECT count(*) AS n FROM people WHERE created_at > ? AND typeof(created_at) = 'text'";
    assert_eq!(count(&mut conn, after, at("2024-01-02 03:04:04")), 1);
    assert_eq!(count(&mut conn, after, at("2024-01-02 03:04:05")), 0);
    let day = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let days: Count =
        diesel::sql_query("SELECT count(*) AS n FROM activity_days WHERE day >= ? AND day <= ?")
            .bind::<Date, _>(day)
            .bind::<Date, _>(day)
            .get_result(&mut conn)
            .unwrap();
    assert_eq!(days.n, 1);
}

both_backends! {
    /// The API's list reads fewer columns than the appointment itself (`list_out`): whatever
    /// the filter and whoever asks, it answers, field for field, what each appointment shows
    /// (`list` then `out`), cancelled ones, withdrawn and confirmed participants included.
    async fn the_api_list_answers_every_field_the_appointment_shows(app) {
        let s = setup(&app, "Roubaix").await;
        let admin = app.staff("admin", "Roubaix").await;
        let alice = person(&app, &s.mediator.token, "Alice").await;
        let bob = person(&app, &s.mediator.token, "Bob").await;
        let carol = person(&app, &s.mediator.token, "Carole").await;
        let monday = today() + Duration::days(14);
        let single = book(&app, &s, &s.mediator.token, &at(monday, "10:00"), &[alice]).await;
        assert_eq!(single.status, Status::Created, "{}", single.body);
        let single = single.json()["id"].as_i64().unwrap();
        let workshop = app
            .post_json(
                "/api/v1/appointments",
                &s.mediator.token,
                serde_json::json!({"service_id": s.workshop_id, "mediator_id": s.mediator.user.id,
                    "place_id": s.place_id, "starts_at": at(monday, "14:00"),
                    "person_ids": [bob, carol], "title": "Atelier « smartphone »",
                    "notes": "Apporter son téléphone", "capacity": 4}),
            )
            .await;
        assert_eq!(workshop.status, Status::Created, "{}", workshop.body);
        let workshop = workshop.json()["id"].as_i64().unwrap();
        let out = app
            .delete(&format!("/api/v1/appointments/{workshop}/participants/{carol}"), &s.mediator.token)
            .await;
        assert!(out.status.code < 300, "{}", out.body);
        let cancelled = app
            .post_json(
                &format!("/api/v1/appointments/{single}/cancel"),
                &s.mediator.token,
                serde_json::json!({"by": "structure", "reason": "Médiatrice absente"}),
            )
            .await;
        assert_eq!(cancelled.status, Status::Ok, "{}", cancelled.body);
        let (mediator, manager, admin) = (s.mediator.user.clone(), s.manager.user.clone(), admin.user.clone());
        let place_id = s.place_id as i32;
        let tz = app.config().timezone;
        app.db()
            .run(move |conn| {
                use passerelle::db::schema::participants;
                diesel::update(participants::table.filter(participants::person_id.eq(bob as i32)))
                    .set(participants::confirmed_at.eq(Some(passerelle::db::now())))
                    .execute(conn)?;
                let from = tz.to_utc(monday, chrono::NaiveTime::MIN);
                let week = |f: AppointmentFilter| AppointmentFilter {
                    from: Some(from),
                    to: Some(from + Duration::days(7)),
                    limit: 1000,
                    ..f
                };
                let asked: [(&StaffUser, AppointmentFilter); 7] = [
                    (&mediator, week(AppointmentFilter { mediator_id: Some(mediator.id), ..Default::default() })),
                    (&manager, week(AppointmentFilter { place_id: Some(place_id), ..Default::default() })),
                    (&manager, week(AppointmentFilter::default())),
                    (&admin, week(AppointmentFilter::default())),
                    (&admin, week(AppointmentFilter { person_id: Some(bob as i32), ..Default::default() })),
                    (&mediator, AppointmentFilter { limit: 1, offset: 1, ..week(AppointmentFilter::default()) }),
                    (&mediator, AppointmentFilter { limit: 1000, ..Default::default() }),
                ];
                let mut seen = Vec::new();
                for (user, filter) in asked {
                    let full: Vec<_> = service::list(conn, user, &filter)?.iter().map(|a| a.out(&tz)).collect();
                    let lean = service::list_out(conn, user, &filter, &tz)?;
                    let (full, lean) = (serde_json::to_value(&full).unwrap(), serde_json::to_value(&lean).unwrap());
                    assert_eq!(lean, full, "{filter:?}");
                    seen.push(lean);
                }
                // What was compared holds what the answer must show.
                let all = &seen[3];
                assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
                assert_eq!(all[0]["status"], "cancelled");
                assert_eq!(all[0]["cancelled_by"], "structure");
                assert_eq!(all[0]["cancel_reason"], "Médiatrice absente");
                assert_eq!(all[1]["title"], "Atelier « smartphone »");
                assert_eq!(all[1]["notes"], "Apporter son téléphone");
                let seats = all[1]["participants"].as_array().unwrap();
                assert_eq!(seats.len(), 2, "{all}");
                assert_eq!((seats[0]["person_id"].as_i64(), seats[0]["confirmed"].as_bool()), (Some(bob), Some(true)));
                assert_eq!((seats[1]["person_id"].as_i64(), seats[1]["confirmed"].as_bool()), (Some(carol), Some(false)));
                assert_ne!(seats[1]["status"], "booked", "{all}");
                assert_eq!(seen[4].as_array().unwrap().len(), 1, "Bob's appointments");
                assert_eq!(seen[5].as_array().unwrap().len(), 1, "the second of the page");
                Ok::<_, passerelle::error::AppError>(())
            })
            .await
            .unwrap();
    }
}
