//! Funder fields: gender, social status and commune on people; place, orientation and
//! anonymous attendees on session logs; the breakdowns of reports, dashboard and exports.

use rocket::http::Status;
use serde_json::{json, Value};

use crate::booking::{setup, walk_in};
use crate::both_backends;
use crate::harness::TestApp;

async fn person(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post_json("/api/v1/people", token, body).await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()
}

both_backends! {
    async fn a_person_keeps_gender_status_and_commune(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = person(&app, &s.mediator.token, json!({
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
        let rennes = person(&app, &s.mediator.token, json!({"given_name": "Yann", "postal_code": "35000"})).await;
        assert_eq!(rennes["commune_insee"], "35238");
        // 75001 is Paris and its first arrondissement: the city's name settles it.
        let paris = person(&app, &s.mediator.token, json!({"given_name": "Zoé", "postal_code": "75001", "city": "Paris"})).await;
        assert_eq!(paris["commune_insee"], "75056");
        let unsure = person(&app, &s.mediator.token, json!({"given_name": "Léa", "postal_code": "75001"})).await;
        assert_eq!(unsure["commune_insee"], Value::Null);
        // A code given wins over the derivation.
        let given = person(&app, &s.mediator.token, json!({"given_name": "Max", "postal_code": "35000", "commune_insee": "75056"})).await;
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
        let p = person(&app, &s.mediator.token, json!({"given_name": "Nour"})).await["id"].as_i64().unwrap();
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
        let year = chrono::Datelike::year(&crate::booking::today());
        let ana = person(&app, &s.mediator.token, json!({"given_name": "Ana", "gender": "female", "social_status": "retired",
            "birth_year": year - 72, "postal_code": "35000"})).await["id"].as_i64().unwrap();
        let bob = person(&app, &s.mediator.token, json!({"given_name": "Bob", "gender": "male", "birth_year": year - 20})).await["id"].as_i64().unwrap();
        let cleo = person(&app, &s.mediator.token, json!({"given_name": "Cléo", "gender": "female"})).await["id"].as_i64().unwrap();
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
        let from = crate::booking::today() - chrono::Duration::days(2);
        let recent = app.get(&format!("/api/v1/reports/activity?from={from}"), Some(&s.manager.token)).await.json();
        assert_eq!(recent["breakdowns"]["gender"], json!({"female": 1, "male": 0, "undisclosed": 0}));

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
