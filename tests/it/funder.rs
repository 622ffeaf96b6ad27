//! Funder fields: gender, social status and commune on people; place, orientation and
//! anonymous attendees on session logs; the breakdowns of reports, dashboard and exports.

use rocket::http::Status;
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{person_json, setup, walk_in};
use crate::harness::TestApp;

both_backends! {
    async fn a_person_keeps_gender_status_and_commune(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = person_json(&app, &s.mediator.token, json!({
            "given_name": "Inès", "gender": "female", "social_status": "job_seeker", "commune_insee": "59512",
        })).await;
        assert_eq!((p["gender"].as_str(), p["social_status"].as_str(), p["commune_insee"].as_str()),
            (Some("female"), Some("job_seeker"), Some("59512")));
        let read = app.get(&format!("/api/v1/people/{}", p["id"]), Some(&s.mediator.token)).await.json();
        assert_eq!(read["commune_insee"], "59512");
        // A patch changes one of them and keeps the others.
        let patched = app.send_json("PATCH", &format!("/api/v1/people/{}", p["id"]),
            Some(&s.mediator.token), &json!({"social_status": "employed"}).to_string()).await;
        assert_eq!(patched.status, Status::Ok, "{}", patched.body);
        assert_eq!((patched.json()["social_status"].as_str(), patched.json()["gender"].as_str()), (Some("employed"), Some("female")));
    }
}

both_backends! {
    async fn the_commune_is_derived_from_postal_code_and_city_when_unambiguous(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        // 35000 is Rennes alone.
        let rennes = person_json(&app, &s.mediator.token, json!({"given_name": "Yann", "postal_code": "35000"})).await;
        assert_eq!(rennes["commune_insee"], "35238");
        // 75001 is Paris and its first arrondissement: the city's name settles it.
        let paris = person_json(&app, &s.mediator.token, json!({"given_name": "Zoé", "postal_code": "75001", "city": "Paris"})).await;
        assert_eq!(paris["commune_insee"], "75056");
        let unsure = person_json(&app, &s.mediator.token, json!({"given_name": "Léa", "postal_code": "75001"})).await;
        assert_eq!(unsure["commune_insee"], Value::Null);
        // A code given wins over the derivation.
        let given = person_json(&app, &s.mediator.token, json!({"given_name": "Max", "postal_code": "35000", "commune_insee": "75056"})).await;
        assert_eq!(given["commune_insee"], "75056");
    }
}

both_backends! {
    async fn unknown_codes_are_refused_with_the_field_named(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        for (field, value) in [("gender", "autre"), ("social_status", "rsa"), ("commune_insee", "99999"), ("commune_insee", "7505")] {
            let r = app.post_json("/api/v1/people", &s.mediator.token, json!({"given_name": "Test", field: value})).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{field}={value}: {}", r.body);
            assert!(r.json()["errors"][field][0].as_str().is_some(), "{}", r.body);
        }
        // Nothing was written.
        let list = app.get("/api/v1/people", Some(&s.mediator.token)).await.json();
        assert_eq!(list.as_array().unwrap().len(), 0);
        // The HTML form shows the message in French.
        let page = app.post_form("/people", Some(&s.mediator.session), &[
            ("csrf_token", &s.mediator.csrf), ("given_name", "Test"), ("commune_insee", "99999"),
        ]).await;
        assert_eq!(page.status, Status::UnprocessableEntity);
        assert!(page.body.contains("Code commune INSEE inconnu"), "{}", page.body);
    }
}

both_backends! {
    async fn a_log_keeps_place_orientation_and_anonymous_attendees(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = person_json(&app, &s.mediator.token, json!({"given_name": "Nour"})).await["id"].as_i64().unwrap();
        let past = walk_in(&app, &s, &[p], 2, "").await;
        let url = format!("/api/v1/appointments/{past}/log");
        let bad = app.post_json(&url, &s.mediator.token, json!({"participants": [{"person_id": p, "attendance": "attended",
            "orientation": "France Services", "location_type": "garage"}], "anonymous_attendees": -1})).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        let errors = &bad.json()["errors"];
        for field in ["participants[0].orientation", "participants[0].location_type", "anonymous_attendees"] {
            assert!(errors[field].is_array(), "{field}: {errors}");
        }
        let ok = app.post_json(&url, &s.mediator.token, json!({"participants": [{"person_id": p, "attendance": "attended",
            "orientation": "aide_sociale", "orientation_note": "CCAS de Roubaix", "location_type": "home"}], "anonymous_attendees": 4})).await;
        assert_eq!(ok.status, Status::Created, "{}", ok.body);
        let current = app.get(&url, Some(&s.mediator.token)).await.json();
        assert_eq!((current[0]["orientation"].as_str(), current[0]["orientation_note"].as_str(), current[0]["location_type"].as_str()),
            (Some("aide_sociale"), Some("CCAS de Roubaix"), Some("home")));
        let form = app.page(&format!("/appointments/{past}/log"), &s.mediator.session).await;
        assert!(form.body.contains(r#"name="anonymous_attendees" value="4""#), "{}", form.body);
    }
}

both_backends! {
    async fn reports_break_down_the_people_served(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let year = chrono::Datelike::year(&crate::fixtures::today());
        let ana = person_json(&app, &s.mediator.token, json!({"given_name": "Ana", "gender": "female", "social_status": "retired",
            "birth_year": year - 72, "postal_code": "35000"})).await["id"].as_i64().unwrap();
        let bob = person_json(&app, &s.mediator.token, json!({"given_name": "Bob", "gender": "male", "birth_year": year - 20})).await["id"].as_i64().unwrap();
        let cleo = person_json(&app, &s.mediator.token, json!({"given_name": "Cléo", "gender": "female"})).await["id"].as_i64().unwrap();
        // Ana came twice (counted once), Bob once; Cléo was booked but did not come.
        for (people, days) in [(vec![ana, bob], 3), (vec![ana], 2)] {
            let id = walk_in(&app, &s, &people, days, "").await;
            let participants: Vec<Value> = people.iter().map(|p| json!({"person_id": p, "attendance": "attended"})).collect();
            let r = app.post_json(&format!("/api/v1/appointments/{id}/log"), &s.mediator.token, json!({"participants": participants})).await;
            assert_eq!(r.status, Status::Created, "{}", r.body);
        }
        let absent = walk_in(&app, &s, &[cleo], 1, "").await;
        let r = app.post_json(&format!("/api/v1/appointments/{absent}/log"), &s.mediator.token,
            json!({"participants": [{"person_id": cleo, "attendance": "no_show"}]})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);

        for report in ["activity", "skills-progress", "equipment"] {
            let r = app.get(&format!("/api/v1/reports/{report}"), Some(&s.manager.token)).await;
            assert_eq!(r.status, Status::Ok, "{}", r.body);
            let b = &r.json()["breakdowns"];
            assert_eq!(b["gender"], json!({"female": 1, "male": 1, "undisclosed": 0}), "{report}");
            assert_eq!(b["age_band"]["70+"], 1);
            assert_eq!(b["age_band"]["18-24"], 1);
            assert_eq!(b["age_band"]["unknown"], 0);
            assert_eq!(b["social_status"]["retired"], 1);
            assert_eq!(b["social_status"]["undisclosed"], 1);
            assert_eq!(b["commune"], json!({"35238": 1, "unknown": 1}));
        }
        // The period filters who is counted: only Ana came two days ago or later.
        let from = crate::fixtures::today() - chrono::Duration::days(2);
        let recent = app.get(&format!("/api/v1/reports/activity?from={from}"), Some(&s.manager.token)).await.json();
        assert_eq!(recent["breakdowns"]["gender"], json!({"female": 1, "male": 0, "undisclosed": 0}));
        // So does the programme: only Bob is in it.
        let programme = app.post_json("/api/v1/programmes", &s.manager.token, json!({"name": "RSA 2026"})).await;
        assert_eq!(programme.status, Status::Created, "{}", programme.body);
        let programme = programme.json()["id"].as_i64().unwrap();
        let r = app.send_json("PATCH", &format!("/api/v1/people/{bob}"), Some(&s.mediator.token),
            &json!({"programme_ids": [programme]}).to_string()).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        for report in ["activity", "skills-progress", "equipment"] {
            let r = app.get(&format!("/api/v1/reports/{report}?programme_id={programme}"), Some(&s.manager.token)).await;
            assert_eq!(r.status, Status::Ok, "{}", r.body);
            assert_eq!(r.json()["breakdowns"]["gender"], json!({"female": 0, "male": 1, "undisclosed": 0}), "{report}");
        }

        let dashboard = app.page("/reports", &s.manager.session).await;
        assert_eq!(dashboard.status, Status::Ok);
        assert!(dashboard.body.contains("Personnes accompagnées"));
        assert!(dashboard.body.contains("Rennes (35238)"), "{}", dashboard.body);

        let export = app.get("/exports/people.csv", Some(&s.manager.token)).await;
        assert_eq!(export.status, Status::Ok);
        let header = export.body.lines().next().unwrap();
        assert!(header.ends_with("genre,tranche_age,statut_social,code_insee"), "{header}");
        let ana_line = export.body.lines().find(|l| l.contains(",Ana,")).unwrap();
        assert!(ana_line.ends_with("female,70+,retired,35238"), "{ana_line}");
    }
}

/// The breakdowns of one report as a user reads them.
async fn breakdowns(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app
        .get(&format!("/api/v1/reports/activity{query}"), Some(token))
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    r.json()["breakdowns"].clone()
}

both_backends! {
    async fn breakdowns_follow_attendance_cancellation_and_erasure(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let admin = app.staff("admin", "Département").await;
        let year = chrono::Datelike::year(&crate::fixtures::today());
        let ana = person_json(&app, &s.mediator.token, json!({"given_name": "Ana", "gender": "female", "birth_year": year - 30}))
            .await["id"].as_i64().unwrap();
        let bob = person_json(&app, &s.mediator.token, json!({"given_name": "Bob", "gender": "male", "birth_year": year - 72}))
            .await["id"].as_i64().unwrap();
        let log = |id: i64, who: i64, attendance: &'static str| {
            let app = &app;
            let token = s.mediator.token.clone();
            async move {
                let r = app.post_json(&format!("/api/v1/appointments/{id}/log"), &token,
                    json!({"participants": [{"person_id": who, "attendance": attendance}]})).await;
                assert_eq!(r.status, Status::Created, "{}", r.body);
            }
        };
        let gender = |female: i64, male: i64| json!({"female": female, "male": male, "undisclosed": 0});
        // The manager's view (their organisation), the admin's (everyone), one mediator's, a period.
        let views = [
            (s.manager.token.clone(), String::new()),
            (admin.token.clone(), String::new()),
            (s.manager.token.clone(), format!("?mediator_id={}", s.mediator.user.id)),
            (admin.token.clone(), format!("?from={}", crate::fixtures::today() - chrono::Duration::days(5))),
        ];

        // Booked, not yet come: nobody served.
        let ana_visit = walk_in(&app, &s, &[ana], 3, "").await;
        let bob_visit = walk_in(&app, &s, &[bob], 2, "").await;
        for (token, query) in &views {
            assert_eq!(breakdowns(&app, token, query).await["gender"], gender(0, 0), "{query}");
        }
        // Bob's appointment is cancelled; Ana came.
        let r = app.post_json(&format!("/api/v1/appointments/{bob_visit}/cancel"), &s.mediator.token,
            json!({"by": "structure"})).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        log(ana_visit, ana, "attended").await;
        for (token, query) in &views {
            let b = breakdowns(&app, token, query).await;
            assert_eq!(b["gender"], gender(1, 0), "{query}");
            assert_eq!(b["age_band"]["25-39"], 1, "{query}");
        }
        // A period before her visit counts nobody.
        let before = crate::fixtures::today() - chrono::Duration::days(4);
        let b = breakdowns(&app, &s.manager.token, &format!("?to={before}")).await;
        assert_eq!(b["gender"], gender(0, 0));

        // Her attendance corrected to a no-show: she is no longer counted; back to attended: she is.
        log(ana_visit, ana, "no_show").await;
        for (token, query) in &views {
            assert_eq!(breakdowns(&app, token, query).await["gender"], gender(0, 0), "{query}");
        }
        log(ana_visit, ana, "attended").await;
        // Bob comes to another appointment.
        let again = walk_in(&app, &s, &[bob], 1, "").await;
        log(again, bob, "attended").await;
        for (token, query) in &views {
            let b = breakdowns(&app, token, query).await;
            assert_eq!(b["gender"], gender(1, 1), "{query}");
            assert_eq!(b["age_band"]["70+"], 1, "{query}");
        }
        // Ana comes back the day Bob does. A period between her two visits counts her only if
        // it holds one; one day between them counts nobody, though both were served around it.
        let day = |ago: i64| crate::fixtures::today() - chrono::Duration::days(ago);
        let r = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": crate::fixtures::at(day(1), "15:00"), "person_ids": [ana], "walk_in": true})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let back = r.json()["id"].as_i64().unwrap();
        log(back, ana, "attended").await;
        let periods = [
            (format!("?from={}&to={}", day(2), day(2)), gender(0, 0)),
            (format!("?from={}&to={}", day(3), day(2)), gender(1, 0)),
            (format!("?from={}&to={}", day(2), day(1)), gender(1, 1)),
            (format!("?from={}", day(2)), gender(1, 1)),
            (format!("?to={}", day(2)), gender(1, 0)),
        ];
        for (query, expected) in &periods {
            assert_eq!(&breakdowns(&app, &admin.token, query).await["gender"], expected, "{query}");
        }
        // Her last visit corrected to a no-show: her last day is the first one again.
        log(back, ana, "no_show").await;
        let query = format!("?from={}&to={}", day(2), day(1));
        assert_eq!(breakdowns(&app, &admin.token, &query).await["gender"], gender(0, 1), "{query}");

        // Ana erased: still served (the statistics stay), her age no longer known.
        let r = app.delete(&format!("/api/v1/people/{ana}"), &s.manager.token).await;
        assert!(r.status.code < 300, "{}", r.body);
        for (token, query) in &views {
            let b = breakdowns(&app, token, query).await;
            assert_eq!(b["gender"], gender(1, 1), "{query}");
            assert_eq!((b["age_band"]["25-39"].as_i64(), b["age_band"]["unknown"].as_i64()), (Some(0), Some(1)), "{query}");
        }

        // What the writers kept equals a rebuild; a database upgraded from before the roll-up
        // gets it at its first start (the periods above compared too).
        let views: Vec<(String, String)> = views.into_iter()
            .chain(periods.iter().map(|(query, _)| (admin.token.clone(), query.clone())))
            .collect();
        let mut kept = Vec::new();
        for (token, query) in &views {
            kept.push(breakdowns(&app, token, query).await);
        }
        let tz = app.config().timezone;
        app.db().run(move |conn| passerelle::rollups::rebuild(conn, &tz, |_, _| {})).await.unwrap();
        for ((token, query), kept) in views.iter().zip(&kept) {
            assert_eq!(&breakdowns(&app, token, query).await, kept, "{query}");
        }
        let rebuilt = app.db().run(move |conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("DELETE FROM served_days;")?;
            passerelle::rollups::rebuild_if_missing(conn, &tz)
        }).await.unwrap();
        assert!(rebuilt);
        for ((token, query), kept) in views.iter().zip(&kept) {
            assert_eq!(&breakdowns(&app, token, query).await, kept, "{query}");
        }
    }
}
