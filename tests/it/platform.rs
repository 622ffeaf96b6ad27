//! Health, migrations, errors, OpenAPI, CSRF, pages.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::Text;
use rocket::http::Status;
use serde_json::json;

use crate::both_backends;
use crate::harness::{pg_required, pg_server, Backend, TestApp};

both_backends! {
    async fn health_reports_the_database(app) {
        let response = app.get("/health", None).await;
        assert_eq!(response.status, Status::Ok);
        assert_eq!(response.json(), json!({"status": "ok", "database": "ok"}));
    }
}

#[derive(QueryableByName)]
struct TableColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn columns(app: &TestApp) -> BTreeMap<String, Vec<String>> {
    let mut conn = app.db().get().unwrap();
    let rows: Vec<TableColumn> = match app.backend {
        Backend::Sqlite => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
             AND m.name NOT LIKE 'sqlite_%' AND m.name != '__diesel_schema_migrations' \
             AND m.name NOT LIKE 'people_fts%'",
        )
        .load(&mut *conn)
        .unwrap(),
        Backend::Postgres => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name != '__diesel_schema_migrations'",
        )
        .load(&mut *conn)
        .unwrap(),
    };
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        map.entry(row.table_name).or_default().push(row.column_name);
    }
    for list in map.values_mut() {
        list.sort();
    }
    map
}

#[rocket::async_test]
async fn both_migration_sets_apply_from_empty_and_give_the_same_tables() {
    let sqlite = TestApp::new(Backend::Sqlite).await.unwrap();
    let sqlite_columns = columns(&sqlite);
    assert!(sqlite_columns.contains_key("people"));
    assert!(sqlite_columns["people"].contains(&"search_key".to_string()));
    let Some(postgres) = TestApp::new(Backend::Postgres).await else {
        assert!(!pg_required());
        eprintln!("SKIPPED: PostgreSQL leg of the migration comparison");
        return;
    };
    assert_eq!(sqlite_columns, columns(&postgres));
    // Same migration versions on both.
    let versions = |app: &TestApp| -> Vec<String> {
        #[derive(QueryableByName)]
        struct V {
            #[diesel(sql_type = Text)]
            version: String,
        }
        let mut conn = app.db().get().unwrap();
        let mut v: Vec<String> =
            diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
                .load::<V>(&mut *conn)
                .unwrap()
                .into_iter()
                .map(|v| v.version)
                .collect();
        v.sort();
        v
    };
    assert_eq!(versions(&sqlite), versions(&postgres));
    assert!(pg_server().is_some());
}

both_backends! {
    async fn malformed_json_is_a_400_and_invalid_fields_a_422_problem(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        let bad = app.send_json("POST", "/api/v1/people", Some(&staff.token), "{\"given_name\": ").await;
        assert_eq!(bad.status, Status::BadRequest);
        assert_eq!(bad.header("content-type"), Some("application/problem+json"));
        assert_eq!(bad.json()["status"], 400);
        assert!(bad.json()["title"].is_string() && bad.json()["detail"].is_string());

        let missing = app.post_json("/api/v1/people", &staff.token, json!({"family_name": "Martin"})).await;
        assert_eq!(missing.status, Status::UnprocessableEntity);
        assert_eq!(missing.header("content-type"), Some("application/problem+json"));
        assert!(missing.json()["errors"]["given_name"].is_array(), "{}", missing.body);

        let invalid = app
            .post_json("/api/v1/people", &staff.token, json!({"given_name": "Ali", "email": "pas-un-email", "postal_code": "123"}))
            .await;
        assert_eq!(invalid.status, Status::UnprocessableEntity);
        let errors = &invalid.json()["errors"];
        assert_eq!(errors["email"][0], "Adresse e-mail invalide.");
        assert!(errors["postal_code"][0].as_str().unwrap().contains("5 chiffres"));

        let wrong_type = app.post_json("/api/v1/people", &staff.token, json!({"given_name": "Ali", "birth_year": "soixante"})).await;
        assert_eq!(wrong_type.status, Status::UnprocessableEntity);
        assert!(wrong_type.json()["errors"]["birth_year"].is_array(), "{}", wrong_type.body);

        // Nothing half-written: no person was created by these attempts.
        let list = app.get("/api/v1/people", Some(&staff.token)).await;
        assert_eq!(list.json().as_array().unwrap().len(), 0);

        let bad_limit = app.get("/api/v1/people?limit=5000", Some(&staff.token)).await;
        assert_eq!(bad_limit.status, Status::UnprocessableEntity);
    }
}

both_backends! {
    async fn unknown_api_routes_and_missing_tokens_answer_problem_json(app) {
        let response = app.get("/api/v1/people", None).await;
        assert_eq!(response.status, Status::Unauthorized);
        assert_eq!(response.header("content-type"), Some("application/problem+json"));
        assert_eq!(response.header("www-authenticate"), Some("Bearer"));
        let response = app.get("/api/v1/nothing-here", None).await;
        assert_eq!(response.status, Status::NotFound);
        assert_eq!(response.header("content-type"), Some("application/problem+json"));
        let page = app.get("/nothing-here", None).await;
        assert_eq!(page.status, Status::NotFound);
        assert!(page.body.contains("<html lang=\"fr\">"));
    }
}

/// Every API route Rocket serves is in the OpenAPI document, and every documented path exists.
#[rocket::async_test]
async fn openapi_document_describes_the_routes_that_exist() {
    let app = TestApp::new(Backend::Sqlite).await.unwrap();
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let mut served = std::collections::BTreeSet::new();
    for route in app.client.rocket().routes() {
        let path = route.uri.path().to_string();
        let is_api = path.starts_with("/api/v1/");
        let is_doc = ["/health", "/exports/"].iter().any(|p| path.starts_with(p));
        if !(is_api || is_doc) {
            continue;
        }
        let path = path.replace('<', "{").replace('>', "}").replace("..}", "}");
        served.insert((route.method.as_str().to_string(), path));
    }
    assert_eq!(
        served, documented,
        "served routes and the OpenAPI paths differ"
    );
}

/// Every state-changing HTML form refuses a POST without a valid CSRF token, with 403.
#[rocket::async_test]
async fn every_html_post_without_csrf_token_is_refused() {
    let app = TestApp::new(Backend::Sqlite).await.unwrap();
    let admin = app.staff("admin", "Département").await;
    let mut checked = 0;
    for route in app.client.rocket().routes() {
        let path = route.uri.path().to_string();
        if route.method.as_str() != "POST" || path.starts_with("/api/") {
            continue;
        }
        let path = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('<') {
                    "1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for token in [None, Some("forged")] {
            let mut fields = vec![("name", "x")];
            if let Some(token) = token {
                fields.push(("csrf_token", token));
            }
            let response = app.post_form(&path, Some(&admin.session), &fields).await;
            assert_eq!(
                response.status,
                Status::Forbidden,
                "POST {path} with csrf {token:?}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} POST routes checked");
}

both_backends! {
    async fn pages_are_french_accessible_and_send_security_headers(app) {
        let staff = app.staff("manager", "Emmaüs Connect").await;
        for path in ["/", "/people", "/people/new", "/places", "/places/new", "/programmes", "/users"] {
            let page = app.page(path, &staff.session).await;
            assert_eq!(page.status, Status::Ok, "{path}");
            assert!(page.body.contains("<html lang=\"fr\">"), "{path}");
            assert!(page.body.contains("href=\"#contenu\""), "{path}: skip link");
            assert!(page.body.contains("<main id=\"contenu\""), "{path}: main landmark");
            let csp = page.header("content-security-policy").unwrap();
            assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
            assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
            // Every visible input has a label tied to it.
            for id in ids_of_inputs(&page.body) {
                assert!(page.body.contains(&format!("for=\"{id}\"")), "{path}: input #{id} has no label");
            }
        }
        let css = app.get("/static/style.css", None).await;
        assert_eq!(css.status, Status::Ok);
        assert!(css.body.contains(":focus"));
    }
}

fn ids_of_inputs(html: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for part in html.split('<').skip(1) {
        let tag = part.split('>').next().unwrap_or_default();
        let is_field =
            tag.starts_with("input") || tag.starts_with("select") || tag.starts_with("textarea");
        if !is_field || tag.contains("type=\"hidden\"") {
            continue;
        }
        let id = tag
            .split("id=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next());
        ids.push(id.unwrap_or("(none)").to_string());
    }
    ids
}

/// With no `secret_key` configured, one is generated in the data dir (mode 0600) and reused.
#[rocket::async_test]
async fn secret_key_is_generated_once_and_kept_private() {
    let app = TestApp::new(Backend::Sqlite).await.unwrap();
    let path = app.dir.path().join("data").join("secret_key");
    let first = std::fs::read_to_string(&path).expect("secret key written");
    assert!(first.len() >= 44);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let figment = passerelle::figment()
        .merge(("database_url", app.database_url.clone()))
        .merge((
            "data_dir",
            app.dir.path().join("data").display().to_string(),
        ));
    let config = passerelle::config::Config::from_figment(&figment).unwrap();
    assert_eq!(
        base64_len(&first),
        config.secret_key.len(),
        "the stored key is the one in use"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        first,
        "reused, not regenerated"
    );
}

fn base64_len(text: &str) -> usize {
    text.trim().trim_end_matches('=').len() * 3 / 4
}

/// A bad configuration stops the start with a message naming the key.
#[test]
fn bad_configuration_is_reported_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let base = passerelle::figment().merge(("data_dir", dir.path().display().to_string()));
    let error = passerelle::config::Config::from_figment(
        &base.clone().merge(("database_url", "mysql://x")),
    )
    .unwrap_err();
    assert!(error.contains("database_url"), "{error}");
    let error =
        passerelle::config::Config::from_figment(&base.clone().merge(("timezone", "Mars/Olympus")))
            .unwrap_err();
    assert!(error.contains("timezone"), "{error}");
    let error = passerelle::config::Config::from_figment(
        &base.merge(("reminder_lead_times", vec!["2 weeks"])),
    )
    .unwrap_err();
    assert!(error.contains("reminder_lead_times"), "{error}");
}

/// Rows as they stood before handovers could be accepted by email (schema 000005).
const BEFORE_HANDOVER_EMAILS: &str = "
INSERT INTO organisations (id, name, created_at) VALUES (1, 'Emmaüs Connect', '2026-01-01 09:00:00');
INSERT INTO users (id, organisation_id, email, name, role, password_hash, active, created_at)
    VALUES (1, 1, 'mona@example.org', 'Mona', 'mediator', 'x', TRUE, '2026-01-01 09:00:00');
INSERT INTO people (id, organisation_id, given_name, reminder_consent, search_key, name_key, created_at, updated_at)
    VALUES (1, 1, 'Ana', TRUE, 'ana', 'ana', '2026-01-01 09:00:00', '2026-01-01 09:00:00');
INSERT INTO places (id, organisation_id, name, address, postal_code, city, created_at, updated_at)
    VALUES (1, 1, 'Médiathèque', '2 rue de la Gare', '59100', 'Roubaix', '2026-01-01 09:00:00', '2026-01-01 09:00:00');
INSERT INTO services (id, organisation_id, name, kind, duration_minutes, capacity, created_at)
    VALUES (1, 1, 'Accueil', 'individual', 60, 1, '2026-01-01 09:00:00');
INSERT INTO appointments (id, organisation_id, service_id, mediator_id, place_id, starts_at, ends_at, blocked_until, capacity, status, walk_in, sequence, created_at, updated_at)
    VALUES (1, 1, 1, 1, 1, '2026-02-02 10:00:00', '2026-02-02 11:00:00', '2026-02-02 11:00:00', 1, 'planned', FALSE, 0, '2026-01-01 09:00:00', '2026-01-01 09:00:00');
INSERT INTO messages (id, organisation_id, appointment_id, person_id, kind, recipient, recipient_kind, sequence, due_at, status, attempts, last_error, created_at)
    VALUES (1, 1, 1, 1, 'reminder', 'ana@example.org', 'person', 0, '2026-02-01 10:00:00', 'pending', 2, 'délai dépassé', '2026-01-01 09:00:00');
INSERT INTO equipment (id, organisation_id, kind, status, current_holder_id, created_at, updated_at)
    VALUES (1, 1, 'tablet', 'assigned', 1, '2026-01-01 09:00:00', '2026-01-01 09:00:00'),
           (2, 1, 'laptop', 'assigned', 1, '2026-01-01 09:00:00', '2026-01-01 09:00:00');
INSERT INTO assignments (id, equipment_id, person_id, mode, handed_over_on, acceptance, accepted_by_name, author_id, created_at)
    VALUES (1, 1, 1, 'donation', '2026-01-02', 'typed_name', 'Ana', 1, '2026-01-02 10:00:00'),
           (2, 2, 1, 'donation', '2026-01-02', 'email_confirmation', NULL, 1, '2026-01-02 11:00:00');
INSERT INTO equipment_events (id, equipment_id, person_id, action, status, note, actor_id, at)
    VALUES (1, 1, NULL, 'created', 'in_stock', NULL, 1, '2026-01-01 09:00:00'),
           (2, 1, 1, 'donated', 'assigned', 'neuf', 1, '2026-01-02 10:00:00');
";

#[derive(QueryableByName, Debug, PartialEq)]
struct Upgraded {
    #[diesel(sql_type = Text)]
    row: String,
}

/// Upgrading a database that holds messages, handovers and history to the schema where a
/// message may name a handover: every row survives; the new rules hold.
fn upgrade_keeps_messages_and_history(backend: Backend) {
    use diesel::connection::SimpleConnection;
    use diesel_migrations::MigrationHarness;
    let dir = tempfile::tempdir().unwrap();
    let mut conn = match backend {
        Backend::Sqlite => {
            let path = dir.path().join("upgrade.db");
            let mut c = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            c.batch_execute("PRAGMA foreign_keys = ON").unwrap();
            passerelle::db::DbConn::Sqlite(c)
        }
        Backend::Postgres => {
            let Some(server) = pg_server() else {
                assert!(!pg_required());
                return;
            };
            let name = format!("upgrade_{}", std::process::id());
            let mut admin =
                diesel::PgConnection::establish(&format!("{}/postgres", server.base_url)).unwrap();
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .unwrap();
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            passerelle::db::DbConn::Pg(
                diesel::PgConnection::establish(&format!("{}/{name}", server.base_url)).unwrap(),
            )
        }
    };
    let up_to_equipment = |conn: &mut passerelle::db::DbConn| {
        for _ in 0..5 {
            match conn {
                passerelle::db::DbConn::Sqlite(c) => {
                    c.run_next_migration(passerelle::db::SQLITE_MIGRATIONS)
                        .unwrap();
                }
                passerelle::db::DbConn::Pg(c) => {
                    c.run_next_migration(passerelle::db::POSTGRES_MIGRATIONS)
                        .unwrap();
                }
            }
        }
    };
    up_to_equipment(&mut conn);
    conn.batch_execute(BEFORE_HANDOVER_EMAILS).unwrap();
    if backend == Backend::Postgres {
        // The rows above were given their ids: move the sequences past them, so that a refused
        // insert below is refused for its own reason.
        conn.batch_execute(
            "SELECT setval('messages_id_seq', 100); SELECT setval('equipment_events_id_seq', 100);",
        )
        .unwrap();
    }
    match &mut conn {
        passerelle::db::DbConn::Sqlite(c) => {
            c.run_pending_migrations(passerelle::db::SQLITE_MIGRATIONS)
                .unwrap();
        }
        passerelle::db::DbConn::Pg(c) => {
            c.run_pending_migrations(passerelle::db::POSTGRES_MIGRATIONS)
                .unwrap();
        }
    }
    let rows = |conn: &mut passerelle::db::DbConn, sql: &str| -> Vec<String> {
        diesel::sql_query(sql)
            .load::<Upgraded>(conn)
            .unwrap()
            .into_iter()
            .map(|r| r.row)
            .collect()
    };
    assert_eq!(
        rows(&mut conn, "SELECT kind || '/' || appointment_id || '/' || COALESCE(CAST(assignment_id AS TEXT), '-') || '/' || attempts || '/' || last_error AS row FROM messages"),
        vec!["reminder/1/-/2/délai dépassé"]
    );
    assert_eq!(
        rows(&mut conn, "SELECT action || '/' || COALESCE(note, '-') || '/' || actor_id AS row FROM equipment_events ORDER BY id"),
        vec!["created/-/1", "donated/neuf/1"]
    );
    // Handovers accepted on the spot count as accepted when recorded; by email, not yet.
    assert_eq!(
        rows(&mut conn, "SELECT CAST(id AS TEXT) || '/' || COALESCE(CAST(accepted_at AS TEXT), 'awaiting') AS row FROM assignments ORDER BY id")
            .iter()
            .map(|r| r.replace("T", " "))
            .collect::<Vec<_>>(),
        vec!["1/2026-01-02 10:00:00", "2/awaiting"]
    );
    // A handover message names a handover and no appointment; the kinds are still checked,
    // and so are the references.
    conn.batch_execute(
        "INSERT INTO messages (id, organisation_id, assignment_id, person_id, kind, recipient, recipient_kind, sequence, due_at, status, attempts, created_at)
         VALUES (2, 1, 2, 1, 'handover', 'ana@example.org', 'person', 0, '2026-01-02 11:00:00', 'pending', 0, '2026-01-02 11:00:00')",
    )
    .unwrap();
    for refused in [
        "INSERT INTO messages (organisation_id, person_id, kind, recipient, recipient_kind, sequence, due_at, status, attempts, created_at) VALUES (1, 1, 'handover', 'a@example.org', 'person', 0, '2026-01-02 11:00:00', 'pending', 0, '2026-01-02 11:00:00')",
        "INSERT INTO messages (organisation_id, appointment_id, assignment_id, person_id, kind, recipient, recipient_kind, sequence, due_at, status, attempts, created_at) VALUES (1, 1, 2, 1, 'reminder', 'a@example.org', 'person', 0, '2026-01-02 11:00:00', 'pending', 0, '2026-01-02 11:00:00')",
        "INSERT INTO messages (organisation_id, appointment_id, person_id, kind, recipient, recipient_kind, sequence, due_at, status, attempts, created_at) VALUES (1, 1, 1, 'postcard', 'a@example.org', 'person', 0, '2026-01-02 11:00:00', 'pending', 0, '2026-01-02 11:00:00')",
        "INSERT INTO messages (organisation_id, assignment_id, person_id, kind, recipient, recipient_kind, sequence, due_at, status, attempts, created_at) VALUES (1, 99, 1, 'handover', 'a@example.org', 'person', 0, '2026-01-02 11:00:00', 'pending', 0, '2026-01-02 11:00:00')",
        "INSERT INTO equipment_events (equipment_id, action, status, actor_id, at) VALUES (1, 'status', 'lost', 99, '2026-01-03 10:00:00')",
    ] {
        use diesel::result::{DatabaseErrorKind, Error};
        let outcome = conn.batch_execute(refused);
        assert!(
            matches!(
                outcome,
                Err(Error::DatabaseError(
                    DatabaseErrorKind::CheckViolation | DatabaseErrorKind::ForeignKeyViolation,
                    _
                ))
            ),
            "{refused}: {outcome:?}"
        );
    }
    conn.batch_execute(
        "INSERT INTO equipment_events (equipment_id, person_id, action, status, note, actor_id, at) VALUES (2, 1, 'accepted', 'assigned', 'par e-mail', NULL, '2026-01-03 10:00:00')",
    )
    .unwrap();
    if backend == Backend::Sqlite {
        assert!(rows(&mut conn, "SELECT 'x' AS row FROM pragma_foreign_key_check").is_empty());
        assert_eq!(
            rows(&mut conn, "SELECT name AS row FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('messages', 'equipment_events') AND name NOT LIKE 'sqlite_%' ORDER BY name"),
            vec!["equipment_events_equipment", "equipment_events_person", "messages_appointment", "messages_assignment", "messages_due", "messages_organisation", "messages_person", "messages_unpurged"]
        );
        assert!(rows(&mut conn, "SELECT sql AS row FROM sqlite_master WHERE instr(sql, 'messages_new') > 0 OR instr(sql, 'equipment_events_new') > 0").is_empty());
    }
}

#[test]
fn upgrading_to_handover_emails_keeps_messages_and_history_sqlite() {
    upgrade_keeps_messages_and_history(Backend::Sqlite);
}

#[test]
fn upgrading_to_handover_emails_keeps_messages_and_history_postgres() {
    upgrade_keeps_messages_and_history(Backend::Postgres);
}

fn organisation_names(app: &TestApp) -> Vec<String> {
    use passerelle::db::schema::organisations;
    let mut conn = app.db().get().unwrap();
    organisations::table
        .select(organisations::name)
        .order(organisations::name)
        .load(&mut *conn)
        .unwrap()
}

fn add_organisation(conn: &mut passerelle::db::DbConn, name: &str) {
    use passerelle::db::schema::organisations;
    diesel::insert_into(organisations::table)
        .values((
            organisations::name.eq(name),
            organisations::created_at.eq(passerelle::db::now()),
        ))
        .execute(conn)
        .unwrap();
}

both_backends! {
    /// Write transactions of the server share one connection on SQLite: one that fails or
    /// panics leaves nothing behind and does not stop the next ones, concurrent ones all land.
    async fn failed_and_panicking_transactions_leave_nothing_and_writes_go_on(app) {
        use passerelle::error::AppError;
        let db = app.db().clone();
        let failed = db
            .run(|conn| {
                passerelle::db::transaction(conn, |conn| {
                    add_organisation(conn, "Échouée");
                    Err::<(), _>(AppError::BadRequest("non".into()))
                })
            })
            .await;
        assert!(matches!(failed, Err(AppError::BadRequest(_))));
        let panicked = db
            .run(|conn| {
                passerelle::db::transaction(conn, |conn| -> Result<(), AppError> {
                    add_organisation(conn, "Paniquée");
                    panic!("a bug in a write transaction")
                })
            })
            .await;
        assert!(panicked.is_err());
        // A savepoint inside: the inner failure is undone, the outer write kept.
        db.run(|conn| {
            passerelle::db::transaction(conn, |conn| {
                add_organisation(conn, "Externe");
                let inner = passerelle::db::transaction(conn, |conn| {
                    add_organisation(conn, "Interne");
                    Err::<(), _>(AppError::NotFound)
                });
                assert!(inner.is_err());
                Ok(())
            })
        })
        .await
        .unwrap();
        let writes = (0..20).map(|i| {
            let db = db.clone();
            rocket::tokio::spawn(async move {
                db.run(move |conn| {
                    passerelle::db::transaction(conn, |conn| {
                        add_organisation(conn, &format!("Structure {i:02}"));
                        Ok(())
                    })
                })
                .await
            })
        });
        for write in writes.collect::<Vec<_>>() {
            write.await.unwrap().unwrap();
        }
        let names = organisation_names(&app);
        assert!(!names.iter().any(|n| n == "Échouée" || n == "Paniquée" || n == "Interne"), "{names:?}");
        assert!(names.iter().any(|n| n == "Externe"));
        assert_eq!(names.iter().filter(|n| n.starts_with("Structure ")).count(), 20);
    }
}
