//! TestApp: the real application on its own database: a fresh SQLite file, or a fresh
//! database on a throwaway PostgreSQL cluster started once per test process.
//!
//! PostgreSQL: `PASSERELLE_TEST_PG_URL` (an admin URL to an existing server) is used when set;
//! otherwise the harness runs `initdb` from Debian's `postgresql` package into a temporary folder
//! and stops the cluster when the tests end. Without PostgreSQL the PostgreSQL leg of each test
//! prints that it was skipped, unless `PASSERELLE_REQUIRE_PG=1` or `CI=true`, where it fails.
//!
//! Outbox: an app can be told to fail its test when the test leaves an outbox message it never
//! looked at (`crate::outbox`).

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use passerelle::auth::StaffUser;
use passerelle::db::Db;
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{json, Value};

pub const PASSWORD: &str = "mot-de-passe-solide";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend: `name::sqlite` and `name::postgres`, each with a fresh
/// fixture: a `TestApp` by default, or what `= FIXTURE` makes of the backend (an async function
/// or closure giving an `Option`; `None` on PostgreSQL when no PostgreSQL is around skips that
/// leg, as `TestApp::new` does). The one place the two legs are written; the files' own test
/// macros (`mail_test!`, `webhook_test!`, `tls_test!`) only name their fixture.
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* async fn $name:ident($app:ident) $body:block) => {
        $crate::both_backends! {
            async fn $name($app: $crate::harness::TestApp = $crate::harness::TestApp::new) $body
        }
    };
    ($(#[$meta:meta])* async fn $name:ident($arg:tt : $ty:ty = $fixture:expr) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($arg: $ty) $body

            #[rocket::async_test]
            async fn sqlite() {
                let fixture = ($fixture)($crate::harness::Backend::Sqlite).await;
                run(fixture.expect("the SQLite fixture")).await
            }

            #[rocket::async_test]
            async fn postgres() {
                if let Some(fixture) = ($fixture)($crate::harness::Backend::Postgres).await {
                    run(fixture).await
                }
            }
        }
    };
}

pub fn pg_required() -> bool {
    std::env::var("PASSERELLE_REQUIRE_PG").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

pub struct PgServer {
    /// `postgres://user@host:port` without a database name.
    pub base_url: String,
    template_ready: Mutex<bool>,
}

static PG: OnceLock<Option<PgServer>> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn find_pg_bin(name: &str) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    candidates.sort();
    candidates.pop().or_else(|| {
        let path = PathBuf::from(format!("/usr/local/bin/{name}"));
        path.exists().then_some(path)
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL binary, as the `postgres` user when we are root (initdb refuses root).
fn pg_command(bin: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin);
        cmd
    } else {
        Command::new(bin)
    }
}

fn start_cluster() -> Result<PgServer, String> {
    let initdb = find_pg_bin("initdb").ok_or("initdb not found (install Debian's postgresql)")?;
    let pg_ctl = find_pg_bin("pg_ctl").ok_or("pg_ctl not found")?;
    let root = is_root();
    let dir = std::env::temp_dir().join(format!("passerelle-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    if root {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("chown to postgres failed".into());
        }
    }
    let data = dir.join("data");
    let out = pg_command(&initdb, root)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C",
            "-D",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB",
        dir.display()
    );
    let out = pg_command(&pg_ctl, root)
        .args(["-w", "-t", "60", "-D"])
        .arg(&data)
        .args(["-l"])
        .arg(dir.join("log"))
        .args(["-o", &options, "start"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        return Err(format!(
            "pg_ctl start failed: {}{log}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Stop the cluster and remove it once this test process is gone.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runner}{pg_ctl} -D {data} stop -m immediate >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        runner = if root { "runuser -u postgres -- " } else { "" },
        pg_ctl = pg_ctl.display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &stop])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    Ok(PgServer {
        base_url: format!("postgres://postgres@127.0.0.1:{port}"),
        template_ready: Mutex::new(false),
    })
}

pub fn pg_server() -> Option<&'static PgServer> {
    PG.get_or_init(|| {
        let server = match std::env::var("PASSERELLE_TEST_PG_URL") {
            Ok(url) => Ok(PgServer {
                base_url: url.trim_end_matches('/').to_string(),
                template_ready: Mutex::new(false),
            }),
            Err(_) => start_cluster(),
        };
        match server {
            Ok(server) => Some(server),
            Err(e) if pg_required() => {
                panic!("PostgreSQL is required here but could not start: {e}")
            }
            Err(e) => {
                eprintln!("PostgreSQL unavailable ({e}): the PostgreSQL legs are SKIPPED");
                None
            }
        }
    })
    .as_ref()
}

impl PgServer {
    /// A new empty database, migrated (copied from a migrated template).
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut ready = self
            .template_ready
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut admin = PgConnection::establish(&format!("{}/postgres", self.base_url))
            .expect("connect to the PostgreSQL test server");
        if !*ready {
            let template = format!("passerelle_tpl_{}", std::process::id());
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {template}"))
                .expect("drop old template database");
            admin
                .batch_execute(&format!("CREATE DATABASE {template}"))
                .expect("create template database");
            let url = format!("{}/{template}", self.base_url);
            let db = Db::connect(&passerelle::db::DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
            db.migrate().expect("migrate the template database");
            drop(db);
            *ready = true;
        }
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE passerelle_tpl_{}",
                std::process::id()
            ))
            .expect("create test database");
        format!("{}/{name}", self.base_url)
    }
}

pub struct TestApp {
    pub client: Client,
    pub backend: Backend,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    /// What the test looked at in the outbox, and whether that is checked on drop.
    pub(crate) outbox: crate::outbox::OutboxCheck,
}

/// A fresh database for one app: a new SQLite file in `dir`, or a new PostgreSQL database.
async fn fresh_database(backend: Backend, dir: &tempfile::TempDir) -> Option<String> {
    Some(match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("passerelle.db").display()),
        Backend::Postgres => {
            let server = pg_server()?;
            tokio_block(move || server.fresh_database()).await
        }
    })
}

/// The configuration of a test app: its database, its own data folder, no worker, quiet.
fn test_figment(
    database_url: &str,
    dir: &tempfile::TempDir,
    overrides: &[(&str, &str)],
) -> rocket::figment::Figment {
    let mut figment = passerelle::figment()
        .merge(("database_url", database_url.to_string()))
        .merge(("data_dir", dir.path().join("data").display().to_string()))
        .merge(("log_setup_link", false))
        .merge(("worker", false))
        .merge(("log_level", "off"))
        // Every request of a test comes from the same (absent) client address: the public
        // forms' per-address throttle is tested on its own, with its limit set there.
        .merge(("public_limit_per_address", 100_000))
        .merge((
            "template_dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/templates/pages"),
        ));
    for (key, value) in overrides {
        figment = figment.merge((*key, *value));
    }
    figment
}

/// The application listening on a local port (see [`TestApp::serve`]); stopped when dropped.
pub struct ServedApp {
    /// `http://127.0.0.1:PORT`, also the configured `public_url` (so emailed links lead here).
    pub base_url: String,
    pub backend: Backend,
    pub database_url: String,
    pub db: Db,
    pub config: passerelle::config::Config,
    pub dir: tempfile::TempDir,
    shutdown: rocket::Shutdown,
}

impl ServedApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// One round of the reminder worker (emails go to `data_dir/mail` as `.eml` files).
    pub async fn run_worker(&self) -> passerelle::worker::Round {
        let worker =
            passerelle::worker::Worker::new(self.db.clone(), self.config.clone()).expect("worker");
        tokio_block(move || worker.run_once().expect("worker round")).await
    }
}

impl Drop for ServedApp {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

pub struct Response {
    pub status: Status,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of a cookie set by this answer.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| Cookie::parse_encoded(v.clone()).ok())
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string())
    }
}

pub async fn collect(response: LocalResponse<'_>) -> Response {
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect();
    let body = response.into_string().await.unwrap_or_default();
    Response {
        status,
        body,
        headers,
    }
}

/// A staff member created for a test, with an API token and a browser session.
pub struct Staff {
    pub user: StaffUser,
    pub email: String,
    pub token: String,
    pub session: String,
    pub csrf: String,
}

impl TestApp {
    pub async fn new(backend: Backend) -> Option<TestApp> {
        Self::with(backend, &[]).await
    }

    /// An app with extra configuration (`("token_ttl", "0s")`…).
    /// An app whose emails go to a real SMTP server of its own (the in-process sink), with
    /// more settings. Its test must look at every outbox message it causes
    /// ([`TestApp::check_messages_read`]).
    pub async fn with_smtp(
        backend: Backend,
        extra: &[(&str, &str)],
    ) -> Option<(TestApp, crate::smtp_sink::SmtpSink)> {
        let sink = crate::smtp_sink::SmtpSink::start().expect("smtp sink");
        let url = sink.url();
        let mut overrides = vec![("mail_transport", "smtp"), ("smtp_url", url.as_str())];
        overrides.extend_from_slice(extra);
        let app = TestApp::with(backend, &overrides).await?;
        app.check_messages_read();
        Some((app, sink))
    }

    pub async fn with(backend: Backend, overrides: &[(&str, &str)]) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(backend, &dir).await?;
        Some(Self::on(backend, database_url, dir, overrides).await)
    }

    /// The application served over real HTTP on a free local port (for a browser), on a fresh
    /// database; `None` when the PostgreSQL leg is skipped.
    pub async fn serve(backend: Backend) -> Option<ServedApp> {
        Self::serve_with(backend, &[]).await
    }

    /// As [`TestApp::serve`], with extra configuration.
    pub async fn serve_with(backend: Backend, overrides: &[(&str, &str)]) -> Option<ServedApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(backend, &dir).await?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let base_url = format!("http://127.0.0.1:{port}");
        let figment = test_figment(&database_url, &dir, overrides)
            .merge(("address", "127.0.0.1"))
            .merge(("port", port))
            .merge(("public_url", base_url.clone()))
            // The test process keeps its signals: no graceful shutdown on Ctrl-C or SIGTERM.
            .merge(("shutdown.ctrlc", false))
            .merge(("shutdown.signals", Vec::<String>::new()))
            .merge(("shutdown.grace", 1))
            .merge(("shutdown.mercy", 1));
        let rocket = passerelle::build(figment)
            .expect("build the app")
            .ignite()
            .await
            .expect("ignite the app");
        let db = rocket.state::<Db>().expect("db").clone();
        let config = rocket
            .state::<passerelle::config::Config>()
            .expect("config")
            .clone();
        let shutdown = rocket.shutdown();
        rocket::tokio::spawn(rocket.launch());
        // Ready once it answers.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not start on port {port}"
            );
            rocket::tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Some(ServedApp {
            base_url,
            backend,
            database_url,
            db,
            config,
            dir,
            shutdown,
        })
    }

    /// A second app instance on the same database (as with several servers on one PostgreSQL).
    pub async fn another_instance(&self) -> TestApp {
        self.another_instance_with(&[]).await
    }

    /// A second app instance on the same database, configured differently.
    pub async fn another_instance_with(&self, overrides: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::on(self.backend, self.database_url.clone(), dir, overrides).await
    }

    /// An app on an existing database (a restored backup…), with its own data folder.
    pub async fn at(backend: Backend, database_url: String) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::on(backend, database_url, dir, &[]).await
    }

    async fn on(
        backend: Backend,
        database_url: String,
        dir: tempfile::TempDir,
        overrides: &[(&str, &str)],
    ) -> TestApp {
        let figment = test_figment(&database_url, &dir, overrides);
        let rocket = passerelle::build(figment).expect("build the app");
        let client = Client::untracked(rocket).await.expect("valid rocket");
        TestApp {
            client,
            backend,
            database_url,
            dir,
            outbox: Default::default(),
        }
    }

    pub fn config(&self) -> passerelle::config::Config {
        self.client
            .rocket()
            .state::<passerelle::config::Config>()
            .expect("config")
            .clone()
    }

    /// A reminder worker on this app's database and configuration.
    pub fn worker(&self) -> passerelle::worker::Worker {
        passerelle::worker::Worker::new(self.db().clone(), self.config()).expect("worker")
    }

    /// One worker round, off the async executor.
    pub async fn run_worker(&self) -> passerelle::worker::Round {
        let worker = self.worker();
        tokio_block(move || worker.run_once().expect("worker round")).await
    }

    pub fn db(&self) -> &Db {
        self.client.rocket().state::<Db>().expect("db")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(path.to_string());
        if let Some(token) = token {
            request = request.header(Header::new("Authorization", format!("Bearer {token}")));
        }
        collect(request.dispatch().await).await
    }

    pub async fn send_json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> Response {
        let mut request = match method {
            "POST" => self.client.post(path.to_string()),
            "PATCH" => self.client.patch(path.to_string()),
            "PUT" => self.client.put(path.to_string()),
            "DELETE" => self.client.delete(path.to_string()),
            other => panic!("unknown method {other}"),
        };
        request = request.header(ContentType::JSON).body(body);
        if let Some(token) = token {
            request = request.header(Header::new("Authorization", format!("Bearer {token}")));
        }
        collect(request.dispatch().await).await
    }

    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> Response {
        self.send_json("POST", path, Some(token), &body.to_string())
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.send_json("DELETE", path, Some(token), "").await
    }

    /// A page fetched with a browser session cookie.
    /// A binary answer (a spreadsheet): its status, headers and bytes.
    pub async fn get_bytes(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> (Status, Vec<(String, String)>, Vec<u8>) {
        let mut request = self.client.get(path.to_string());
        if let Some(token) = token {
            request = request.header(Header::new("Authorization", format!("Bearer {token}")));
        }
        let response = request.dispatch().await;
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|h| (h.name().to_string(), h.value().to_string()))
            .collect();
        (
            status,
            headers,
            response.into_bytes().await.unwrap_or_default(),
        )
    }

    pub async fn page(&self, path: &str, session: &str) -> Response {
        let request = self.client.get(path.to_string()).cookie(Cookie::new(
            passerelle::auth::SESSION_COOKIE,
            session.to_string(),
        ));
        collect(request.dispatch().await).await
    }

    /// A form posted with a browser session cookie; `fields` are url-encoded here.
    pub async fn post_form(
        &self,
        path: &str,
        session: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Response {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = self
            .client
            .post(path.to_string())
            .header(ContentType::Form)
            .body(body);
        if let Some(session) = session {
            request = request.cookie(Cookie::new(
                passerelle::auth::SESSION_COOKIE,
                session.to_string(),
            ));
        }
        collect(request.dispatch().await).await
    }

    /// Creates a staff member (and their organisation when missing), with a token and a session.
    pub async fn staff(&self, role: &str, organisation: &str) -> Staff {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let email = format!(
            "{role}{n}@{}.example",
            organisation.to_lowercase().replace(' ', "-")
        );
        self.staff_named(role, organisation, &format!("{role} {n}"), &email)
            .await
    }

    /// As [`TestApp::staff`], with this name and email.
    pub async fn staff_named(
        &self,
        role: &str,
        organisation: &str,
        name: &str,
        email: &str,
    ) -> Staff {
        let (organisation, role_owned, name_owned, email_owned) = (
            organisation.to_string(),
            role.to_string(),
            name.to_string(),
            email.to_string(),
        );
        let session_ttl = self.config().session_ttl;
        let (user, session) = self
            .db()
            .run(move |conn| {
                let org = passerelle::organisations::find_or_create(conn, None, &organisation)?;
                let row = passerelle::auth::service::create_user(
                    conn,
                    None,
                    passerelle::auth::service::UserInput {
                        email: email_owned,
                        name: name_owned,
                        role: role_owned,
                        organisation_id: Some(org.id),
                        password: PASSWORD.into(),
                    },
                )?;
                let session = passerelle::auth::service::open_session(conn, row.id, session_ttl)?;
                Ok((row.staff(), session))
            })
            .await
            .expect("create staff");
        let response = self
            .send_json(
                "POST",
                "/api/v1/tokens",
                None,
                &json!({"email": email, "password": PASSWORD}).to_string(),
            )
            .await;
        assert_eq!(response.status, Status::Created, "{}", response.body);
        let token = response.json()["token"].as_str().unwrap().to_string();
        let csrf = self.csrf_of(&session).await;
        Staff {
            user,
            email: email.to_string(),
            token,
            session,
            csrf,
        }
    }

    /// The signed beneficiary link (`/r/{token}`) of `person`'s seat in `appointment`.
    pub async fn beneficiary_link(&self, appointment: i32, person: i32) -> String {
        use diesel::prelude::*;
        use passerelle::db::schema::participants;
        let key = self.config().secret_key.clone();
        self.db()
            .run(move |conn| {
                let id: i32 = participants::table
                    .filter(participants::appointment_id.eq(appointment))
                    .filter(participants::person_id.eq(person))
                    .select(participants::id)
                    .first(conn)?;
                Ok(passerelle::mail::links::sign(
                    &key,
                    id,
                    chrono::Utc::now().naive_utc() + chrono::Duration::days(60),
                ))
            })
            .await
            .unwrap()
    }

    /// The CSRF token of a session, read from a page's logout form.
    pub async fn csrf_of(&self, session: &str) -> String {
        let page = self.page("/", session).await;
        // Empty when the session is already gone (a test of expiry with a short lifetime).
        hidden_field(&page.body, "csrf_token").unwrap_or_default()
    }
}

/// The value of `<input type="hidden" name=NAME value=…>` in a page.
/// A form posted with its CSRF token, as a signed-in browser sends it.
pub async fn post(
    app: &TestApp,
    path: &str,
    session: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> Response {
    let mut all = vec![("csrf_token", csrf)];
    all.extend_from_slice(fields);
    app.post_form(path, Some(session), &all).await
}

pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

pub fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn tokio_block<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    rocket::tokio::task::spawn_blocking(f)
        .await
        .expect("blocking task")
}

/// The text of a page with Tera's HTML escapes undone (it escapes `/` too).
pub fn unescape(html: &str) -> String {
    html.replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
