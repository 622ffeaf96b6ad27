//! Privacy: the complete export, erasure, the retention and message purge job, the audit log.

use chrono::{Duration, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use passerelle::db::schema::{
    appointments, assessments, assignments, equipment_events, job_runs, messages, participants,
    people, session_logs,
};
use rocket::http::Status;
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, book, person, person_with, setup, today, walk_in};
use crate::harness::{unescape, TestApp};

/// A person whose reminders go to their own email.
async fn reachable(app: &TestApp, token: &str, given: &str, email: &str) -> i64 {
    let body = json!({"given_name": given, "family_name": "Test", "email": email, "reminder_consent": true});
    person_with(app, token, body).await
}

/// A device handed over to `person` today; returned at once when `returned`.
async fn hand_over(app: &TestApp, token: &str, person: i64, serial: &str, returned: bool) -> i64 {
    let item = app
        .post_json(
            "/api/v1/equipment",
            token,
            json!({"kind": "tablet", "model": "Lenovo M10", "serial": serial}),
        )
        .await;
    assert_eq!(item.status, Status::Created, "{}", item.body);
    let id = item.json()["id"].as_i64().unwrap();
    let assigned = app
        .post_json(
            &format!("/api/v1/equipment/{id}/assign"),
            token,
            json!({
                "person_id": person, "mode": "loan", "handed_over_on": today().to_string(),
                "due_back_on": (today() + Duration::days(30)).to_string(),
                "acceptance": "typed_name", "accepted_by_name": "Anne Martin",
            }),
        )
        .await;
    assert_eq!(assigned.status, Status::Created, "{}", assigned.body);
    if returned {
        let back = app
            .post_json(
                &format!("/api/v1/equipment/{id}/return"),
                token,
                json!({"returned_on": today().to_string(), "condition": "bon état"}),
            )
            .await;
        assert_eq!(back.status, Status::Ok, "{}", back.body);
    }
    id
}

/// Moves every date of a person's records to `when`, as if all of it had happened then.
async fn age(app: &TestApp, person: i64, when: NaiveDateTime) {
    let id = person as i32;
    app.db()
        .run(move |conn| {
            diesel::update(people::table.find(id))
                .set((people::created_at.eq(when), people::updated_at.eq(when)))
                .execute(conn)?;
            let theirs: Vec<i32> = participants::table
                .filter(participants::person_id.eq(id))
                .select(participants::appointment_id)
                .load(conn)?;
            diesel::update(appointments::table.filter(appointments::id.eq_any(&theirs)))
                .set((
                    appointments::starts_at.eq(when),
                    appointments::ends_at.eq(when + Duration::hours(1)),
                    appointments::blocked_until.eq(when + Duration::hours(1)),
                ))
                .execute(conn)?;
            diesel::update(participants::table.filter(participants::person_id.eq(id)))
                .set((
                    participants::created_at.eq(when),
                    participants::updated_at.eq(when),
                ))
                .execute(conn)?;
            diesel::update(session_logs::table.filter(session_logs::person_id.eq(id)))
                .set(session_logs::created_at.eq(when))
                .execute(conn)?;
            diesel::update(assessments::table.filter(assessments::person_id.eq(id)))
                .set((
                    assessments::created_at.eq(when),
                    assessments::assessed_at.eq(when),
                ))
                .execute(conn)?;
            diesel::update(assignments::table.filter(assignments::person_id.eq(id)))
                .set((
                    assignments::created_at.eq(when),
                    assignments::handed_over_on.eq(when.date()),
                ))
                .execute(conn)?;
            diesel::update(
                assignments::table
                    .filter(assignments::person_id.eq(id))
                    .filter(assignments::returned_on.is_not_null()),
            )
            .set(assignments::returned_on.eq(Some(when.date())))
            .execute(conn)?;
            diesel::update(equipment_events::table.filter(equipment_events::person_id.eq(id)))
                .set(equipment_events::at.eq(when))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

fn months_ago(months: u32) -> NaiveDateTime {
    passerelle::db::now()
        .checked_sub_months(chrono::Months::new(months))
        .unwrap()
}

async fn run_job(app: &TestApp) -> passerelle::privacy::Report {
    let config = app.config();
    app.db()
        .run(move |conn| passerelle::privacy::run(conn, &config))
        .await
        .unwrap()
}

/// The audit entries of one record, as (action, actor_id), newest first.
async fn audit_of(app: &TestApp, admin: &str, entity: &str, id: i64) -> Vec<(String, Value)> {
    let r = app
        .get(
            &format!("/api/v1/audit?entity={entity}&entity_id={id}"),
            Some(admin),
        )
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor_id"].clone(),
            )
        })
        .collect()
}

fn rows(html: &str) -> usize {
    html.matches("<tr><td>").count()
}

both_backends! {
    async fn the_export_holds_everything_held_on_the_person(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let admin = app.staff("admin", "Département").await;
        let programme = app
            .post_json("/api/v1/programmes", &s.manager.token, json!({"name": "RSA — équipement 2020", "funder": "Département"}))
            .await
            .json();
        let created = app
            .post_json("/api/v1/people", &s.mediator.token, json!({
                "given_name": "Marie", "family_name": "Curie", "birth_year": 1967, "postal_code": "59100",
                "city": "Roubaix", "email": "marie@example.org", "phone": "06 11 22 33 44", "reminder_consent": true,
                "referent_name": "Mme Prescriptrice", "referent_email": "referente@example.org",
                "referent_organisation": "CCAS de Roubaix", "programme_ids": [programme["id"]],
                "notes": "Préfère le matin",
            }))
            .await;
        assert_eq!(created.status, Status::Created, "{}", created.body);
        let p = created.json()["id"].as_i64().unwrap();
        // An appointment to come, whose confirmation goes out.
        let upcoming = book(&app, &s, &s.mediator.token, &at(today() + Duration::days(5), "10:00"), &[p]).await;
        assert_eq!(upcoming.status, Status::Created, "{}", upcoming.body);
        let upcoming = upcoming.json()["id"].as_i64().unwrap();
        assert!(app.run_worker().await.sent >= 1);
        // A past session, logged; an assessment; two devices, one given back.
        let past = walk_in(&app, &s, &[p], 2, "Dossier CAF en cours").await;
        let logged = app.post_json(&format!("/api/v1/appointments/{past}/log"), &s.mediator.token, json!({"participants": [{
            "person_id": p, "attendance": "attended", "duration_minutes": 45, "topics": ["email", "logement"],
            "device": "lent", "autonomy": "partly", "skills": [{"skill_code": "C2", "level": 2}],
            "orientation": "administration", "orientation_note": "France Services", "location_type": "place", "note": "Revient avec son avis d'imposition",
        }]})).await;
        assert_eq!(logged.status, Status::Created, "{}", logged.body);
        let assessed = app.post_json(&format!("/api/v1/people/{p}/assessments"), &s.mediator.token,
            json!({"kind": "diagnostic", "skills": [{"skill_code": "A1", "level": 1}]})).await;
        assert_eq!(assessed.status, Status::Created, "{}", assessed.body);
        let returned = hand_over(&app, &s.mediator.token, p, "TAB-RENDUE", true).await;
        let held = hand_over(&app, &s.mediator.token, p, "TAB-TENUE", false).await;

        let export = app.get(&format!("/api/v1/people/{p}/export"), Some(&s.mediator.token)).await;
        assert_eq!(export.status, Status::Ok, "{}", export.body);
        let e = export.json();
        assert_eq!(e["person"]["family_name"], "Curie");
        assert_eq!(e["person"]["phone"], "+33611223344");
        assert_eq!(e["person"]["referent_organisation"], "CCAS de Roubaix");
        assert_eq!(e["person"]["notes"], "Préfère le matin");
        assert_eq!(e["organisation"]["name"], "Emmaüs Connect");
        assert_eq!(e["programmes"], json!([{"id": programme["id"], "name": "RSA — équipement 2020", "funder": "Département"}]));
        // Participations, with the appointment's date, place, service and status.
        let participations = e["participations"].as_array().unwrap();
        assert_eq!(participations.len(), 2);
        let coming = participations.iter().find(|x| x["appointment_id"] == upcoming).unwrap();
        assert_eq!(coming["status"], "booked");
        assert_eq!(coming["appointment_status"], "planned");
        assert_eq!(coming["starts_at"], at(today() + Duration::days(5), "10:00"));
        assert_eq!(coming["place"]["name"], "Médiathèque Jean Macé");
        assert_eq!(coming["place"]["city"], "Roubaix");
        assert_eq!(coming["service"]["name"], "Accompagnement individuel");
        assert_eq!(coming["mediator"]["id"], s.mediator.user.id);
        let went = participations.iter().find(|x| x["appointment_id"] == past).unwrap();
        assert_eq!((went["status"].as_str(), went["walk_in"].as_bool()), (Some("attended"), Some(true)));
        assert_eq!(went["notes"], "Dossier CAF en cours");
        // The session log, whole.
        let log = &e["session_logs"][0];
        assert_eq!(log["appointment_id"], past);
        assert_eq!(log["topics"], json!(["email", "logement"]));
        assert_eq!((log["device"].as_str(), log["autonomy"].as_str()), (Some("lent"), Some("partly")));
        assert_eq!(log["skills"], json!([{"skill_code": "C2", "level": 2}]));
        assert_eq!(log["orientation"], "administration");
        assert_eq!(log["orientation_note"], "France Services");
        assert_eq!(log["location_type"], "place");
        assert_eq!(log["note"], "Revient avec son avis d'imposition");
        assert_eq!(log["duration_minutes"], 45);
        assert_eq!(log["author"]["id"], s.mediator.user.id);
        // Assessments and the skills history.
        let kinds: Vec<(&str, &str, i64)> = e["assessments"].as_array().unwrap().iter()
            .map(|a| (a["skill_code"].as_str().unwrap(), a["kind"].as_str().unwrap(), a["level"].as_i64().unwrap())).collect();
        assert!(kinds.contains(&("C2", "session", 2)) && kinds.contains(&("A1", "diagnostic", 1)), "{kinds:?}");
        let skills: Vec<&str> = e["skills"].as_array().unwrap().iter().map(|s| s["skill_code"].as_str().unwrap()).collect();
        assert_eq!(skills, vec!["A1", "C2"]);
        // Equipment, with the handovers and the item history.
        let equipment = e["equipment"].as_array().unwrap();
        assert_eq!(equipment.len(), 2);
        let back = equipment.iter().find(|x| x["equipment_id"] == returned).unwrap();
        assert_eq!((back["serial"].as_str(), back["mode"].as_str()), (Some("TAB-RENDUE"), Some("loan")));
        assert_eq!(back["accepted_by_name"], "Anne Martin");
        assert_eq!(back["returned_on"], today().to_string());
        assert_eq!(back["return_condition"], "bon état");
        assert_eq!(equipment.iter().find(|x| x["equipment_id"] == held).unwrap()["returned_on"], Value::Null);
        let actions: Vec<(i64, &str)> = e["equipment_history"].as_array().unwrap().iter()
            .map(|x| (x["equipment_id"].as_i64().unwrap(), x["action"].as_str().unwrap())).collect();
        assert_eq!(actions, vec![(returned, "loaned"), (returned, "returned"), (held, "loaned")]);
        // Messages, with the text of what went out.
        let messages = e["messages"].as_array().unwrap();
        let confirmation = messages.iter().find(|m| m["kind"] == "confirmation").unwrap();
        assert_eq!((confirmation["status"].as_str(), confirmation["recipient"].as_str()), (Some("sent"), Some("marie@example.org")));
        assert!(confirmation["body"].as_str().unwrap().contains("Marie"));
        assert!(confirmation["subject"].is_string() && confirmation["sent_at"].is_string());
        assert!(messages.iter().any(|m| m["kind"] == "reminder" && m["status"] == "pending" && m["due_at"].is_string()));
        // The record's own history.
        let history: Vec<&str> = e["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
        assert!(history.contains(&"create") && history.contains(&"assess"), "{history:?}");
        assert_eq!(e["history"].as_array().unwrap().last().unwrap()["actor"]["id"], s.mediator.user.id);

        // The same as a file to hand over, from the person's page.
        let page = app.page(&format!("/people/{p}"), &s.mediator.session).await;
        assert!(page.body.contains(&format!("href=\"/people/{p}/export\"")));
        let file = app.page(&format!("/people/{p}/export"), &s.mediator.session).await;
        assert_eq!(file.status, Status::Ok, "{}", file.body);
        assert!(file.header("content-disposition").unwrap().starts_with("attachment"));
        let text = unescape(&file.body);
        for expected in [
            "Données détenues sur Marie Curie", "CCAS de Roubaix", "Préfère le matin", "RSA — équipement 2020",
            "Médiathèque Jean Macé", "Accompagnement individuel", "inscrit·e", "Logement", "un appareil prêté",
            "en partie autonome", "C2 : 2", "France Services", "Revient avec son avis d'imposition", "diagnostic initial",
            "TAB-RENDUE", "rendu le", "Anne Martin", "marie@example.org", "rappel", "création",
        ] {
            assert!(text.contains(expected), "the HTML export lacks {expected}");
        }
        // Dates in French words and local times, as on every page (`31 mai 2027 à 10:00`), never
        // ISO 8601 nor figures only.
        let in_words = passerelle::french::date_in_words;
        assert!(text.contains(&format!("{} à 10:00", in_words(today() + Duration::days(5)))), "local times: {text}");
        assert!(text.contains(&format!("Export établi le {}", in_words(today()))), "{text}");
        for numeric in [today().format("%Y-%m-%d").to_string(), today().format("%d/%m/%Y").to_string()] {
            assert!(!text.contains(&numeric), "a date as {numeric} in the export: {text}");
        }

        // Each read is in the audit log, by its reader; another organisation gets a 404.
        let exports = audit_of(&app, &admin.token, "person", p).await.into_iter().filter(|(a, _)| a == "export").count();
        assert_eq!(exports, 2);
        assert_eq!(audit_of(&app, &admin.token, "person", p).await[0], ("export".to_string(), json!(s.mediator.user.id)));
        let stranger = app.staff("manager", "Mission locale").await;
        assert_eq!(app.page(&format!("/people/{p}/export"), &stranger.session).await.status, Status::NotFound);
        assert_eq!(app.get(&format!("/api/v1/people/{p}/export"), Some(&stranger.token)).await.status, Status::NotFound);
        let exports = audit_of(&app, &admin.token, "person", p).await.into_iter().filter(|(a, _)| a == "export").count();
        assert_eq!(exports, 2, "a refused read is not an export");
    }
}

both_backends! {
    async fn erasure_withdraws_from_upcoming_appointments_and_keeps_the_statistics(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let admin = app.staff("admin", "Département").await;
        let anne = reachable(&app, &s.mediator.token, "Anne", "anne@example.org").await;
        let bruno = reachable(&app, &s.mediator.token, "Bruno", "bruno@example.org").await;
        // A workshop of one seat: Anne has it, Bruno waits for it.
        let workshop = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(today() + Duration::days(7), "14:00"), "person_ids": [anne, bruno], "capacity": 1,
        })).await;
        assert_eq!(workshop.status, Status::Created, "{}", workshop.body);
        let workshop = workshop.json()["id"].as_i64().unwrap();
        // Anne's past: a session alone with her, logged with a note; an assessment; a device.
        let past = walk_in(&app, &s, &[anne], 3, "Anne vit chez sa sœur").await;
        let logged = app.post_json(&format!("/api/v1/appointments/{past}/log"), &s.mediator.token, json!({"participants": [{
            "person_id": anne, "attendance": "attended", "duration_minutes": 50, "topics": ["email"],
            "skills": [{"skill_code": "C2", "level": 2}], "note": "Anne attend une réponse de la CAF",
        }]})).await;
        assert_eq!(logged.status, Status::Created, "{}", logged.body);
        app.post_json(&format!("/api/v1/people/{anne}/assessments"), &s.mediator.token,
            json!({"kind": "diagnostic", "skills": [{"skill_code": "A1", "level": 1}]})).await;
        let device = hand_over(&app, &s.mediator.token, anne, "TAB-A", false).await;
        let skills_before = app.get(&format!("/api/v1/people/{anne}/skills"), Some(&s.mediator.token)).await.json();

        // Erased from her page.
        let page = app.page(&format!("/people/{anne}"), &s.manager.session).await;
        assert!(page.body.contains("Anonymiser"));
        let erased = app.post_form(&format!("/people/{anne}/erase"), Some(&s.manager.session),
            &[("csrf_token", &s.manager.csrf), ("confirm", "true")]).await;
        assert_eq!(erased.status, Status::SeeOther, "{}", erased.body);

        let record = app.get(&format!("/api/v1/people/{anne}"), Some(&s.manager.token)).await.json();
        assert_eq!((record["given_name"].as_str(), record["anonymised"].as_bool()), (Some("Personne anonymisée"), Some(true)));
        assert_eq!((record["email"].clone(), record["family_name"].clone()), (Value::Null, Value::Null));
        // Her seat went to Bruno, who is told.
        let seats: Vec<(i64, String)> = app.get(&format!("/api/v1/appointments/{workshop}"), Some(&s.manager.token)).await.json()["participants"]
            .as_array().unwrap().iter().map(|p| (p["person_id"].as_i64().unwrap(), p["status"].as_str().unwrap().to_string())).collect();
        assert_eq!(seats, vec![(anne, "cancelled".to_string()), (bruno, "booked".to_string())]);
        let outbox: Vec<(i32, String, String, String)> = app.db().run(|conn| {
            Ok(messages::table.select((messages::person_id, messages::kind, messages::status, messages::recipient)).load(conn)?)
        }).await.unwrap();
        assert!(outbox.iter().any(|m| m.0 as i64 == bruno && m.1 == "promotion" && m.2 == "pending" && m.3 == "bruno@example.org"), "{outbox:?}");
        assert!(outbox.iter().filter(|m| m.0 as i64 == anne).all(|m| m.3.is_empty() && m.2 != "pending"), "{outbox:?}");
        // Her past is kept, without what named her.
        let session = app.get(&format!("/api/v1/appointments/{past}"), Some(&s.manager.token)).await.json();
        assert_eq!(session["participants"][0]["status"], "attended");
        assert_eq!(session["notes"], Value::Null, "the notes of a session with her alone");
        let log = app.get(&format!("/api/v1/appointments/{past}/log"), Some(&s.manager.token)).await.json();
        assert_eq!((log[0]["duration_minutes"].as_i64(), log[0]["topics"].clone()), (Some(50), json!(["email"])));
        assert_eq!(log[0]["skills"], json!([{"skill_code": "C2", "level": 2}]));
        assert_eq!(log[0]["note"], Value::Null);
        assert_eq!(app.get(&format!("/api/v1/people/{anne}/skills"), Some(&s.manager.token)).await.json(), skills_before);
        let equipment = app.get(&format!("/api/v1/people/{anne}/equipment"), Some(&s.manager.token)).await.json();
        assert_eq!(equipment.as_array().unwrap().len(), 1, "{equipment}");
        assert_eq!(equipment[0]["item"]["id"], device);
        assert_eq!(equipment[0]["current"], true, "she still holds it");
        assert_eq!(equipment[0]["accepted_by_name"], Value::Null, "the typed name is gone");
        let page = app.page(&format!("/people/{anne}"), &s.manager.session).await;
        assert!(page.body.contains("Cette personne a été anonymisée") && !page.body.contains("Anonymiser</button>"));
        // Audited, with the withdrawal.
        assert_eq!(audit_of(&app, &admin.token, "person", anne).await[0], ("erase".to_string(), json!(s.manager.user.id)));
        assert!(audit_of(&app, &admin.token, "appointment", workshop).await.iter().any(|(a, by)| a == "withdraw" && *by == json!(s.manager.user.id)));
        // Erasing again changes nothing and is not an error.
        assert_eq!(app.delete(&format!("/api/v1/people/{anne}"), &s.manager.token).await.status, Status::NoContent);
        assert_eq!(audit_of(&app, &admin.token, "person", anne).await.iter().filter(|(a, _)| a == "erase").count(), 1);
    }
}

both_backends! {
    async fn people_inactive_for_the_retention_period_are_anonymised_by_the_system(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let admin = app.staff("admin", "Département").await;
        let old = person(&app, &s.mediator.token, "Ancien").await;
        let old_session = walk_in(&app, &s, &[old], 1, "").await;
        app.post_json(&format!("/api/v1/appointments/{old_session}/log"), &s.mediator.token,
            json!({"participants": [{"person_id": old, "attendance": "attended", "skills": [{"skill_code": "A1", "level": 2}]}]})).await;
        age(&app, old, months_ago(25)).await;
        let recent = person(&app, &s.mediator.token, "Récent").await;
        walk_in(&app, &s, &[recent], 2, "").await;
        age(&app, recent, months_ago(23)).await;
        let holder = person(&app, &s.mediator.token, "Détenteur").await;
        hand_over(&app, &s.mediator.token, holder, "TAB-H", false).await;
        age(&app, holder, months_ago(40)).await;
        let gave_back = person(&app, &s.mediator.token, "Rendu").await;
        hand_over(&app, &s.mediator.token, gave_back, "TAB-R", true).await;
        age(&app, gave_back, months_ago(30)).await;
        let edited = person(&app, &s.mediator.token, "Modifié").await;
        age(&app, edited, months_ago(30)).await;
        let patched = app.send_json("PATCH", &format!("/api/v1/people/{edited}"), Some(&s.mediator.token), r#"{"city": "Lille"}"#).await;
        assert_eq!(patched.status, Status::Ok);
        let assessed = person(&app, &s.mediator.token, "Évalué").await;
        age(&app, assessed, months_ago(30)).await;
        app.post_json(&format!("/api/v1/people/{assessed}/assessments"), &s.mediator.token,
            json!({"kind": "final", "skills": [{"skill_code": "A1", "level": 3}]})).await;
        age(&app, assessed, months_ago(30)).await;
        app.db().run(move |conn| {
            // Only the assessment is recent.
            diesel::update(assessments::table.filter(assessments::person_id.eq(assessed as i32)))
                .set(assessments::created_at.eq(passerelle::db::now() - Duration::days(10))).execute(conn)?;
            Ok(())
        }).await.unwrap();
        let fresh = person(&app, &s.mediator.token, "Nouveau").await;

        let report = run_job(&app).await;
        assert_eq!(report.anonymised, 2, "{report:?}");
        let anonymised = |id: i64| {
            let token = s.manager.token.clone();
            let app = &app;
            async move { app.get(&format!("/api/v1/people/{id}"), Some(&token)).await.json()["anonymised"].as_bool().unwrap() }
        };
        assert!(anonymised(old).await && anonymised(gave_back).await);
        for id in [recent, holder, edited, assessed, fresh] {
            assert!(!anonymised(id).await, "person {id} is still active");
        }
        let record = app.get(&format!("/api/v1/people/{old}"), Some(&s.manager.token)).await.json();
        assert_eq!((record["given_name"].as_str(), record["family_name"].clone()), (Some("Personne anonymisée"), Value::Null));
        // The statistics stay: the session and its skill.
        let session = app.get(&format!("/api/v1/appointments/{old_session}"), Some(&s.manager.token)).await.json();
        assert_eq!(session["participants"][0]["status"], "attended");
        assert_eq!(app.get(&format!("/api/v1/people/{old}/skills"), Some(&s.manager.token)).await.json()[0]["level"], 2);
        // One audit row per anonymisation, by the system; a second run finds nobody.
        assert_eq!(audit_of(&app, &admin.token, "person", old).await[0], ("anonymise".to_string(), Value::Null));
        assert_eq!(run_job(&app).await.anonymised, 0);
        assert_eq!(audit_of(&app, &admin.token, "person", old).await.iter().filter(|(a, _)| a == "anonymise").count(), 1);
        // The audit page says it was automatic.
        let page = app.page(&format!("/audit?entity=person&entity_id={old}"), &admin.session).await;
        assert!(unescape(&page.body).contains("système (automatique)") && unescape(&page.body).contains("anonymisation automatique"));
    }
}

both_backends! {
    async fn the_retention_period_is_configurable(app) {
        let short = TestApp::with(app.backend, &[("retention_months", "6")]).await.unwrap();
        assert_eq!(short.config().retention_months, 6);
        assert_eq!(app.config().retention_months, 24, "24 months by default");
        let s = setup(&short, "Emmaüs Connect").await;
        let seven = person(&short, &s.mediator.token, "Sept").await;
        age(&short, seven, months_ago(7)).await;
        let five = person(&short, &s.mediator.token, "Cinq").await;
        age(&short, five, months_ago(5)).await;
        assert_eq!(run_job(&short).await.anonymised, 1);
        assert_eq!(short.get(&format!("/api/v1/people/{seven}"), Some(&s.manager.token)).await.json()["anonymised"], true);
        assert_eq!(short.get(&format!("/api/v1/people/{five}"), Some(&s.manager.token)).await.json()["anonymised"], false);
        let figment = passerelle::figment().merge(("data_dir", app.dir.path().join("data").display().to_string()));
        let refused = passerelle::config::Config::from_figment(&figment.merge(("retention_months", 0))).unwrap_err();
        assert!(refused.contains("retention_months"), "{refused}");
    }
}

both_backends! {
    async fn the_privacy_job_runs_once_an_hour_whichever_instance_asks(app) {
        let config = app.config();
        // Several instances ask at the same moment: one of them runs it.
        let asks = (0..4).map(|i| {
            let (db, config) = (app.db().clone(), config.clone());
            rocket::tokio::task::spawn_blocking(move || {
                let mut conn = db.get().unwrap();
                passerelle::privacy::run_if_due(&mut conn, &config, &format!("instance-{i}")).unwrap()
            })
        });
        let ran = futures::future::join_all(asks).await.into_iter().filter(|r| r.as_ref().unwrap().is_some()).count();
        assert_eq!(ran, 1);
        let ask = |holder: &'static str| {
            let (db, config) = (app.db().clone(), config.clone());
            async move {
                db.run(move |conn| passerelle::privacy::run_if_due(conn, &config, holder)).await.unwrap()
            }
        };
        assert_eq!(ask("later").await, None, "not again within the hour");
        let set = |locked_until: Option<NaiveDateTime>, last_run_at: NaiveDateTime| {
            let db = app.db().clone();
            async move {
                db.run(move |conn| {
                    diesel::update(job_runs::table.find("privacy"))
                        .set((job_runs::locked_by.eq(locked_until.map(|_| "killed")), job_runs::locked_until.eq(locked_until), job_runs::last_run_at.eq(Some(last_run_at))))
                        .execute(conn)?;
                    Ok(())
                }).await.unwrap()
            }
        };
        let now = passerelle::db::now();
        set(None, now - Duration::minutes(61)).await;
        assert!(ask("next-hour").await.is_some(), "due again an hour later");
        // An instance killed while running holds it until its lease ends.
        set(Some(now + Duration::minutes(10)), now - Duration::hours(2)).await;
        assert_eq!(ask("other").await, None);
        set(Some(now - Duration::seconds(1)), now - Duration::hours(2)).await;
        assert!(ask("other").await.is_some(), "taken again once the lease is over");
    }
}

both_backends! {
    async fn the_worker_loop_runs_the_privacy_job(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let old = person(&app, &s.mediator.token, "Ancien").await;
        age(&app, old, months_ago(30)).await;
        let worker = app.worker();
        let running = rocket::tokio::spawn(passerelle::privacy::with_worker(worker.clone()));
        let mut anonymised = false;
        for _ in 0..100 {
            if app.get(&format!("/api/v1/people/{old}"), Some(&s.manager.token)).await.json()["anonymised"] == true {
                anonymised = true;
                break;
            }
            rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        worker.stop();
        running.await.unwrap();
        assert!(anonymised, "the worker ran the job at start");
    }
}

both_backends! {
    async fn message_texts_and_addresses_are_purged_thirty_days_after_sending(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let admin = app.staff("admin", "Département").await;
        let anne = reachable(&app, &s.mediator.token, "Anne", "anne@example.org").await;
        let bruno = reachable(&app, &s.mediator.token, "Bruno", "bruno@example.org").await;
        let chloe = reachable(&app, &s.mediator.token, "Chloé", "chloe@example.org").await;
        for (p, day) in [(anne, 5), (bruno, 6)] {
            assert_eq!(book(&app, &s, &s.mediator.token, &at(today() + Duration::days(day), "10:00"), &[p]).await.status, Status::Created);
        }
        let cancelled = book(&app, &s, &s.mediator.token, &at(today() + Duration::days(8), "10:00"), &[chloe]).await.json();
        app.post_json(&format!("/api/v1/appointments/{}/cancel", cancelled["id"]), &s.mediator.token, json!({"by": "structure"})).await;
        app.run_worker().await;
        // Anne's confirmation went out 31 days ago, Bruno's today; Chloé's reminders were
        // cancelled 31 days ago.
        let long_ago = passerelle::db::now() - Duration::days(31);
        app.db().run(move |conn| {
            diesel::update(messages::table.filter(messages::person_id.eq(anne as i32)).filter(messages::status.eq("sent")))
                .set(messages::sent_at.eq(Some(long_ago))).execute(conn)?;
            diesel::update(messages::table.filter(messages::person_id.eq(chloe as i32)).filter(messages::status.eq("cancelled")))
                .set(messages::created_at.eq(long_ago)).execute(conn)?;
            Ok(())
        }).await.unwrap();

        let report = run_job(&app).await;
        type Row = (i32, String, String, String, Option<String>, Option<String>);
        let outbox: Vec<Row> = app.db().run(|conn| {
            Ok(messages::table.select((messages::person_id, messages::kind, messages::status, messages::recipient, messages::subject, messages::body)).load(conn)?)
        }).await.unwrap();
        let of = |p: i64, status: &str| outbox.iter().filter(|m| m.0 as i64 == p && m.2 == status).cloned().collect::<Vec<Row>>();
        let anne_sent = of(anne, "sent");
        assert_eq!(anne_sent.len(), 1);
        assert_eq!((anne_sent[0].3.as_str(), anne_sent[0].4.clone(), anne_sent[0].5.clone()), ("", None, None), "purged");
        assert!(of(anne, "pending").iter().all(|m| m.3 == "anne@example.org"), "reminders still to send keep their address");
        assert!(of(bruno, "sent").iter().all(|m| m.3 == "bruno@example.org" && m.5.is_some()), "sent today: kept");
        assert!(!of(chloe, "cancelled").is_empty() && of(chloe, "cancelled").iter().all(|m| m.3.is_empty()));
        assert!(of(chloe, "sent").iter().all(|m| m.3 == "chloe@example.org"), "the cancellation notice went out today");
        assert_eq!(report.messages_purged, 1 + of(chloe, "cancelled").len(), "{report:?}");
        // The kind, status and dates stay; the export says the text is no longer kept.
        let export = app.get(&format!("/api/v1/people/{anne}/export"), Some(&s.manager.token)).await.json();
        let confirmation = export["messages"].as_array().unwrap().iter().find(|m| m["kind"] == "confirmation").unwrap().clone();
        assert_eq!((confirmation["status"].as_str(), confirmation["body"].clone()), (Some("sent"), Value::Null));
        assert!(confirmation["sent_at"].is_string());
        assert_eq!(run_job(&app).await.messages_purged, 0);
        let purges = app.get("/api/v1/audit?entity=message", Some(&admin.token)).await.json();
        assert_eq!(purges.as_array().unwrap().iter().filter(|e| e["action"] == "purge").count(), 1);
    }
}

both_backends! {
    async fn every_change_is_in_the_audit_log(app) {
        let admin = app.staff("admin", "Département").await;
        let s = setup(&app, "Emmaüs Connect").await;
        let m = &s.mediator;
        let p = person(&app, &m.token, "Inès").await;
        app.send_json("PATCH", &format!("/api/v1/people/{p}"), Some(&m.token), r#"{"city": "Lille"}"#).await;
        app.send_json("PATCH", &format!("/api/v1/places/{}", s.place_id), Some(&s.manager.token), r#"{"phone": "03 20 00 00 01"}"#).await;
        let absence = app.post_json(&format!("/api/v1/users/{}/absences", m.user.id), &m.token,
            json!({"starts_at": at(today() + Duration::days(20), "08:00"), "ends_at": at(today() + Duration::days(20), "18:00")})).await;
        assert_eq!(absence.status, Status::Created, "{}", absence.body);
        app.delete(&format!("/api/v1/absences/{}", absence.json()["id"]), &m.token).await;
        let a = book(&app, &s, &m.token, &at(today() + Duration::days(3), "10:00"), &[p]).await.json();
        assert!(a["id"].is_number(), "{a}");
        let hours = app.get(&format!("/api/v1/users/{}/opening-hours", m.user.id), Some(&m.token)).await.json();
        app.delete(&format!("/api/v1/opening-hours/{}", hours[0]["id"]), &m.token).await;
        app.post_json(&format!("/api/v1/appointments/{}/reschedule", a["id"]), &m.token, json!({"starts_at": at(today() + Duration::days(3), "11:00"), "override_opening_hours": true})).await;
        app.post_json(&format!("/api/v1/appointments/{}/cancel", a["id"]), &m.token, json!({"by": "person"})).await;
        let past = walk_in(&app, &s, &[p], 1, "").await;
        app.post_json(&format!("/api/v1/appointments/{past}/log"), &m.token, json!({"participants": [{"person_id": p, "attendance": "attended"}]})).await;
        app.post_json(&format!("/api/v1/people/{p}/assessments"), &m.token, json!({"kind": "final", "skills": [{"skill_code": "A1", "level": 3}]})).await;
        let item = hand_over(&app, &m.token, p, "TAB-1", true).await;
        app.post_json(&format!("/api/v1/equipment/{item}/status"), &m.token, json!({"status": "broken", "note": "écran"})).await;
        assert_eq!(app.post_form("/calendar", Some(&m.session), &[("csrf_token", &m.csrf)]).await.status, Status::Ok);
        assert_eq!(app.post_form("/calendar/revoke", Some(&m.session), &[("csrf_token", &m.csrf)]).await.status, Status::SeeOther);
        app.post_json("/api/v1/programmes", &s.manager.token, json!({"name": "ASE"})).await;
        app.post_json("/api/v1/users", &s.manager.token, json!({"email": "nouvelle@emmaus.example", "name": "Nouvelle", "role": "mediator", "password": "mot-de-passe-solide"})).await;
        app.get(&format!("/api/v1/people/{p}/export"), Some(&m.token)).await;
        app.delete(&format!("/api/v1/people/{p}"), &s.manager.token).await;

        let log = app.get("/api/v1/audit?limit=1000", Some(&admin.token)).await.json();
        let seen: std::collections::BTreeSet<(String, String)> = log.as_array().unwrap().iter()
            .map(|e| (e["action"].as_str().unwrap().to_string(), e["entity"].as_str().unwrap().to_string())).collect();
        for (action, entity) in [
            ("create", "person"), ("update", "person"), ("export", "person"), ("erase", "person"), ("assess", "person"),
            ("create", "place"), ("update", "place"), ("create", "service"), ("create", "opening_hours"), ("delete", "opening_hours"),
            ("create", "absence"), ("delete", "absence"), ("create", "appointment"), ("reschedule", "appointment"),
            ("cancel", "appointment"), ("log", "appointment"), ("create", "equipment"), ("assign", "equipment"),
            ("return", "equipment"), ("status", "equipment"), ("renew", "calendar_feed"), ("revoke", "calendar_feed"),
            ("create", "programme"), ("create", "user"), ("sync", "skill"),
        ] {
            assert!(seen.contains(&(action.to_string(), entity.to_string())), "no audit row for {action} {entity}: {seen:?}");
        }
        // Who did it is recorded.
        let created = log.as_array().unwrap().iter().find(|e| e["action"] == "create" && e["entity"] == "person" && e["entity_id"] == p).unwrap();
        assert_eq!(created["actor_id"], m.user.id);
    }
}

both_backends! {
    async fn the_audit_page_is_for_admins_with_filters_and_pages(app) {
        let admin = app.staff("admin", "Département").await;
        let manager = app.staff("manager", "Emmaüs Connect").await;
        let mediator = app.staff("mediator", "Emmaüs Connect").await;
        for staff in [&manager, &mediator] {
            assert_eq!(app.page("/audit", &staff.session).await.status, Status::Forbidden);
            assert!(!app.page("/", &staff.session).await.body.contains("href=\"/audit\""));
        }
        assert_eq!(app.get("/audit", None).await.status, Status::SeeOther, "signed out: to the login page");
        let mut ids = Vec::new();
        for i in 0..55 {
            ids.push(person(&app, &mediator.token, &format!("P{i}")).await);
        }
        let first = app.page("/audit", &admin.session).await;
        assert_eq!(first.status, Status::Ok);
        assert!(first.body.contains("href=\"/audit\""), "in the admin's navigation");
        assert_eq!(rows(&first.body), 50);
        let text = unescape(&first.body);
        assert!(text.contains("Page suivante") && !text.contains("Page précédente"));
        // Newest first: the last person created, by the mediator, with a link, in local time.
        let top = text.split("<tr><td>").nth(1).unwrap();
        assert!(top.contains(&format!("href=\"/people/{}\"", ids[54])), "{top}");
        assert!(top.contains(&mediator.user.name) && top.contains("création") && top.contains("personne"));
        let local_day = chrono_tz::Europe::Paris.from_utc_datetime(&passerelle::db::now()).format("%d/%m/%Y").to_string();
        assert!(top.contains(&local_day), "{top}");
        let second = app.page("/audit?page=2", &admin.session).await;
        let total = app.get("/api/v1/audit?limit=1000", Some(&admin.token)).await.json().as_array().unwrap().len();
        assert_eq!(rows(&second.body), (total - 50).min(50));
        assert!(unescape(&second.body).contains("Page précédente"));

        let one = app.page(&format!("/audit?entity=person&entity_id={}", ids[3]), &admin.session).await;
        assert_eq!(rows(&one.body), 1);
        assert!(unescape(&one.body).contains(&format!("/people/{}", ids[3])));
        let by_manager = app.page(&format!("/audit?actor={}", manager.user.id), &admin.session).await;
        assert!(by_manager.body.contains("Aucune entrée."));
        let by_mediator = app.page(&format!("/audit?actor={}&entity=person", mediator.user.id), &admin.session).await;
        assert_eq!(rows(&by_mediator.body), 50);
        assert!(unescape(&by_mediator.body).contains(&format!("/audit?entity=person&actor={}&page=2", mediator.user.id)), "filters kept across pages");
        let tomorrow = (today() + Duration::days(1)).to_string();
        let yesterday = (today() - Duration::days(1)).to_string();
        assert!(app.page(&format!("/audit?from={tomorrow}"), &admin.session).await.body.contains("Aucune entrée."));
        assert!(app.page(&format!("/audit?to={yesterday}"), &admin.session).await.body.contains("Aucune entrée."));
        assert_eq!(rows(&app.page(&format!("/audit?from={}&to={}&entity=person", today(), today()), &admin.session).await.body), 50);
        // What cannot be read is said next to its field.
        let bad = app.page("/audit?entity_id=abc&from=03%2F12%2F2026", &admin.session).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        assert!(bad.body.contains("id=\"entity_id-error\"") && bad.body.contains("id=\"from-error\""));
        for id in ["entity", "entity_id", "actor", "from", "to"] {
            assert!(bad.body.contains(&format!("for=\"{id}\"")), "label for {id}");
        }
    }
}
