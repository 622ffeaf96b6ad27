//! Skills: the referential, session logs, assessments, profiles, logs to fill.

use chrono::Duration;
use rocket::http::Status;
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, person, setup, today, Setup};
use crate::harness::{unescape, TestApp};

/// A drop-in session that happened yesterday at 10:00, with these people.
async fn walk_in(app: &TestApp, s: &Setup, people: &[i64], day_offset: i64) -> i64 {
    let r = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
        "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
        "starts_at": at(today() - Duration::days(day_offset), "10:00"), "person_ids": people, "walk_in": true})).await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()["id"].as_i64().unwrap()
}

async fn log(app: &TestApp, token: &str, id: i64, body: Value) -> crate::harness::Response {
    app.post_json(&format!("/api/v1/appointments/{id}/log"), token, body)
        .await
}

both_backends! {
    async fn the_default_referential_is_loaded_and_an_upgrade_keeps_local_edits(app) {
        let admin = app.staff("admin", "Département").await;
        let mediator = app.staff("mediator", "Emmaüs Connect").await;
        let referential = app.get("/api/v1/skills", Some(&mediator.token)).await.json();
        let codes: Vec<&str> = referential.as_array().unwrap().iter().map(|d| d["domain_code"].as_str().unwrap()).collect();
        assert_eq!(codes, vec!["A", "B", "C", "D", "E", "F"]);
        assert_eq!(referential[0]["skills"][0]["code"], "A1");
        assert_eq!(referential[0]["levels"][3]["label"], "autonome");
        assert_eq!(referential[5]["skills"].as_array().unwrap().len(), 5);

        let rename = app.send_json("PATCH", "/api/v1/skills/A1", Some(&admin.token), r#"{"name": "Utiliser l'écran tactile"}"#).await;
        assert_eq!(rename.status, Status::Ok, "{}", rename.body);
        let retired = app.send_json("PATCH", "/api/v1/skills/B3", Some(&admin.token), r#"{"retired": true}"#).await;
        assert_eq!(retired.status, Status::Ok, "{}", retired.body);
        // Times carry the configured offset, as everywhere in the API.
        let at = retired.json()["retired_at"].as_str().unwrap().to_string();
        assert!(chrono::DateTime::parse_from_rfc3339(&at).is_ok(), "{at}");
        // What assessments refer to never changes: refused, not ignored.
        let recode = app.send_json("PATCH", "/api/v1/skills/A1", Some(&admin.token), r#"{"code": "Z9"}"#).await;
        assert_eq!(recode.status, Status::UnprocessableEntity);
        assert!(recode.json()["errors"]["code"].is_array(), "{}", recode.body);
        assert_eq!(app.send_json("PATCH", "/api/v1/skills/A1", Some(&mediator.token), r#"{"name": "X"}"#).await.status, Status::Forbidden);
        let added = app.post_json("/api/v1/skills", &admin.token, json!({"domain_code": "F", "code": "F6", "name": "Impôts en ligne"})).await;
        assert_eq!(added.status, Status::Created);
        // An upgrade shipping a skill this database lacks adds it, and changes nothing else.
        app.db().run(|conn| {
            use diesel::prelude::*;
            use passerelle::db::schema::skills;
            diesel::delete(skills::table.filter(skills::code.eq("F5"))).execute(conn)?;
            Ok(())
        }).await.unwrap();
        let added_again = app.db().run(passerelle::skills::sync_defaults).await.unwrap();
        assert_eq!(added_again, 1);
        let after = app.get("/api/v1/skills", Some(&mediator.token)).await.json();
        assert_eq!(after[0]["skills"][0]["name"], "Utiliser l'écran tactile");
        let b: Vec<&str> = after[1]["skills"].as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap()).collect();
        assert_eq!(b, vec!["B1", "B2"], "B3 stays retired");
        let f: Vec<&str> = after[5]["skills"].as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap()).collect();
        assert!(f.contains(&"F5") && f.contains(&"F6"));
        let page = app.page("/skills", &admin.session).await;
        assert!(unescape(&page.body).contains("Utiliser l'écran tactile") && page.body.contains("retirée"));
        // The same edits from the admin page: add, rename, reorder, retire.
        let add = app.post_form("/skills", Some(&admin.session), &[("csrf_token", &admin.csrf), ("domain_code", "E"), ("code", "e4"), ("name", "Sauvegarder ses photos")]).await;
        assert_eq!(add.status, Status::SeeOther);
        let edit = app.post_form("/skills/E4", Some(&admin.session), &[("csrf_token", &admin.csrf), ("name", "Sauvegarder ses documents"), ("position", "0"), ("retired", "false")]).await;
        assert_eq!(edit.status, Status::SeeOther);
        let e = app.get("/api/v1/skills", Some(&mediator.token)).await.json()[4]["skills"].clone();
        assert_eq!(e[0]["code"], "E4", "moved first");
        assert_eq!(e[0]["name"], "Sauvegarder ses documents");
        let retire = app.post_form("/skills/E4", Some(&admin.session), &[("csrf_token", &admin.csrf), ("retired", "true")]).await;
        assert_eq!(retire.status, Status::SeeOther);
        assert!(app.get("/api/v1/skills", Some(&mediator.token)).await.json()[4]["skills"].as_array().unwrap().iter().all(|s| s["code"] != "E4"));
        let refused = app.post_form("/skills/E1", Some(&mediator.session), &[("csrf_token", &mediator.csrf), ("name", "X")]).await;
        assert_eq!(refused.status, Status::Forbidden);
    }
}

both_backends! {
    async fn logging_rules_future_unknown_skill_bad_level_and_strangers_are_refused(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let (a, b) = (person(&app, &s.mediator.token, "Ana").await, person(&app, &s.mediator.token, "Bilal").await);
        let future = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(today() + Duration::days(3), "10:00"), "person_ids": [a]})).await.json();
        let early = log(&app, &s.mediator.token, future["id"].as_i64().unwrap(), json!({"participants": [{"person_id": a, "attendance": "attended"}]})).await;
        assert_eq!(early.status, Status::UnprocessableEntity);
        assert!(early.json()["errors"]["appointment"].is_array());

        let id = walk_in(&app, &s, &[a], 1).await;
        let unknown = log(&app, &s.mediator.token, id, json!({"participants": [{"person_id": a, "attendance": "attended", "skills": [{"skill_code": "Z9", "level": 2}]}]})).await;
        assert_eq!(unknown.status, Status::UnprocessableEntity);
        assert!(unknown.json()["errors"]["participants[0].skills[0].skill_code"].is_array(), "{}", unknown.body);
        let level = log(&app, &s.mediator.token, id, json!({"participants": [{"person_id": a, "attendance": "attended", "skills": [{"skill_code": "A1", "level": 4}]}]})).await;
        assert_eq!(level.status, Status::UnprocessableEntity);
        assert!(level.json()["errors"]["participants[0].skills[0].level"].is_array());
        let bad = log(&app, &s.mediator.token, id, json!({"participants": [{"person_id": a, "attendance": "maybe", "topics": ["cuisine"], "device": "phone"}]})).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        let errors = bad.json()["errors"].clone();
        assert!(errors["participants[0].attendance"].is_array() && errors["participants[0].topics"].is_array() && errors["participants[0].device"].is_array());
        // Nothing was written by the refused attempts.
        assert!(app.get(&format!("/api/v1/appointments/{id}/log"), Some(&s.mediator.token)).await.json().as_array().unwrap().is_empty());
        // A walk-in gathers whoever came; a booked appointment only its participants.
        let ok = log(&app, &s.mediator.token, id, json!({"participants": [
            {"person_id": a, "attendance": "attended", "topics": ["email", "argent_impots"], "device": "own", "autonomy": "partly", "skills": [{"skill_code": "C2", "level": 1}]},
            {"person_id": b, "attendance": "attended", "duration_minutes": 30}
        ]})).await;
        assert_eq!(ok.status, Status::Created, "{}", ok.body);
        let appointment = app.get(&format!("/api/v1/appointments/{id}"), Some(&s.mediator.token)).await.json();
        assert_eq!(appointment["status"], "done");
        assert_eq!(appointment["participants"].as_array().unwrap().len(), 2);
        let stranger = person(&app, &s.mediator.token, "Chloé").await;
        let other = walk_in(&app, &s, &[a], 2).await;
        let not_there = log(&app, &s.mediator.token, other, json!({"participants": [{"person_id": stranger, "attendance": "attended"}]})).await;
        assert_eq!(not_there.status, Status::Created, "drop-in: added");
        let booked = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(today() + Duration::days(4), "10:00"), "person_ids": [a]})).await.json();
        app.db().run({ let id = booked["id"].as_i64().unwrap() as i32; move |conn| {
            use diesel::prelude::*;
            use passerelle::db::schema::appointments;
            // As if the appointment had taken place yesterday.
            let yesterday = passerelle::db::now() - chrono::Duration::days(1);
            diesel::update(appointments::table.find(id)).set((appointments::starts_at.eq(yesterday), appointments::ends_at.eq(yesterday + chrono::Duration::hours(1)))).execute(conn)?;
            Ok(())
        }}).await.unwrap();
        let intruder = log(&app, &s.mediator.token, booked["id"].as_i64().unwrap(), json!({"participants": [{"person_id": stranger, "attendance": "attended"}]})).await;
        assert_eq!(intruder.status, Status::UnprocessableEntity);
        // Another organisation cannot log it.
        let other_org = app.staff("mediator", "Mission locale").await;
        assert_eq!(log(&app, &other_org.token, id, json!({"participants": [{"person_id": a, "attendance": "attended"}]})).await.status, Status::NotFound);
        assert_eq!(app.get(&format!("/api/v1/people/{a}/skills"), Some(&other_org.token)).await.status, Status::NotFound);
    }
}

both_backends! {
    async fn profiles_show_first_and_last_levels_and_edits_keep_the_previous_version(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = person(&app, &s.mediator.token, "Djeneba").await;
        let diagnostic = app.post_json(&format!("/api/v1/people/{p}/assessments"), &s.mediator.token, json!({
            "kind": "diagnostic", "assessed_at": at(today() - Duration::days(20), "09:00"),
            "skills": [{"skill_code": "A1", "level": 0}, {"skill_code": "C2", "level": 1}]})).await;
        assert_eq!(diagnostic.status, Status::Created, "{}", diagnostic.body);
        let id = walk_in(&app, &s, &[p], 10).await;
        assert_eq!(log(&app, &s.mediator.token, id, json!({"participants": [{"person_id": p, "attendance": "attended", "duration_minutes": 90,
            "skills": [{"skill_code": "A1", "level": 1}]}]})).await.status, Status::Created);
        // The log is corrected: A1 was in fact 2. Version 2 replaces version 1, which is kept.
        let edited = log(&app, &s.mediator.token, id, json!({"participants": [{"person_id": p, "attendance": "attended", "duration_minutes": 60,
            "skills": [{"skill_code": "A1", "level": 2}]}]})).await;
        assert_eq!(edited.json()[0]["version"], 2);
        let versions: i64 = app.db().run(move |conn| {
            use diesel::prelude::*;
            use passerelle::db::schema::session_logs;
            Ok(session_logs::table.filter(session_logs::appointment_id.eq(id as i32)).count().get_result(conn)?)
        }).await.unwrap();
        assert_eq!(versions, 2);
        let last = app.post_json(&format!("/api/v1/people/{p}/assessments"), &s.mediator.token, json!({
            "kind": "final", "skills": [{"skill_code": "A1", "level": 3}]})).await;
        assert_eq!(last.status, Status::Created);
        let bad = app.post_json(&format!("/api/v1/people/{p}/assessments"), &s.mediator.token, json!({"kind": "exam", "skills": [{"skill_code": "A1", "level": 9}]})).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);

        let profile = app.get(&format!("/api/v1/people/{p}/skills"), Some(&s.mediator.token)).await.json();
        let a1 = profile.as_array().unwrap().iter().find(|s| s["skill_code"] == "A1").unwrap().clone();
        assert_eq!((a1["first_level"].as_i64(), a1["level"].as_i64(), a1["progressed"].as_bool()), (Some(0), Some(3), Some(true)));
        let history: Vec<(i64, &str)> = a1["history"].as_array().unwrap().iter().map(|h| (h["level"].as_i64().unwrap(), h["source"].as_str().unwrap())).collect();
        assert_eq!(history, vec![(0, "diagnostic"), (2, "session"), (3, "final")], "the edited log's first version no longer counts");
        let c2 = profile.as_array().unwrap().iter().find(|s| s["skill_code"] == "C2").unwrap().clone();
        assert_eq!((c2["level"].as_i64(), c2["progressed"].as_bool()), (Some(1), Some(false)));

        let page = app.page(&format!("/people/{p}"), &s.mediator.session).await;
        let text = unescape(&page.body);
        assert!(text.contains("1 séance(s), 1\u{a0}h d'accompagnement"), "one session of 60 minutes (the corrected duration): {text}");
        assert!(text.contains("level level-3\">3 · autonome") && text.contains("0 → 2 → 3") && text.contains("(progrès)"));
    }
}

both_backends! {
    async fn logs_to_fill_lists_past_unlogged_appointments_oldest_first(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = person(&app, &s.mediator.token, "Elif").await;
        let older = walk_in(&app, &s, &[p], 3).await;
        let newer = walk_in(&app, &s, &[p], 1).await;
        let todo = app.get("/api/v1/logs-to-fill", Some(&s.mediator.token)).await.json();
        let ids: Vec<i64> = todo.as_array().unwrap().iter().map(|t| t["appointment_id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![older, newer]);
        // Logged from the HTML form in one go.
        let form = app.page(&format!("/appointments/{older}/log"), &s.mediator.session).await;
        assert_eq!(form.status, Status::Ok);
        assert!(form.body.contains("participants[0].skills[A1]"));
        let saved = app.post_form(&format!("/appointments/{older}/log"), Some(&s.mediator.session), &[
            ("csrf_token", &s.mediator.csrf), ("participants[0].person_id", &p.to_string()), ("participants[0].attendance", "attended"),
            ("participants[0].duration_minutes", "45"), ("participants[0].topics", "email"), ("participants[0].topics", "logement"),
            ("participants[0].device", "lent"), ("participants[0].autonomy", ""), ("participants[0].skills[A1]", "2"),
            ("participants[0].skills[B1]", ""), ("participants[0].orientation", ""), ("participants[0].note", "Revient mardi"),
        ]).await;
        assert_eq!(saved.status, Status::SeeOther, "{}", saved.body);
        let logged = app.get(&format!("/api/v1/appointments/{older}/log"), Some(&s.mediator.token)).await.json();
        assert_eq!(logged[0]["topics"], json!(["email", "logement"]));
        assert_eq!(logged[0]["skills"], json!([{"skill_code": "A1", "level": 2}]));
        assert_eq!(logged[0]["duration_minutes"], 45);
        let todo = app.get("/api/v1/logs-to-fill", Some(&s.mediator.token)).await.json();
        assert_eq!(todo.as_array().unwrap().len(), 1);
        let page = app.page("/logs-to-fill", &s.mediator.session).await;
        assert!(page.body.contains(&format!("/appointments/{newer}/log")) && !page.body.contains(&format!("/appointments/{older}/log")));
        // A bad level from the form comes back with the message.
        let refused = app.post_form(&format!("/appointments/{newer}/log"), Some(&s.mediator.session), &[
            ("csrf_token", &s.mediator.csrf), ("participants[0].person_id", &p.to_string()), ("participants[0].attendance", "attended"),
            ("participants[0].skills[A1]", "7"),
        ]).await;
        assert_eq!(refused.status, Status::UnprocessableEntity);
        assert!(refused.body.contains("Le niveau va de 0"));
        // A duration that is not a number is refused (it was taken for "none"), and the form
        // comes back with everything that was typed: note, duration, topics, device, levels.
        let refused = app.post_form(&format!("/appointments/{newer}/log"), Some(&s.mediator.session), &[
            ("csrf_token", &s.mediator.csrf), ("participants[0].person_id", &p.to_string()), ("participants[0].attendance", "attended"),
            ("participants[0].duration_minutes", "une heure"), ("participants[0].topics", "logement"), ("participants[0].device", "lent"),
            ("participants[0].skills[A1]", "3"), ("participants[0].note", "Apporte son avis d'imposition"),
        ]).await;
        assert_eq!(refused.status, Status::UnprocessableEntity);
        let text = crate::harness::unescape(&refused.body);
        assert!(text.contains("La durée va de 1 à 720 minutes."), "{text}");
        for kept in [
            r#"name="participants[0].duration_minutes" value="une heure""#,
            r#"name="participants[0].note" value="Apporte son avis d'imposition""#,
            r#"<option value="lent" selected>"#,
            r#"<option value="3" selected>3"#,
        ] {
            assert!(text.contains(kept), "{kept} in {text}");
        }
        assert!(text.contains(r#"value="logement" checked"#), "{text}");
        let logs = app.get(&format!("/api/v1/appointments/{newer}/log"), Some(&s.mediator.token)).await.json();
        assert_eq!(logs.as_array().map(Vec::len), Some(0), "nothing written: {logs}");
    }
}
