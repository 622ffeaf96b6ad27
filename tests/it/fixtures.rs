//! Shared builders of the integration tests: a structure ready to book (`setup`), people,
//! bookings, walk-ins and session logs, Paris times, the outbox as the API lists it. Test files
//! import what they need from here rather than from each other; each builder goes through the
//! public API (or the app's own service) and asserts it was created, so a test reads as a story.

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Europe::Paris;
use rocket::http::Status;
use serde_json::{json, Value};

use crate::harness::{Response, Staff, TestApp};

/// What [`setup`] created: two staff members of one organisation, a place and two services.
pub struct Setup {
    pub manager: Staff,
    pub mediator: Staff,
    pub place_id: i64,
    pub service_id: i64,
    pub workshop_id: i64,
}

/// A place, an individual service (60 min + 15 min pause, 60 min notice), a workshop service,
/// and a mediator open every day 08:00–20:00 there.
pub async fn setup(app: &TestApp, organisation: &str) -> Setup {
    let manager = app.staff("manager", organisation).await;
    let mediator = app.staff("mediator", organisation).await;
    let place = app
        .post_json("/api/v1/places", &manager.token, json!({"name": "Médiathèque Jean Macé", "address": "2 rue de la Gare", "postal_code": "59100", "city": "Roubaix", "phone": "03 20 00 00 00"}))
        .await;
    assert_eq!(place.status, Status::Created);
    let place_id = place.json()["id"].as_i64().unwrap();
    let service = app
        .post_json("/api/v1/services", &manager.token, json!({"name": "Accompagnement individuel", "kind": "individual", "duration_minutes": 60, "buffer_minutes": 15, "min_notice_minutes": 60, "horizon_days": 730}))
        .await;
    assert_eq!(service.status, Status::Created, "{}", service.body);
    let workshop = app
        .post_json("/api/v1/services", &manager.token, json!({"name": "Atelier smartphone", "kind": "workshop", "duration_minutes": 120, "capacity": 10, "horizon_days": 730}))
        .await;
    for weekday in 1..=7 {
        let r = app
            .post_json(
                &format!("/api/v1/users/{}/opening-hours", mediator.user.id),
                &mediator.token,
                json!({"place_id": place_id, "weekday": weekday, "start": "08:00", "end": "20:00"}),
            )
            .await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
    }
    Setup {
        manager,
        mediator,
        place_id,
        service_id: service.json()["id"].as_i64().unwrap(),
        workshop_id: workshop.json()["id"].as_i64().unwrap(),
    }
}

/// Today's date in Paris (the programmes' time zone), whatever the machine's zone.
pub fn today() -> NaiveDate {
    Paris
        .from_utc_datetime(&chrono::Utc::now().naive_utc())
        .date_naive()
}

/// A local time in Paris, RFC 3339.
pub fn at(day: NaiveDate, hh_mm: &str) -> String {
    let time = NaiveTime::parse_from_str(hh_mm, "%H:%M").unwrap();
    Paris
        .from_local_datetime(&day.and_time(time))
        .earliest()
        .unwrap()
        .to_rfc3339()
}

/// Books the individual service of `s` with its mediator at its place, starting at `start`
/// (RFC 3339) for these people, as the holder of `token`; the answer is returned unchecked.
pub async fn book(app: &TestApp, s: &Setup, token: &str, start: &str, people: &[i64]) -> Response {
    app.post_json(
        "/api/v1/appointments",
        token,
        json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": start, "person_ids": people,
        }),
    )
    .await
}

/// A drop-in session `days_ago` days ago at 10:00 (the service's length), with these people.
pub async fn walk_in(app: &TestApp, s: &Setup, people: &[i64], days_ago: i64, notes: &str) -> i64 {
    let r = app
        .post_json(
            "/api/v1/appointments",
            &s.mediator.token,
            json!({
                "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
                "starts_at": at(today() - Duration::days(days_ago), "10:00"), "person_ids": people,
                "walk_in": true, "notes": notes,
            }),
        )
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()["id"].as_i64().unwrap()
}

/// A person named `name` Test (no contact details), created by the holder of `token`: their id.
pub async fn person(app: &TestApp, token: &str, name: &str) -> i64 {
    let r = app
        .post_json(
            "/api/v1/people",
            token,
            json!({"given_name": name, "family_name": "Test"}),
        )
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()["id"].as_i64().unwrap()
}

/// A person with exactly the fields of `body`, created by the holder of `token`: their id.
pub async fn person_with(app: &TestApp, token: &str, body: Value) -> i64 {
    person_json(app, token, body).await["id"].as_i64().unwrap()
}

/// A person with exactly the fields of `body`, created by the holder of `token`: the record as
/// the API answered it.
pub async fn person_json(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post_json("/api/v1/people", token, body).await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()
}

/// A person who agreed to reminders, with this email and the phone `06 01 02 03 04`, family
/// name Martin: their id.
pub async fn reachable_person(app: &TestApp, token: &str, given: &str, email: &str) -> i64 {
    let r = app
        .post_json("/api/v1/people", token, json!({"given_name": given, "family_name": "Martin", "email": email, "reminder_consent": true, "phone": "06 01 02 03 04"}))
        .await;
    assert_eq!(r.status, Status::Created);
    r.json()["id"].as_i64().unwrap()
}

/// The session log of appointment `id` (attendance, topics, skills of each participant),
/// written by the holder of `token`.
pub async fn log_session(app: &TestApp, token: &str, id: i64, participants: Value) {
    let r = app
        .post_json(
            &format!("/api/v1/appointments/{id}/log"),
            token,
            json!({ "participants": participants }),
        )
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
}

/// A smartphone in stock (Galaxy A14, serial R58T-1, with an IMEI): its id.
pub async fn smartphone(app: &TestApp, token: &str) -> i64 {
    let item = app
        .post_json(
            "/api/v1/equipment",
            token,
            json!({"kind": "smartphone", "model": "Galaxy A14", "serial": "R58T-1", "imei": "352099001761481"}),
        )
        .await;
    assert_eq!(item.status, Status::Created, "{}", item.body);
    item.json()["id"].as_i64().unwrap()
}

/// The outbox as `GET /api/v1/messages{query}` lists it to the holder of `token`. The app
/// counts every listed message as looked at (see [`TestApp::check_messages_read`]).
pub async fn messages(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/messages{query}"), Some(token))
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let listed = r.json().as_array().unwrap().clone();
    app.saw_messages(listed.iter().map(|m| m["id"].as_i64().unwrap() as i32));
    listed
}

/// A free TCP port on loopback (free when asked; a test binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
