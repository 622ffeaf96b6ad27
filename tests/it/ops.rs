//! Operations: backup while bookings go on and restore (both as real processes).

use std::cell::{Cell, RefCell};
use std::process::Output;

use chrono::Duration;
use rocket::http::Status;

use crate::both_backends;
use crate::fixtures::{at, book, free_port, person, setup, today};
use crate::harness::{Backend, TestApp};

/// Runs the `passerelle` binary on `database_url`, off the async executor.
async fn passerelle(
    app: &TestApp,
    database_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let binary = env!("CARGO_BIN_EXE_passerelle");
    let mut command = std::process::Command::new(binary);
    command
        .args(args)
        .env("ROCKET_DATABASE_URL", database_url)
        .env("ROCKET_DATA_DIR", app.dir.path().join("cli-data"));
    for (key, value) in env {
        command.env(key, value);
    }
    rocket::tokio::task::spawn_blocking(move || command.output().expect("run passerelle"))
        .await
        .expect("blocking task")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A database that holds nothing yet: a missing SQLite file, or a freshly migrated
/// PostgreSQL database.
async fn empty_database(app: &TestApp) -> String {
    match app.backend {
        Backend::Sqlite => format!(
            "sqlite://{}",
            app.dir
                .path()
                .join("restored")
                .join("passerelle.db")
                .display()
        ),
        Backend::Postgres => rocket::tokio::task::spawn_blocking(|| {
            crate::harness::pg_server()
                .expect("PostgreSQL")
                .fresh_database()
        })
        .await
        .unwrap(),
    }
}

both_backends! {
    async fn a_backup_taken_during_bookings_restores_every_booking_acknowledged_before_it(app) {
        let s = setup(&app, "Centre social Boilly").await;
        let mut people = Vec::new();
        for i in 0..60 {
            people.push(person(&app, &s.mediator.token, &format!("Sauvegarde{i}")).await);
        }
        let acknowledged: RefCell<Vec<i64>> = RefCell::new(Vec::new());
        let backup_done = Cell::new(false);
        let file = app.dir.path().join("sauvegarde.bak");
        let file_arg = file.display().to_string();

        // Two lanes book one after another (75-minute steps: 60 min and the 15-min pause),
        // until the backup has finished.
        let lane = |first_day: i64, people: &[i64]| {
            let people = people.to_vec();
            let (s, acknowledged, backup_done, app) = (&s, &acknowledged, &backup_done, &app);
            async move {
                for (i, p) in people.iter().enumerate() {
                    if backup_done.get() {
                        break;
                    }
                    let day = today() + Duration::days(first_day + i as i64 / 8);
                    let minutes = 8 * 60 + 75 * (i as i64 % 8);
                    let start = at(day, &format!("{:02}:{:02}", minutes / 60, minutes % 60));
                    let r = book(app, s, &s.mediator.token, &start, &[*p]).await;
                    assert_eq!(r.status, Status::Created, "{}", r.body);
                    acknowledged.borrow_mut().push(r.json()["id"].as_i64().unwrap());
                }
            }
        };
        let backup = async {
            while acknowledged.borrow().len() < 10 {
                rocket::tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let before = acknowledged.borrow().clone();
            let out = passerelle(&app, &app.database_url, &["backup", "--to", &file_arg], &[]).await;
            backup_done.set(true);
            (before, out)
        };
        let (_, _, (before, out)) =
            futures::join!(lane(2, &people[..30]), lane(40, &people[30..]), backup);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Sauvegarde écrite"));
        assert!(file.is_file());

        if app.backend == Backend::Sqlite {
            // The file is itself a sound SQLite database.
            use diesel::{Connection, QueryableByName, RunQueryDsl};
            #[derive(QueryableByName)]
            struct Check {
                #[diesel(sql_type = diesel::sql_types::Text)]
                integrity_check: String,
            }
            let mut conn = diesel::SqliteConnection::establish(file.to_str().unwrap()).unwrap();
            let check: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn).unwrap();
            assert_eq!(check.iter().map(|c| c.integrity_check.as_str()).collect::<Vec<_>>(), ["ok"]);
        }

        // Never over an existing file.
        let again = passerelle(&app, &app.database_url, &["backup", "--to", &file_arg], &[]).await;
        assert_eq!(again.status.code(), Some(1));
        assert!(stderr(&again).contains("existe déjà"), "{}", stderr(&again));

        // Never into a database that holds data.
        let refused = passerelle(&app, &app.database_url, &["restore", "--from", &file_arg], &[]).await;
        assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
        assert!(stderr(&refused).contains("contient déjà des données"), "{}", stderr(&refused));

        let target = empty_database(&app).await;
        let restored = passerelle(&app, &target, &["restore", "--from", &file_arg], &[]).await;
        assert!(restored.status.success(), "{}", stderr(&restored));
        assert!(String::from_utf8_lossy(&restored.stdout).contains("Base restaurée"));
        let twice = passerelle(&app, &target, &["restore", "--from", &file_arg], &[]).await;
        assert_eq!(twice.status.code(), Some(1), "{}", stderr(&twice));

        // The restored database serves every booking acknowledged before the backup started,
        // to the same token (its hash was restored with the accounts).
        let restored_app = TestApp::at(app.backend, target).await;
        for id in &before {
            let r = restored_app.get(&format!("/api/v1/appointments/{id}"), Some(&s.mediator.token)).await;
            assert_eq!(r.status, Status::Ok, "appointment {id}: {}", r.body);
            assert_eq!(r.json()["status"], "planned", "{}", r.body);
        }
        let listed = restored_app.get("/api/v1/people?limit=1000", Some(&s.mediator.token)).await;
        assert_eq!(listed.status, Status::Ok);
        assert_eq!(listed.json().as_array().unwrap().len(), 60);
    }
}

both_backends! {
    async fn restore_refuses_a_file_that_is_not_a_backup_and_backup_names_a_missing_pg_dump(app) {
        let junk = app.dir.path().join("pas-une-sauvegarde.bak");
        std::fs::write(&junk, "bonjour").unwrap();
        let target = empty_database(&app).await;
        let out = passerelle(&app, &target, &["restore", "--from", &junk.display().to_string()], &[]).await;
        assert_eq!(out.status.code(), Some(1));
        let missing = passerelle(&app, &target, &["restore", "--from", "/nonexistent/x.bak"], &[]).await;
        assert_eq!(missing.status.code(), Some(1));
        assert!(stderr(&missing).contains("fichier introuvable"), "{}", stderr(&missing));

        if app.backend == Backend::Postgres {
            let file = app.dir.path().join("b.dump").display().to_string();
            let out = passerelle(&app, &app.database_url, &["backup", "--to", &file], &[("ROCKET_PG_BIN_DIR", "/nonexistent")]).await;
            assert_eq!(out.status.code(), Some(1));
            assert!(stderr(&out).contains("pg_dump est introuvable"), "{}", stderr(&out));
        }
    }
}

async fn scrape(app: &TestApp, from: &str) -> crate::harness::Response {
    let request = app
        .client
        .get("/metrics")
        .remote(from.parse().expect("a socket address"));
    crate::harness::collect(request.dispatch().await).await
}

/// The value of one sample line (`name{labels} value`) of a Prometheus text.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

both_backends! {
    async fn metrics_count_requests_by_route_and_status_and_show_the_outbox_to_loopback_only(app) {
        let s = setup(&app, "Espace numérique Lille").await;
        let p = crate::fixtures::reachable_person(&app, &s.mediator.token, "Mesure", "mesure@example.org").await;
        let texted = app
            .post_json("/api/v1/people", &s.mediator.token,
                serde_json::json!({"given_name": "Texto", "phone": "06 12 34 56 78", "sms_consent": true}))
            .await;
        assert_eq!(texted.status, Status::Created, "{}", texted.body);
        let texted = texted.json()["id"].as_i64().unwrap();
        for (start, who) in [("10:00", p), ("14:00", texted)] {
            let r = book(&app, &s, &s.mediator.token, &at(today() + Duration::days(5), start), &[who]).await;
            assert_eq!(r.status, Status::Created, "{}", r.body);
        }
        for _ in 0..3 {
            assert_eq!(app.get("/api/v1/people/987654", Some(&s.mediator.token)).await.status, Status::NotFound);
        }

        let metrics = scrape(&app, "127.0.0.1:40000").await;
        assert_eq!(metrics.status, Status::Ok, "{}", metrics.body);
        assert!(metrics.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
        let text = &metrics.body;
        // The route's pattern, never the path (which could hold a token or an id).
        assert_eq!(sample(text, r#"passerelle_http_requests_total{method="GET",route="/api/v1/people/<id>",status="404"}"#), Some(3.0), "{text}");
        assert_eq!(sample(text, r#"passerelle_http_requests_total{method="POST",route="/api/v1/appointments",status="201"}"#), Some(2.0), "{text}");
        assert_eq!(sample(text, r#"passerelle_http_request_duration_seconds_count{method="POST",route="/api/v1/appointments",status="201"}"#), Some(2.0), "{text}");
        assert!(!text.contains("people/987654"), "{text}");
        // The booking wrote a confirmation and reminders, all pending; the confirmation is due.
        let pending = sample(text, r#"passerelle_outbox_messages{channel="email",status="pending"}"#).unwrap_or(0.0);
        assert!(pending >= 1.0, "{text}");
        // Each channel counted apart.
        let texts = sample(text, r#"passerelle_outbox_messages{channel="sms",status="pending"}"#).unwrap_or(0.0);
        assert!(texts >= 1.0, "{text}");
        assert!(sample(text, "passerelle_outbox_oldest_due_age_seconds").is_some(), "{text}");
        assert!(sample(text, "passerelle_db_pool_max_connections").unwrap() >= 1.0, "{text}");
        assert!(sample(text, "passerelle_db_pool_connections").unwrap() >= 1.0, "{text}");

        // Once sent, the confirmation leaves "pending" for "sent".
        app.run_worker().await;
        let text = scrape(&app, "[::1]:40000").await.body;
        assert!(sample(&text, r#"passerelle_outbox_messages{channel="email",status="sent"}"#).unwrap_or(0.0) >= 1.0, "{text}");
        assert_eq!(sample(&text, "passerelle_outbox_oldest_due_age_seconds"), Some(0.0), "{text}");

        // Anyone else: 404, as if nothing were there.
        let outside = scrape(&app, "203.0.113.7:40000").await;
        assert_eq!(outside.status, Status::NotFound);
        assert!(!outside.body.contains("passerelle_"));
    }
}

/// Configuration only: one backend is enough.
#[rocket::async_test]
async fn metrics_allow_opens_metrics_to_the_listed_blocks_only() {
    let app = TestApp::with(
        Backend::Sqlite,
        &[("metrics_allow", "10.1.0.0/16, 192.0.2.1")],
    )
    .await
    .unwrap();
    assert_eq!(scrape(&app, "10.1.2.3:5000").await.status, Status::Ok);
    assert_eq!(scrape(&app, "192.0.2.1:5000").await.status, Status::Ok);
    assert_eq!(
        scrape(&app, "127.0.0.1:5000").await.status,
        Status::NotFound
    );
    assert_eq!(scrape(&app, "10.2.0.1:5000").await.status, Status::NotFound);
}

/// One HTTP/1.1 request to a server process: (status, body).
fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let (status, _, body) = http_with_head(port, method, path, token, body);
    (status, body)
}

/// One HTTP/1.1 request to a server process: (status, status line and headers, body).
fn http_with_head(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (status, head.to_string(), body.to_string())
}

both_backends! {
    async fn a_whole_run_logs_requests_in_json_without_names_contacts_or_tokens(app) {
        let s = setup(&app, "Maison France services").await;
        let dir = app.dir.path().to_path_buf();
        let port = free_port();
        let data_dir = dir.join("served");
        let (stdout, stderr) = (dir.join("stdout.log"), dir.join("stderr.log"));
        let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .arg("serve")
            .env("ROCKET_DATABASE_URL", &app.database_url)
            .env("ROCKET_DATA_DIR", &data_dir)
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .env("ROCKET_LOG_FORMAT", "json")
            // The most verbose level: even then, nothing personal.
            .env("ROCKET_LOG_LEVEL", "debug")
            .env("ROCKET_WORKER_POLL_INTERVAL", "1s")
            .env("ROCKET_WEBHOOK_ALLOW_PRIVATE", "true")
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start the server");
        // Both of the server's worker loops run: the reminders and the webhooks.
        let receiver = crate::webhooks::Receiver::start(&dir, 0);
        let (receiver_port, manager_token) = (receiver.port, s.manager.token.clone());
        let (mediator_token, service_id, mediator_id, place_id) =
            (s.mediator.token.clone(), s.service_id, s.mediator.user.id, s.place_id);
        let start = at(today() + Duration::days(3), "10:00");
        let scenario = rocket::tokio::task::spawn_blocking(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(std::time::Instant::now() < deadline, "the server did not start");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let subscription = serde_json::json!({
                "url": format!("http://127.0.0.1:{receiver_port}/"),
                "events": ["appointment.created"], "secret": crate::webhooks::SECRET,
            });
            let (status, body) = http(port, "POST", "/api/v1/webhooks", Some(&manager_token), &subscription.to_string());
            assert_eq!(status, 201, "{body}");
            let t = Some(mediator_token.as_str());
            let (status, body) = http(port, "POST", "/api/v1/people", t, &serde_json::json!({
                "given_name": "Ludivine", "family_name": "Quenardel",
                "email": "ludivine.quenardel@example.net", "phone": "06 98 76 54 32",
                "reminder_consent": true,
            }).to_string());
            assert_eq!(status, 201, "{body}");
            let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_i64().unwrap();
            assert_eq!(http(port, "GET", "/api/v1/people?q=Quenardel", t, "").0, 200);
            // A method Rocket does not know at all (the draft QUERY method) on a path that exists
            // is a 405 with `Allow`, like a known one; on a path that does not exist, a 400.
            let (status, head, _) = http_with_head(port, "QUERY", "/api/v1/people", t, "");
            assert_eq!(status, 405, "{head}");
            assert!(head.lines().any(|l| l.eq_ignore_ascii_case("allow: GET, HEAD, POST")), "{head}");
            assert_eq!(http(port, "QUERY", &format!("/api/v1/people/{id}"), t, "").0, 405);
            assert_eq!(http(port, "QUERY", "/api/v1/nowhere", t, "").0, 400);
            let bad = serde_json::json!({"given_name": "Ludivine", "email": "quenardel-sans-arobase"}).to_string();
            assert_eq!(http(port, "POST", "/api/v1/people", t, &bad).0, 422);
            let booking = serde_json::json!({
                "service_id": service_id, "mediator_id": mediator_id, "place_id": place_id,
                "starts_at": start, "person_ids": [id],
            }).to_string();
            let (status, body) = http(port, "POST", "/api/v1/appointments", t, &booking);
            assert_eq!(status, 201, "{body}");
            let wrong_token = format!("{mediator_token}x");
            assert_eq!(http(port, "GET", &format!("/api/v1/people/{id}"), Some(&wrong_token), "").0, 401);
            // The worker sends the confirmation; its link is opened, and a forged one refused.
            let mail_dir = data_dir.join("mail");
            let mail = loop {
                let file = std::fs::read_dir(&mail_dir).into_iter().flatten().flatten().next();
                if let Some(file) = file {
                    break crate::mail::parse(&std::fs::read(file.path()).unwrap());
                }
                assert!(std::time::Instant::now() < deadline, "no email sent");
                std::thread::sleep(std::time::Duration::from_millis(100));
            };
            let at_link = mail.text.find("/r/").expect("a personal link");
            let link = mail.text[at_link..].split_whitespace().next().unwrap().to_string();
            assert_eq!(http(port, "GET", &link, None, "").0, 200);
            assert_eq!(http(port, "GET", &format!("{link}x"), None, "").0, 404);
            // The webhook worker's loop posts the booking to the receiver.
            while receiver.received().is_empty() {
                assert!(std::time::Instant::now() < deadline, "no webhook delivered");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            assert_eq!(receiver.received()[0]["event"], "appointment.created");
            link.trim_start_matches("/r/").to_string()
        })
        .await;
        let _ = std::process::Command::new("kill").arg(server.id().to_string()).status();
        let _ = server.wait();
        let link_token = scenario.expect("the scenario");
        let log = std::fs::read_to_string(&stdout).unwrap() + &std::fs::read_to_string(&stderr).unwrap();

        // Something was logged: one JSON object a line, each request by its route's pattern.
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let routes: Vec<(String, u64)> = lines
            .iter()
            .filter_map(|l| Some((l["route"].as_str()?.to_string(), l["status"].as_u64()?)))
            .collect();
        for expected in [("/api/v1/people", 201), ("/api/v1/people", 422), ("/api/v1/appointments", 201), ("/r/<token>", 200), ("/r/<token>", 404), ("/api/v1/people/<id>", 401)] {
            assert!(routes.contains(&(expected.0.to_string(), expected.1)), "{expected:?} not in {routes:?}");
        }
        assert!(lines.iter().all(|l| l["level"].is_string() && l["timestamp"].is_string()));

        for secret in [
            "Ludivine", "Quenardel", "quenardel", "ludivine", "example.net", "06 98 76 54 32",
            "0698765432", "698765432", "98 76", &link_token, &s.mediator.token, &s.mediator.email,
            &s.manager.email, crate::webhooks::SECRET,
        ] {
            assert!(!log.contains(secret), "the log holds {secret}:\n{log}");
        }
    }
}

/// Terminates every PostgreSQL backend of `database_url` (as a restart of the server would)
/// and waits until they are gone; how many there were.
async fn terminate_backends(database_url: &str) -> i64 {
    let (base, name) = database_url.rsplit_once('/').expect("a database name");
    let (admin_url, name) = (format!("{base}/postgres"), name.to_string());
    rocket::tokio::task::spawn_blocking(move || {
        use diesel::sql_types::{BigInt, Text};
        use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut admin = PgConnection::establish(&admin_url).expect("admin connection");
        let count = |admin: &mut PgConnection, sql: &str| {
            diesel::sql_query(sql)
                .bind::<Text, _>(&name)
                .get_result::<Count>(admin)
                .expect("pg_stat_activity")
                .n
        };
        let killed = count(
            &mut admin,
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1",
        );
        for _ in 0..100 {
            if count(
                &mut admin,
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1",
            ) == 0
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        killed
    })
    .await
    .expect("blocking task")
}

/// The pool no longer checks each connection with a round trip as it leaves the pool (issue 18,
/// point 7), so a connection lost since its last use (PostgreSQL restarted, its backend
/// terminated) is found by the request's first statement. An API request then checks its token
/// again on another connection and never notices; a page fails once at most (503, in French),
/// and the next ones, whose connections are checked for a while, all succeed.
#[rocket::async_test]
async fn connections_lost_by_postgresql_fail_no_api_request_and_at_most_one_page() {
    let Some(app) = TestApp::new(Backend::Postgres).await else {
        return;
    };
    let admin = app.staff("admin", "Coupure").await;
    let served = &app;
    let token = admin.token.as_str();
    let api = || async move { served.get("/api/v1/people", Some(token)).await };
    // Several connections in the pool.
    for answer in futures::future::join_all((0..4).map(|_| api())).await {
        assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    }
    assert!(terminate_backends(&app.database_url).await >= 1);
    for _ in 0..6 {
        let answer = api().await;
        assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    }
    for answer in futures::future::join_all((0..4).map(|_| api())).await {
        assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    }

    assert!(terminate_backends(&app.database_url).await >= 1);
    let mut failed = 0;
    for _ in 0..6 {
        let page = app.page("/people", &admin.session).await;
        if page.status == Status::ServiceUnavailable {
            assert!(
                page.body.contains("momentanément indisponible"),
                "{}",
                page.body
            );
            failed += 1;
        } else {
            assert_eq!(page.status, Status::Ok, "{}", page.body);
        }
    }
    assert!(failed <= 1, "{failed} pages failed");
    let last = app.page("/people", &admin.session).await;
    assert_eq!(last.status, Status::Ok);
}
