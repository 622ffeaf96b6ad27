//! The booking invariants under bursts (issue 18, point 7): a workshop announced to many people
//! at once, bookings of many mediators at the same moment, and many people after one slot, on
//! PostgreSQL through two app instances on one database (on SQLite, one instance), and the
//! locks per mediator that let bookings of different mediators run side by side.

use std::collections::HashSet;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rocket::http::Status;
use serde_json::json;

use crate::both_backends;
use crate::fixtures::{at, person, setup, today};
use crate::harness::{Backend, Response, TestApp};
use crate::public::{anonymous_json, public_setup, SLUG};

/// A second instance on the same database on PostgreSQL (several servers on one database);
/// SQLite is served by one.
async fn instances(app: &TestApp) -> Option<TestApp> {
    match app.backend {
        Backend::Postgres => Some(app.another_instance().await),
        Backend::Sqlite => None,
    }
}

/// Sends every request at once, the odd ones through the second instance when there is one.
async fn burst<'a, F, Fut>(
    app: &'a TestApp,
    second: Option<&'a TestApp>,
    count: usize,
    send: F,
) -> Vec<Response>
where
    F: Fn(&'a TestApp, usize) -> Fut,
    Fut: std::future::Future<Output = Response> + 'a,
{
    let requests = (0..count).map(|i| {
        let target = if i % 2 == 1 {
            second.unwrap_or(app)
        } else {
            app
        };
        send(target, i)
    });
    futures::future::join_all(requests).await
}

fn statuses(answers: &[Response]) -> Vec<(Status, String)> {
    answers
        .iter()
        .map(|r| (r.status, r.body.chars().take(160).collect()))
        .filter(|(s, _)| *s != Status::Created)
        .take(5)
        .collect()
}

/// The participants of an appointment as stored, in enrolment order (`created_at`, then id):
/// (participant id, person id, status).
async fn enrolment_order(app: &TestApp, appointment_id: i32) -> Vec<(i32, i32, String)> {
    app.db()
        .run(move |conn| {
            use passerelle::db::schema::participants;
            let rows: Vec<(i32, i32, String, NaiveDateTime)> = participants::table
                .filter(participants::appointment_id.eq(appointment_id))
                .order((participants::created_at, participants::id))
                .select((
                    participants::id,
                    participants::person_id,
                    participants::status,
                    participants::created_at,
                ))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(id, person, status, _)| (id, person, status))
                .collect())
        })
        .await
        .unwrap()
}

both_backends! {
    async fn two_thousand_public_enrolments_fill_a_hundred_seats_and_queue_the_rest_in_order(app) {
        let second = instances(&app).await;
        let s = public_setup(&app).await;
        let day = today() + Duration::days(10);
        let start = at(day, "14:00");
        let workshop = app.post_json("/api/v1/appointments", &s.manager.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": start, "capacity": 100, "title": "Atelier annoncé à tout le quartier"})).await;
        assert_eq!(workshop.status, Status::Created, "{}", workshop.body);
        let id = workshop.json()["id"].as_i64().unwrap() as i32;

        let started = std::time::Instant::now();
        let answers = burst(&app, second.as_ref(), 2000, |target, i| {
            let body = json!({"service_id": s.workshop_id, "place_id": s.place_id, "starts_at": start.clone(),
                "person": {"given_name": format!("Personne {i}"), "email": format!("personne{i}@exemple.fr"),
                           "sms_consent": false, "reminder_consent": true}});
            async move { anonymous_json(target, &format!("/api/v1/public/{SLUG}/bookings"), body).await }
        })
        .await;
        eprintln!("2,000 public enrolments ({:?}): {:?}", app.backend, started.elapsed());
        assert!(answers.iter().all(|r| r.status == Status::Created), "{:?}", statuses(&answers));
        let answered: Vec<String> = answers.iter().map(|r| r.json()["status"].as_str().unwrap().to_string()).collect();
        assert_eq!(answered.iter().filter(|s| *s == "booked").count(), 100);
        assert_eq!(answered.iter().filter(|s| *s == "waitlisted").count(), 1900);

        // As stored: one participation per person, the hundred booked first in enrolment order,
        // then the waiting list 1..1900 with no gap and no one twice.
        let order = enrolment_order(&app, id).await;
        assert_eq!(order.len(), 2000);
        let people: HashSet<i32> = order.iter().map(|(_, person, _)| *person).collect();
        assert_eq!(people.len(), 2000, "someone enrolled twice");
        assert!(order[..100].iter().all(|(_, _, status)| status == "booked"), "a booked seat after a waiting person");
        let waiting: Vec<i32> = order.iter().filter(|(_, _, st)| st == "waitlisted").map(|(_, person, _)| *person).collect();
        assert_eq!(waiting.len(), 1900);
        assert_eq!(waiting, order[100..].iter().map(|(_, person, _)| *person).collect::<Vec<_>>());
        let slots = app.get(&format!("/api/v1/public/{SLUG}/slots?service_id={}&from={day}&to={day}", s.workshop_id), None).await.json();
        assert_eq!(slots[0]["seats_left"], 0, "{slots}");

        // Ten seats freed at once, through both instances: the first ten waiting move up, in order.
        let leaving: Vec<i32> = order[..10].iter().map(|(_, person, _)| *person).collect();
        let freed = burst(&app, second.as_ref(), 10, |target, i| {
            let (path, token) = (format!("/api/v1/appointments/{id}/participants/{}", leaving[i]), s.manager.token.clone());
            async move { target.delete(&path, &token).await }
        })
        .await;
        assert!(freed.iter().all(|r| r.status == Status::NoContent), "{:?}", freed.iter().map(|r| &r.body).collect::<Vec<_>>());
        let after = enrolment_order(&app, id).await;
        let status_of = |person: i32| after.iter().find(|(_, p, _)| *p == person).unwrap().2.clone();
        for (position, person) in waiting.iter().enumerate() {
            let expected = if position < 10 { "booked" } else { "waitlisted" };
            assert_eq!(status_of(*person), expected, "waiting position {}", position + 1);
        }
        assert_eq!(after.iter().filter(|(_, _, st)| st == "booked").count(), 100);
    }
}

/// `count` mediators of the organisation, open every day 08:00–20:00 at the place.
async fn mediators(
    app: &TestApp,
    s: &crate::fixtures::Setup,
    count: usize,
) -> Vec<crate::harness::Staff> {
    let mut out = Vec::new();
    for _ in 0..count {
        let m = app.staff("mediator", crate::public::ORG).await;
        for weekday in 1..=7 {
            let r = app.post_json(&format!("/api/v1/users/{}/opening-hours", m.user.id), &s.manager.token,
                json!({"place_id": s.place_id, "weekday": weekday, "start": "08:00", "end": "20:00"})).await;
            assert_eq!(r.status, Status::Created, "{}", r.body);
        }
        out.push(m);
    }
    out
}

both_backends! {
    async fn bookings_of_twenty_mediators_at_the_same_moments_all_succeed(app) {
        let second = instances(&app).await;
        let s = public_setup(&app).await;
        let team = mediators(&app, &s, 20).await;
        let day = today() + Duration::days(11);
        let mut people = Vec::new();
        for i in 0..100 {
            people.push(person(&app, &s.manager.token, &format!("M{i}")).await);
        }
        // Five slots of each of twenty mediators, the same five moments for all: 100 at once.
        let times = ["09:00", "10:15", "11:30", "13:30", "14:45"];
        let answers = burst(&app, second.as_ref(), 100, |target, i| {
            let body = json!({"service_id": s.service_id, "mediator_id": team[i % 20].user.id, "place_id": s.place_id,
                "starts_at": at(day, times[i / 20]), "person_ids": [people[i]]});
            let token = s.manager.token.clone();
            async move { target.post_json("/api/v1/appointments", &token, body).await }
        })
        .await;
        assert!(answers.iter().all(|r| r.status == Status::Created), "{:?}", statuses(&answers));
        let listed = app.get(&format!("/api/v1/appointments?from={day}&to={}&limit=200", day + Duration::days(1)), Some(&s.manager.token)).await.json();
        let pairs: HashSet<(i64, String)> = listed.as_array().unwrap().iter()
            .map(|a| (a["mediator_id"].as_i64().unwrap(), a["starts_at"].as_str().unwrap().to_string())).collect();
        assert_eq!(pairs.len(), 100);
    }
}

both_backends! {
    async fn fifty_people_after_one_public_slot_give_one_booking_and_slot_taken_to_the_rest(app) {
        let second = instances(&app).await;
        let s = public_setup(&app).await;
        let day = today() + Duration::days(12);
        let start = at(day, "10:30");
        let answers = burst(&app, second.as_ref(), 50, |target, i| {
            let body = json!({"service_id": s.service_id, "place_id": s.place_id, "starts_at": start.clone(),
                "person": {"given_name": format!("Candidat {i}"), "email": format!("candidat{i}@exemple.fr"),
                           "sms_consent": false, "reminder_consent": true}});
            async move { anonymous_json(target, &format!("/api/v1/public/{SLUG}/bookings"), body).await }
        })
        .await;
        let won = answers.iter().filter(|r| r.status == Status::Created).count();
        let taken = answers.iter().filter(|r| r.status == Status::Conflict && r.json()["code"] == "slot_taken").count();
        assert_eq!((won, taken), (1, 49), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
        let listed = app.get(&format!("/api/v1/appointments?from={day}&to={}", day + Duration::days(1)), Some(&s.manager.token)).await.json();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed[0]["participants"].as_array().unwrap().len(), 1);
    }
}

/// PostgreSQL: a transaction holding one mediator's booking lock (as a booking of theirs would)
/// holds back bookings of that mediator only, whichever instance serves them.
#[rocket::async_test]
async fn a_booking_in_progress_holds_back_its_mediator_only() {
    let Some(app) = TestApp::new(Backend::Postgres).await else {
        return;
    };
    let second = app.another_instance().await;
    let s = setup(&app, "Emmaüs Connect").await;
    let other = app.staff("mediator", "Emmaüs Connect").await;
    for weekday in 1..=7 {
        let r = app.post_json(&format!("/api/v1/users/{}/opening-hours", other.user.id), &s.manager.token,
            json!({"place_id": s.place_id, "weekday": weekday, "start": "08:00", "end": "20:00"})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
    }
    let (a, b) = (
        person(&app, &s.manager.token, "Awa").await,
        person(&app, &s.manager.token, "Basile").await,
    );
    let organisation_id = s.mediator.user.organisation_id;
    let held = s.mediator.user.id;

    // A transaction of another connection takes the first mediator's key and keeps it.
    let db = app.db().clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = db.get().unwrap();
        passerelle::db::transaction(&mut conn, |conn| {
            passerelle::db::BookingLocks::take(
                conn,
                organisation_id,
                false,
                &[passerelle::db::BookingKey::Mediator(held)],
            )?;
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    locked_rx.recv().unwrap();

    let day = today() + Duration::days(13);
    let booking = |mediator: i32, person: i64, hh_mm: &str| {
        json!({"service_id": s.service_id, "mediator_id": mediator, "place_id": s.place_id,
               "starts_at": at(day, hh_mm), "person_ids": [person]})
    };
    // The other mediator books at once, through either instance.
    let free = rocket::tokio::time::timeout(
        std::time::Duration::from_secs(20),
        second.post_json(
            "/api/v1/appointments",
            &s.manager.token,
            booking(other.user.id, b, "09:00"),
        ),
    )
    .await
    .expect("a booking of another mediator waited for the held one");
    assert_eq!(free.status, Status::Created, "{}", free.body);
    // The held mediator's booking waits until the transaction ends, then goes through.
    let waiting = app.post_json(
        "/api/v1/appointments",
        &s.manager.token,
        booking(held, a, "09:00"),
    );
    let mut waiting = Box::pin(waiting);
    assert!(
        rocket::tokio::time::timeout(std::time::Duration::from_millis(700), &mut waiting)
            .await
            .is_err(),
        "a booking of the held mediator did not wait for the lock"
    );
    release_tx.send(()).unwrap();
    let done = waiting.await;
    assert_eq!(done.status, Status::Created, "{}", done.body);
    holder.join().unwrap();
}

both_backends! {
    async fn a_freed_seat_goes_to_the_first_waiting_person_free_then_past_many_busy_ones(app) {
        // Past the people a booking transaction locks one by one (32): the seat is still given
        // in waiting-list order, under the organisation's lock.
        let s = public_setup(&app).await;
        let other = mediators(&app, &s, 1).await.remove(0);
        let day = today() + Duration::days(14);
        let mut people = Vec::new();
        for i in 0..41 {
            people.push(person(&app, &s.manager.token, &format!("L{i}")).await);
        }
        let x = app.post_json("/api/v1/appointments", &s.manager.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(day, "14:00"), "capacity": 1, "person_ids": people})).await;
        assert_eq!(x.status, Status::Created, "{}", x.body);
        let x = x.json()["id"].as_i64().unwrap();
        // The first 35 waiting people are seated elsewhere at that time (35 people booked at once).
        let busy: Vec<i64> = people[1..36].to_vec();
        let y = app.post_json("/api/v1/appointments", &s.manager.token, json!({
            "service_id": s.workshop_id, "mediator_id": other.user.id, "place_id": s.place_id,
            "starts_at": at(day, "13:30"), "capacity": 35, "person_ids": busy})).await;
        assert_eq!(y.status, Status::Created, "{}", y.body);
        assert_eq!(y.json()["participants"].as_array().unwrap().iter().filter(|p| p["status"] == "booked").count(), 35);
        // Moving it (35 people booked) keeps them all.
        let y_id = y.json()["id"].as_i64().unwrap();
        let moved = app.post_json(&format!("/api/v1/appointments/{y_id}/reschedule"), &s.manager.token, json!({"starts_at": at(day, "13:45")})).await;
        assert_eq!(moved.status, Status::Ok, "{}", moved.body);

        let freed = app.delete(&format!("/api/v1/appointments/{x}/participants/{}", people[0]), &s.manager.token).await;
        assert_eq!(freed.status, Status::NoContent, "{}", freed.body);
        let order = enrolment_order(&app, x as i32).await;
        let status_of = |person: i64| order.iter().find(|(_, p, _)| i64::from(*p) == person).unwrap().2.clone();
        assert_eq!(status_of(people[36]), "booked", "the first waiting person free then");
        assert!(people[1..36].iter().chain(&people[37..]).all(|p| status_of(*p) == "waitlisted"));
    }
}
