//! What a browser notices of how pages are delivered: gzip when it is accepted, the menu that
//! marks where one is, the tab's icon, and CSRF tokens that differ on every page.

use std::io::Read;

use rocket::http::{Header, Status};

use crate::both_backends;
use crate::harness::{hidden_field, TestApp};

struct Answer {
    status: Status,
    encoding: Option<String>,
    vary: Option<String>,
    bytes: Vec<u8>,
}

async fn fetch(
    app: &TestApp,
    path: &str,
    accept: Option<&str>,
    token: Option<&str>,
    session: Option<&str>,
) -> Answer {
    let mut request = app.client.get(path.to_string());
    if let Some(accept) = accept {
        request = request.header(Header::new("Accept-Encoding", accept.to_string()));
    }
    if let Some(token) = token {
        request = request.header(Header::new("Authorization", format!("Bearer {token}")));
    }
    if let Some(session) = session {
        request = request.cookie(rocket::http::Cookie::new(
            passerelle::auth::SESSION_COOKIE,
            session.to_string(),
        ));
    }
    let response = request.dispatch().await;
    Answer {
        status: response.status(),
        encoding: response
            .headers()
            .get_one("Content-Encoding")
            .map(str::to_string),
        vary: response.headers().get_one("Vary").map(str::to_string),
        bytes: response.into_bytes().await.unwrap_or_default(),
    }
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("a valid gzip stream");
    text
}

both_backends! {
    async fn pages_stylesheets_json_and_exports_are_gzipped_when_the_client_accepts_it(app) {
        let manager = app.staff("manager", "Gzip").await;
        for n in 0..30 {
            let r = app.post_json("/api/v1/people", &manager.token, serde_json::json!({
                "given_name": format!("Prénom{n}"), "family_name": format!("Nom{n}"),
            })).await;
            assert_eq!(r.status, Status::Created, "{}", r.body);
        }

        // A page: compressed, and the same page once decompressed.
        let zipped = fetch(&app, "/people", Some("gzip, deflate, br"), None, Some(&manager.session)).await;
        assert_eq!(zipped.status, Status::Ok);
        assert_eq!(zipped.encoding.as_deref(), Some("gzip"));
        assert!(zipped.vary.as_deref().is_some_and(|v| v.contains("Accept-Encoding")));
        let page = gunzip(&zipped.bytes);
        assert!(page.contains("<main id=\"contenu\"") && page.contains("Nom29"), "{page}");
        let plain = fetch(&app, "/people", None, None, Some(&manager.session)).await;
        assert_eq!(plain.encoding, None, "no Accept-Encoding, no gzip");
        assert!(zipped.bytes.len() * 3 < plain.bytes.len(), "{} vs {}", zipped.bytes.len(), plain.bytes.len());

        // The stylesheet: byte for byte the same once decompressed.
        let css = fetch(&app, "/static/style.css", Some("gzip"), None, None).await;
        assert_eq!(css.encoding.as_deref(), Some("gzip"));
        let css_plain = fetch(&app, "/static/style.css", None, None, None).await;
        assert_eq!(gunzip(&css.bytes).as_bytes(), &css_plain.bytes[..]);

        // A refused coding, or one with q=0, is not used.
        for accept in ["gzip;q=0", "br", "identity"] {
            let r = fetch(&app, "/static/style.css", Some(accept), None, None).await;
            assert_eq!(r.encoding, None, "{accept}");
            assert_eq!(r.bytes, css_plain.bytes, "{accept}");
        }

        // JSON of the API and a streamed CSV export.
        let json = fetch(&app, "/api/v1/people?limit=100", Some("gzip"), Some(&manager.token), None).await;
        assert_eq!(json.encoding.as_deref(), Some("gzip"));
        let listed: serde_json::Value = serde_json::from_str(&gunzip(&json.bytes)).unwrap();
        assert_eq!(listed.as_array().map(Vec::len), Some(30), "{listed}");
        let csv = fetch(&app, "/exports/people.csv", Some("gzip"), Some(&manager.token), None).await;
        assert_eq!(csv.status, Status::Ok);
        assert_eq!(csv.encoding.as_deref(), Some("gzip"));
        let csv_plain = fetch(&app, "/exports/people.csv", None, Some(&manager.token), None).await;
        assert_eq!(gunzip(&csv.bytes).as_bytes(), &csv_plain.bytes[..]);
        assert_eq!(gunzip(&csv.bytes).lines().count(), 31);

        // Already compressed (XLSX is a zip) or too small to gain: sent as it is.
        let xlsx = fetch(&app, "/exports/people.xlsx", Some("gzip"), Some(&manager.token), None).await;
        assert_eq!(xlsx.status, Status::Ok);
        assert_eq!(xlsx.encoding, None);
        assert_eq!(&xlsx.bytes[..2], b"PK");
        let health = fetch(&app, "/health", Some("gzip"), None, None).await;
        assert_eq!(health.encoding, None);
    }
}

both_backends! {
    async fn the_menu_groups_its_items_and_marks_the_current_page(app) {
        let manager = app.staff("manager", "Menu").await;
        let mediator = app.staff("mediator", "Menu").await;
        let person = app.post_json("/api/v1/people", &manager.token, serde_json::json!({
            "given_name": "Lou", "family_name": "Menu",
        })).await.json()["id"].as_i64().unwrap();
        let marked = |page: &str| -> Vec<String> {
            let start = page.find("<nav aria-label=\"Navigation principale\"").expect("the menu");
            let body = &page[start..start + page[start..].find("</nav>").unwrap()];
            body.match_indices("aria-current=\"page\"")
                .map(|(i, _)| {
                    let start = body[..i].rfind("<a href=\"").unwrap() + 9;
                    body[start..].split('"').next().unwrap().to_string()
                })
                .collect()
        };
        let availability = format!("/users/{}/availability", manager.user.id);
        let person_page = format!("/people/{person}");
        for (path, item) in [
            ("/agenda", "/agenda"),
            ("/people", "/people"),
            (person_page.as_str(), "/people"),
            ("/reports", "/reports"),
            ("/referrals", "/referrals"),
            ("/users", "/users"),
            (availability.as_str(), availability.as_str()),
        ] {
            let page = app.page(path, &manager.session).await;
            assert_eq!(page.status, Status::Ok, "{path}");
            assert_eq!(marked(&page.body), vec![item.to_string()], "{path}: the one item marked");
        }
        let home = app.page("/", &manager.session).await;
        assert!(marked(&home.body).is_empty(), "the home page is no menu item");
        for group in ["Au quotidien", "Organisation", "Suivi", "Administration"] {
            assert!(home.body.contains(&format!(">{group}</p>")), "manager's menu: {group}");
        }
        assert!(home.body.contains("href=\"/referrals\""), "the referral inbox is in the menu");
        assert!(home.body.contains("rel=\"icon\" href=\"/favicon.svg\""));
        let mediators = app.page("/", &mediator.session).await;
        assert!(mediators.body.contains(">Au quotidien</p>"));
        assert!(!mediators.body.contains(">Administration</p>") && !mediators.body.contains("href=\"/reports\""));

        for path in ["/favicon.svg", "/favicon.ico"] {
            let icon = app.get(path, None).await;
            assert_eq!(icon.status, Status::Ok, "{path}");
            assert_eq!(icon.header("content-type"), Some("image/svg+xml"), "{path}");
            assert!(icon.body.starts_with("<svg"), "{path}");
        }
    }
}

both_backends! {
    async fn csrf_tokens_differ_on_every_page_and_each_is_accepted(app) {
        let manager = app.staff("manager", "Masque").await;
        let other = app.staff("manager", "Masque").await;
        let first = hidden_field(&app.page("/places", &manager.session).await.body, "csrf_token").unwrap();
        let second = hidden_field(&app.page("/places", &manager.session).await.body, "csrf_token").unwrap();
        assert_ne!(first, second, "a page never repeats the token's bytes (BREACH)");
        let others = hidden_field(&app.page("/places", &other.session).await.body, "csrf_token").unwrap();
        for (token, expected) in [(&first, Status::SeeOther), (&second, Status::SeeOther), (&others, Status::Forbidden)] {
            let r = app.post_form("/places", Some(&manager.session), &[
                ("csrf_token", token), ("name", "Médiathèque"), ("address", "1 rue de la Paix"),
                ("postal_code", "75001"), ("city", "Paris"), ("phone", ""), ("accessibility_notes", ""),
            ]).await;
            assert_eq!(r.status, expected, "{}", r.body);
        }
        let places = app.get("/api/v1/places", Some(&manager.token)).await.json();
        assert_eq!(places.as_array().map(Vec::len), Some(2), "{places}");
    }
}

/// `cargo run` on a fresh machine with another port than 8000 and no `public_url`: the link
/// printed to create the first account leads to this server.
#[rocket::async_test]
async fn the_setup_link_printed_at_first_start_names_the_port_it_listens_on() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stdout = dir.path().join("stdout.log");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("serve")
        .env(
            "ROCKET_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("p.db").display()),
        )
        .env("ROCKET_DATA_DIR", dir.path().join("data"))
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_WORKER", "false")
        .env_remove("ROCKET_PUBLIC_URL")
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the server");
    let link = rocket::tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let printed = std::fs::read_to_string(&stdout).unwrap_or_default();
            if let Some(line) = printed.lines().find(|l| l.contains("/setup/")) {
                return line.trim().to_string();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no setup link printed: {printed}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/setup/")),
        "the link names the port the server listens on: {link}"
    );
}
