//! Rescheduling from the personal link (`/r/{token}`): the next free slots of the same service,
//! mediator and place; a choice moves the appointment with the booking service's rules; every
//! refusal shows the page again in the person's language, and changes nothing.

use chrono::Duration;
use rocket::http::{ContentType, Cookie, Status};
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, setup, today, Setup};
use crate::harness::{unescape, Response, TestApp};

async fn person(app: &TestApp, s: &Setup, language: &str) -> i64 {
    let r = app
        .post_json(
            "/api/v1/people",
            &s.mediator.token,
            json!({"given_name": "Grace", "email": "grace@example.org",
            "reminder_consent": true, "language": language}),
        )
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()["id"].as_i64().unwrap()
}

async fn book(app: &TestApp, s: &Setup, service: i64, start: &str, people: &[i64]) -> Response {
    app.post_json(
        "/api/v1/appointments",
        &s.mediator.token,
        json!({"service_id": service, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
               "starts_at": start, "person_ids": people}),
    )
    .await
}

/// The values of the page's slot buttons, in order.
fn slot_values(page: &str) -> Vec<String> {
    page.split(r#"name="starts_at" value=""#)
        .skip(1)
        .map(|rest| unescape(rest.split('"').next().unwrap()))
        .collect()
}

/// Posts the page's reschedule form with `starts_at` (the page's cookie and token).
async fn choose(
    app: &TestApp,
    link: &str,
    page: &Response,
    starts_at: &str,
    lang: &str,
) -> Response {
    let csrf = page
        .cookie(passerelle::auth::PRE_SESSION_CSRF_COOKIE)
        .expect("the page sets the form's cookie");
    let body = format!(
        "csrf_token={}&lang={lang}&starts_at={}",
        crate::harness::urlencode(&csrf),
        crate::harness::urlencode(starts_at)
    );
    let response = app
        .client
        .post(format!("/r/{link}/reschedule"))
        .header(ContentType::Form)
        .cookie(Cookie::new(passerelle::auth::PRE_SESSION_CSRF_COOKIE, csrf))
        .body(body)
        .dispatch()
        .await;
    crate::harness::collect(response).await
}

async fn appointment(app: &TestApp, s: &Setup, id: i64) -> Value {
    app.get(
        &format!("/api/v1/appointments/{id}"),
        Some(&s.mediator.token),
    )
    .await
    .json()
}

async fn reschedule_messages(app: &TestApp, s: &Setup) -> usize {
    crate::fixtures::messages(app, &s.manager.token, "")
        .await
        .iter()
        .filter(|m| m["kind"] == "reschedule")
        .count()
}

both_backends! {
    async fn the_person_moves_the_appointment_to_a_free_slot_from_the_link(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = person(&app, &s, "fr").await;
        let day = today() + Duration::days(3);
        let r = book(&app, &s, s.service_id, &at(day, "10:00"), &[p]).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();
        let link = app.beneficiary_link(id as i32, p as i32).await;
        let page = app.get(&format!("/r/{link}"), None).await;
        assert_eq!(page.status, Status::Ok);
        assert!(page.body.contains("Changer de rendez-vous"), "{}", page.body);
        assert!(page.body.len() < 30 * 1024, "{} bytes", page.body.len());
        // The motif and what to bring, as the confirmation email says them.
        let text = unescape(&page.body);
        assert!(text.contains("Motif :</strong> Accompagnement individuel"), "{text}");
        assert!(text.contains("À apporter :</strong> votre téléphone"), "{text}");
        let service_id = s.service_id as i32;
        app.db().run(move |conn| {
            use diesel::prelude::*;
            use passerelle::db::schema::services;
            diesel::update(services::table.find(service_id))
                .set(services::what_to_bring.eq("Votre carte Vitale et un justificatif de domicile"))
                .execute(conn)?;
            Ok(())
        }).await.unwrap();
        let text = unescape(&app.get(&format!("/r/{link}"), None).await.body);
        assert!(text.contains("À apporter :</strong> Votre carte Vitale et un justificatif de domicile"), "{text}");
        assert!(!page.body.contains("<script"));
        // The booking service's free slots of the same mediator and place, next ones first,
        // never the appointment's own time.
        let offered = slot_values(&page.body);
        assert_eq!(offered.len(), passerelle::reschedule::OFFERED, "{}", page.body);
        let slots = app
            .get(&format!("/api/v1/slots?service_id={}&from={}&to={}&mediator_id={}&place_id={}",
                s.service_id, today(), today() + Duration::days(27), s.mediator.user.id, s.place_id), Some(&s.mediator.token))
            .await
            .json();
        let api: Vec<String> = slots.as_array().unwrap().iter().map(|s| s["starts_at"].as_str().unwrap().to_string()).collect();
        assert_eq!(offered[..], api[..passerelle::reschedule::OFFERED], "the same slots as the booking service's");
        assert!(!offered.contains(&at(day, "10:00")));
        let chosen = offered[3].clone();

        let answer = choose(&app, &link, &page, &chosen, "fr").await;
        assert_eq!(answer.status, Status::SeeOther, "{}", answer.body);
        let location = answer.header("Location").unwrap().to_string();
        assert_eq!(location, format!("/r/{link}?moved=1&lang=fr"));
        let moved = appointment(&app, &s, id).await;
        assert_eq!(moved["starts_at"], chosen);
        // The new time goes out on the person's channels, and the audit names no one.
        assert_eq!(reschedule_messages(&app, &s).await, 1);
        let audit = app.get(&format!("/api/v1/audit?entity=appointment&entity_id={id}"), Some(&app.staff("admin", "Département").await.token)).await.json();
        let entry = audit.as_array().unwrap().iter().find(|a| a["action"] == "reschedule").expect("audited");
        assert_eq!(entry["actor_id"], Value::Null);
        let after = app.get(&location, None).await;
        assert!(after.body.contains("votre rendez-vous est déplacé"), "{}", after.body);
        let words = passerelle::i18n::when("fr", &chrono_tz::Europe::Paris,
            chrono::DateTime::parse_from_rfc3339(&chosen).unwrap().naive_utc());
        assert!(after.body.contains(&words), "{words}");
        // The same choice sent again changes nothing more.
        let again = choose(&app, &link, &after, &chosen, "fr").await;
        assert_eq!(again.status, Status::SeeOther);
        assert_eq!(reschedule_messages(&app, &s).await, 1);
        // Nothing chosen: the page again.
        let nothing = choose(&app, &link, &after, "", "fr").await;
        assert_eq!(nothing.status, Status::SeeOther);
        assert_eq!(nothing.header("Location").unwrap(), format!("/r/{link}?lang=fr"));
    }
}

both_backends! {
    async fn a_slot_taken_meanwhile_or_never_offered_is_refused_in_the_persons_language_and_nothing_changes(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = person(&app, &s, "en").await;
        let day = today() + Duration::days(3);
        let id = book(&app, &s, s.service_id, &at(day, "10:00"), &[p]).await.json()["id"].as_i64().unwrap();
        let link = app.beneficiary_link(id as i32, p as i32).await;
        let page = app.get(&format!("/r/{link}"), None).await;
        assert!(page.body.contains("Change the appointment") && page.body.contains(r#"<html lang="en" dir="ltr">"#), "{}", page.body);
        let offered = slot_values(&page.body);
        let wanted = offered[1].clone();
        // Staff book someone else on that slot between the page and the choice.
        let other = app.post_json("/api/v1/people", &s.mediator.token, json!({"given_name": "Malik"})).await.json()["id"].as_i64().unwrap();
        let taken = book(&app, &s, s.service_id, &wanted, &[other]).await;
        assert_eq!(taken.status, Status::Created, "{}", taken.body);
        let before = appointment(&app, &s, id).await;
        let answer = choose(&app, &link, &page, &wanted, "en").await;
        assert_eq!(answer.status, Status::Conflict);
        let body = unescape(&answer.body);
        assert!(body.contains("This time is not free, or no longer"), "{body}");
        assert!(body.contains(r#"<html lang="en" dir="ltr">"#));
        assert!(!slot_values(&answer.body).contains(&wanted), "the page shows the slots as they are now");
        assert_eq!(appointment(&app, &s, id).await, before);
        assert_eq!(reschedule_messages(&app, &s).await, 0);

        // A time that was never a slot: in the night, or off the grid.
        for never in [at(day + Duration::days(1), "03:00"), at(day + Duration::days(1), "14:07")] {
            let answer = choose(&app, &link, &page, &never, "en").await;
            assert_eq!(answer.status, Status::Conflict, "{never}");
            assert!(unescape(&answer.body).contains("This time is not free"));
        }
        // Too soon for the service's notice (an hour), or not a time at all.
        let soon = chrono::Utc::now() + Duration::minutes(20);
        let soon = soon.with_timezone(&chrono_tz::Europe::Paris).format("%Y-%m-%dT%H:%M:00%:z").to_string();
        let answer = choose(&app, &link, &page, &soon, "en").await;
        assert_eq!(answer.status, Status::Conflict);
        assert!(answer.body.contains("This time is too soon"), "{}", answer.body);
        let answer = choose(&app, &link, &page, "tomorrow", "en").await;
        assert_eq!(answer.status, Status::UnprocessableEntity);
        assert!(answer.body.contains("Choose a time from the list below."));
        assert_eq!(appointment(&app, &s, id).await, before);
        assert_eq!(reschedule_messages(&app, &s).await, 0);

        // In Arabic, right to left.
        let answer = choose(&app, &link, &page, &wanted, "ar").await;
        assert!(answer.body.contains(r#"<html lang="ar" dir="rtl">"#) && answer.body.contains("هذا الوقت غير متاح"));
        // No form token: refused before anything.
        let forged = app.client.post(format!("/r/{link}/reschedule")).header(ContentType::Form)
            .body(format!("starts_at={}", crate::harness::urlencode(&offered[2]))).dispatch().await;
        assert_eq!(forged.status(), Status::Forbidden);
        assert_eq!(appointment(&app, &s, id).await, before);
    }
}

both_backends! {
    async fn a_link_that_no_longer_works_or_a_workshop_is_not_moved(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = person(&app, &s, "en").await;
        let day = today() + Duration::days(3);
        let id = book(&app, &s, s.service_id, &at(day, "10:00"), &[p]).await.json()["id"].as_i64().unwrap();
        let link = app.beneficiary_link(id as i32, p as i32).await;
        let page = app.get(&format!("/r/{link}"), None).await;
        let offered = slot_values(&page.body);
        // Cancelled by the structure after the page was shown.
        let r = app.post_json(&format!("/api/v1/appointments/{id}/cancel"), &s.mediator.token, json!({"by": "structure"})).await;
        assert_eq!(r.status, Status::Ok);
        let answer = choose(&app, &link, &page, &offered[0], "en").await;
        assert_eq!(answer.status, Status::Forbidden);
        assert!(unescape(&answer.body).contains("This appointment cannot be moved from this link"), "{}", answer.body);
        assert!(!answer.body.contains("name=\"starts_at\""));
        assert_eq!(appointment(&app, &s, id).await["status"], "cancelled");
        // A link that is not one: said in the page's language.
        let answer = choose(&app, "abc.def", &page, &offered[0], "en").await;
        assert_eq!(answer.status, Status::NotFound);
        assert!(answer.body.contains("This link does not work"), "{}", answer.body);

        // A workshop is not moved by one of its participants.
        let ws = book(&app, &s, s.workshop_id, &at(day + Duration::days(1), "14:00"), &[p]).await;
        assert_eq!(ws.status, Status::Created, "{}", ws.body);
        let ws = ws.json()["id"].as_i64().unwrap();
        let link = app.beneficiary_link(ws as i32, p as i32).await;
        let page = app.get(&format!("/r/{link}"), None).await;
        assert!(!page.body.contains("Change the appointment") && slot_values(&page.body).is_empty());
        let answer = choose(&app, &link, &page, &at(day + Duration::days(2), "14:00"), "en").await;
        assert_eq!(answer.status, Status::Forbidden);
        assert_eq!(appointment(&app, &s, ws).await["starts_at"], at(day + Duration::days(1), "14:00"));

        // A service may keep its appointments where they are (`self_reschedule: false`); a
        // workshop cannot allow it.
        let fixed = app.post_json("/api/v1/services", &s.manager.token, json!({"name": "Rendez-vous CAF", "kind": "individual",
            "duration_minutes": 30, "self_reschedule": false})).await;
        assert_eq!(fixed.status, Status::Created, "{}", fixed.body);
        assert_eq!(fixed.json()["self_reschedule"], false);
        let services = app.get("/api/v1/services", Some(&s.manager.token)).await.json();
        let by_id = |id: i64| services.as_array().unwrap().iter().find(|x| x["id"] == id).unwrap()["self_reschedule"].clone();
        assert_eq!((by_id(s.service_id), by_id(s.workshop_id)), (json!(true), json!(false)));
        let refused = app.post_json("/api/v1/services", &s.manager.token, json!({"name": "Atelier", "kind": "workshop",
            "duration_minutes": 30, "self_reschedule": true})).await;
        assert_eq!(refused.status, Status::UnprocessableEntity);
        assert!(refused.json()["errors"]["self_reschedule"].is_array(), "{}", refused.body);
        let fixed = fixed.json()["id"].as_i64().unwrap();
        let id = book(&app, &s, fixed, &at(day + Duration::days(2), "10:00"), &[p]).await.json()["id"].as_i64().unwrap();
        let link = app.beneficiary_link(id as i32, p as i32).await;
        let page = app.get(&format!("/r/{link}"), None).await;
        assert!(page.body.contains("I confirm I am coming") && !page.body.contains("Change the appointment"), "{}", page.body);
        let answer = choose(&app, &link, &page, &at(day + Duration::days(2), "11:00"), "en").await;
        assert_eq!(answer.status, Status::Forbidden);
        assert_eq!(appointment(&app, &s, id).await["starts_at"], at(day + Duration::days(2), "10:00"));
    }
}

both_backends! {
    async fn choices_from_one_address_are_throttled(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = person(&app, &s, "fr").await;
        let day = today() + Duration::days(3);
        let id = book(&app, &s, s.service_id, &at(day, "10:00"), &[p]).await.json()["id"].as_i64().unwrap();
        let link = app.beneficiary_link(id as i32, p as i32).await;
        let page = app.get(&format!("/r/{link}"), None).await;
        let never = at(day + Duration::days(1), "03:00");
        for _ in 0..passerelle::reschedule::throttle::ATTEMPTS {
            assert_eq!(choose(&app, &link, &page, &never, "fr").await.status, Status::Conflict);
        }
        let offered = slot_values(&page.body);
        let answer = choose(&app, &link, &page, &offered[0], "fr").await;
        assert_eq!(answer.status, Status::TooManyRequests);
        assert!(unescape(&answer.body).contains("Trop d'essais depuis cet appareil"), "{}", answer.body);
        assert_eq!(appointment(&app, &s, id).await["starts_at"], at(day, "10:00"));
    }
}
