//! Fixes from review, each with the test that would have caught it.

use chrono::Duration;
use passerelle::mail::sink::SmtpSink;
use rocket::http::Status;
use serde_json::json;

use crate::booking::{at, person, setup, today};
use crate::both_backends;
use crate::harness::{Backend, TestApp};

both_backends! {
    async fn a_mediator_cannot_force_a_colleagues_appointment_outside_hours_by_moving_it(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let colleague = app.staff("mediator", "Emmaüs Connect").await;
        let p = person(&app, &s.mediator.token, "Omar").await;
        let day = today() + Duration::days(3);
        let a = crate::booking::book(&app, &s, &s.mediator.token, &at(day, "10:00"), &[p]).await.json();
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
        let page = app.page("/agenda?date=%2B262142-12-31&view=week", &s.mediator.session).await;
        assert_eq!(page.status, Status::Ok, "an unreadable date shows today");
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
    let a = crate::booking::book(
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
            passerelle::mail::outbox::claim(
                conn,
                "dead-worker",
                10,
                std::time::Duration::from_secs(1),
            )
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
    let b = crate::booking::book(
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
