//! Browser tests: the real server over HTTP (see `TestApp::serve`), driven by headless Chromium
//! through chromedriver, with axe-core checking every page visited.
//!
//! They need Debian's `chromium` and `chromium-driver`, and axe-core installed by `npm ci` in
//! `tests/browser`. When one is missing the tests print that they were skipped, unless
//! `PASSERELLE_REQUIRE_BROWSER=1` or `CI=true`, where they fail.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Datelike;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::fixtures::free_port;
use crate::harness::{Backend, ServedApp, TestApp, PASSWORD};

const AXE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/browser/node_modules/axe-core/axe.min.js"
);

/// Without them Chromium stalls on this closed network (or in a container).
const CHROMIUM_FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

pub fn browser_required() -> bool {
    std::env::var("PASSERELLE_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
    axe: String,
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Chromium, chromedriver and axe-core; `None` (with a message) when one is missing here.
fn tools() -> Option<Tools> {
    let found = (|| {
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"])
            .ok_or("chromium not found (apt-get install chromium)")?;
        let chromedriver = find_program(&["chromedriver"])
            .ok_or("chromedriver not found (apt-get install chromium-driver)")?;
        let axe = std::fs::read_to_string(AXE)
            .map_err(|_| format!("{AXE} missing (run `npm ci` in tests/browser)"))?;
        Ok::<_, String>(Tools {
            chromium,
            chromedriver,
            axe,
        })
    })();
    match found {
        Ok(tools) => Some(tools),
        Err(e) if browser_required() => panic!("the browser tests are required here: {e}"),
        Err(e) => {
            eprintln!("browser tests SKIPPED: {e}");
            None
        }
    }
}

/// Chromium's own printing (DevTools' `Page.printToPDF` through chromedriver), which honours the
/// page's `@page { size }` as the print dialog does; WebDriver's print command imposes its paper.
#[derive(Debug)]
struct PrintToPdf;

impl fantoccini::wd::WebDriverCompatibleCommand for PrintToPdf {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({
            "cmd": "Page.printToPDF",
            "params": { "preferCSSPageSize": true, "printBackground": true },
        });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// The sizes of a PDF's pages, in millimetres.
fn pdf_page_sizes_mm(pdf: &[u8]) -> Vec<(f64, f64)> {
    let text = String::from_utf8_lossy(pdf);
    regex::Regex::new(r"/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]")
        .unwrap()
        .captures_iter(&text)
        .map(|c| {
            let pt = |i: usize| c[i].parse::<f64>().unwrap() * 25.4 / 72.0;
            (pt(1), pt(2))
        })
        .collect()
}

/// A Chromium session through its own chromedriver; axe-core runs on every page reached.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    base_url: String,
    axe: String,
    /// Serious or critical accessibility violations found so far, one line each.
    violations: Vec<String>,
    pages_checked: usize,
}

impl Browser {
    async fn start(tools: &Tools, base_url: &str) -> Browser {
        let port = free_port();
        // Its own process group, so that Chromium goes with it whatever happens to the test.
        let driver = {
            use std::os::unix::process::CommandExt;
            Command::new(&tools.chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("start chromedriver")
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": tools.chromium, "args": args },
        });
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Browser {
            client,
            driver,
            _profile: profile,
            base_url: base_url.to_string(),
            axe: tools.axe.clone(),
            violations: Vec::new(),
            pages_checked: 0,
        }
    }

    /// Opens a path of the app (or a full URL) and checks the page.
    async fn visit(&mut self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base_url)
        };
        self.client.goto(&url).await.expect("navigate");
        self.check_page().await;
    }

    /// Runs axe-core on the current page; serious and critical violations are recorded.
    async fn check_page(&mut self) {
        let found = self.serious_violations().await;
        for line in &found {
            eprintln!("accessibility: {line}");
        }
        self.violations.extend(found);
        self.pages_checked += 1;
    }

    /// axe-core's serious and critical violations on the current page, one line each.
    async fn serious_violations(&self) -> Vec<String> {
        // Injected through WebDriver, which the page's CSP (no inline script) does not cover.
        self.client
            .execute(&self.axe, vec![])
            .await
            .expect("inject axe-core");
        let result = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, { resultTypes: ["violations"] }).then(r => done({
                    engine: r.testEngine.name,
                    passes: r.passes.length,
                    violations: r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.html),
                    })),
                }), e => done({ error: String(e) }));"#,
                vec![],
            )
            .await
            .expect("run axe-core");
        assert_eq!(
            result["engine"], "axe-core",
            "axe-core did not run: {result}"
        );
        assert!(result["passes"].as_u64().unwrap_or(0) > 0, "{result}");
        let path = self.path().await;
        result["violations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                format!(
                    "{path}: {} ({}): {} {}",
                    v["id"].as_str().unwrap_or_default(),
                    v["impact"].as_str().unwrap_or_default(),
                    v["help"].as_str().unwrap_or_default(),
                    v["nodes"]
                )
            })
            .collect()
    }

    /// Makes sure axe-core sees a violation here: a field without a label, added for a moment.
    async fn probe(&mut self) {
        self.client
            .execute(
                "const f = document.createElement('input'); f.id = 'axe-probe'; \
                 document.querySelector('main').appendChild(f);",
                vec![],
            )
            .await
            .expect("add the probe");
        let found = self.serious_violations().await;
        assert!(
            found.iter().any(|v| v.contains(": label (critical)")),
            "axe-core missed an unlabelled field: {found:?}"
        );
        self.client
            .execute("document.getElementById('axe-probe').remove();", vec![])
            .await
            .expect("remove the probe");
    }

    /// With `PASSERELLE_SCREENSHOTS=DIR`, saves the current page as `DIR/NAME.png` (to look at
    /// a page as its user sees it).
    async fn screenshot(&self, name: &str) {
        if let Some(dir) = std::env::var_os("PASSERELLE_SCREENSHOTS") {
            let png = self.client.screenshot().await.expect("a screenshot");
            std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).expect("write it");
        }
    }

    /// The current page printed to PDF as Chromium prints it for a person (its `@page` size).
    async fn print_pdf(&self) -> Vec<u8> {
        use base64::Engine;
        let answer = self
            .client
            .issue_cmd(PrintToPdf)
            .await
            .expect("print to PDF");
        let data = answer["data"].as_str().expect("the PDF, in base64");
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64")
    }

    /// With `PASSERELLE_SCREENSHOTS=DIR`, the current page on a desktop and on a 390 px wide
    /// phone (`NAME.png`, `NAME-390.png`), tall enough to show most of it.
    async fn screenshots(&self, name: &str) {
        if std::env::var_os("PASSERELLE_SCREENSHOTS").is_none() {
            return;
        }
        for (width, suffix) in [(1280, ""), (390, "-390")] {
            self.client
                .set_window_size(width, 2200)
                .await
                .expect("resize the window");
            self.screenshot(&format!("{name}{suffix}")).await;
        }
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("resize the window");
    }

    /// The path (and query) of the current page.
    async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The visible text of the current page.
    async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .expect("body")
            .text()
            .await
            .expect("text")
    }

    async fn fill(&self, id: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no field #{id}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Date and time widgets take their value from a script (typing into them depends on the
    /// browser's locale).
    async fn set(&self, id: &str, value: &str) {
        let done = self
            .client
            .execute(
                "const f = document.getElementById(arguments[0]); if (!f) return false; \
                 f.value = arguments[1]; return f.value === arguments[1];",
                vec![json!(id), json!(value)],
            )
            .await
            .expect("set a value");
        assert_eq!(done, json!(true), "#{id} did not take {value}");
    }

    async fn select(&self, id: &str, value: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no select #{id}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("#{id} has no option {value}: {e}"));
    }

    async fn click_id(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id}: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// Opens a `<details>` by its summary's text.
    async fn open(&self, summary: &str) {
        self.client
            .find(Locator::XPath(&format!(
                "//summary[contains(normalize-space(), \"{summary}\")]"
            )))
            .await
            .unwrap_or_else(|e| panic!("no summary {summary:?}: {e}"))
            .click()
            .await
            .expect("open details");
    }

    /// Clicks what leads to another page (a button of the main content, or a link) and checks
    /// the page reached.
    async fn go(&mut self, xpath: &str) {
        self.client
            .execute("window.__previous_page = true;", vec![])
            .await
            .expect("mark the page");
        let target = match self.client.find(Locator::XPath(xpath)).await {
            Ok(target) => target,
            Err(e) => panic!("nothing at {xpath} on {}: {e}", self.path().await),
        };
        target.click().await.expect("click");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = self
                .client
                .execute(
                    "return window.__previous_page === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .unwrap_or(json!(false));
            if ready == json!(true) {
                break;
            }
            assert!(Instant::now() < deadline, "no new page after {xpath}");
            rocket::tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.check_page().await;
    }

    async fn press(&mut self, button: &str) {
        self.go(&format!("//main//button[normalize-space() = \"{button}\"]"))
            .await
    }

    async fn follow(&mut self, link: &str) {
        self.go(&format!("//a[normalize-space() = \"{link}\"]"))
            .await
    }

    async fn log_in(&mut self, email: &str) {
        self.visit("/login").await;
        self.fill("email", email).await;
        self.fill("password", PASSWORD).await;
        self.press("Se connecter").await;
        assert_eq!(self.path().await, "/", "{}", self.text().await);
    }

    async fn log_out(&mut self) {
        self.go("//header//button[normalize-space() = \"Se déconnecter\"]")
            .await;
        assert_eq!(self.path().await, "/login");
    }

    /// The figures of a `<dl>`: term → value.
    async fn figures(&self) -> Value {
        self.client
            .execute(
                "const out = {}; document.querySelectorAll('dl div').forEach(d => { \
                 const t = d.querySelector('dt'), v = d.querySelector('dd'); \
                 if (t && v) out[t.textContent.trim()] = v.textContent.trim(); }); return out;",
                vec![],
            )
            .await
            .expect("figures")
    }

    async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(None) = self.driver.try_wait() {
            self.stop_driver();
        }
    }
}

/// The id at the end of the current page's path (`/people/12` → 12).
async fn id_in_path(b: &Browser, prefix: &str) -> i32 {
    let path = b.path().await;
    path.strip_prefix(prefix)
        .and_then(|rest| rest.split(['/', '?']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{path} is not under {prefix}"))
}

/// The personal link in an email written since the last call (`seen` lists the earlier ones).
fn new_link(app: &ServedApp, seen: &mut Vec<PathBuf>) -> String {
    let dir = app.dir.path().join("data").join("mail");
    let fresh: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| !seen.contains(p))
        .collect();
    let first = fresh.first().expect("a new email").clone();
    seen.extend(fresh);
    let raw = std::fs::read(&first).unwrap();
    let message = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("an email");
    let text = message.body_text(0).expect("a text part").to_string();
    let marker = format!("{}/r/", app.base_url);
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no link to {marker} in {text}"));
    text[start..].split_whitespace().next().unwrap().to_string()
}

fn local_day(app: &ServedApp, days_ahead: i64) -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&app.config.timezone)
        .date_naive()
        + chrono::Duration::days(days_ahead)
}

async fn journey(backend: Backend) {
    let started = Instant::now();
    let Some(tools) = tools() else { return };
    let Some(app) = TestApp::serve(backend).await else {
        return;
    };
    let setup = app
        .db
        .run(passerelle::auth::service::setup_token_if_no_user)
        .await
        .unwrap()
        .expect("a setup link while there is no account");
    let mut b = Browser::start(&tools, &app.base_url).await;

    // The first admin, from the one-time link.
    b.visit(&format!("/setup/{setup}")).await;
    b.probe().await;
    b.fill("organisation", "Espace numérique de Kerourien")
        .await;
    b.fill("name", "Aline Admin").await;
    b.fill("email", "aline@kerourien.example").await;
    b.fill("password", PASSWORD).await;
    b.fill("password_confirmation", PASSWORD).await;
    b.press("Créer le compte").await;
    assert_eq!(b.path().await, "/");
    assert!(b.text().await.contains("Aline Admin"));

    // A mediator and a manager.
    b.follow("Comptes").await;
    for (name, email, role) in [
        ("Mehdi Benali", "mehdi@kerourien.example", "mediator"),
        ("Manon Kervella", "manon@kerourien.example", "manager"),
    ] {
        b.fill("name", name).await;
        b.fill("email", email).await;
        b.select("role", role).await;
        b.fill("password", PASSWORD).await;
        b.press("Créer le compte").await;
        assert_eq!(b.path().await, "/users");
        assert!(b.text().await.contains(email), "{}", b.text().await);
    }

    // A place and a kind of appointment.
    b.visit("/places/new").await;
    b.fill("name", "Médiathèque des Capucins").await;
    b.fill("address", "25 rue de Pontaniou").await;
    b.fill("postal_code", "29200").await;
    b.fill("city", "Brest").await;
    b.press("Enregistrer").await;
    let place_id = id_in_path(&b, "/places/").await;
    b.follow("Motifs").await;
    b.fill("name", "Accompagnement individuel").await;
    b.select("kind", "individual").await;
    b.fill("duration_minutes", "60").await;
    b.press("Créer").await;
    assert!(b.text().await.contains("Accompagnement individuel"));
    for path in ["/organisations", "/audit", "/programmes", "/places"] {
        b.visit(path).await;
    }
    b.log_out().await;

    // A wrong password shows the form again with the error.
    b.fill("email", "mehdi@kerourien.example").await;
    b.fill("password", "pas le bon mot de passe").await;
    b.press("Se connecter").await;
    assert_eq!(b.path().await, "/login");

    // The mediator opens a weekly slot on the day of the bookings (three days ahead, so that no
    // 48-hour reminder is due yet).
    b.log_in("mehdi@kerourien.example").await;
    let day = local_day(&app, 3);
    b.follow("Mes horaires").await;
    b.select("weekday", &day.weekday().number_from_monday().to_string())
        .await;
    b.select("place_id", &place_id.to_string()).await;
    b.set("start", "09:00").await;
    b.set("end", "12:00").await;
    b.press("Ajouter").await;
    assert!(b.text().await.contains("09:00–12:00"), "{}", b.text().await);

    // A person.
    b.follow("Personnes").await;
    b.visit("/people/new").await;
    b.fill("given_name", "Yvette").await;
    b.fill("family_name", "Le Goff").await;
    b.fill("birth_year", "1956").await;
    b.fill("email", "yvette@example.org").await;
    b.click_id("reminder_consent").await;
    b.press("Enregistrer").await;
    let person_id = id_in_path(&b, "/people/").await;
    assert!(b.text().await.contains("Yvette Le Goff"));
    b.visit("/people?q=Le+Goff").await;
    assert!(b.text().await.contains("Yvette Le Goff"));

    // Two bookings from the agenda's free slots; each sends a confirmation with her link.
    let mut links = Vec::new();
    let mut emails = Vec::new();
    for (start, in_words) in [("09:00", "à 9 h"), ("10:00", "à 10 h")] {
        b.visit(&format!("/agenda?date={day}")).await;
        b.follow(&format!("Réserver {start}")).await;
        assert!(b.path().await.starts_with("/appointments/new?"));
        b.fill("q", "Le Goff").await;
        b.press("Chercher").await;
        b.click_id(&format!("person-{person_id}")).await;
        b.press("Réserver").await;
        let id = id_in_path(&b, "/appointments/").await;
        let text = b.text().await;
        assert!(
            text.contains("Yvette Le Goff")
                && text.contains(in_words)
                && text.contains("inscrit·e"),
            "{text}"
        );
        assert!(app.run_worker().await.sent >= 1);
        links.push((id, new_link(&app, &mut emails)));
    }

    // Found by name, she is at the centre of her page: both appointments, a link to book again.
    b.visit("/people?q=yvette+le+goff").await;
    b.follow("Yvette Le Goff").await;
    assert_eq!(b.path().await, format!("/people/{person_id}"));
    let page = b.text().await;
    let upcoming = &page[page
        .find("Rendez-vous à venir")
        .expect("her upcoming appointments")..];
    assert!(
        upcoming.matches("Accompagnement individuel").count() >= 2,
        "{page}"
    );
    b.screenshots("personne").await;
    b.follow("Prendre rendez-vous").await;
    assert_eq!(
        b.path().await,
        format!("/appointments/new?person_id={person_id}")
    );
    let checked = b
        .client
        .execute(
            "return document.getElementById(arguments[0]).checked;",
            vec![json!(format!("person-{person_id}"))],
        )
        .await
        .expect("read the choice");
    assert_eq!(checked, json!(true), "she is chosen on the booking form");
    b.screenshots("nouveau-rendez-vous").await;
    // Booking nobody by mistake is refused, with the summary linking to the choice.
    b.visit("/appointments/new").await;
    b.press("Réserver").await;
    let text = b.text().await;
    assert!(
        text.contains("Le formulaire contient")
            && text.contains("ne peut pas être pris pour personne"),
        "{text}"
    );
    b.screenshots("nouveau-rendez-vous-erreurs").await;
    b.visit(&format!("/agenda?date={day}")).await;
    assert!(
        b.text().await.contains("Yvette Le Goff"),
        "the agenda names her"
    );
    b.screenshots("agenda-jour").await;
    b.visit(&format!("/agenda?date={day}&view=week")).await;
    assert!(
        b.text().await.contains("Yvette Le Goff"),
        "the week names her"
    );
    b.screenshots("agenda-semaine").await;
    b.visit(&format!("/appointments/{}", links[0].0)).await;
    b.screenshots("rendez-vous").await;
    b.follow("Annuler le rendez-vous…").await;
    assert!(b.text().await.contains("seront prévenues"));
    b.screenshots("rendez-vous-annuler").await;

    b.visit(&format!(
        "/appointments/{}/card?person_id={person_id}",
        links[0].0
    ))
    .await;
    // The printed card comes out on one A6 sheet (105 × 148 mm).
    let sizes = pdf_page_sizes_mm(&b.print_pdf().await);
    assert_eq!(sizes.len(), 1, "one page: {sizes:?}");
    let (width, height) = sizes[0];
    assert!(
        (width - 105.0).abs() < 1.0 && (height - 148.0).abs() < 1.0,
        "an A6 card, not {width:.1} × {height:.1} mm"
    );
    for path in [
        "/to-call",
        "/logs-to-fill",
        "/skills",
        "/calendar",
        "/equipment/due",
        "/people/999999",
    ] {
        b.visit(path).await;
        b.screenshot(&format!("page{}", path.replace('/', "-")))
            .await;
    }

    // A drop-in session half an hour ago, then its log with skills.
    b.visit("/appointments/new?q=Yvette").await;
    b.click_id(&format!("person-{person_id}")).await;
    let half_an_hour_ago =
        chrono::Utc::now().with_timezone(&app.config.timezone) - chrono::Duration::minutes(30);
    b.set(
        "starts_at_local",
        &half_an_hour_ago.format("%Y-%m-%dT%H:%M").to_string(),
    )
    .await;
    b.click_id("walk_in").await;
    b.press("Réserver").await;
    let walk_in = id_in_path(&b, "/appointments/").await;
    b.follow("Compte rendu de séance").await;
    assert_eq!(b.path().await, format!("/appointments/{walk_in}/log"));
    b.click_id("att-0-attended").await;
    b.fill("duration-0", "45").await;
    b.select("autonomy-0", "partly").await;
    b.open("Compétences observées").await;
    b.select("s-0-A1", "3").await;
    b.select("s-0-A2", "1").await;
    // Submitted wrong first (a note past its 500 characters, set by script as a paste could):
    // the form comes back with what was typed, the error beside the note and a summary that
    // is announced (role alert) and links to it; axe checks the page.
    b.fill("orientation-note-0", "Mission locale").await;
    b.set("note-0", &"n".repeat(501)).await;
    b.press("Enregistrer le compte rendu").await;
    let text = b.text().await;
    assert!(
        text.contains("Le formulaire contient une erreur")
            && text.contains("Note courte : 500 caractères au plus."),
        "{text}"
    );
    let state = b
        .client
        .execute(
            "const s = document.querySelector('.error-summary');              const link = s && s.querySelector('a');              const target = link && document.querySelector(link.getAttribute('href'));              return { role: s && s.getAttribute('role'), target: target && target.id,                       invalid: target && target.getAttribute('aria-invalid'),                       duration: document.getElementById('duration-0').value,                       orientation: document.getElementById('orientation-note-0').value,                       level: document.getElementById('s-0-A1').value };",
            vec![],
        )
        .await
        .expect("read the summary");
    assert_eq!(
        state,
        json!({"role": "alert", "target": "note-0", "invalid": "true", "duration": "45",
               "orientation": "Mission locale", "level": "3"}),
        "the summary announced, linking to the note; what was typed kept"
    );
    b.screenshots("compte-rendu-erreurs").await;
    b.set("note-0", "Première séance").await;
    b.press("Enregistrer le compte rendu").await;
    assert_eq!(b.path().await, format!("/appointments/{walk_in}"));
    b.visit(&format!("/people/{person_id}")).await;
    let profile = b.text().await;
    assert!(profile.contains("autonome"), "{profile}");

    // A tablet handed over to her.
    b.follow("Matériel").await;
    b.select("kind", "tablet").await;
    b.fill("model", "Galaxy Tab A9").await;
    b.fill("serial", "R9TX40AB12").await;
    b.press("Ajouter").await;
    let item = id_in_path(&b, "/equipment/").await;
    b.fill("q", "le goff").await;
    b.press("Chercher").await;
    b.click_id(&format!("person-{person_id}")).await;
    b.select("mode", "donation").await;
    b.select("acceptance", "paper_signature").await;
    b.press("Remettre").await;
    assert_eq!(b.path().await, format!("/equipment/{item}?ok=assigned"));
    let text = b.text().await;
    assert!(
        text.contains("Yvette Le Goff") && text.contains("don"),
        "{text}"
    );
    b.follow("Imprimer la fiche de remise").await;
    assert!(b.text().await.contains("Galaxy Tab A9"));
    b.screenshots("materiel").await;
    b.visit(&format!("/equipment/{item}/status?status=broken"))
        .await;
    assert!(b
        .text()
        .await
        .contains("La remise à Yvette Le Goff sera close"));
    b.screenshots("materiel-statut").await;
    b.visit("/").await;
    b.screenshots("accueil").await;
    b.visit("/").await;
    b.log_out().await;

    // The manager's dashboard counts all of it.
    b.log_in("manon@kerourien.example").await;
    b.follow("Rapports").await;
    let figures = b.figures().await;
    for (term, value) in [
        ("Personnes suivies", "1"),
        ("Personnes évaluées", "1"),
        ("Présences", "1"),
        ("Personnes équipées", "1"),
        ("Matériel", "1"),
    ] {
        assert_eq!(figures[term], value, "{term}: {figures}");
    }
    for path in [
        "/reports/skills-progress",
        "/reports/activity",
        "/reports/equipment",
        "/messages",
    ] {
        b.visit(path).await;
        b.screenshot(&format!("page{}", path.replace('/', "-")))
            .await;
    }
    b.log_out().await;

    // Her personal links: she confirms the first appointment and cannot come to the second.
    let (_, first) = &links[0];
    b.visit(first).await;
    b.screenshot("lien-personnel").await;
    let text = b.text().await;
    assert!(
        text.contains("Votre rendez-vous") && text.contains("25 rue de Pontaniou"),
        "{text}"
    );
    b.press("Je confirme ma venue").await;
    let text = b.text().await;
    assert!(
        text.contains("Merci, vous avez confirmé votre venue"),
        "{text}"
    );
    let (_, second) = &links[1];
    b.visit(second).await;
    b.press("Je ne peux pas venir").await;
    let text = b.text().await;
    assert!(text.contains("C'est noté : vous ne venez pas"), "{text}");
    assert!(!text.contains("Je confirme ma venue"), "{text}");
    b.visit("/r/abc.def").await;
    assert!(b.text().await.contains("Ce lien ne fonctionne pas"));

    let (pages, violations) = (b.pages_checked, std::mem::take(&mut b.violations));
    b.close().await;
    eprintln!(
        "browser journey on {backend:?}: {pages} pages checked by axe-core in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
}

/// Setup link → accounts → place and service → opening hours → person → two bookings from the
/// agenda → a drop-in session logged with skills → a tablet handed over → the manager's
/// dashboard → the beneficiary confirms one appointment and cancels the other from her links.
mod a_whole_journey_in_chromium {
    use super::*;

    #[rocket::async_test]
    async fn sqlite() {
        journey(Backend::Sqlite).await
    }

    #[rocket::async_test]
    async fn postgres() {
        journey(Backend::Postgres).await
    }
}

/// The beneficiary on a 390 px wide phone: her personal link lists the next free slots, she
/// taps one, and the page confirms the new time (no JavaScript on the page; axe-core on each).
async fn reschedule_on_a_phone(backend: Backend) {
    let Some(tools) = tools() else { return };
    let Some(app) = TestApp::serve(backend).await else {
        return;
    };
    let (_, manager) = crate::sms::served_staff(&app, "manager", "Emmaüs Connect", 1).await;
    let (mediator_id, mediator) =
        crate::sms::served_staff(&app, "mediator", "Emmaüs Connect", 2).await;
    let call = |method: &'static str, path: String, token: String, body: Value| {
        let app = &app;
        async move {
            let (status, body) = crate::sms::api(app, method, &path, &token, Some(body)).await;
            assert!(
                (200..300).contains(&status),
                "{method} {path}: {status} {body}"
            );
            body
        }
    };
    let place = call("POST", "/api/v1/places".into(), manager.clone(), json!({"name": "Médiathèque de Kerourien",
        "address": "25 rue de Pontaniou", "postal_code": "29200", "city": "Brest", "phone": "02 98 00 00 00"})).await;
    let service = call("POST", "/api/v1/services".into(), manager.clone(), json!({"name": "Accompagnement individuel",
        "kind": "individual", "duration_minutes": 45, "buffer_minutes": 15, "min_notice_minutes": 60})).await;
    for weekday in 1..=7 {
        call(
            "POST",
            format!("/api/v1/users/{mediator_id}/opening-hours"),
            mediator.clone(),
            json!({"place_id": place["id"], "weekday": weekday, "start": "09:00", "end": "12:00"}),
        )
        .await;
    }
    let person = call(
        "POST",
        "/api/v1/people".into(),
        mediator.clone(),
        json!({"given_name": "Yvette", "language": "fr"}),
    )
    .await;
    let day = local_day(&app, 2);
    let booked = call("POST", "/api/v1/appointments".into(), mediator.clone(), json!({"service_id": service["id"],
        "mediator_id": mediator_id, "place_id": place["id"], "starts_at": passerelle::time::LocalTime::rfc3339(&app.config.timezone,
            passerelle::time::LocalTime::to_utc(&app.config.timezone, day, chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap())),
        "person_ids": [person["id"]], "override_opening_hours": true})).await;
    let appointment = booked["id"].as_i64().unwrap() as i32;
    let key = app.config.secret_key.clone();
    let link = app
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use passerelle::db::schema::participants;
            let id: i32 = participants::table
                .filter(participants::appointment_id.eq(appointment))
                .select(participants::id)
                .first(conn)?;
            Ok(passerelle::mail::links::sign(
                &key,
                id,
                chrono::Utc::now().naive_utc() + chrono::Duration::days(30),
            ))
        })
        .await
        .unwrap();

    let mut b = Browser::start(&tools, &app.base_url).await;
    b.client
        .set_window_size(390, 844)
        .await
        .expect("a phone-sized window");
    b.visit(&format!("/r/{link}")).await;
    let text = b.text().await;
    assert!(
        text.contains("Changer de rendez-vous") && text.contains("Choisissez un autre horaire"),
        "{text}"
    );
    let layout = b
        .client
        .execute(
            "return { width: document.documentElement.scrollWidth, scripts: document.scripts.length, \
             bytes: document.documentElement.outerHTML.length };",
            vec![],
        )
        .await
        .expect("measure the page");
    assert!(
        layout["width"].as_i64().unwrap() <= 390,
        "wider than the phone: {layout}"
    );
    assert_eq!(layout["scripts"], 0, "the page needs no script");
    assert!(layout["bytes"].as_i64().unwrap() < 30 * 1024, "{layout}");
    // The second slot offered: its day's legend and its time.
    let chosen = b
        .client
        .find(Locator::XPath("(//fieldset//button[@name='starts_at'])[2]"))
        .await
        .expect("slot buttons");
    let value = chosen.attr("value").await.unwrap().expect("a value");
    let time = chosen.text().await.unwrap();
    b.go("(//fieldset//button[@name='starts_at'])[2]").await;
    assert_eq!(b.path().await, format!("/r/{link}?moved=1&lang=fr"));
    let text = b.text().await;
    assert!(text.contains("votre rendez-vous est déplacé"), "{text}");
    b.screenshot("reschedule-phone-moved").await;
    let minutes = &time[3..];
    let hour: u32 = time[..2].parse().unwrap();
    assert!(
        text.contains(&format!("à {hour} h {minutes}")),
        "{time} in {text}"
    );
    let (_, moved) = crate::sms::api(
        &app,
        "GET",
        &format!("/api/v1/appointments/{appointment}"),
        &mediator,
        None,
    )
    .await;
    assert_eq!(moved["starts_at"], value.as_str());
    // The Arabic page, right to left, on the same phone.
    b.visit(&format!("/r/{link}?lang=ar")).await;
    let width = b
        .client
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(width.as_i64().unwrap() <= 390, "{width}");
    assert!(b.text().await.contains("تغيير الموعد"));
    b.screenshot("reschedule-phone-ar").await;
    b.client
        .set_window_size(1280, 900)
        .await
        .expect("a desktop window");
    b.visit(&format!("/r/{link}?lang=en")).await;
    b.screenshot("reschedule-desktop-en").await;

    let violations = std::mem::take(&mut b.violations);
    b.close().await;
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
}

mod rescheduling_from_the_link_on_a_phone {
    use super::*;

    #[rocket::async_test]
    async fn sqlite() {
        reschedule_on_a_phone(Backend::Sqlite).await
    }

    #[rocket::async_test]
    async fn postgres() {
        reschedule_on_a_phone(Backend::Postgres).await
    }
}

/// A person books on a phone-sized window from the structure's public page, then a referrer
/// sends a request without a slot; axe-core checks every page.
async fn public_journey(backend: Backend) {
    let Some(tools) = tools() else { return };
    let Some(app) = TestApp::serve(backend).await else {
        return;
    };
    // A structure with a place, a service open to the public and a mediator's opening hours.
    let (slug, place_id) = app
        .db
        .run(|conn| {
            use passerelle::auth::service::{create_user, UserInput};
            let org =
                passerelle::organisations::find_or_create(conn, None, "Espace Numérique du Port")?;
            let manager = create_user(
                conn,
                None,
                UserInput {
                    email: "marie@port.example".into(),
                    name: "Marie Manager".into(),
                    role: "manager".into(),
                    organisation_id: Some(org.id),
                    password: PASSWORD.into(),
                },
            )?
            .staff();
            let mediator = create_user(
                conn,
                None,
                UserInput {
                    email: "medi@port.example".into(),
                    name: "Medi Ateur".into(),
                    role: "mediator".into(),
                    organisation_id: Some(org.id),
                    password: PASSWORD.into(),
                },
            )?
            .staff();
            let place = passerelle::places::create(
                conn,
                &manager,
                passerelle::places::PlaceInput {
                    name: "Médiathèque du Port".into(),
                    address: "1 quai Ouest".into(),
                    postal_code: "29200".into(),
                    city: "Brest".into(),
                    ..Default::default()
                },
            )?;
            passerelle::booking::availability::create_service(
                conn,
                &manager,
                passerelle::booking::availability::ServiceInput {
                    name: "Aide au numérique".into(),
                    kind: "individual".into(),
                    duration_minutes: 45,
                    horizon_days: Some(90),
                    bookable_by: Some("public".into()),
                    ..Default::default()
                },
            )?;
            for weekday in 1..=7 {
                passerelle::booking::availability::add_opening_hours(
                    conn,
                    &mediator,
                    mediator.id,
                    passerelle::booking::availability::OpeningHoursInput {
                        place_id: place.id,
                        weekday,
                        start: "09:00".into(),
                        end: "17:00".into(),
                        valid_from: None,
                        valid_until: None,
                    },
                )?;
            }
            Ok((org.slug.unwrap_or_default(), place.id))
        })
        .await
        .unwrap();
    let mut b = Browser::start(&tools, &app.base_url).await;
    b.client
        .set_window_size(390, 900)
        .await
        .expect("a phone-sized window");

    b.visit(&format!("/rdv/{slug}")).await;
    b.go("//a[contains(., \"Médiathèque du Port\")]").await;
    assert!(
        b.text().await.contains("Choisissez une heure"),
        "{}",
        b.text().await
    );
    b.screenshot("rdv-creneaux").await;
    b.go("(//ul[contains(@class, 'times')]//a)[1]").await;
    b.screenshot("rdv-formulaire").await;
    b.fill("given_name", "Hélène").await;
    b.fill("phone", "06 12 34 56 78").await;
    b.click_id("sms_consent").await;
    b.press("Réserver ce rendez-vous").await;
    b.screenshot("rdv-confirmation").await;
    let text = b.text().await;
    assert!(
        text.contains("Votre rendez-vous est réservé") && text.contains("1 quai Ouest"),
        "{text}"
    );
    // The personal link works.
    b.go("//main//a[contains(@href, '/r/')]").await;
    assert!(b.text().await.contains("Médiathèque du Port"));

    // A referrer sends a request without a slot.
    b.visit(&format!("/rdv/{slug}/orienter")).await;
    b.fill("referrer_name", "Sophie Lenoir").await;
    b.fill("referrer_organisation", "CCAS de Brest").await;
    b.fill("referrer_email", "sophie@ccas.example").await;
    b.fill("given_name", "Karim").await;
    b.click_id("agreement").await;
    b.click_id("topic-email").await;
    b.screenshot("rdv-orienter-envoye").await;
    b.press("Envoyer").await;
    assert!(
        b.text().await.contains("va contacter la personne"),
        "{}",
        b.text().await
    );

    let count: i64 = app
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use passerelle::db::schema::{appointments, referrals};
            let a: i64 = appointments::table
                .filter(appointments::place_id.eq(place_id))
                .count()
                .get_result(conn)?;
            let r: i64 = referrals::table.count().get_result(conn)?;
            Ok(a * 10 + r)
        })
        .await
        .unwrap();
    assert_eq!(count, 11, "one appointment and one referral request");
    let violations = std::mem::take(&mut b.violations);
    b.close().await;
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
}

mod a_person_and_a_referrer_on_a_phone_in_chromium {
    use super::*;

    #[rocket::async_test]
    async fn sqlite() {
        public_journey(Backend::Sqlite).await
    }

    #[rocket::async_test]
    async fn postgres() {
        public_journey(Backend::Postgres).await
    }
}
