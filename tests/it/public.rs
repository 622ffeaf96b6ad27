//! Public booking and referrals without an account: who may book what, the portal API, the
//! silent matching of people, throttling, the referral inbox, and the public pages.

use chrono::Duration;
use diesel::prelude::*;
use rocket::http::{ContentType, Status};
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, setup, today, Setup};
use crate::harness::{Response, TestApp};

pub const ORG: &str = "Association Les Écrans";
pub const SLUG: &str = "association-les-ecrans";

/// The booking setup, with the individual service and the workshop service open to the public.
pub async fn public_setup(app: &TestApp) -> Setup {
    let s = setup(app, ORG).await;
    for id in [s.service_id, s.workshop_id] {
        let r = app
            .send_json(
                "PATCH",
                &format!("/api/v1/services/{id}"),
                Some(&s.manager.token),
                r#"{"bookable_by": "public"}"#,
            )
            .await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        assert_eq!(r.json()["bookable_by"], "public");
    }
    s
}

pub async fn anonymous_json(app: &TestApp, path: &str, body: Value) -> Response {
    app.send_json("POST", path, None, &body.to_string()).await
}

fn person(given: &str, phone: &str) -> Value {
    json!({"given_name": given, "phone": phone, "sms_consent": true, "reminder_consent": false})
}

pub async fn public_booking(app: &TestApp, s: &Setup, start: &str, person: Value) -> Response {
    anonymous_json(
        app,
        &format!("/api/v1/public/{SLUG}/bookings"),
        json!({"service_id": s.service_id, "place_id": s.place_id, "starts_at": start, "person": person}),
    )
    .await
}

async fn count(app: &TestApp, sql_table: &'static str) -> i64 {
    app.db()
        .run(move |conn| {
            #[derive(QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let n: N = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {sql_table}"))
                .get_result(conn)?;
            Ok(n.n)
        })
        .await
        .unwrap()
}

both_backends! {
    async fn only_services_opened_to_the_public_are_offered_and_staff_decide(app) {
        let s = setup(&app, ORG).await;
        // Staff-only by default: the portal lists nothing, and cannot book it.
        let r = app.get(&format!("/api/v1/public/{SLUG}/services"), None).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        assert_eq!(r.json(), json!([]));
        let start = at(today() + Duration::days(3), "10:00");
        let r = public_booking(&app, &s, &start, person("Hélène", "06 12 34 56 78")).await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
        assert!(r.json()["errors"]["service_id"].is_array());
        // A mediator may not open it; a manager may; a wrong value is named.
        let path = format!("/api/v1/services/{}", s.service_id);
        let r = app.send_json("PATCH", &path, Some(&s.mediator.token), r#"{"bookable_by": "public"}"#).await;
        assert_eq!(r.status, Status::Forbidden);
        let r = app.send_json("PATCH", &path, Some(&s.manager.token), r#"{"bookable_by": "everyone"}"#).await;
        assert_eq!(r.status, Status::UnprocessableEntity);
        assert!(r.json()["errors"]["bookable_by"].is_array());
        let other = app.staff("manager", "Structure Beta").await;
        let r = app.send_json("PATCH", &path, Some(&other.token), r#"{"bookable_by": "public"}"#).await;
        assert_eq!(r.status, Status::NotFound);
        let r = app.send_json("PATCH", &path, Some(&s.manager.token), r#"{"bookable_by": "referrers"}"#).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        // Referrers only: listed for portals with what it needs, refused to a person alone.
        let r = app.get(&format!("/api/v1/public/{SLUG}/services"), None).await;
        let list = r.json();
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["bookable_by"], "referrers");
        assert_eq!(list[0]["places"][0]["id"], s.place_id);
        let r = public_booking(&app, &s, &start, person("Hélène", "06 12 34 56 78")).await;
        assert_eq!(r.status, Status::UnprocessableEntity);
        assert!(r.json()["errors"]["service_id"][0].as_str().unwrap().contains("prescripteur"));
        // Created open to the public directly.
        let r = app.post_json("/api/v1/services", &s.manager.token, json!({"name": "Permanence", "kind": "individual", "duration_minutes": 30, "bookable_by": "public"})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        assert_eq!(r.json()["bookable_by"], "public");
        let r = app.post_json("/api/v1/services", &s.manager.token, json!({"name": "Autre", "kind": "individual", "duration_minutes": 30, "bookable_by": "all"})).await;
        assert_eq!(r.status, Status::UnprocessableEntity);
        // Another organisation's slug shows none of these.
        let r = app.get("/api/v1/public/structure-beta/services", None).await;
        assert_eq!(r.json(), json!([]));
        let r = app.get("/api/v1/public/nobody-here/services", None).await;
        assert_eq!(r.status, Status::NotFound);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
}

both_backends! {
    async fn organisation_slugs_are_derived_unique_and_changed_by_admins(app) {
        let admin = app.staff("admin", "Département du Nord").await;
        let manager = app.staff("manager", ORG).await;
        let r = app.get("/api/v1/organisations", Some(&admin.token)).await;
        let orgs = r.json();
        let ours = orgs.as_array().unwrap().iter().find(|o| o["name"] == ORG).unwrap().clone();
        assert_eq!(ours["slug"], SLUG);
        // Same name but one letter: numbered, never shared.
        let r = app.post_json("/api/v1/organisations", &admin.token, json!({"name": "Association les ecrans!"})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        assert_eq!(r.json()["slug"], format!("{SLUG}-2"));
        let path = format!("/api/v1/organisations/{}", ours["id"]);
        for bad in ["Avec Majuscules", "-tiret", "a", "deux--tirets", "é"] {
            let r = app.send_json("PATCH", &path, Some(&admin.token), &json!({"slug": bad}).to_string()).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{bad}: {}", r.body);
            assert!(r.json()["errors"]["slug"].is_array());
        }
        let r = app.send_json("PATCH", &path, Some(&admin.token), &json!({"slug": format!("{SLUG}-2")}).to_string()).await;
        assert_eq!(r.status, Status::Conflict);
        assert_eq!(r.json()["code"], "slug_taken");
        let r = app.send_json("PATCH", &path, Some(&manager.token), r#"{"slug": "ecrans-roubaix"}"#).await;
        assert_eq!(r.status, Status::Forbidden);
        let r = app.send_json("PATCH", &path, Some(&admin.token), r#"{"slug": "ecrans-roubaix"}"#).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        assert_eq!(r.json()["slug"], "ecrans-roubaix");
        assert_eq!(app.get("/api/v1/public/ecrans-roubaix/services", None).await.status, Status::Ok);
        assert_eq!(app.get(&format!("/api/v1/public/{SLUG}/services"), None).await.status, Status::NotFound);
    }
}

both_backends! {
    async fn a_person_books_a_free_slot_and_gets_a_personal_link(app) {
        let s = public_setup(&app).await;
        let day = today() + Duration::days(4);
        let slots_path = format!("/api/v1/public/{SLUG}/slots?service_id={}&from={day}&to={day}&place_id={}", s.service_id, s.place_id);
        let r = app.get(&slots_path, None).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        let slots = r.json();
        let first = slots[0]["starts_at"].as_str().unwrap().to_string();
        assert_eq!(first, at(day, "08:00"));
        assert!(slots[0].get("mediator_id").is_none(), "the public is not told who: {}", slots[0]);
        let r = public_booking(&app, &s, &first, json!({"given_name": "Hélène", "family_name": "Martin", "phone": "06 12 34 56 78", "email": "helene@example.org", "sms_consent": true, "reminder_consent": true, "language": "en"})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let done = r.json();
        assert_eq!(done["starts_at"], first);
        assert_eq!(done["status"], "booked");
        let link = done["link"].as_str().unwrap();
        let path = link.split_once("/r/").map(|(_, t)| format!("/r/{t}")).unwrap();
        let page = app.get(&path, None).await;
        assert_eq!(page.status, Status::Ok);
        // The staff see it in the agenda, with the person stored as given.
        let appointment = app.get(&format!("/api/v1/appointments/{}", done["appointment_id"]), Some(&s.manager.token)).await.json();
        assert_eq!(appointment["participants"][0]["status"], "booked");
        let person_id = appointment["participants"][0]["person_id"].as_i64().unwrap();
        let p = app.get(&format!("/api/v1/people/{person_id}"), Some(&s.manager.token)).await.json();
        assert_eq!(p["phone"], "+33612345678");
        assert_eq!(p["language"], "en");
        assert_eq!(p["sms_consent"], true);
        // The slot is no longer offered; booking it again is a conflict saying nothing of anyone.
        let slots = app.get(&slots_path, None).await.json();
        assert_ne!(slots[0]["starts_at"], first);
        let r = public_booking(&app, &s, &first, person("Zoé", "06 98 76 54 32")).await;
        assert_eq!(r.status, Status::Conflict);
        assert_eq!(r.json()["code"], "slot_taken");
        // Confirmations went to both channels she consented to; the booking is audited with
        // no actor.
        let messages = app.get("/api/v1/messages", Some(&s.manager.token)).await.json();
        let channels: Vec<&str> = messages.as_array().unwrap().iter().filter(|m| m["kind"] == "confirmation").map(|m| m["channel"].as_str().unwrap()).collect();
        assert!(channels.contains(&"email") && channels.contains(&"sms"), "{messages}");
        let audit = app.get(&format!("/api/v1/audit?entity=appointment&entity_id={}", done["appointment_id"]), Some(&app.staff("admin", "Département").await.token)).await;
        let entries = audit.json();
        let created = entries.as_array().unwrap().iter().find(|e| e["action"] == "create").unwrap_or_else(|| panic!("{entries}"));
        assert!(created["actor_id"].is_null(), "{created}");
    }
}

both_backends! {
    async fn the_public_never_learns_whether_someone_exists(app) {
        let s = public_setup(&app).await;
        let known = app.post_json("/api/v1/people", &s.manager.token, json!({"given_name": "Hélène", "family_name": "Martin", "phone": "0612345678", "notes": "suivie"})).await.json();
        let people_before = count(&app, "people").await;
        let day = today() + Duration::days(5);
        // Same name and phone: reused, untouched; the answer has the same shape as for a stranger.
        let a = public_booking(&app, &s, &at(day, "09:15"), json!({"given_name": "helene", "family_name": "MARTIN", "phone": "+33 6 12 34 56 78", "email": "autre@example.org", "sms_consent": true})).await;
        assert_eq!(a.status, Status::Created, "{}", a.body);
        assert_eq!(count(&app, "people").await, people_before);
        let appointment = app.get(&format!("/api/v1/appointments/{}", a.json()["appointment_id"]), Some(&s.manager.token)).await.json();
        assert_eq!(appointment["participants"][0]["person_id"], known["id"]);
        let p = app.get(&format!("/api/v1/people/{}", known["id"]), Some(&s.manager.token)).await.json();
        assert!(p["email"].is_null(), "what the public typed never changes a record: {p}");
        let b = public_booking(&app, &s, &at(day, "11:45"), json!({"given_name": "Inconnue", "phone": "0699887766", "sms_consent": true})).await;
        assert_eq!(b.status, Status::Created, "{}", b.body);
        assert_eq!(count(&app, "people").await, people_before + 1);
        let keys = |v: Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(a.json()), keys(b.json()));
        // Same phone, another name: another person.
        let c = public_booking(&app, &s, &at(day, "13:00"), json!({"given_name": "Sœur", "phone": "0612345678"})).await;
        assert_eq!(c.status, Status::Created, "{}", c.body);
        assert_eq!(count(&app, "people").await, people_before + 2);
    }
}

both_backends! {
    async fn bad_public_bookings_are_refused_with_the_field_named(app) {
        let s = public_setup(&app).await;
        let start = at(today() + Duration::days(3), "10:00");
        for (body, field) in [
            (json!({"given_name": "Hélène"}), "person.phone"),
            (json!({"given_name": "", "phone": "0612345678"}), "person.given_name"),
            (json!({"given_name": "Hélène", "phone": "12"}), "person.phone"),
            (json!({"given_name": "Hélène", "email": "pas-une-adresse"}), "person.email"),
            (json!({"given_name": "Hélène", "phone": "0612345678", "language": "xx"}), "person.language"),
        ] {
            let r = public_booking(&app, &s, &start, body.clone()).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{body}: {}", r.body);
            assert!(r.json()["errors"][field].is_array(), "{field}: {}", r.body);
        }
        let path = format!("/api/v1/public/{SLUG}/bookings");
        let r = anonymous_json(&app, &path, json!({"service_id": s.service_id, "place_id": 999999, "starts_at": start, "person": person("A", "0612345678")})).await;
        assert!(r.json()["errors"]["place_id"].is_array(), "{}", r.body);
        let r = anonymous_json(&app, &path, json!({"service_id": s.service_id, "place_id": s.place_id, "starts_at": "demain", "person": person("A", "0612345678")})).await;
        assert!(r.json()["errors"]["starts_at"].is_array(), "{}", r.body);
        // Not a free slot (outside the opening hours).
        let r = public_booking(&app, &s, &at(today() + Duration::days(3), "22:00"), person("A", "0612345678")).await;
        assert_eq!(r.status, Status::Conflict, "{}", r.body);
        let r = app.send_json("POST", &path, None, "{not json").await;
        assert!(r.status.code == 400 || r.status.code == 422, "{}", r.status);
        let r = app.get(&format!("/api/v1/public/{SLUG}/slots?service_id={}", s.service_id), None).await;
        assert_eq!(r.status, Status::UnprocessableEntity);
        assert!(r.json()["errors"]["from"].is_array());
        let r = app.get(&format!("/api/v1/public/{SLUG}/slots?service_id={}&from=2026-13-01&to=2026-12-01", s.service_id), None).await;
        assert!(r.json()["errors"]["from"].is_array(), "{}", r.body);
        // Nothing was written by any of them.
        assert_eq!(count(&app, "appointments").await, 0);
    }
}

both_backends! {
    async fn a_full_workshop_puts_the_next_people_on_its_waiting_list(app) {
        let s = public_setup(&app).await;
        let day = today() + Duration::days(6);
        let r = app.post_json("/api/v1/appointments", &s.manager.token, json!({"service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id, "starts_at": at(day, "14:00"), "capacity": 2})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let slots = app.get(&format!("/api/v1/public/{SLUG}/slots?service_id={}&from={day}&to={day}", s.workshop_id), None).await.json();
        assert_eq!(slots[0]["seats_left"], 2, "{slots}");
        let mut statuses = Vec::new();
        for (i, phone) in ["0611111111", "0622222222", "0633333333"].iter().enumerate() {
            let r = anonymous_json(&app, &format!("/api/v1/public/{SLUG}/bookings"), json!({"service_id": s.workshop_id, "place_id": s.place_id, "starts_at": at(day, "14:00"), "person": person(&format!("Personne {i}"), phone)})).await;
            assert_eq!(r.status, Status::Created, "{}", r.body);
            statuses.push(r.json()["status"].as_str().unwrap().to_string());
        }
        assert_eq!(statuses, ["booked", "booked", "waitlisted"]);
        // Enrolling again answers the same, and takes no second seat.
        let r = anonymous_json(&app, &format!("/api/v1/public/{SLUG}/bookings"), json!({"service_id": s.workshop_id, "place_id": s.place_id, "starts_at": at(day, "14:00"), "person": person("Personne 0", "0611111111")})).await;
        assert_eq!(r.status, Status::Created);
        assert_eq!(r.json()["status"], "booked");
        let slots = app.get(&format!("/api/v1/public/{SLUG}/slots?service_id={}&from={day}&to={day}", s.workshop_id), None).await.json();
        assert_eq!(slots[0]["seats_left"], 0);
    }
}

both_backends! {
    async fn public_attempts_are_throttled_per_phone_and_per_address(app) {
        let app = TestApp::with(app.backend, &[("public_limit_per_phone", "2"), ("public_limit_per_address", "3")]).await.unwrap();
        let s = public_setup(&app).await;
        let day = today() + Duration::days(7);
        for hour in ["08:00", "10:30"] {
            let r = public_booking(&app, &s, &at(day, hour), person("Hélène", "0612345678")).await;
            assert_eq!(r.status, Status::Created, "{}", r.body);
        }
        let r = public_booking(&app, &s, &at(day, "11:45"), person("Hélène", "06 12 34 56 78")).await;
        assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert!(r.json()["detail"].as_str().unwrap().contains("numéro"), "{}", r.body);
        let wait: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!(wait > 3600 && wait <= 86_400, "{wait}");
        // Another number from the same address: the address's share (3 admitted attempts) runs out.
        let r = public_booking(&app, &s, &at(day, "13:00"), person("Zoé", "0698765432")).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let r = public_booking(&app, &s, &at(day, "14:15"), person("Léa", "0687654321")).await;
        assert_eq!(r.status, Status::TooManyRequests, "{}", r.body);
        assert!(r.header("retry-after").is_some());
        // Another client address is not held back by this one.
        let request = app.client.post(format!("/api/v1/public/{SLUG}/bookings"))
            .remote("203.0.113.9:40000".parse().unwrap())
            .header(ContentType::JSON)
            .body(json!({"service_id": s.service_id, "place_id": s.place_id, "starts_at": at(day, "14:15"), "person": person("Léa", "0687654321")}).to_string());
        let r = crate::harness::collect(request.dispatch().await).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        // Nothing identifying is stored to count them.
        let buckets: Vec<String> = app.db().run(|conn| {
            use passerelle::db::schema::public_attempts;
            Ok(public_attempts::table.select(public_attempts::bucket).load(conn)?)
        }).await.unwrap();
        assert!(buckets.iter().all(|b| !b.contains("612345678") && !b.contains("203.0.113")), "{buckets:?}");
    }
}

pub fn referrer() -> Value {
    json!({"name": "Sophie Lenoir", "organisation": "CCAS de Roubaix", "email": "s.lenoir@ccas.example", "phone": "03 20 11 22 33"})
}

both_backends! {
    async fn a_referrer_sends_a_request_and_staff_book_from_it(app) {
        let s = public_setup(&app).await;
        let path = format!("/api/v1/public/{SLUG}/referrals");
        // Refusals name the field.
        for (body, field) in [
            (json!({"person": {"given_name": "Karim"}, "referrer": referrer(), "topics": []}), "topics"),
            (json!({"person": {"given_name": "Karim"}, "referrer": referrer(), "topics": ["astrologie"]}), "topics"),
            (json!({"person": {"given_name": "Karim"}, "referrer": {"name": "", "organisation": "CCAS", "email": "x@ccas.example"}, "topics": ["email"]}), "referrer.name"),
            (json!({"person": {"given_name": "Karim"}, "referrer": {"name": "S", "organisation": "CCAS", "email": "pas un email"}, "topics": ["email"]}), "referrer.email"),
        ] {
            let r = anonymous_json(&app, &path, body.clone()).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{body}: {}", r.body);
            assert!(r.json()["errors"][field].is_array(), "{field}: {}", r.body);
        }
        // A person with no channel of their own: the referrer is enough.
        let r = anonymous_json(&app, &path, json!({"person": {"given_name": "Karim"}, "referrer": referrer(), "topics": ["email", "aide_aux_demarches_administratives"], "message": "Disponible le matin"})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        assert_eq!(r.json(), json!({"status": "new"}));
        // The referrer's receipt is in the outbox, and sent.
        let round = app.run_worker().await;
        let _ = round;
        let receipts: Vec<(String, String)> = app.db().run(|conn| {
            use passerelle::db::schema::messages;
            Ok(messages::table.filter(messages::kind.eq("receipt")).select((messages::recipient, messages::status)).load(conn)?)
        }).await.unwrap();
        assert_eq!(receipts, [("s.lenoir@ccas.example".to_string(), "sent".to_string())]);
        // The inbox: scoped, filtered, status changed, booked in one step.
        let list = app.get("/api/v1/referrals?status=new", Some(&s.mediator.token)).await.json();
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        let item = &list[0];
        assert_eq!(item["referrer"]["organisation"], "CCAS de Roubaix");
        assert_eq!(item["topics"], json!(["aide_aux_demarches_administratives", "email"]));
        let other = app.staff("manager", "Structure Beta").await;
        assert_eq!(app.get("/api/v1/referrals", Some(&other.token)).await.json(), json!([]));
        let id = item["id"].as_i64().unwrap();
        let r = app.send_json("PATCH", &format!("/api/v1/referrals/{id}"), Some(&other.token), r#"{"status": "closed"}"#).await;
        assert_eq!(r.status, Status::NotFound);
        let r = app.send_json("PATCH", &format!("/api/v1/referrals/{id}"), Some(&s.mediator.token), r#"{"status": "lost"}"#).await;
        assert_eq!(r.status, Status::UnprocessableEntity);
        assert!(r.json()["errors"]["status"].is_array());
        assert_eq!(app.get("/api/v1/referrals?status=lost", Some(&s.mediator.token)).await.status, Status::UnprocessableEntity);
        let r = app.send_json("PATCH", &format!("/api/v1/referrals/{id}"), Some(&s.mediator.token), r#"{"status": "contacted"}"#).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        assert_eq!(r.json()["status"], "contacted");
        let start = at(today() + Duration::days(3), "10:30");
        let r = app.post_json(&format!("/api/v1/referrals/{id}/booking"), &s.mediator.token, json!({"service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id, "starts_at": start})).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        let booked = r.json();
        assert_eq!(booked["status"], "booked");
        let appointment = app.get(&format!("/api/v1/appointments/{}", booked["appointment_id"]), Some(&s.manager.token)).await.json();
        assert_eq!(appointment["participants"][0]["person_id"], item["person_id"]);
        // The reminders of a person without a channel go to the referrer.
        let to: Vec<(String, String)> = app.db().run(move |conn| {
            use passerelle::db::schema::messages;
            let id = appointment["id"].as_i64().unwrap() as i32;
            Ok(messages::table.filter(messages::appointment_id.eq(id)).select((messages::recipient, messages::recipient_kind)).load(conn)?)
        }).await.unwrap();
        assert!(!to.is_empty() && to.iter().all(|(r, k)| r == "s.lenoir@ccas.example" && k == "referent"), "{to:?}");
        // Once booked, booking again is refused.
        let r = app.post_json(&format!("/api/v1/referrals/{id}/booking"), &s.mediator.token, json!({"service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id, "starts_at": at(today() + Duration::days(4), "10:00")})).await;
        assert_eq!(r.status, Status::Conflict);
        let audit = app.get("/api/v1/audit?entity=referral", Some(&app.staff("admin", "Département").await.token)).await.json();
        let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"create") && actions.contains(&"status") && actions.contains(&"update"), "{audit}");
    }
}

both_backends! {
    async fn a_referrer_books_a_slot_and_gets_the_receipt_and_the_reminders(app) {
        let s = public_setup(&app).await;
        let start = at(today() + Duration::days(3), "11:45");
        let r = anonymous_json(&app, &format!("/api/v1/public/{SLUG}/bookings"), json!({"service_id": s.service_id, "place_id": s.place_id, "starts_at": start, "person": {"given_name": "Karim"}, "referrer": referrer(), "topics": ["email"]})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let appointment_id = r.json()["appointment_id"].as_i64().unwrap() as i32;
        let list = app.get("/api/v1/referrals", Some(&s.manager.token)).await.json();
        assert_eq!(list[0]["status"], "booked");
        assert_eq!(list[0]["appointment_id"], appointment_id);
        let kinds: Vec<(String, String)> = app.db().run(move |conn| {
            use passerelle::db::schema::messages;
            Ok(messages::table.filter(messages::recipient.eq("s.lenoir@ccas.example")).select((messages::kind, messages::recipient_kind)).order(messages::id).load(conn)?)
        }).await.unwrap();
        let names: Vec<&str> = kinds.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.contains(&"confirmation") && names.contains(&"reminder") && names.contains(&"receipt"), "{kinds:?}");
    }
}

/// A public form posted as a browser does: the page's cookie and its hidden token.
async fn post_public_form(
    app: &TestApp,
    page: &Response,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    let cookie = page
        .cookie(passerelle::auth::PRE_SESSION_CSRF_COOKIE)
        .expect("pre-session cookie");
    let token = crate::harness::hidden_field(&page.body, "csrf_token").expect("csrf_token field");
    let mut pairs: Vec<String> = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::harness::urlencode(k),
                crate::harness::urlencode(v)
            )
        })
        .collect();
    pairs.push(format!("csrf_token={}", crate::harness::urlencode(&token)));
    let request = app
        .client
        .post(path.to_string())
        .header(ContentType::Form)
        .cookie(rocket::http::Cookie::new(
            passerelle::auth::PRE_SESSION_CSRF_COOKIE,
            cookie,
        ))
        .body(pairs.join("&"));
    crate::harness::collect(request.dispatch().await).await
}

both_backends! {
    async fn a_person_books_from_the_public_pages(app) {
        let s = public_setup(&app).await;
        let home = app.get(&format!("/rdv/{SLUG}"), None).await;
        assert_eq!(home.status, Status::Ok);
        assert!(home.body.contains("Accompagnement individuel") && home.body.contains("Médiathèque Jean Macé"));
        assert!(!home.body.contains("<script"), "no JavaScript");
        let day = today() + Duration::days(3);
        let slots = app.get(&format!("/rdv/{SLUG}/creneaux?service_id={}&place_id={}&date={day}", s.service_id, s.place_id), None).await;
        assert_eq!(slots.status, Status::Ok, "{}", slots.body);
        assert!(slots.body.contains("08:00") && slots.body.contains("09:15"), "{}", slots.body);
        let start = at(day, "09:15");
        let form_path = format!("/rdv/{SLUG}/reserver?service_id={}&place_id={}&starts_at={}", s.service_id, s.place_id, crate::harness::urlencode(&start));
        let form = app.get(&form_path, None).await;
        assert_eq!(form.status, Status::Ok, "{}", form.body);
        // One of the phone and the email is needed: neither is labelled optional on its own.
        assert!(form.body.contains("Indiquez un téléphone portable ou une adresse e-mail") && form.body.contains("(ou le téléphone)"), "{}", form.body);
        assert!(!form.body.contains("Téléphone portable (facultatif)") && !form.body.contains("Adresse e-mail (facultatif)"), "{}", form.body);
        for page in [&home, &slots, &form] {
            assert!(page.body.len() <= 30 * 1024, "a public page weighs {} bytes", page.body.len());
        }
        let base = [("service_id", s.service_id.to_string()), ("place_id", s.place_id.to_string()), ("starts_at", start.clone())];
        let with = |extra: &[(&'static str, &'static str)]| -> Vec<(String, String)> {
            base.iter().map(|(k, v)| (k.to_string(), v.clone())).chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string()))).collect()
        };
        let fields = |v: &Vec<(String, String)>| v.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect::<Vec<_>>();
        // Without the form's token: refused, nothing booked.
        let r = app.client.post(format!("/rdv/{SLUG}/reserver")).header(ContentType::Form)
            .body(format!("service_id={}&place_id={}&starts_at={}&given_name=X&phone=0612345678", s.service_id, s.place_id, crate::harness::urlencode(&start))).dispatch().await;
        assert_eq!(r.status(), Status::Forbidden);
        // No way to be reached: the form again, the field named, in French.
        let bad = fields(&with(&[("given_name", "Hélène")]));
        let pairs: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = post_public_form(&app, &form, &format!("/rdv/{SLUG}/reserver"), &pairs).await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
        assert!(r.body.contains("aria-invalid") && r.body.contains("numéro de téléphone"), "{}", r.body);
        // The honeypot filled: a page like a confirmation, and nothing written.
        let robot = fields(&with(&[("given_name", "Robot"), ("phone", "0611223344"), ("website", "http://spam.example")]));
        let pairs: Vec<(&str, &str)> = robot.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = post_public_form(&app, &form, &format!("/rdv/{SLUG}/reserver"), &pairs).await;
        assert_eq!(r.status, Status::Ok);
        assert!(r.body.contains("Votre rendez-vous est réservé"));
        assert_eq!(count(&app, "appointments").await, 0);
        assert_eq!(count(&app, "people").await, 0);
        // A real booking: the confirmation with the date, the place and the personal link.
        let good = fields(&with(&[("given_name", "Hélène"), ("phone", "06 12 34 56 78"), ("sms_consent", "true"), ("language", "fr")]));
        let pairs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = post_public_form(&app, &form, &format!("/rdv/{SLUG}/reserver"), &pairs).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        let body = crate::harness::unescape(&r.body);
        assert!(body.contains("Votre rendez-vous est réservé") && body.contains("9 h 15") && body.contains("2 rue de la Gare"), "{body}");
        let link = body.split("href=\"").find(|h| h.contains("/r/")).and_then(|h| h.split('"').next()).expect("the personal link");
        let personal = app.get(&format!("/r/{}", link.split("/r/").nth(1).unwrap()), None).await;
        assert_eq!(personal.status, Status::Ok);
        assert!(r.body.len() <= 30 * 1024);
        assert_eq!(count(&app, "appointments").await, 1);
        // The same slot again: taken, said plainly, with the way back to the free times.
        let again = fields(&with(&[("given_name", "Zoé"), ("phone", "0698765432")]));
        let pairs: Vec<(&str, &str)> = again.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = post_public_form(&app, &form, &format!("/rdv/{SLUG}/reserver"), &pairs).await;
        assert_eq!(r.status, Status::Conflict);
        assert!(r.body.contains("plus disponible"), "{}", r.body);
        // Unknown organisation, unknown or staff-only service: not found / named.
        assert_eq!(app.get("/rdv/personne-ici", None).await.status, Status::NotFound);
        let r = app.get(&format!("/rdv/{SLUG}/creneaux?service_id=999999&place_id={}", s.place_id), None).await;
        assert_eq!(r.status, Status::UnprocessableEntity);
        let r = app.get(&format!("/rdv/{SLUG}/creneaux?service_id={}&place_id={}&date=hier", s.service_id, s.place_id), None).await;
        assert_eq!(r.status, Status::UnprocessableEntity);
    }
}

both_backends! {
    async fn a_referrer_sends_a_request_from_the_public_page(app) {
        let s = public_setup(&app).await;
        let page = app.get(&format!("/rdv/{SLUG}/orienter"), None).await;
        assert_eq!(page.status, Status::Ok, "{}", page.body);
        assert!(page.body.len() <= 30 * 1024, "{} bytes", page.body.len());
        // The referrer is reached when the person has no channel: both are optional here.
        assert!(page.body.contains("Téléphone portable (facultatif)") && page.body.contains("Adresse e-mail (facultatif)"), "{}", page.body);
        let path = format!("/rdv/{SLUG}/orienter");
        let mut fields = vec![
            ("referrer_name", "Sophie Lenoir"), ("referrer_organisation", "CCAS de Roubaix"),
            ("referrer_email", "s.lenoir@ccas.example"), ("given_name", "Karim"),
            ("topics", "email"), ("topics", "aide_aux_demarches_administratives"), ("slot", ""),
        ];
        // The person's agreement is required.
        let r = post_public_form(&app, &page, &path, &fields).await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
        assert!(r.body.contains("Cochez la case"), "{}", r.body);
        assert_eq!(count(&app, "referrals").await, 0);
        fields.push(("agreement", "true"));
        let r = post_public_form(&app, &page, &path, &fields).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        assert!(r.body.contains("va contacter la personne"), "{}", r.body);
        // In the inbox of the structure's staff.
        let inbox = app.page("/referrals", &s.mediator.session).await;
        assert_eq!(inbox.status, Status::Ok);
        assert!(inbox.body.contains("Karim") && inbox.body.contains("CCAS de Roubaix"), "{}", inbox.body);
        let other = app.staff("manager", "Structure Beta").await;
        let theirs = app.page("/referrals", &other.session).await;
        assert!(!theirs.body.contains("Karim"));
        // Booked from the inbox in one step.
        let id = app.get("/api/v1/referrals", Some(&s.mediator.token)).await.json()[0]["id"].as_i64().unwrap();
        let local = format!("{}T10:30", today() + Duration::days(3));
        let r = app.post_form(&format!("/referrals/{id}/book"), Some(&s.mediator.session), &[("csrf_token", &s.mediator.csrf), ("service_id", &s.service_id.to_string()), ("mediator_id", &s.mediator.user.id.to_string()), ("place_id", &s.place_id.to_string()), ("starts_at_local", &local)]).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        let list = app.get("/api/v1/referrals", Some(&s.mediator.token)).await.json();
        assert_eq!(list[0]["status"], "booked");
        // With a slot picked: booked at once.
        let page = app.get(&format!("/rdv/{SLUG}/orienter"), None).await;
        let slot = crate::harness::unescape(&page.body).split("id=\"slot\"").nth(1).unwrap().split("<option value=\"").nth(2).unwrap().split('"').next().unwrap().to_string();
        let r = post_public_form(&app, &page, &path, &[("referrer_name", "Sophie Lenoir"), ("referrer_organisation", "CCAS"), ("referrer_email", "s.lenoir@ccas.example"), ("given_name", "Amina"), ("phone", "0611111111"), ("agreement", "true"), ("topics", "email"), ("slot", &slot)]).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        assert!(r.body.contains("est réservé"), "{}", r.body);
        assert_eq!(count(&app, "appointments").await, 2);
    }
}
