//! Accounts: tokens, sessions, throttling, first-admin setup, the command line, roles.

use rocket::http::Status;
use serde_json::json;

use crate::both_backends;
use crate::harness::{hidden_field, TestApp, PASSWORD};

both_backends! {
    async fn api_tokens_authenticate_and_bad_credentials_are_401(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        let me = app.get("/api/v1/people", Some(&staff.token)).await;
        assert_eq!(me.status, Status::Ok);

        let wrong = app
            .send_json("POST", "/api/v1/tokens", None, &json!({"email": staff.email, "password": "nope-nope-nope"}).to_string())
            .await;
        assert_eq!(wrong.status, Status::Unauthorized);
        assert_eq!(wrong.header("content-type"), Some("application/problem+json"));

        let unknown = app
            .send_json("POST", "/api/v1/tokens", None, &json!({"email": "nobody@example.org", "password": PASSWORD}).to_string())
            .await;
        assert_eq!(unknown.status, Status::Unauthorized);

        let forged = app.get("/api/v1/people", Some("forged-token")).await;
        assert_eq!(forged.status, Status::Unauthorized);

        // The JSON API never accepts the browser cookie alone.
        let request = app
            .client
            .get("/api/v1/people")
            .cookie(rocket::http::Cookie::new(passerelle::auth::SESSION_COOKIE, staff.session.clone()));
        assert_eq!(request.dispatch().await.status(), Status::Unauthorized);
    }
}

both_backends! {
    async fn revoked_tokens_stop_working(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        let revoke = app.delete("/api/v1/tokens/current", &staff.token).await;
        assert_eq!(revoke.status, Status::NoContent);
        assert_eq!(app.get("/api/v1/people", Some(&staff.token)).await.status, Status::Unauthorized);
    }
}

both_backends! {
    async fn tokens_and_sessions_expire(
        app: TestApp = |backend| TestApp::with(backend, &[("token_ttl", "3s"), ("session_ttl", "3s")])
    ) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        assert_eq!(
            app.get("/api/v1/people", Some(&staff.token)).await.status,
            Status::Ok
        );
        rocket::tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
        let expired = app.get("/api/v1/people", Some(&staff.token)).await;
        assert_eq!(expired.status, Status::Unauthorized);
        assert!(expired.json()["detail"]
            .as_str()
            .unwrap()
            .contains("expiré"));
        // The browser session expired too: back to the login page.
        let page = app.page("/people", &staff.session).await;
        assert_eq!(page.status, Status::SeeOther);
        assert_eq!(page.header("location"), Some("/login"));
    }
}

both_backends! {
    async fn repeated_failed_logins_are_throttled(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        for _ in 0..5 {
            let r = app
                .send_json("POST", "/api/v1/tokens", None, &json!({"email": staff.email, "password": "wrong-password"}).to_string())
                .await;
            assert_eq!(r.status, Status::Unauthorized);
        }
        // Even the right password is refused while the account is throttled.
        let r = app
            .send_json("POST", "/api/v1/tokens", None, &json!({"email": staff.email, "password": PASSWORD}).to_string())
            .await;
        assert_eq!(r.status, Status::TooManyRequests);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        // The browser form says so too.
        let login = app.get("/login", None).await;
        let csrf = login.cookie(passerelle::auth::PRE_SESSION_CSRF_COOKIE).unwrap();
        let form = app
            .client
            .post("/login")
            .header(rocket::http::ContentType::Form)
            .cookie(rocket::http::Cookie::new(passerelle::auth::PRE_SESSION_CSRF_COOKIE, csrf.clone()))
            .body(format!("email={}&password={PASSWORD}&csrf_token={csrf}", crate::harness::urlencode(&staff.email)))
            .dispatch()
            .await;
        assert_eq!(form.status(), Status::TooManyRequests);
        assert!(form.into_string().await.unwrap().contains("Trop de tentatives"));
    }
}

both_backends! {
    async fn browser_login_and_logout(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        let login = app.get("/login", None).await;
        assert_eq!(login.status, Status::Ok);
        let csrf = login.cookie(passerelle::auth::PRE_SESSION_CSRF_COOKIE).expect("csrf cookie");
        // The form carries the cookie's token masked (a new pad on every page, for BREACH).
        let shown = hidden_field(&login.body, "csrf_token").expect("the form's token");
        assert_ne!(shown, csrf, "never the token itself");
        assert!(passerelle::auth::csrf::matches(&shown, &csrf), "{shown} masks the cookie's token");
        let cookie = rocket::http::Cookie::new(passerelle::auth::PRE_SESSION_CSRF_COOKIE, csrf.clone());
        let post = |password: &'static str| {
            app.client
                .post("/login")
                .header(rocket::http::ContentType::Form)
                .cookie(cookie.clone())
                .body(format!("email={}&password={password}&csrf_token={csrf}", crate::harness::urlencode(&staff.email)))
        };
        let wrong = post("not-the-password").dispatch().await;
        assert_eq!(wrong.status(), Status::Unauthorized);
        assert!(wrong.into_string().await.unwrap().contains("incorrect"));

        let ok = post(PASSWORD).dispatch().await;
        assert_eq!(ok.status(), Status::SeeOther);
        let set_cookie = ok.headers().get("Set-Cookie").find(|c| c.starts_with("passerelle_session=")).unwrap().to_string();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
        let session = rocket::http::Cookie::parse(set_cookie).unwrap().value().to_string();
        let people = app.page("/people", &session).await;
        assert_eq!(people.status, Status::Ok);

        let csrf = app.csrf_of(&session).await;
        let logout = app.post_form("/logout", Some(&session), &[("csrf_token", &csrf)]).await;
        assert_eq!(logout.status, Status::SeeOther);
        let after = app.page("/people", &session).await;
        assert_eq!(after.status, Status::SeeOther, "the session is revoked on the server");
        assert_eq!(after.header("location"), Some("/login"));
    }
}

both_backends! {
    async fn login_form_without_its_csrf_cookie_is_refused(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        let response = app
            .post_form("/login", None, &[("email", &staff.email), ("password", PASSWORD), ("csrf_token", "made-up")])
            .await;
        assert_eq!(response.status, Status::Forbidden);
    }
}

both_backends! {
    async fn first_admin_setup_link_works_once(app) {
        let token = app
            .db()
            .run(|conn| passerelle::auth::service::setup_token_if_no_user(conn))
            .await
            .unwrap()
            .expect("a setup token when there is no account");
        assert_eq!(app.get("/setup/not-the-token", None).await.status, Status::NotFound);
        let page = app.get(&format!("/setup/{token}"), None).await;
        assert_eq!(page.status, Status::Ok);
        let csrf = page.cookie(passerelle::auth::PRE_SESSION_CSRF_COOKIE).unwrap();
        let submit = |password_confirmation: &str| {
            app.client
                .post(format!("/setup/{token}"))
                .header(rocket::http::ContentType::Form)
                .cookie(rocket::http::Cookie::new(passerelle::auth::PRE_SESSION_CSRF_COOKIE, csrf.clone()))
                .body(format!(
                    "csrf_token={csrf}&organisation=D%C3%A9partement&name=Camille&email=camille%40example.org&password={PASSWORD}&password_confirmation={password_confirmation}"
                ))
        };
        let mismatch = submit("autre-chose-encore").dispatch().await;
        assert_eq!(mismatch.status(), Status::UnprocessableEntity);
        assert!(mismatch.into_string().await.unwrap().contains("ne sont pas identiques"));
        let done = submit(PASSWORD).dispatch().await;
        assert_eq!(done.status(), Status::SeeOther);
        // The admin exists and can get a token; the link is spent.
        let token_answer = app
            .send_json("POST", "/api/v1/tokens", None, &json!({"email": "camille@example.org", "password": PASSWORD}).to_string())
            .await;
        assert_eq!(token_answer.status, Status::Created);
        let api = token_answer.json()["token"].as_str().unwrap().to_string();
        let orgs = app.get("/api/v1/organisations", Some(&api)).await;
        assert_eq!(orgs.json()[0]["name"], "Département");
        assert_eq!(app.get(&format!("/setup/{token}"), None).await.status, Status::NotFound);
        let none = app.db().run(|conn| passerelle::auth::service::setup_token_if_no_user(conn)).await.unwrap();
        assert!(none.is_none());
    }
}

both_backends! {
    async fn roles_limit_who_creates_accounts_and_organisations(app) {
        let admin = app.staff("admin", "Département").await;
        let manager = app.staff("manager", "Emmaüs Connect").await;
        let mediator = app.staff("mediator", "Emmaüs Connect").await;
        let other_manager = app.staff("manager", "Mission locale").await;

        let org = app.post_json("/api/v1/organisations", &admin.token, json!({"name": "Centre social"})).await;
        assert_eq!(org.status, Status::Created);
        let org_id = org.json()["id"].as_i64().unwrap();
        let again = app.post_json("/api/v1/organisations", &admin.token, json!({"name": "Centre social"})).await;
        assert_eq!(again.status, Status::Conflict);
        assert_eq!(again.json()["code"], "name_taken");
        assert_eq!(app.post_json("/api/v1/organisations", &manager.token, json!({"name": "X"})).await.status, Status::Forbidden);
        assert_eq!(app.get("/api/v1/organisations", Some(&mediator.token)).await.status, Status::Forbidden);

        let new_user = |email: &str, role: &str, organisation_id: i64| json!({
            "email": email, "name": "Sam", "role": role, "organisation_id": organisation_id, "password": PASSWORD
        });
        // A manager creates a mediator in their own organisation…
        let created = app
            .post_json("/api/v1/users", &manager.token, new_user("sam@example.org", "mediator", manager.user.organisation_id as i64))
            .await;
        assert_eq!(created.status, Status::Created, "{}", created.body);
        assert!(created.json().get("password_hash").is_none() && created.json().get("password").is_none());
        // …but no admin, and nobody in another organisation.
        assert_eq!(
            app.post_json("/api/v1/users", &manager.token, new_user("boss@example.org", "admin", manager.user.organisation_id as i64)).await.status,
            Status::Forbidden
        );
        assert_eq!(
            app.post_json("/api/v1/users", &manager.token, new_user("x@example.org", "mediator", org_id)).await.status,
            Status::Forbidden
        );
        assert_eq!(
            app.post_json("/api/v1/users", &mediator.token, new_user("y@example.org", "mediator", mediator.user.organisation_id as i64)).await.status,
            Status::Forbidden
        );
        let duplicate = app
            .post_json("/api/v1/users", &admin.token, new_user("sam@example.org", "mediator", org_id))
            .await;
        assert_eq!(duplicate.status, Status::Conflict);
        assert_eq!(duplicate.json()["code"], "email_taken");
        let short = app
            .post_json("/api/v1/users", &admin.token, json!({"email": "z@example.org", "name": "Z", "role": "chef", "organisation_id": org_id, "password": "court"}))
            .await;
        assert_eq!(short.status, Status::UnprocessableEntity);
        assert!(short.json()["errors"]["password"].is_array() && short.json()["errors"]["role"].is_array());

        // Each manager lists only their organisation's accounts; the admin lists everyone.
        let listed = app.get("/api/v1/users", Some(&other_manager.token)).await.json();
        let emails: Vec<&str> = listed.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert_eq!(emails, vec![other_manager.email.as_str()]);
        let all = app.get("/api/v1/users", Some(&admin.token)).await.json();
        assert_eq!(all.as_array().unwrap().len(), 5);
    }
}

both_backends! {
    async fn admins_read_the_audit_log_of_every_change(app) {
        let admin = app.staff("admin", "Département").await;
        let mediator = app.staff("mediator", "Emmaüs Connect").await;
        let person = app.post_json("/api/v1/people", &mediator.token, json!({"given_name": "Nadia"})).await.json();
        let id = person["id"].as_i64().unwrap();
        let patch = app.send_json("PATCH", &format!("/api/v1/people/{id}"), Some(&mediator.token), r#"{"city": "Lille"}"#).await;
        assert_eq!(patch.status, Status::Ok);
        let audit = app.get(&format!("/api/v1/audit?entity=person&entity_id={id}"), Some(&admin.token)).await;
        assert_eq!(audit.status, Status::Ok);
        let actions: Vec<String> = audit.json().as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
        assert_eq!(actions, vec!["update", "create"], "newest first");
        assert_eq!(audit.json()[0]["actor_id"], mediator.user.id);
        assert!(audit.json()[0]["at"].as_str().unwrap().contains('+'));
        assert_eq!(app.get("/api/v1/audit", Some(&mediator.token)).await.status, Status::Forbidden);

        // Append-only: the database itself refuses to change or delete an audit row.
        let mut conn = app.db().get().unwrap();
        use diesel::RunQueryDsl;
        assert!(diesel::sql_query("UPDATE audit_log SET action = 'x'").execute(&mut *conn).is_err());
        assert!(diesel::sql_query("DELETE FROM audit_log").execute(&mut *conn).is_err());
    }
}

/// `passerelle user add` creates the account (and its organisation) from the command line.
fn cli_user_add(app: &TestApp) {
    let binary = env!("CARGO_BIN_EXE_passerelle");
    let run = |password: &str, email: &str| {
        std::process::Command::new(binary)
            .args([
                "user",
                "add",
                "--email",
                email,
                "--name",
                "Léa Martin",
                "--role",
                "manager",
                "--organisation",
                "Mission locale",
            ])
            .env("ROCKET_DATABASE_URL", &app.database_url)
            .env("ROCKET_DATA_DIR", app.dir.path().join("cli-data"))
            .env("PASSERELLE_PASSWORD", password)
            .output()
            .unwrap()
    };
    let out = run(PASSWORD, "lea@example.org");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id: i32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("prints the user id");
    assert!(id > 0);
    let short = run("court", "leo@example.org");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("password"));
}

both_backends! {
    async fn command_line_user_add_then_token_then_person(app) {
        cli_user_add(&app);
        let token = app
            .send_json("POST", "/api/v1/tokens", None, &json!({"email": "lea@example.org", "password": PASSWORD}).to_string())
            .await;
        assert_eq!(token.status, Status::Created);
        let api = token.json()["token"].as_str().unwrap().to_string();
        let person = app.post_json("/api/v1/people", &api, json!({"given_name": "Yanis"})).await;
        assert_eq!(person.status, Status::Created);
    }
}
