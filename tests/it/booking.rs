//! Booking: slots, the four conflicts, races, idempotency, workshops, pages, calendars.

use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use chrono_tz::Europe::Paris;
use rocket::http::{Header, Status};
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, book, person, setup, today, Setup};
use crate::harness::{unescape, Backend, TestApp};

fn starts(slots: &Value) -> Vec<String> {
    slots
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap().to_string())
        .collect()
}

/// The Monday of the week holding the 15th of `month` next year.
fn monday_in(month: u32) -> NaiveDate {
    let d = NaiveDate::from_ymd_opt(today().year() + 1, month, 15).unwrap();
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

both_backends! {
    async fn monday_nine_oclock_is_nine_local_in_winter_and_summer(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let other = app.staff("mediator", "Emmaüs Connect").await;
        let r = app.post_json(&format!("/api/v1/users/{}/opening-hours", other.user.id), &other.token,
            json!({"place_id": s.place_id, "weekday": 1, "start": "09:00", "end": "12:00"})).await;
        assert_eq!(r.status, Status::Created);
        for (monday, offset) in [(monday_in(1), "+01:00"), (monday_in(7), "+02:00")] {
            let slots = app.get(&format!("/api/v1/slots?service_id={}&from={monday}&to={monday}&mediator_id={}", s.service_id, other.user.id), Some(&other.token)).await;
            assert_eq!(slots.status, Status::Ok, "{}", slots.body);
            // 60 min + 15 min pause: 09:00, 10:15 (11:30 would end after 12:00).
            assert_eq!(starts(&slots.json()), vec![format!("{monday}T09:00:00{offset}"), format!("{monday}T10:15:00{offset}")]);
            // The Tuesday has no opening hours.
            let tuesday = monday + Duration::days(1);
            let none = app.get(&format!("/api/v1/slots?service_id={}&from={tuesday}&to={tuesday}&mediator_id={}", s.service_id, other.user.id), Some(&other.token)).await;
            assert!(none.json().as_array().unwrap().is_empty());
        }
    }
}

both_backends! {
    async fn slots_leave_out_appointments_buffers_absences_and_short_notice(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(10);
        let slots_of = |day: NaiveDate| format!("/api/v1/slots?service_id={}&from={day}&to={day}&mediator_id={}", s.service_id, s.mediator.user.id);
        let all = starts(&app.get(&slots_of(day), Some(&s.mediator.token)).await.json());
        assert_eq!(all.first(), Some(&at(day, "08:00")));
        assert!(all.contains(&at(day, "09:15")));
        // A booking at 09:15 (ends 10:15, pause until 10:30) removes 09:15 and shifts the next.
        let p = person(&app, &s.mediator.token, "Ali").await;
        assert_eq!(book(&app, &s, &s.mediator.token, &at(day, "09:15"), &[p]).await.status, Status::Created);
        let after = starts(&app.get(&slots_of(day), Some(&s.mediator.token)).await.json());
        assert!(after.contains(&at(day, "08:00")) && !after.contains(&at(day, "09:15")));
        assert!(after.contains(&at(day, "10:30")), "{after:?}");
        // An absence in the afternoon removes the afternoon.
        let absence = app.post_json(&format!("/api/v1/users/{}/absences", s.mediator.user.id), &s.mediator.token,
            json!({"starts_at": at(day, "13:00"), "ends_at": at(day, "20:00"), "reason": "formation"})).await;
        assert_eq!(absence.status, Status::Created);
        let morning = starts(&app.get(&slots_of(day), Some(&s.mediator.token)).await.json());
        assert!(morning.iter().all(|t| t < &at(day, "13:00")), "{morning:?}");
        // Today, nothing starts within the hour of notice.
        let now = chrono::Utc::now();
        let soon = starts(&app.get(&slots_of(today()), Some(&s.mediator.token)).await.json());
        assert!(soon.iter().all(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap() >= now + Duration::minutes(60)));
        // Bad input.
        let bad = app.get(&format!("/api/v1/slots?service_id={}&from=demain&to={day}", s.service_id), Some(&s.mediator.token)).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        assert!(bad.json()["errors"]["from"].is_array());
        let long = app.get(&format!("/api/v1/slots?service_id={}&from={day}&to={}", s.service_id, day + Duration::days(90)), Some(&s.mediator.token)).await;
        assert_eq!(long.status, Status::UnprocessableEntity);
    }
}

both_backends! {
    async fn each_conflict_is_a_409_with_its_code_and_a_french_message(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(5);
        let (a, b) = (person(&app, &s.mediator.token, "Hélène").await, person(&app, &s.mediator.token, "Karim").await);
        assert_eq!(book(&app, &s, &s.mediator.token, &at(day, "10:00"), &[a]).await.status, Status::Created);

        // The mediator is busy until 11:00 + 15 min pause.
        let busy = book(&app, &s, &s.mediator.token, &at(day, "11:00"), &[b]).await;
        assert_eq!(busy.status, Status::Conflict);
        assert_eq!(busy.json()["code"], "mediator_busy");
        assert!(busy.json()["detail"].as_str().unwrap().contains("a déjà un rendez-vous"));
        assert_eq!(book(&app, &s, &s.mediator.token, &at(day, "11:15"), &[b]).await.status, Status::Created);

        // The person is busy with another mediator at the same time.
        let colleague = app.staff("mediator", "Emmaüs Connect").await;
        app.post_json(&format!("/api/v1/users/{}/opening-hours", colleague.user.id), &colleague.token,
            json!({"place_id": s.place_id, "weekday": day.weekday().number_from_monday(), "start": "08:00", "end": "20:00"})).await;
        let other = app.post_json("/api/v1/appointments", &colleague.token, json!({
            "service_id": s.service_id, "mediator_id": colleague.user.id, "place_id": s.place_id,
            "starts_at": at(day, "10:30"), "person_ids": [a]})).await;
        assert_eq!(other.status, Status::Conflict);
        assert_eq!(other.json()["code"], "person_busy");
        assert!(other.json()["detail"].as_str().unwrap().starts_with("Hélène T."));

        // Outside opening hours, unless explicitly overridden.
        let late = book(&app, &s, &s.mediator.token, &at(day, "19:30"), &[b]).await;
        assert_eq!(late.status, Status::Conflict);
        assert_eq!(late.json()["code"], "outside_opening_hours");
        let forced = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(day, "19:30"), "person_ids": [b], "override_opening_hours": true})).await;
        assert_eq!(forced.status, Status::Created, "{}", forced.body);
        // Past local midnight (23:30 to 00:30): no opening hours cover it, refused in words,
        // and forced like any other (PostgreSQL answered 500 to both once, over a date it
        // cannot hold).
        let overnight = |force: bool| app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(day, "23:30"), "person_ids": [b], "override_opening_hours": force}));
        let refused = overnight(false).await;
        assert_eq!(refused.status, Status::Conflict, "{}", refused.body);
        assert_eq!(refused.json()["code"], "outside_opening_hours");
        let forced = overnight(true).await;
        assert_eq!(forced.status, Status::Created, "{}", forced.body);
        assert_eq!(forced.json()["ends_at"], at(day + Duration::days(1), "00:30"));

        // Too late: in the past, or within the minimum notice.
        let past = book(&app, &s, &s.mediator.token, &at(today() - Duration::days(1), "10:00"), &[b]).await;
        assert_eq!(past.json()["code"], "too_late");
        let now_local = Paris.from_utc_datetime(&(chrono::Utc::now().naive_utc() + Duration::minutes(20)));
        let short = book(&app, &s, &s.mediator.token, &now_local.to_rfc3339(), &[]).await;
        assert_eq!(short.status, Status::Conflict);
        assert_eq!(short.json()["code"], "too_late");

        // A walk-in skips opening hours and notice, not overlaps.
        let walk_in = |start: String, people: Vec<i64>| app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": start, "person_ids": people, "walk_in": true}));
        let yesterday_night = at(today() - Duration::days(1), "21:00");
        let ok = walk_in(yesterday_night.clone(), vec![b]).await;
        assert_eq!(ok.status, Status::Created, "{}", ok.body);
        assert_eq!(ok.json()["walk_in"], true);
        let twice = walk_in(yesterday_night, vec![a]).await;
        assert_eq!(twice.json()["code"], "mediator_busy");
        let future_walk_in = walk_in(at(day, "15:00"), vec![a]).await;
        assert_eq!(future_walk_in.status, Status::UnprocessableEntity);

        // Malformed times are validation errors.
        let bad = book(&app, &s, &s.mediator.token, "2026-12-03 14:30", &[a]).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        assert!(bad.json()["errors"]["starts_at"].is_array());
    }
}

async fn race_one_slot(app: &TestApp, second: Option<&TestApp>, s: &Setup) {
    let day = today() + Duration::days(3);
    let mut people = Vec::new();
    for i in 0..50 {
        people.push(person(app, &s.mediator.token, &format!("P{i}")).await);
    }
    let start = at(day, "14:00");
    let requests = people.iter().enumerate().map(|(i, p)| {
        let target = if i % 2 == 1 {
            second.unwrap_or(app)
        } else {
            app
        };
        let (start, p) = (start.clone(), *p);
        async move { book(target, s, &s.mediator.token, &start, &[p]).await }
    });
    let answers = futures::future::join_all(requests).await;
    let created = answers
        .iter()
        .filter(|r| r.status == Status::Created)
        .count();
    let busy = answers
        .iter()
        .filter(|r| r.status == Status::Conflict && r.json()["code"] == "mediator_busy")
        .count();
    assert_eq!(
        (created, busy),
        (1, 49),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let listed = app
        .get(
            &format!(
                "/api/v1/appointments?from={day}&to={}",
                day + Duration::days(1)
            ),
            Some(&s.mediator.token),
        )
        .await;
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
}

both_backends! {
    async fn fifty_simultaneous_bookings_of_one_slot_give_one_success(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        race_one_slot(&app, None, &s).await;
    }
}

async fn race_workshop(app: &TestApp, second: Option<&TestApp>, s: &Setup) {
    let day = today() + Duration::days(4);
    let workshop = app
        .post_json(
            "/api/v1/appointments",
            &s.mediator.token,
            json!({
        "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
        "starts_at": at(day, "14:00"), "title": "Découvrir son smartphone"}),
        )
        .await;
    assert_eq!(workshop.status, Status::Created, "{}", workshop.body);
    assert_eq!(workshop.json()["capacity"], 10);
    let id = workshop.json()["id"].as_i64().unwrap();
    let mut people = Vec::new();
    for i in 0..50 {
        people.push(person(app, &s.mediator.token, &format!("W{i}")).await);
    }
    let requests = people.iter().enumerate().map(|(i, p)| {
        let target = if i % 2 == 1 {
            second.unwrap_or(app)
        } else {
            app
        };
        let (path, p) = (format!("/api/v1/appointments/{id}/participants"), *p);
        async move {
            target
                .post_json(&path, &s.mediator.token, json!({"person_id": p}))
                .await
        }
    });
    let answers = futures::future::join_all(requests).await;
    assert!(
        answers.iter().all(|r| r.status == Status::Created),
        "{:?}",
        answers.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let count = |status: &str| {
        answers
            .iter()
            .filter(|r| r.json()["status"] == status)
            .count()
    };
    assert_eq!((count("booked"), count("waitlisted")), (10, 40));
    let stored = app
        .get(
            &format!("/api/v1/appointments/{id}"),
            Some(&s.mediator.token),
        )
        .await
        .json();
    let booked = stored["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "booked")
        .count();
    assert_eq!(booked, 10);
}

both_backends! {
    async fn fifty_simultaneous_enrolments_fill_ten_seats_and_waitlist_forty(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        race_workshop(&app, None, &s).await;
    }
}

/// The same races across two app instances on one PostgreSQL database.
#[rocket::async_test]
async fn races_across_two_instances_on_one_postgres() {
    let Some(app) = TestApp::new(Backend::Postgres).await else {
        return;
    };
    let second = app.another_instance().await;
    let s = setup(&app, "Emmaüs Connect").await;
    race_one_slot(&app, Some(&second), &s).await;
    race_workshop(&app, Some(&second), &s).await;
}

both_backends! {
    async fn a_retried_post_with_the_same_idempotency_key_books_once(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(6);
        let p = person(&app, &s.mediator.token, "Inès").await;
        let body = json!({"service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(day, "09:00"), "person_ids": [p]}).to_string();
        let send = |body: String, key: &'static str| {
            app.client.post("/api/v1/appointments")
                .header(rocket::http::ContentType::JSON)
                .header(Header::new("Authorization", format!("Bearer {}", s.mediator.token)))
                .header(Header::new("Idempotency-Key", key))
                .body(body)
                .dispatch()
        };
        let first = send(body.clone(), "booking-42").await;
        assert_eq!(first.status(), Status::Created);
        let first_body = first.into_string().await.unwrap();
        let again = send(body.clone(), "booking-42").await;
        assert_eq!(again.status(), Status::Created);
        assert_eq!(again.headers().get_one("Idempotent-Replayed"), Some("true"));
        assert_eq!(again.into_string().await.unwrap(), first_body);
        let listed = app.get(&format!("/api/v1/appointments?person_id={p}"), Some(&s.mediator.token)).await;
        assert_eq!(listed.json().as_array().unwrap().len(), 1);
        // The same key for another request is refused.
        let other = body.replace("09:00", "16:00");
        let reused = send(other, "booking-42").await;
        assert_eq!(reused.status(), Status::Conflict);
        // Without the header, a second identical POST is a second attempt (and conflicts).
        let plain = app.send_json("POST", "/api/v1/appointments", Some(&s.mediator.token), &body).await;
        assert_eq!(plain.status, Status::Conflict);
    }
}

both_backends! {
    async fn a_freed_workshop_seat_promotes_the_first_waitlisted_person(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(7);
        let people = [person(&app, &s.mediator.token, "Un").await, person(&app, &s.mediator.token, "Deux").await,
            person(&app, &s.mediator.token, "Trois").await, person(&app, &s.mediator.token, "Quatre").await];
        let w = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(day, "14:00"), "capacity": 2, "person_ids": [people[0], people[1], people[2]]})).await;
        assert_eq!(w.status, Status::Created, "{}", w.body);
        let id = w.json()["id"].as_i64().unwrap();
        let statuses = |v: &Value| v["participants"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(statuses(&w.json()), vec!["booked", "booked", "waitlisted"]);
        let fourth = app.post_json(&format!("/api/v1/appointments/{id}/participants"), &s.mediator.token, json!({"person_id": people[3]})).await;
        assert_eq!(fourth.json()["status"], "waitlisted");
        let again = app.post_json(&format!("/api/v1/appointments/{id}/participants"), &s.mediator.token, json!({"person_id": people[3]})).await;
        assert_eq!(again.json()["code"], "already_enrolled");
        assert_eq!(app.delete(&format!("/api/v1/appointments/{id}/participants/{}", people[0]), &s.mediator.token).await.status, Status::NoContent);
        let after = app.get(&format!("/api/v1/appointments/{id}"), Some(&s.mediator.token)).await.json();
        assert_eq!(statuses(&after), vec!["cancelled", "booked", "booked", "waitlisted"], "Trois, the first waiting, is promoted");
        assert_eq!(app.delete(&format!("/api/v1/appointments/{id}/participants/{}", people[0]), &s.mediator.token).await.status, Status::NotFound);
        // Un comes back: behind Quatre, who was already waiting.
        rocket::tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let back = app.post_json(&format!("/api/v1/appointments/{id}/participants"), &s.mediator.token, json!({"person_id": people[0]})).await;
        assert_eq!(back.json()["status"], "waitlisted");
        app.delete(&format!("/api/v1/appointments/{id}/participants/{}", people[1]), &s.mediator.token).await;
        let after = app.get(&format!("/api/v1/appointments/{id}"), Some(&s.mediator.token)).await.json();
        let by_person = |p: i64| after["participants"].as_array().unwrap().iter().find(|x| x["person_id"] == p).unwrap()["status"].as_str().unwrap().to_string();
        assert_eq!((by_person(people[3]), by_person(people[0])), ("booked".to_string(), "waitlisted".to_string()));
    }
}

both_backends! {
    async fn reschedule_and_cancel_follow_the_same_rules(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(8);
        let (a, b) = (person(&app, &s.mediator.token, "Alice").await, person(&app, &s.mediator.token, "Bob").await);
        let first = book(&app, &s, &s.mediator.token, &at(day, "09:00"), &[a]).await.json();
        let second = book(&app, &s, &s.mediator.token, &at(day, "14:00"), &[b]).await.json();
        let move_to = |id: i64, start: String| {
            let path = format!("/api/v1/appointments/{id}/reschedule");
            let (app, token) = (&app, &s.mediator.token);
            async move { app.post_json(&path, token, json!({"starts_at": start})).await }
        };
        let clash = move_to(second["id"].as_i64().unwrap(), at(day, "09:30")).await;
        assert_eq!(clash.json()["code"], "mediator_busy");
        let moved = move_to(second["id"].as_i64().unwrap(), at(day, "16:00")).await;
        assert_eq!(moved.status, Status::Ok);
        assert_eq!(moved.json()["starts_at"], at(day, "16:00"));
        assert_eq!(moved.json()["ends_at"], at(day, "17:00"));
        let night = move_to(second["id"].as_i64().unwrap(), at(day, "22:00")).await;
        assert_eq!(night.json()["code"], "outside_opening_hours");

        let cancel = app.post_json(&format!("/api/v1/appointments/{}/cancel", first["id"]), &s.mediator.token, json!({"by": "person", "reason": "malade"})).await;
        assert_eq!(cancel.status, Status::Ok);
        assert_eq!(cancel.json()["status"], "cancelled");
        assert_eq!(cancel.json()["participants"][0]["status"], "excused");
        let bad_by = app.post_json(&format!("/api/v1/appointments/{}/cancel", second["id"]), &s.mediator.token, json!({"by": "weather"})).await;
        assert_eq!(bad_by.status, Status::UnprocessableEntity);
        // The cancelled slot is free again; a cancelled appointment cannot be moved.
        assert_eq!(book(&app, &s, &s.mediator.token, &at(day, "09:00"), &[b]).await.status, Status::Created);
        assert_eq!(move_to(first["id"].as_i64().unwrap(), at(day, "11:00")).await.json()["code"], "not_planned");
    }
}

both_backends! {
    async fn another_organisation_sees_and_books_nothing_of_ours(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let other = setup(&app, "Mission locale").await;
        let day = today() + Duration::days(9);
        let p = person(&app, &s.mediator.token, "Nour").await;
        let a = book(&app, &s, &s.mediator.token, &at(day, "10:00"), &[p]).await.json();
        let id = a["id"].as_i64().unwrap();
        assert_eq!(app.get(&format!("/api/v1/appointments/{id}"), Some(&other.mediator.token)).await.status, Status::NotFound);
        assert_eq!(app.post_json(&format!("/api/v1/appointments/{id}/cancel"), &other.manager.token, json!({"by": "structure"})).await.status, Status::NotFound);
        assert!(app.get("/api/v1/appointments", Some(&other.manager.token)).await.json().as_array().unwrap().is_empty());
        assert_eq!(app.page(&format!("/appointments/{id}"), &other.mediator.session).await.status, Status::NotFound);
        assert_eq!(app.page(&format!("/appointments/{id}/ics"), &other.mediator.session).await.status, Status::NotFound);
        // Our service, their mediator or person: refused.
        let cross = app.post_json("/api/v1/appointments", &other.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": other.mediator.user.id, "place_id": other.place_id,
            "starts_at": at(day, "11:00"), "person_ids": []})).await;
        assert_eq!(cross.status, Status::UnprocessableEntity);
        let foreign_person = app.post_json("/api/v1/appointments", &other.mediator.token, json!({
            "service_id": other.service_id, "mediator_id": other.mediator.user.id, "place_id": other.place_id,
            "starts_at": at(day, "11:00"), "person_ids": [p]})).await;
        assert_eq!(foreign_person.status, Status::UnprocessableEntity);
        // Opening hours of another organisation's mediator cannot be changed.
        let hours = app.post_json(&format!("/api/v1/users/{}/opening-hours", s.mediator.user.id), &other.manager.token,
            json!({"place_id": other.place_id, "weekday": 1, "start": "09:00", "end": "10:00"})).await;
        assert_eq!(hours.status, Status::NotFound);
        // A mediator cannot change a colleague's hours; their manager can.
        let colleague = app.staff("mediator", "Emmaüs Connect").await;
        let body = json!({"place_id": s.place_id, "weekday": 2, "start": "09:00", "end": "10:00"});
        assert_eq!(app.post_json(&format!("/api/v1/users/{}/opening-hours", colleague.user.id), &s.mediator.token, body.clone()).await.status, Status::Forbidden);
        assert_eq!(app.post_json(&format!("/api/v1/users/{}/opening-hours", colleague.user.id), &s.manager.token, body).await.status, Status::Created);
        let bad = app.post_json(&format!("/api/v1/users/{}/opening-hours", colleague.user.id), &s.manager.token,
            json!({"place_id": s.place_id, "weekday": 8, "start": "9h", "end": "08:00"})).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        assert!(bad.json()["errors"]["weekday"].is_array() && bad.json()["errors"]["start"].is_array());
    }
}

both_backends! {
    async fn mediators_book_from_the_agenda_and_print_a_card(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(2);
        let agenda = app.page(&format!("/agenda?date={day}"), &s.mediator.session).await;
        assert_eq!(agenda.status, Status::Ok);
        let start = at(day, "08:00");
        let link = format!("starts_at={}", passerelle::web::urlencode(&start));
        assert!(agenda.body.contains(&link), "a free 08:00 slot links to the booking form");
        // The slot's own link, as the browser follows it.
        let href = {
            let at = agenda.body.find(&link).unwrap();
            let from = agenda.body[..at].rfind("href=\"").unwrap() + "href=\"".len();
            crate::harness::unescape(&agenda.body[from..at + agenda.body[at..].find('"').unwrap()])
        };
        assert_eq!(href, format!("/appointments/new?service_id={}&mediator_id={}&place_id={}&{link}", s.service_id, s.mediator.user.id, s.place_id));
        let form = app.page(&href, &s.mediator.session).await;
        assert_eq!(form.status, Status::Ok);
        assert!(form.body.contains(&format!("value=\"{start}\"")));

        // Booking with a person created inline; a bad email keeps both out.
        let fields = |email: &'static str| vec![
            ("service_id", s.service_id.to_string()), ("mediator_id", s.mediator.user.id.to_string()),
            ("place_id", s.place_id.to_string()), ("starts_at", start.clone()), ("new_given_name", "Fatou".to_string()),
            ("new_family_name", "Diallo".to_string()), ("new_phone", "06 12 34 56 78".to_string()), ("new_email", email.to_string()),
            ("csrf_token", s.mediator.csrf.clone()),
        ];
        let as_refs = |f: &Vec<(&'static str, String)>| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
        let bad = as_refs(&fields("pas-un-email"));
        let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = app.post_form("/appointments", Some(&s.mediator.session), &bad).await;
        assert_eq!(refused.status, Status::UnprocessableEntity);
        assert!(refused.body.contains("Adresse e-mail invalide."));
        assert!(app.get("/api/v1/people?q=fatou", Some(&s.mediator.token)).await.json().as_array().unwrap().is_empty(), "nothing half-written");
        let good = as_refs(&fields(""));
        let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let booked = app.post_form("/appointments", Some(&s.mediator.session), &good).await;
        assert_eq!(booked.status, Status::SeeOther, "{}", booked.body);
        let location = booked.header("location").unwrap().to_string();
        let page = app.page(&location, &s.mediator.session).await;
        assert!(page.body.contains("Fatou Diallo"));
        assert!(page.body.contains("Le rendez-vous est enregistré."), "a saved booking says so");
        let id: i64 = location.trim_start_matches("/appointments/").split('?').next().unwrap().parse().unwrap();
        let person_id = app.get(&format!("/api/v1/appointments/{id}"), Some(&s.mediator.token)).await.json()["participants"][0]["person_id"].as_i64().unwrap();

        // Agenda lists it; the card says when and where in words.
        let agenda = app.page(&format!("/agenda?date={day}"), &s.mediator.session).await;
        assert!(agenda.body.contains(&format!("/appointments/{id}")));
        let week = app.page(&format!("/agenda?date={day}&view=week&place_id={}", s.place_id), &s.mediator.session).await;
        assert!(week.body.contains(&format!("/appointments/{id}")));
        let card = app.page(&format!("/appointments/{id}/card?person_id={person_id}"), &s.mediator.session).await;
        assert_eq!(card.status, Status::Ok);
        let words = passerelle::time::LocalTime::in_words(&Paris, chrono::DateTime::parse_from_rfc3339(&start).unwrap().naive_utc());
        assert!(card.body.contains(&words), "{words}");
        assert!(card.body.contains("2 rue de la Gare") && card.body.contains("03 20 00 00 00") && card.body.contains("Fatou"));
        assert!(card.body.contains("/static/card.css"));

        // Conflicts come back on the form in French.
        let twice = app.post_form("/appointments", Some(&s.mediator.session), &good).await;
        assert_eq!(twice.status, Status::UnprocessableEntity);
        assert!(twice.body.contains("a déjà un rendez-vous"));
    }
}

both_backends! {
    async fn calendars_download_and_feed_until_revoked(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(3);
        let p = person(&app, &s.mediator.token, "Zoé").await;
        let a = book(&app, &s, &s.mediator.token, &at(day, "10:00"), &[p]).await.json();
        let id = a["id"].as_i64().unwrap();
        let ics = app.page(&format!("/appointments/{id}/ics"), &s.mediator.session).await;
        assert_eq!(ics.status, Status::Ok);
        assert!(ics.header("content-type").unwrap().starts_with("text/calendar"));
        assert!(ics.body.contains(&format!("UID:appointment-{id}-")));
        let utc = chrono::DateTime::parse_from_rfc3339(&at(day, "10:00")).unwrap().naive_utc();
        assert!(ics.body.contains(&format!("DTSTART:{}", utc.format("%Y%m%dT%H%M%SZ"))));
        assert!(ics.body.contains("SEQUENCE:0") && ics.body.contains("\r\n"));
        assert!(!ics.body.contains("Zoé"), "no beneficiary name in calendars");

        let renew = app.post_form("/calendar", Some(&s.mediator.session), &[("csrf_token", &s.mediator.csrf)]).await;
        assert_eq!(renew.status, Status::Ok);
        let body = unescape(&renew.body);
        let start = body.find("8000/calendar/").unwrap() + 4;
        let path = &body[start..body[start..].find(".ics").unwrap() + start + 4];
        let feed = app.get(path, None).await;
        assert_eq!(feed.status, Status::Ok);
        assert!(feed.body.contains(&format!("UID:appointment-{id}-")));
        // Moving the appointment bumps its SEQUENCE.
        app.post_json(&format!("/api/v1/appointments/{id}/reschedule"), &s.mediator.token, json!({"starts_at": at(day, "11:00")})).await;
        assert!(app.get(path, None).await.body.contains("SEQUENCE:1"));
        let revoke = app.post_form("/calendar/revoke", Some(&s.mediator.session), &[("csrf_token", &s.mediator.csrf)]).await;
        assert_eq!(revoke.status, Status::SeeOther);
        assert_eq!(app.get(path, None).await.status, Status::NotFound);
    }
}

both_backends! {
    async fn availability_and_services_pages_edit_in_french(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let page = app.page(&format!("/users/{}/availability", s.mediator.user.id), &s.mediator.session).await;
        assert_eq!(page.status, Status::Ok);
        assert!(page.body.contains("08:00–20:00") && page.body.contains("lundi"));
        let bad = app.post_form(&format!("/users/{}/opening-hours", s.mediator.user.id), Some(&s.mediator.session),
            &[("csrf_token", &s.mediator.csrf), ("place_id", &s.place_id.to_string()), ("weekday", "1"), ("start", "12:00"), ("end", "09:00")]).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        assert!(bad.body.contains("La fin doit suivre le début."));
        // What was typed stays, every error is listed at once at the top, each linking to its
        // field, and a date that does not read is refused, never dropped.
        let path = format!("/users/{}/opening-hours", s.mediator.user.id);
        let place = s.place_id.to_string();
        let bad = app.post_form(&path, Some(&s.mediator.session), &[("csrf_token", &s.mediator.csrf), ("place_id", &place),
            ("weekday", "4"), ("start", "14:00"), ("end", "13:00"), ("valid_from", "31/12/2026"), ("valid_until", "")]).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        let text = unescape(&bad.body);
        assert!(text.contains(r#"<option value="4" selected>jeudi</option>"#), "{text}");
        assert!(text.contains(&format!(r#"<option value="{place}" selected>"#)), "{text}");
        for kept in [r#"id="start" name="start" value="14:00""#, r#"id="end" name="end" value="13:00""#, r#"id="valid_from" name="valid_from" value="31/12/2026""#] {
            assert!(text.contains(kept), "{kept}: {text}");
        }
        assert!(text.contains(r##"<a href="#end">Fin : La fin doit suivre le début.</a>"##), "{text}");
        assert!(text.contains(r##"<a href="#valid_from">Valable à partir du : Date attendue (jj/mm/aaaa).</a>"##), "{text}");
        let list = format!("/api/v1/users/{}/opening-hours", s.mediator.user.id);
        let before = app.get(&list, Some(&s.mediator.token)).await.json().as_array().unwrap().len();
        // The same weekly opening twice is refused, on the page and on the API.
        let thursday = [("csrf_token", s.mediator.csrf.as_str()), ("place_id", place.as_str()), ("weekday", "4"), ("start", "14:00"), ("end", "16:00")];
        assert_eq!(app.post_form(&path, Some(&s.mediator.session), &thursday).await.status, Status::SeeOther);
        let again = app.post_form(&path, Some(&s.mediator.session), &thursday).await;
        assert_eq!(again.status, Status::UnprocessableEntity);
        assert!(unescape(&again.body).contains("Cette permanence existe déjà"), "{}", again.body);
        let api = app.post_json(&format!("/api/v1{path}"), &s.mediator.token, serde_json::json!({
            "place_id": s.place_id, "weekday": 4, "start": "14:00", "end": "16:00", "valid_from": "2030-01-01"})).await;
        assert_eq!(api.status, Status::UnprocessableEntity, "{}", api.body);
        assert!(api.json()["errors"]["start"].is_array(), "{}", api.body);
        let after = app.get(&list, Some(&s.mediator.token)).await.json().as_array().unwrap().len();
        assert_eq!(after, before + 1, "one opening added, the refused ones wrote nothing");
        // Validity periods that do not meet make two openings; ones that meet, a duplicate.
        for (from, until, expected) in [
            ("2031-07-01", "2031-08-31", Status::Created),
            ("2031-09-01", "2031-12-31", Status::Created),
            ("2031-08-15", "2031-09-15", Status::UnprocessableEntity),
        ] {
            let r = app.post_json(&format!("/api/v1{path}"), &s.mediator.token, serde_json::json!({
                "place_id": s.place_id, "weekday": 5, "start": "18:00", "end": "19:00", "valid_from": from, "valid_until": until})).await;
            assert_eq!(r.status, expected, "{from}–{until}: {}", r.body);
        }
        let absence = app.post_form(&format!("/users/{}/absences", s.mediator.user.id), Some(&s.mediator.session),
            &[("csrf_token", &s.mediator.csrf), ("starts_at_local", "2030-08-01T09:00"), ("ends_at_local", "2030-08-15T18:00"), ("reason", "congés")]).await;
        assert_eq!(absence.status, Status::SeeOther);
        let page = app.page(&format!("/users/{}/availability", s.mediator.user.id), &s.mediator.session).await;
        assert!(unescape(&page.body).contains("du 01/08/2030 09:00 au 15/08/2030 18:00 — congés"));
        let services = app.page("/services", &s.manager.session).await;
        assert!(services.body.contains("Atelier smartphone"));
        let created = app.post_form("/services", Some(&s.manager.session),
            &[("csrf_token", &s.manager.csrf), ("name", "Aide aux démarches"), ("kind", "individual"), ("duration_minutes", "45")]).await;
        assert_eq!(created.status, Status::SeeOther);
        let refused = app.post_form("/services", Some(&s.mediator.session),
            &[("csrf_token", &s.mediator.csrf), ("name", "X"), ("kind", "individual"), ("duration_minutes", "45")]).await;
        assert_eq!(refused.status, Status::Forbidden);
    }
}

both_backends! {
    /// One booking of several people (a single statement on PostgreSQL): the people are seated
    /// and waitlisted in the order the request names them, not in the order of their ids, the
    /// order holds when read back, and the booking is audited with its author.
    async fn a_booking_keeps_the_order_of_its_people_and_its_audit_row(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let admin = app.staff("admin", "Emmaüs Connect").await;
        let day = today() + Duration::days(9);
        let first = person(&app, &s.mediator.token, "Un").await;
        let second = person(&app, &s.mediator.token, "Deux").await;
        let third = person(&app, &s.mediator.token, "Trois").await;
        let r = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(day, "10:00"), "capacity": 2, "person_ids": [third, first, second]})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();
        let seats = |v: &Value| v["participants"].as_array().unwrap().iter()
            .map(|p| (p["person_id"].as_i64().unwrap(), p["status"].as_str().unwrap().to_string()))
            .collect::<Vec<_>>();
        let expected = vec![(third, "booked".to_string()), (first, "booked".to_string()), (second, "waitlisted".to_string())];
        assert_eq!(seats(&r.json()), expected);
        let back = app.get(&format!("/api/v1/appointments/{id}"), Some(&s.mediator.token)).await;
        assert_eq!(seats(&back.json()), expected, "read back in enrolment order");
        // A freed seat goes to the one waiting.
        assert_eq!(app.delete(&format!("/api/v1/appointments/{id}/participants/{third}"), &s.mediator.token).await.status, Status::NoContent);
        let after = app.get(&format!("/api/v1/appointments/{id}"), Some(&s.mediator.token)).await;
        assert_eq!(seats(&after.json())[2], (second, "booked".to_string()));
        let audit = app.get(&format!("/api/v1/audit?entity=appointment&entity_id={id}"), Some(&admin.token)).await;
        assert_eq!(audit.status, Status::Ok, "{}", audit.body);
        let created: Vec<Value> = audit.json().as_array().unwrap().iter()
            .filter(|e| e["action"] == "create").cloned().collect();
        assert_eq!(created.len(), 1, "{}", audit.body);
        assert_eq!(created[0]["actor_id"], json!(s.mediator.user.id));
    }
}
