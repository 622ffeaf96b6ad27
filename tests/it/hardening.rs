//! Fixes from review, each with the test that would have caught it.

use crate::smtp_sink::SmtpSink;
use chrono::Duration;
use diesel::prelude::*;
use rocket::http::Status;
use serde_json::json;

use crate::both_backends;
use crate::fixtures::{at, person, setup, today};
use crate::harness::{Backend, TestApp};

both_backends! {
    async fn a_mediator_cannot_force_a_colleagues_appointment_outside_hours_by_moving_it(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let colleague = app.staff("mediator", "Emmaüs Connect").await;
        let p = person(&app, &s.mediator.token, "Omar").await;
        let day = today() + Duration::days(3);
        let a = crate::fixtures::book(&app, &s, &s.mediator.token, &at(day, "10:00"), &[p]).await.json();
        let moved = app.post_json(&format!("/api/v1/appointments/{}/reschedule", a["id"]), &colleague.token,
            json!({"starts_at": at(day, "22:00"), "override_opening_hours": true})).await;
        assert_eq!(moved.status, Status::Forbidden);
        let own = app.post_json(&format!("/api/v1/appointments/{}/reschedule", a["id"]), &s.mediator.token,
            json!({"starts_at": at(day, "22:00"), "override_opening_hours": true})).await;
        assert_eq!(own.status, Status::Ok);
    }
}

both_backends! {
    async fn absurd_dates_are_422_not_500(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        for query in [
            format!("/api/v1/slots?service_id={}&from=%2B262142-12-31&to=%2B262142-12-31", s.service_id),
            "/api/v1/appointments?from=-262143-01-01".to_string(),
            "/api/v1/appointments?to=99999-01-01T00:00:00Z".to_string(),
        ] {
            let r = app.get(&query, Some(&s.mediator.token)).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{query}: {}", r.body);
        }
        // An unreadable date is refused by name, not replaced by today (API.md, strictness).
        let page = app.page("/agenda?date=%2B262142-12-31&view=week", &s.mediator.session).await;
        assert_eq!(page.status, Status::UnprocessableEntity);
        assert!(crate::harness::unescape(&page.body).contains("date :"), "{}", page.body);
    }
}

both_backends! {
    async fn the_pre_session_cookie_token_does_not_pass_for_a_signed_in_form(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        let forged = app.client.post("/people")
            .header(rocket::http::ContentType::Form)
            .cookie(rocket::http::Cookie::new(passerelle::auth::SESSION_COOKIE, staff.session.clone()))
            .cookie(rocket::http::Cookie::new(passerelle::auth::PRE_SESSION_CSRF_COOKIE, "planted"))
            .body("csrf_token=planted&given_name=Eve")
            .dispatch()
            .await;
        assert_eq!(forged.status(), Status::Forbidden);
    }
}

async fn smtp_app(backend: Backend) -> Option<(TestApp, SmtpSink)> {
    let sink = SmtpSink::start().unwrap();
    let url = sink.url();
    let app = TestApp::with(
        backend,
        &[
            ("mail_transport", "smtp"),
            ("smtp_url", url.as_str()),
            ("worker_lease", "1s"),
        ],
    )
    .await?;
    Some((app, sink))
}

async fn stale_claims_are_dropped_and_erasure_forgets_addresses(app: TestApp, sink: SmtpSink) {
    let s = setup(&app, "Emmaüs Connect").await;
    let r = app
        .post_json(
            "/api/v1/people",
            &s.mediator.token,
            json!({"given_name": "Paul", "email": "paul@example.org", "reminder_consent": true}),
        )
        .await;
    let p = r.json()["id"].as_i64().unwrap();
    let a = crate::fixtures::book(
        &app,
        &s,
        &s.mediator.token,
        &at(today() + Duration::days(3), "10:00"),
        &[p],
    )
    .await
    .json();
    // A worker claims the confirmation and dies; meanwhile the appointment is cancelled.
    app.db()
        .run(|conn| {
            passerelle::outbox::claim(conn, "dead-worker", 10, std::time::Duration::from_secs(1))
        })
        .await
        .unwrap();
    app.post_json(
        &format!("/api/v1/appointments/{}/cancel", a["id"]),
        &s.mediator.token,
        json!({"by": "structure"}),
    )
    .await;
    rocket::tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    app.run_worker().await;
    let subjects: Vec<String> = sink
        .received()
        .iter()
        .map(|r| {
            String::from_utf8_lossy(&r.data)
                .lines()
                .find(|l| l.starts_with("Subject:"))
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        subjects.len(),
        1,
        "only the cancellation, not the stale confirmation: {subjects:?}"
    );

    // Erasure cancels what was still to send and forgets the address.
    let b = crate::fixtures::book(
        &app,
        &s,
        &s.mediator.token,
        &at(today() + Duration::days(4), "10:00"),
        &[p],
    )
    .await;
    assert_eq!(b.status, Status::Created);
    assert_eq!(
        app.delete(&format!("/api/v1/people/{p}"), &s.manager.token)
            .await
            .status,
        Status::NoContent
    );
    let messages = app
        .get("/api/v1/messages", Some(&s.manager.token))
        .await
        .json();
    assert!(
        messages
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["recipient"] == "" && m["status"] != "pending"),
        "{messages}"
    );
    let before = sink.count();
    app.run_worker().await;
    assert_eq!(sink.count(), before);
}

#[rocket::async_test]
async fn stale_claims_are_dropped_and_erasure_forgets_addresses_sqlite() {
    let (app, sink) = smtp_app(Backend::Sqlite).await.unwrap();
    stale_claims_are_dropped_and_erasure_forgets_addresses(app, sink).await;
}

#[rocket::async_test]
async fn stale_claims_are_dropped_and_erasure_forgets_addresses_postgres() {
    if let Some((app, sink)) = smtp_app(Backend::Postgres).await {
        stale_claims_are_dropped_and_erasure_forgets_addresses(app, sink).await;
    }
}

/// The headers every answer carries, whatever its kind.
fn assert_security_headers(what: &str, r: &crate::harness::Response) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: CSP without {directive}: {csp}"
        );
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'),
        "{what}: {csp}"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    assert!(
        matches!(
            r.header("referrer-policy"),
            Some("same-origin" | "no-referrer" | "strict-origin-when-cross-origin")
        ),
        "{what}: referrer policy {:?}",
        r.header("referrer-policy")
    );
}

/// Set-Cookie lines of an answer for `name`.
fn set_cookie<'a>(r: &'a crate::harness::Response, name: &str) -> &'a str {
    r.headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.starts_with(&format!("{name}=")))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} cookie set"))
}

async fn security_headers_and_cookie_flags(backend: Backend) {
    let Some(app) = TestApp::with(
        backend,
        &[
            ("public_url", "https://passerelle.example.org"),
            ("session_ttl", "8h"),
        ],
    )
    .await
    else {
        return;
    };
    let staff = app.staff("manager", "Emmaüs Connect").await;
    // Pages, the API, errors, redirects, static files: the same headers.
    let page = app.page("/people", &staff.session).await;
    assert_eq!(page.status, Status::Ok);
    assert_security_headers("page", &page);
    assert_eq!(
        page.header("cache-control"),
        Some("no-store"),
        "personal data is not cached"
    );
    let api = app.get("/api/v1/people", Some(&staff.token)).await;
    assert_security_headers("API", &api);
    assert_eq!(api.header("cache-control"), Some("no-store"));
    assert_security_headers("401", &app.get("/api/v1/people", None).await);
    assert_security_headers("404 page", &app.page("/nothing-here", &staff.session).await);
    assert_security_headers("redirect to login", &app.get("/people", None).await);
    assert_security_headers("stylesheet", &app.get("/static/style.css", None).await);
    let hsts = page.header("strict-transport-security").unwrap_or_default();
    assert!(
        hsts.contains("max-age=") && !hsts.contains("max-age=0"),
        "HTTPS deployment: HSTS, got {hsts:?}"
    );

    // Cookies: the pre-session CSRF cookie and the session cookie are HttpOnly, Secure behind
    // HTTPS, SameSite; the session lasts what `session_ttl` says, on the server too.
    let login = app.get("/login", None).await;
    let pre = set_cookie(&login, passerelle::auth::PRE_SESSION_CSRF_COOKIE);
    assert!(
        pre.contains("HttpOnly") && pre.contains("Secure") && pre.contains("SameSite=Strict"),
        "{pre}"
    );
    let csrf = login
        .cookie(passerelle::auth::PRE_SESSION_CSRF_COOKIE)
        .unwrap();
    let signed_in = crate::harness::collect(
        app.client
            .post("/login")
            .header(rocket::http::ContentType::Form)
            .cookie(rocket::http::Cookie::new(
                passerelle::auth::PRE_SESSION_CSRF_COOKIE,
                csrf.clone(),
            ))
            .body(format!(
                "email={}&password={}&csrf_token={csrf}",
                crate::harness::urlencode(&staff.email),
                crate::harness::PASSWORD
            ))
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(signed_in.status, Status::SeeOther);
    let session = set_cookie(&signed_in, passerelle::auth::SESSION_COOKIE);
    for flag in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=28800",
    ] {
        assert!(
            session.contains(flag),
            "session cookie without {flag}: {session}"
        );
    }
    // The session's lifetime is kept on the server: an old session is refused even if the
    // browser still sends the cookie.
    let id = staff.user.id;
    app.db()
        .run(move |conn| {
            use passerelle::db::schema::sessions;
            diesel::update(sessions::table.filter(sessions::user_id.eq(id)))
                .set(
                    sessions::expires_at
                        .eq(chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1)),
                )
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let expired = app.page("/people", &staff.session).await;
    assert_eq!(expired.status, Status::SeeOther);
    assert_eq!(expired.header("location"), Some("/login"));

    // Without HTTPS (a development machine) cookies cannot be Secure, and no HSTS is sent.
    let plain = TestApp::new(backend).await.unwrap();
    let login = plain.get("/login", None).await;
    assert!(!set_cookie(&login, passerelle::auth::PRE_SESSION_CSRF_COOKIE).contains("Secure"));
    assert!(login.header("strict-transport-security").is_none());
}

#[rocket::async_test]
async fn security_headers_and_cookie_flags_sqlite() {
    security_headers_and_cookie_flags(Backend::Sqlite).await;
}

#[rocket::async_test]
async fn security_headers_and_cookie_flags_postgres() {
    security_headers_and_cookie_flags(Backend::Postgres).await;
}

both_backends! {
    async fn a_nul_character_is_refused_with_a_clear_message_on_both_backends(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        // JSON: 422 naming the field, wherever it is.
        let r = app.post_json("/api/v1/people", &s.mediator.token, json!({"given_name": "a\u{0}b"})).await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert!(r.json()["errors"]["given_name"][0].as_str().unwrap().contains("caractère nul"), "{}", r.body);
        let p = person(&app, &s.mediator.token, "Inès").await;
        let r = app.post_json(&format!("/api/v1/people/{p}/assessments"), &s.mediator.token,
            json!({"kind": "diagnostic", "skills": [{"skill_code": "A\u{0}", "level": 1}]})).await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
        assert!(r.json()["errors"]["skills[0].skill_code"].is_array(), "{}", r.body);
        // A form: refused the same way, nothing stored.
        let page = app.post_form("/people", Some(&s.mediator.session),
            &[("csrf_token", &s.mediator.csrf), ("given_name", "Zoé\u{0}")]).await;
        assert_eq!(page.status, Status::UnprocessableEntity);
        assert!(crate::harness::unescape(&page.body).contains("caractère nul"));
        let people = app.get("/api/v1/people", Some(&s.mediator.token)).await.json();
        assert_eq!(people.as_array().unwrap().len(), 1, "only Inès");
        // A search: never a 500 (PostgreSQL cannot even compare such a text).
        let r = app.get("/api/v1/people?q=a%00b", Some(&s.mediator.token)).await;
        assert!(matches!(r.status.code, 200 | 400), "{} {}", r.status, r.body);
        assert_eq!(r.header("content-type").map(|c| c.contains("json")), Some(true));
    }
}
