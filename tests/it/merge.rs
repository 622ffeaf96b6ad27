//! Merging two records of one person: everything moves, the merged one answers 404 with
//! `merged_into`, report figures stay (one person fewer), roll-ups equal a rebuild.

use chrono::Duration;
use rocket::http::Status;
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{log_session, person_with, setup, today, walk_in};

/// The report figures a merge must keep, without the counts of distinct people.
fn figures(activity: &Value) -> Value {
    let mut a = activity.clone();
    a.as_object_mut().unwrap().remove("breakdowns");
    a
}

fn distinct_people(report: &Value) -> i64 {
    report["breakdowns"]["gender"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum()
}

both_backends! {
    async fn a_merge_moves_everything_and_keeps_the_figures(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let t = s.mediator.token.clone();
        let programme = app.post_json("/api/v1/programmes", &s.manager.token, json!({"name": "RSA"})).await.json()["id"].as_i64().unwrap();
        let kept = person_with(&app, &t, json!({"given_name": "Aïcha", "family_name": "Benali", "birth_year": 1980})).await;
        let from = person_with(&app, &t, json!({"given_name": "Aicha", "family_name": "BENALI", "birth_year": 1980,
            "phone": "06 12 34 56 78", "gender": "female", "programme_ids": [programme]})).await;
        let other = person_with(&app, &t, json!({"given_name": "Marc"})).await;
        // Each record has its own sessions and skills; both were in one workshop (a conflict).
        let a = walk_in(&app, &s, &[kept], 20, "").await;
        log_session(&app, &t, a, json!([{"person_id": kept, "attendance": "attended", "topics": ["email"], "skills": [{"skill_code": "A1", "level": 1}]}])).await;
        let b = walk_in(&app, &s, &[from, other], 10, "").await;
        log_session(&app, &t, b, json!([{"person_id": from, "attendance": "attended", "skills": [{"skill_code": "A1", "level": 3}]},
            {"person_id": other, "attendance": "attended"}])).await;
        let both = walk_in(&app, &s, &[kept, from], 5, "").await;
        log_session(&app, &t, both, json!([{"person_id": kept, "attendance": "no_show"}, {"person_id": from, "attendance": "attended", "skills": [{"skill_code": "C2", "level": 2}]}])).await;
        let tablet = app.post_json("/api/v1/equipment", &t, json!({"kind": "tablet", "model": "Tab"})).await.json()["id"].as_i64().unwrap();
        let given = app.post_json(&format!("/api/v1/equipment/{tablet}/assign"), &t, json!({"person_id": from, "mode": "donation",
            "handed_over_on": (today() - Duration::days(3)).to_string(), "acceptance": "paper_signature"})).await;
        assert_eq!(given.status, Status::Created, "{}", given.body);

        let m = &s.manager.token;
        let before_activity = app.get("/api/v1/reports/activity", Some(m)).await.json();
        let before_skills = app.get("/api/v1/reports/skills-progress", Some(m)).await.json();
        let before_equipment = app.get("/api/v1/reports/equipment", Some(m)).await.json();

        // The possible duplicates page shows the pair.
        let page = app.page("/people/duplicates", &s.mediator.session).await;
        assert!(page.body.contains(&format!(r#"name="from_id" value="{from}""#)), "{}", page.body);

        let merged = app.post_json(&format!("/api/v1/people/{kept}/merge"), &t, json!({"from_id": from})).await;
        assert_eq!(merged.status, Status::Ok, "{}", merged.body);
        let p = merged.json();
        assert_eq!(p["id"], kept);
        assert_eq!((p["phone"].as_str(), p["gender"].as_str()), (Some("+33612345678"), Some("female")), "empty fields filled: the phone as stored, in E.164");
        assert_eq!(p["programme_ids"], json!([programme]));

        // The merged record is gone, pointing at the kept one.
        let gone = app.get(&format!("/api/v1/people/{from}"), Some(&t)).await;
        assert_eq!(gone.status, Status::NotFound);
        assert_eq!(gone.json()["merged_into"], kept);
        let html = app.page(&format!("/people/{from}"), &s.mediator.session).await;
        assert_eq!(html.status, Status::SeeOther);
        assert_eq!(html.header("Location"), Some(format!("/people/{kept}").as_str()));
        let search = app.get("/api/v1/people?q=benali", Some(&t)).await.json();
        assert_eq!(search.as_array().unwrap().len(), 1);

        // Everything moved: the sessions, the device, the skills (A1 from 1 to 3).
        let appointment = app.get(&format!("/api/v1/appointments/{b}"), Some(&t)).await.json();
        assert!(appointment["participants"].as_array().unwrap().iter().any(|x| x["person_id"] == kept));
        let shared = app.get(&format!("/api/v1/appointments/{both}"), Some(&t)).await.json();
        let seats: Vec<&Value> = shared["participants"].as_array().unwrap().iter().collect();
        assert_eq!(seats.len(), 1, "one participation kept: {shared}");
        assert_eq!((seats[0]["person_id"].as_i64(), seats[0]["status"].as_str()), (Some(kept), Some("attended")));
        let devices = app.get(&format!("/api/v1/people/{kept}/equipment"), Some(&t)).await;
        assert!(devices.body.contains(&format!("\"id\":{tablet}")) || devices.body.contains(&format!("\"equipment_id\":{tablet}")), "{}", devices.body);
        let skills = app.get(&format!("/api/v1/people/{kept}/skills"), Some(&t)).await.json().to_string();
        assert!(skills.contains("C2"), "{skills}");

        // Figures: the conflict dropped one participation (the absent one, kept attended);
        // everything else is unchanged, and there is one person fewer.
        let after_activity = app.get("/api/v1/reports/activity", Some(m)).await.json();
        let mut expected = figures(&before_activity);
        for (key, delta) in [("participants", -1), ("no_show", -1)] {
            expected[key] = json!(expected[key].as_i64().unwrap() + delta);
        }
        assert_eq!(figures(&after_activity)["appointments"], expected["appointments"]);
        assert_eq!(figures(&after_activity)["attended"], expected["attended"]);
        assert_eq!(figures(&after_activity)["hours"], expected["hours"]);
        assert_eq!(figures(&after_activity)["participants"], expected["participants"]);
        assert_eq!(distinct_people(&after_activity), distinct_people(&before_activity) - 1);
        let after_skills = app.get("/api/v1/reports/skills-progress", Some(m)).await.json();
        assert_eq!(after_skills["people"].as_i64().unwrap(), before_skills["people"].as_i64().unwrap() - 1);
        let after_equipment = app.get("/api/v1/reports/equipment", Some(m)).await.json();
        assert_eq!(figures(&after_equipment), figures(&before_equipment));

        // The roll-ups the merge maintained equal a rebuild from scratch.
        let tz = app.config().timezone;
        app.db().run(move |conn| passerelle::rollups::rebuild(conn, &tz, |_, _| {})).await.unwrap();
        assert_eq!(app.get("/api/v1/reports/skills-progress", Some(m)).await.json(), after_skills);
        assert_eq!(app.get("/api/v1/reports/activity", Some(m)).await.json(), after_activity);

        // Audited, on both records.
        let admin = app.staff("admin", "Département").await;
        let audit = app.get(&format!("/api/v1/audit?entity=person&entity_id={from}"), Some(&admin.token)).await;
        assert!(audit.body.contains("\"merged_into\""), "{}", audit.body);
        let audit = app.get(&format!("/api/v1/audit?entity=person&entity_id={kept}"), Some(&admin.token)).await;
        assert!(audit.body.contains("\"merge\""), "{}", audit.body);
    }
}

both_backends! {
    async fn a_merge_stays_within_one_organisation(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let o = setup(&app, "Autre structure").await;
        let mine = person_with(&app, &s.mediator.token, json!({"given_name": "Lou"})).await;
        let theirs = person_with(&app, &o.mediator.token, json!({"given_name": "Lou"})).await;
        for (from, field) in [(theirs, "from_id"), (mine, "from_id"), (999_999, "from_id")] {
            let r = app.post_json(&format!("/api/v1/people/{mine}/merge"), &s.mediator.token, json!({"from_id": from})).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
            assert!(r.json()["errors"][field].is_array());
        }
        let r = app.post_json(&format!("/api/v1/people/{theirs}/merge"), &s.mediator.token, json!({"from_id": mine})).await;
        assert_eq!(r.status, Status::NotFound);
        assert_eq!(app.get(&format!("/api/v1/people/{theirs}"), Some(&o.mediator.token)).await.status, Status::Ok);
        // The page's form merges too.
        let twin = person_with(&app, &s.mediator.token, json!({"given_name": "Lou", "phone": "0601020304"})).await;
        let r = app.post_form(&format!("/people/{mine}/merge"), Some(&s.mediator.session),
            &[("csrf_token", &s.mediator.csrf), ("from_id", &twin.to_string())]).await;
        assert_eq!(r.status, Status::SeeOther, "{}", r.body);
        assert_eq!(app.get(&format!("/api/v1/people/{twin}"), Some(&s.mediator.token)).await.json()["merged_into"], mine);
    }
}

both_backends! {
    /// A referral request belongs to the person it is about: it follows her into a merge, and
    /// the referrer's free text about her goes when she is erased (the request's status, needs
    /// and dates stay for the figures).
    async fn a_referral_follows_a_merge_and_loses_its_message_at_erasure(app) {
        use crate::public::{anonymous_json, public_setup, referrer, SLUG};
        let s = public_setup(&app).await;
        let r = anonymous_json(&app, &format!("/api/v1/public/{SLUG}/referrals"), json!({"person": {"given_name": "Karima"}, "referrer": referrer(), "topics": ["email"], "message": "Vit seule, disponible le matin"})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let t = s.mediator.token.clone();
        let list = app.get("/api/v1/referrals", Some(&t)).await.json();
        let from = list[0]["person_id"].as_i64().unwrap();
        let kept = person_with(&app, &t, json!({"given_name": "Karima", "family_name": "Benali"})).await;

        let merged = app.post_json(&format!("/api/v1/people/{kept}/merge"), &t, json!({"from_id": from})).await;
        assert_eq!(merged.status, Status::Ok, "{}", merged.body);
        let list = app.get("/api/v1/referrals", Some(&t)).await.json();
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!((list[0]["person_id"].as_i64(), list[0]["person_name"].as_str()), (Some(kept), Some("Karima Benali")), "{list}");
        assert_eq!(list[0]["message"], "Vit seule, disponible le matin");

        let r = app.delete(&format!("/api/v1/people/{kept}"), &s.manager.token).await;
        assert_eq!(r.status, Status::NoContent, "{}", r.body);
        let list = app.get("/api/v1/referrals", Some(&t)).await.json();
        assert_eq!(list[0]["message"], Value::Null, "{list}");
        assert!(!list.to_string().contains("Vit seule"), "{list}");
        assert_eq!((list[0]["status"].as_str(), list[0]["topics"].clone()), (Some("new"), json!(["email"])));
    }
}

both_backends! {
    /// Without a shared appointment, every figure of every report is the same after a merge
    /// (appointments, participations, each status, hours, skills, equipment); only the counts
    /// of distinct people go down by one.
    async fn a_merge_without_a_shared_appointment_changes_no_figure_but_the_people(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let t = s.mediator.token.clone();
        let kept = person_with(&app, &t, json!({"given_name": "Aïcha", "family_name": "Benali", "gender": "female"})).await;
        let from = person_with(&app, &t, json!({"given_name": "Aicha", "family_name": "Benali", "gender": "female"})).await;
        let a = walk_in(&app, &s, &[kept], 20, "").await;
        log_session(&app, &t, a, json!([{"person_id": kept, "attendance": "attended", "topics": ["email"], "skills": [{"skill_code": "A1", "level": 1}]}])).await;
        let b = walk_in(&app, &s, &[from], 10, "").await;
        log_session(&app, &t, b, json!([{"person_id": from, "attendance": "no_show"}])).await;
        let c = walk_in(&app, &s, &[from], 5, "").await;
        log_session(&app, &t, c, json!([{"person_id": from, "attendance": "attended", "skills": [{"skill_code": "A1", "level": 3}, {"skill_code": "C2", "level": 2}]}])).await;

        let m = &s.manager.token;
        let before_activity = app.get("/api/v1/reports/activity", Some(m)).await.json();
        let before_skills = app.get("/api/v1/reports/skills-progress", Some(m)).await.json();
        let merged = app.post_json(&format!("/api/v1/people/{kept}/merge"), &t, json!({"from_id": from})).await;
        assert_eq!(merged.status, Status::Ok, "{}", merged.body);
        let after_activity = app.get("/api/v1/reports/activity", Some(m)).await.json();
        assert_eq!(figures(&after_activity), figures(&before_activity));
        assert_eq!(distinct_people(&after_activity), distinct_people(&before_activity) - 1);
        let after_skills = app.get("/api/v1/reports/skills-progress", Some(m)).await.json();
        assert_eq!(after_skills["people"].as_i64().unwrap(), before_skills["people"].as_i64().unwrap() - 1);
    }
}
