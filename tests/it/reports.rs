//! Reports, dashboard, CSV exports and the demo data, checked against a small dataset whose
//! answers are known by hand.

use chrono::Duration;
use rocket::http::Status;
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, book, log_session, setup, today, walk_in, Setup};
use crate::harness::{unescape, TestApp};

pub(crate) struct Known {
    pub s: Setup,
    pub programme: i64,
    pub ana: i64,
    pub bilal: i64,
    pub chloe: i64,
    pub second_session: i64,
}

/// Ana (programme P) and Bilal came ten days ago: Ana attended (email; A1 at 0, C2 at 1),
/// Bilal did not come. Five days ago Ana (email, logement; A1 at 3, C2 at 1) and Chloé
/// (programme P; 30 minutes; A1 at 2) attended. Bilal is booked in three days; Chloé's
/// appointment in four days was cancelled by the structure. Ana received a tablet of P.
pub(crate) async fn known(app: &TestApp) -> Known {
    let s = setup(app, "Emmaüs Connect").await;
    let programme = app
        .post_json(
            "/api/v1/programmes",
            &s.manager.token,
            json!({"name": "Programme P", "funder": "Département"}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let person_in = |name: &'static str, programmes: Vec<i64>| {
        let token = s.mediator.token.clone();
        async move {
            let r = app
                .post_json("/api/v1/people", &token, json!({"given_name": name, "family_name": "Test", "programme_ids": programmes, "email": format!("{}@example.org", name.to_lowercase())}))
                .await;
            assert_eq!(r.status, Status::Created, "{}", r.body);
            r.json()["id"].as_i64().unwrap()
        }
    };
    let ana = person_in("Ana", vec![programme]).await;
    let bilal = person_in("Bilal", vec![]).await;
    let chloe = person_in("Chloe", vec![programme]).await;
    let first = walk_in(app, &s, &[ana, bilal], 10, "").await;
    log_session(app, &s.mediator.token, first, json!([
        {"person_id": ana, "attendance": "attended", "topics": ["email"], "skills": [{"skill_code": "A1", "level": 0}, {"skill_code": "C2", "level": 1}]},
        {"person_id": bilal, "attendance": "no_show"}
    ])).await;
    let second = walk_in(app, &s, &[ana, chloe], 5, "").await;
    log_session(app, &s.mediator.token, second, json!([
        {"person_id": ana, "attendance": "attended", "topics": ["email", "logement"], "skills": [{"skill_code": "A1", "level": 3}, {"skill_code": "C2", "level": 1}]},
        {"person_id": chloe, "attendance": "attended", "duration_minutes": 30, "skills": [{"skill_code": "A1", "level": 2}]}
    ])).await;
    let future = book(
        app,
        &s,
        &s.mediator.token,
        &at(today() + Duration::days(3), "10:00"),
        &[bilal],
    )
    .await;
    assert_eq!(future.status, Status::Created, "{}", future.body);
    let doomed = book(
        app,
        &s,
        &s.mediator.token,
        &at(today() + Duration::days(4), "10:00"),
        &[chloe],
    )
    .await;
    let doomed = doomed.json()["id"].as_i64().unwrap();
    let cancel = app
        .post_json(
            &format!("/api/v1/appointments/{doomed}/cancel"),
            &s.mediator.token,
            json!({"by": "structure", "reason": "Lieu fermé"}),
        )
        .await;
    assert_eq!(cancel.status, Status::Ok, "{}", cancel.body);
    let tablet = app
        .post_json("/api/v1/equipment", &s.mediator.token, json!({"kind": "tablet", "model": "Tab A8", "serial": "T-1", "programme_id": programme}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let given = app
        .post_json(&format!("/api/v1/equipment/{tablet}/assign"), &s.mediator.token, json!({"person_id": ana, "mode": "donation",
            "handed_over_on": (today() - Duration::days(10)).to_string(), "acceptance": "paper_signature"}))
        .await;
    assert_eq!(given.status, Status::Created, "{}", given.body);
    Known {
        s,
        programme,
        ana,
        bilal,
        chloe,
        second_session: second,
    }
}

fn skill<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["per_skill"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skill_code"] == code)
        .unwrap()
}

fn domain<'a>(list: &'a Value, code: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain_code"] == code)
        .unwrap()
}

both_backends! {
    async fn activity_figures_match_the_known_dataset(app) {
        let k = known(&app).await;
        let token = &k.s.manager.token;
        let all = app.get("/api/v1/reports/activity", Some(token)).await;
        assert_eq!(all.status, Status::Ok, "{}", all.body);
        let all = all.json();
        assert_eq!(all["appointments"], 3, "two sessions and one to come: {all}");
        assert_eq!(all["cancelled_appointments"], 1);
        assert_eq!(all["attended"], 3);
        assert_eq!(all["no_show"], 1);
        assert_eq!(all["excused"], 0);
        assert_eq!(all["booked"], 1);
        assert_eq!(all["cancelled"], 1);
        assert_eq!(all["participants"], 5);
        assert_eq!(all["hours"], 2.5, "60 + 60 + 30 minutes");
        assert_eq!(all["attendance_rate"], 0.75);
        assert_eq!(all["no_show_rate"], 0.25);
        let topics: Vec<(String, i64)> = all["by_topic"].as_array().unwrap().iter()
            .map(|t| (t["topic"].as_str().unwrap().to_string(), t["sessions"].as_i64().unwrap())).collect();
        assert_eq!(topics, vec![("email".to_string(), 2), ("logement".to_string(), 1)]);
        assert_eq!(all["by_place"][0]["attended"], 3);
        let months: i64 = all["by_month"].as_array().unwrap().iter().map(|m| m["attended"].as_i64().unwrap()).sum();
        assert_eq!(months, 3, "month by month adds up");

        // Programme P: only its people count (Bilal's absence and booking go).
        let p = app.get(&format!("/api/v1/reports/activity?programme_id={}", k.programme), Some(token)).await.json();
        assert_eq!((p["appointments"].as_i64(), p["attended"].as_i64(), p["no_show"].as_i64(), p["booked"].as_i64(), p["cancelled"].as_i64()),
                   (Some(2), Some(3), Some(0), Some(0), Some(1)), "{p}");
        // A period: the last week holds the second session and what is to come.
        let from = (today() - Duration::days(7)).to_string();
        let week = app.get(&format!("/api/v1/reports/activity?from={from}"), Some(token)).await.json();
        assert_eq!((week["appointments"].as_i64(), week["attended"].as_i64(), week["no_show"].as_i64()), (Some(2), Some(2), Some(0)));
        assert_eq!(week["hours"], 1.5);
        let to = (today() - Duration::days(7)).to_string();
        let before = app.get(&format!("/api/v1/reports/activity?to={to}&mediator_id={}&place_id={}", k.s.mediator.user.id, k.s.place_id), Some(token)).await.json();
        assert_eq!((before["appointments"].as_i64(), before["attended"].as_i64(), before["no_show"].as_i64()), (Some(1), Some(1), Some(1)));

        // Someone cancels: the figures follow at once.
        let withdraw = app.send_json("DELETE", &format!("/api/v1/appointments/{}/participants/{}", all_future_id(&app, token, k.bilal).await, k.bilal), Some(&k.s.mediator.token), "").await;
        assert_eq!(withdraw.status, Status::NoContent, "{}", withdraw.body);
        let after = app.get("/api/v1/reports/activity", Some(token)).await.json();
        assert_eq!((after["booked"].as_i64(), after["cancelled"].as_i64()), (Some(0), Some(2)), "{after}");
    }
}

/// The id of the person's upcoming appointment.
async fn all_future_id(app: &TestApp, token: &str, person: i64) -> i64 {
    let from = at(today(), "00:00");
    let to = at(today() + Duration::days(30), "00:00");
    let list = app
        .get(
            &format!(
                "/api/v1/appointments?from={}&to={}&person_id={person}",
                urlencode(&from),
                urlencode(&to)
            ),
            Some(token),
        )
        .await;
    assert_eq!(list.status, Status::Ok, "{}", list.body);
    list.json()[0]["id"].as_i64().unwrap()
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

both_backends! {
    async fn skills_progress_matches_the_known_dataset_and_follows_an_edited_log(app) {
        let k = known(&app).await;
        let token = &k.s.manager.token;
        let r = app.get("/api/v1/reports/skills-progress", Some(token)).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        let r = r.json();
        assert_eq!(r["people"], 3);
        assert_eq!(r["assessed_people"], 2);
        let a1 = skill(&r, "A1");
        assert_eq!((a1["people_assessed"].as_i64(), a1["people_progressed"].as_i64(), a1["people_autonomous"].as_i64()), (Some(2), Some(1), Some(1)));
        assert_eq!(a1["average_gain"], 1.5, "Ana +3, Chloé 0");
        let c2 = skill(&r, "C2");
        assert_eq!((c2["people_assessed"].as_i64(), c2["people_progressed"].as_i64(), c2["average_gain"].as_f64()), (Some(1), Some(0), Some(0.0)));
        assert_eq!(skill(&r, "F1")["people_assessed"], 0);
        let a = domain(&r["per_domain"], "A");
        assert_eq!((a["people_assessed"].as_i64(), a["people_progressed"].as_i64(), a["people_autonomous"].as_i64()), (Some(2), Some(1), Some(1)));
        assert_eq!(a["average_assessments_to_autonomy"], 2.0, "Ana reached 3 at her second assessment");
        assert_eq!(a["average_sessions_to_progress"], 2.0, "Ana progressed at her second session");
        assert_eq!(a["average_sessions_to_autonomy"], 2.0);
        assert_eq!(domain(&r["per_domain"], "C")["people_progressed"], 0);
        // The funder's question: Ana was equipped, and became autonomous in domain A.
        assert_eq!(r["equipped_people"], 1);
        assert_eq!(r["equipped_and_autonomous_on_any"], 1);
        let ea = domain(&r["equipped_per_domain"], "A");
        assert_eq!((ea["people_assessed"].as_i64(), ea["people_autonomous"].as_i64()), (Some(1), Some(1)));
        let months: i64 = r["by_month"].as_array().unwrap().iter().map(|m| m["autonomous"].as_i64().unwrap()).sum();
        assert_eq!(months, 1);

        // Filters: programme P (Ana, Chloé), a mediator of nobody, a period before everything.
        let p = app.get(&format!("/api/v1/reports/skills-progress?programme_id={}", k.programme), Some(token)).await.json();
        assert_eq!((p["people"].as_i64(), p["assessed_people"].as_i64()), (Some(2), Some(2)));
        let early = app.get(&format!("/api/v1/reports/skills-progress?to={}", today() - Duration::days(30)), Some(token)).await.json();
        assert_eq!(early["assessed_people"], 0);
        let by_manager = app.get(&format!("/api/v1/reports/skills-progress?mediator_id={}", k.s.manager.user.id), Some(token)).await.json();
        assert_eq!(by_manager["assessed_people"], 0, "the manager assessed nobody");

        // The second log is corrected: Ana was at 2, not 3. The report follows.
        log_session(&app, &k.s.mediator.token, k.second_session, json!([
            {"person_id": k.ana, "attendance": "attended", "topics": ["email"], "skills": [{"skill_code": "A1", "level": 2}]},
            {"person_id": k.chloe, "attendance": "attended", "duration_minutes": 30, "skills": [{"skill_code": "A1", "level": 2}]}
        ])).await;
        let fixed = app.get("/api/v1/reports/skills-progress", Some(token)).await.json();
        let a1 = skill(&fixed, "A1");
        assert_eq!((a1["people_progressed"].as_i64(), a1["people_autonomous"].as_i64(), a1["average_gain"].as_f64()), (Some(1), Some(0), Some(1.0)));
        assert_eq!(fixed["equipped_and_autonomous_on_any"], 0);
        // An assessment outside any session counts too.
        let final_ = app.post_json(&format!("/api/v1/people/{}/assessments", k.bilal), &k.s.mediator.token,
            json!({"kind": "final", "skills": [{"skill_code": "F1", "level": 3}]})).await;
        assert_eq!(final_.status, Status::Created, "{}", final_.body);
        let with_f = app.get("/api/v1/reports/skills-progress", Some(token)).await.json();
        assert_eq!((skill(&with_f, "F1")["people_assessed"].as_i64(), skill(&with_f, "F1")["people_autonomous"].as_i64()), (Some(1), Some(1)));

        // What the writers maintained equals a rebuild from scratch.
        let tz = app.config().timezone;
        let activity = app.get("/api/v1/reports/activity", Some(token)).await.json();
        app.db().run(move |conn| passerelle::rollups::rebuild(conn, &tz, |_, _| {})).await.unwrap();
        assert_eq!(app.get("/api/v1/reports/skills-progress", Some(token)).await.json(), with_f);
        assert_eq!(app.get("/api/v1/reports/activity", Some(token)).await.json(), activity);

        // A period reads whole months from the roll-ups and the days around them from the
        // rows; a mediator's filter reads only rows. With Bilal assessed 45 days ago, in
        // another month, both agree whatever the period.
        let old = walk_in(&app, &k.s, &[k.bilal], 45, "").await;
        log_session(&app, &k.s.mediator.token, old, json!([
            {"person_id": k.bilal, "attendance": "attended", "skills": [{"skill_code": "B1", "level": 1}, {"skill_code": "A1", "level": 0}]}
        ])).await;
        for (from, to) in [(60, 0), (45, 5), (44, 1), (90, 30), (400, 0)] {
            let period = format!("from={}&to={}", today() - Duration::days(from), today() - Duration::days(to));
            let mixed = app.get(&format!("/api/v1/reports/skills-progress?{period}"), Some(token)).await.json();
            let rows = app.get(&format!("/api/v1/reports/skills-progress?{period}&mediator_id={}", k.s.mediator.user.id), Some(token)).await.json();
            for part in ["assessed_people", "per_skill", "per_domain", "by_month"] {
                assert_eq!(mixed[part], rows[part], "{part} for {period}");
            }
        }
        let wide = app.get(&format!("/api/v1/reports/skills-progress?from={}", today() - Duration::days(60)), Some(token)).await.json();
        assert_eq!(skill(&wide, "B1")["people_assessed"], 1, "{wide}");
        let recent = app.get(&format!("/api/v1/reports/skills-progress?from={}", today() - Duration::days(20)), Some(token)).await.json();
        assert_eq!(skill(&recent, "B1")["people_assessed"], 0, "{recent}");

        // Chloé leaves programme P: its figures follow at once, skills and activity.
        let left = app.send_json("PATCH", &format!("/api/v1/people/{}", k.chloe), Some(&k.s.mediator.token), &json!({"programme_ids": []}).to_string()).await;
        assert_eq!(left.status, Status::Ok, "{}", left.body);
        let p = app.get(&format!("/api/v1/reports/skills-progress?programme_id={}", k.programme), Some(token)).await.json();
        assert_eq!((p["people"].as_i64(), p["assessed_people"].as_i64()), (Some(1), Some(1)), "{p}");
        assert_eq!(skill(&p, "A1")["people_assessed"], 1, "Ana only");
        let pa = app.get(&format!("/api/v1/reports/activity?programme_id={}", k.programme), Some(token)).await.json();
        assert_eq!((pa["attended"].as_i64(), pa["cancelled"].as_i64()), (Some(2), Some(0)), "{pa}");
        let kept = (p, pa);
        app.db().run(move |conn| passerelle::rollups::rebuild(conn, &tz, |_, _| {})).await.unwrap();
        let p = app.get(&format!("/api/v1/reports/skills-progress?programme_id={}", k.programme), Some(token)).await.json();
        let pa = app.get(&format!("/api/v1/reports/activity?programme_id={}", k.programme), Some(token)).await.json();
        assert_eq!((p, pa), kept, "what the writers kept equals a rebuild");

        // A database upgraded from before the roll-ups gets them at its first start.
        let before = app.get("/api/v1/reports/skills-progress", Some(token)).await.json();
        let rebuilt = app.db().run(move |conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("DELETE FROM skill_months; DELETE FROM domain_months; DELETE FROM progress_months;")?;
            passerelle::rollups::rebuild_if_missing(conn, &tz)
        }).await.unwrap();
        assert!(rebuilt);
        assert_eq!(app.get("/api/v1/reports/skills-progress", Some(token)).await.json(), before);
    }
}

both_backends! {
    async fn equipment_report_counts_by_kind_status_and_programme(app) {
        let k = known(&app).await;
        let token = &k.s.manager.token;
        for (kind, serial) in [("sim_card", None), ("laptop", Some("L-1"))] {
            let body = match serial {
                Some(serial) => json!({"kind": kind, "serial": serial}),
                None => json!({"kind": kind, "iccid": "8933150319002381420", "valid_until": (today() + Duration::days(10)).to_string()}),
            };
            assert_eq!(app.post_json("/api/v1/equipment", &k.s.mediator.token, body).await.status, Status::Created);
        }
        let r = app.get("/api/v1/reports/equipment", Some(token)).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        let r = r.json();
        assert_eq!(r["total"], 3);
        let count = |list: &str, key: &str| r[list].as_array().unwrap().iter().find(|c| c["key"] == key).map(|c| c["count"].as_i64().unwrap());
        assert_eq!(count("by_kind", "tablet"), Some(1));
        assert_eq!(count("by_kind", "sim_card"), Some(1));
        assert_eq!(count("by_status", "assigned"), Some(1));
        assert_eq!(count("by_status", "in_stock"), Some(2));
        let p = r["by_programme"].as_array().unwrap().iter().find(|p| p["programme_id"] == k.programme).unwrap();
        assert_eq!((p["count"].as_i64(), p["assigned"].as_i64()), (Some(1), Some(1)));
        assert_eq!(r["handed_over"], 1);
        assert_eq!(r["people_equipped"], 1);
        assert_eq!(r["sim_cards_ending_within_30_days"], 0, "the SIM card is not handed over");
        let only_p = app.get(&format!("/api/v1/reports/equipment?programme_id={}", k.programme), Some(token)).await.json();
        assert_eq!(only_p["total"], 1);
    }
}

both_backends! {
    async fn reports_are_scoped_checked_and_for_managers(app) {
        let k = known(&app).await;
        let other = app.staff("manager", "Centre social").await;
        let theirs = app.get("/api/v1/reports/activity", Some(&other.token)).await.json();
        assert_eq!((theirs["appointments"].as_i64(), theirs["attended"].as_i64()), (Some(0), Some(0)), "another organisation sees none of it");
        let asked = app.get(&format!("/api/v1/reports/activity?organisation_id={}", k.s.manager.user.organisation_id), Some(&other.token)).await.json();
        assert_eq!(asked["attended"], 0, "a manager cannot pick another organisation");
        let place = app.get(&format!("/api/v1/reports/activity?place_id={}", k.s.place_id), Some(&other.token)).await;
        assert_eq!(place.status, Status::UnprocessableEntity);
        let admin = app.staff("admin", "Département").await;
        let everything = app.get("/api/v1/reports/activity", Some(&admin.token)).await.json();
        assert_eq!(everything["attended"], 3);
        let one = app.get(&format!("/api/v1/reports/activity?organisation_id={}", other.user.organisation_id), Some(&admin.token)).await.json();
        assert_eq!(one["attended"], 0);
        let mediator = app.get("/api/v1/reports/skills-progress", Some(&k.s.mediator.token)).await;
        assert_eq!(mediator.status, Status::Forbidden);
        assert_eq!(mediator.header("Content-Type"), Some("application/problem+json"));
        assert_eq!(app.get("/api/v1/reports/equipment", None).await.status, Status::Unauthorized);
        let bad = app.get("/api/v1/reports/activity?from=2026-13-01&to=hier", Some(&k.s.manager.token)).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        assert!(bad.json()["errors"]["from"].is_array() && bad.json()["errors"]["to"].is_array(), "{}", bad.body);
        let reversed = app.get("/api/v1/reports/activity?from=2026-06-01&to=2026-01-01", Some(&k.s.manager.token)).await;
        assert_eq!(reversed.status, Status::UnprocessableEntity);
    }
}

/// Parses a CSV answer: the separator, and each record as fields.
pub(crate) fn parse_csv(body: &str, sep: char) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = body.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, c) if c == sep => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

both_backends! {
    async fn csv_exports_parse_back_with_filters_separator_and_pseudonyms(app) {
        let k = known(&app).await;
        let token = &k.s.manager.token;
        let people = app.get("/exports/people.csv", Some(token)).await;
        assert_eq!(people.status, Status::Ok, "{}", people.body);
        assert!(people.header("Content-Type").unwrap().starts_with("text/csv"));
        assert!(people.header("Content-Disposition").unwrap().contains("personnes.csv"), "a French file name");
        let rows = parse_csv(&people.body, ',');
        assert_eq!(rows.len(), 4, "header and three people");
        let given = rows[0].iter().position(|h| h == "prenom").unwrap();
        let names: Vec<&str> = rows[1..].iter().map(|r| r[given].as_str()).collect();
        assert_eq!(names, vec!["Ana", "Bilal", "Chloe"]);
        assert!(rows.iter().all(|r| r.len() == rows[0].len()));
        let programmes = rows[0].iter().position(|h| h == "dispositifs").unwrap();
        assert_eq!(rows[1][programmes], "Programme P");

        let filtered = parse_csv(&app.get(&format!("/exports/people.csv?programme_id={}", k.programme), Some(token)).await.body, ',');
        assert_eq!(filtered.len(), 3);

        // French spreadsheets: a byte-order mark and semicolons.
        let french = app.get("/exports/appointments.csv?sep=%3B", Some(token)).await;
        assert!(french.body.starts_with('\u{feff}'));
        assert_eq!(french.header("content-disposition"), Some("attachment; filename=\"rendez-vous.csv\""));
        let rows = parse_csv(&french.body, ';');
        assert_eq!(rows.len(), 5, "four appointments: {}", french.body);
        let status = rows[0].iter().position(|h| h == "statut").unwrap();
        let attended = rows[0].iter().position(|h| h == "presents").unwrap();
        let statuses: Vec<&str> = rows[1..].iter().map(|r| r[status].as_str()).collect();
        // Statuses and kinds in French for a spreadsheet's reader (the JSON API keeps codes).
        assert_eq!(statuses, vec!["tenu", "tenu", "prévu", "annulé"]);
        let kind = rows[0].iter().position(|h| h == "type").unwrap();
        assert!(rows[1..].iter().all(|r| ["individuel", "atelier"].contains(&r[kind].as_str())), "{rows:?}");
        assert_eq!(rows[1][attended], "1");
        assert_eq!(rows[2][attended], "2");
        assert!(rows[1][1].starts_with(&(today() - Duration::days(10)).to_string()), "local start time: {}", rows[1][1]);

        // Pseudonymised: no names or contacts, and the same pseudonym in every file.
        let pseudo = app.get("/exports/people.csv?pseudonymise=true", Some(token)).await.body;
        assert!(!pseudo.contains("Ana") && !pseudo.contains("@example.org") && !pseudo.contains("Test"), "{pseudo}");
        let pseudo_rows = parse_csv(&pseudo, ',');
        let ana_pseudonym = pseudo_rows[1][0].clone();
        assert!(ana_pseudonym.starts_with('P') && ana_pseudonym.len() == 13);
        let logs = parse_csv(&app.get("/exports/logs.csv?pseudonymise=true", Some(token)).await.body, ',');
        assert_eq!(logs.len(), 5, "four logs");
        let person = logs[0].iter().position(|h| h == "personne").unwrap();
        let skills = logs[0].iter().position(|h| h == "competences").unwrap();
        let ana_logs: Vec<&Vec<String>> = logs[1..].iter().filter(|r| r[person] == ana_pseudonym).collect();
        assert_eq!(ana_logs.len(), 2);
        assert_eq!(ana_logs[0][skills], "A1:0|C2:1");
        assert!(!logs[0].contains(&"note".to_string()));

        let assessments = parse_csv(&app.get(&format!("/exports/assessments.csv?mediator_id={}", k.s.mediator.user.id), Some(token)).await.body, ',');
        assert_eq!(assessments.len(), 6, "five assessments");
        let equipment = parse_csv(&app.get("/exports/equipment.csv", Some(token)).await.body, ',');
        assert_eq!(equipment.len(), 2);
        let holder = equipment[0].iter().position(|h| h == "detenteur").unwrap();
        assert_eq!(equipment[1][holder], k.ana.to_string());
        let column = |name: &str| equipment[0].iter().position(|h| h == name).unwrap();
        assert_eq!(
            (equipment[1][column("type")].as_str(), equipment[1][column("statut")].as_str()),
            ("tablette", "remis")
        );
        assert!(["prêt", "don"].contains(&equipment[1][column("mode")].as_str()), "{equipment:?}");
        let presence = logs[0].iter().position(|h| h == "presence").unwrap();
        assert!(logs[1..].iter().all(|r| ["venu·e", "absent·e", "excusé·e"].contains(&r[presence].as_str())), "{logs:?}");
        let kind = assessments[0].iter().position(|h| h == "type").unwrap_or_else(|| panic!("{:?}", assessments[0]));
        assert!(assessments[1..].iter().all(|r| ["diagnostic initial", "observation en séance", "bilan final"].contains(&r[kind].as_str())), "{assessments:?}");

        // From the dashboard's links, with the browser session; each export is audited.
        let by_cookie = app.page("/exports/logs.csv", &k.s.manager.session).await;
        assert_eq!(by_cookie.status, Status::Ok);
        let audit = app.db().run(|conn| {
            use diesel::prelude::*;
            use passerelle::db::schema::audit_log;
            Ok(audit_log::table.filter(audit_log::action.eq("export")).count().get_result::<i64>(conn)?)
        }).await.unwrap();
        assert!(audit >= 8, "{audit} exports audited");
        // Refusals: unknown file, bad separator, a mediator, nobody.
        assert_eq!(app.get("/exports/passwords.csv", Some(token)).await.status, Status::NotFound);
        let sep = app.get("/exports/people.csv?sep=%7C", Some(token)).await;
        assert_eq!(sep.status, Status::UnprocessableEntity);
        assert_eq!(sep.header("Content-Type"), Some("application/problem+json"));
        assert_eq!(app.get("/exports/people.csv", Some(&k.s.mediator.token)).await.status, Status::Forbidden);
        assert_eq!(app.get("/exports/people.csv", None).await.status, Status::SeeOther, "a browser goes to the login page");
        // Text that a spreadsheet would run as a formula is defused.
        let formula = app.post_json("/api/v1/people", &k.s.mediator.token, json!({"given_name": "=HYPERLINK(\"x\")"})).await;
        assert_eq!(formula.status, Status::Created);
        let rows = parse_csv(&app.get("/exports/people.csv", Some(token)).await.body, ',');
        assert_eq!(rows.last().unwrap()[given], "'=HYPERLINK(\"x\")");
    }
}

both_backends! {
    async fn the_dashboard_pages_draw_charts_with_tables(app) {
        let k = known(&app).await;
        for path in ["/reports", "/reports/skills-progress", "/reports/activity", "/reports/equipment"] {
            let page = app.page(&format!("{path}?programme_id={}", k.programme), &k.s.manager.session).await;
            assert_eq!(page.status, Status::Ok, "{path}: {}", page.body);
            assert!(page.body.contains("<svg") && page.body.contains("role=\"img\""), "{path} draws a chart");
            assert!(page.body.contains("<table class=\"data\""), "{path} has the figures in a table");
            assert!(page.body.contains("/exports/people.csv?"), "{path} links to the exports");
            assert!(!page.body.contains("<script"), "{path} needs no JavaScript");
            // Figures as French readers write them: a decimal comma, never a point; a
            // percentage joined to its sign by a no-break space.
            let cells = regex::Regex::new(r"<(?:dd|td)>([^<]*)</(?:dd|td)>").unwrap();
            for cell in cells.captures_iter(&page.body) {
                let text = &cell[1];
                assert!(!regex::Regex::new(r"\d\.\d").unwrap().is_match(text), "{path}: {text:?} has a decimal point");
                assert!(!text.contains(" %"), "{path}: {text:?}: a no-break space before %");
            }
            assert!(page.body.contains("comptes rendus de séance"), "{path}: the exports named in French");
        }
        let activity = app.page(&format!("/reports/activity?programme_id={}", k.programme), &k.s.manager.session).await.body;
        assert!(activity.contains("\u{a0}%</dd>"), "the attendance rate, in French: {activity}");
        let skills = unescape(&app.page("/reports/skills-progress", &k.s.manager.session).await.body);
        assert!(skills.contains("Utiliser") || skills.contains("A1"));
        let activity = unescape(&app.page("/reports/activity", &k.s.manager.session).await.body);
        assert!(activity.contains("Logement") && activity.contains("Médiathèque Jean Macé"));
        assert_eq!(app.page("/reports", &k.s.mediator.session).await.status, Status::Forbidden);
        let bad = app.page("/reports/activity?from=demain", &k.s.manager.session).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        assert!(unescape(&bad.body).contains("AAAA-MM-JJ"));
    }
}

both_backends! {
    async fn demo_fills_an_empty_database_with_plausible_data_and_refuses_a_full_one(app) {
        let config = app.config();
        let summary = app.db().run(move |conn| passerelle::demo::run(conn, &config, passerelle::demo::Scale::Small, |_, _, _| {})).await.unwrap();
        assert_eq!(summary.people, 1000);
        assert!((9_000..=11_000).contains(&summary.appointments), "{summary:?}");
        assert!(summary.assessments >= 20_000, "{summary:?}");
        let admin = app.staff("admin", "Département").await;
        let activity = app.get("/api/v1/reports/activity", Some(&admin.token)).await.json();
        let no_show = activity["no_show_rate"].as_f64().unwrap();
        assert!((0.12..=0.18).contains(&no_show), "about 15 % no-shows: {no_show}");
        let skills = app.get("/api/v1/reports/skills-progress", Some(&admin.token)).await.json();
        let a1 = skill(&skills, "A1");
        assert!(a1["people_progressed"].as_i64().unwrap() > 0 && a1["average_gain"].as_f64().unwrap() > 0.0, "skills progress over sessions");
        let equipped = skills["equipped_people"].as_i64().unwrap();
        assert!((250..=400).contains(&equipped), "about a third equipped: {equipped}");
        // The demo accounts work.
        let login = app.client.post("/api/v1/tokens").header(rocket::http::ContentType::JSON)
            .body(json!({"email": "admin@demo.passerelle.fr", "password": passerelle::demo::PASSWORD}).to_string())
            .dispatch().await;
        assert_eq!(login.status(), Status::Created);
        let config = app.config();
        let again = app.db().run(move |conn| passerelle::demo::run(conn, &config, passerelle::demo::Scale::Small, |_, _, _| {})).await;
        assert!(again.unwrap_err().detail().contains("déjà"));
    }
}

both_backends! {
    /// Simultaneous assessments of the same people and changes of their programmes: the
    /// roll-ups the writers kept still equal a rebuild (on PostgreSQL, each change reads a
    /// person's cells before adding its difference, so two at once must not overlap).
    async fn simultaneous_changes_keep_the_roll_ups_exact(app) {
        let k = known(&app).await;
        let token = &k.s.manager.token;
        let people = [k.ana, k.bilal, k.chloe];
        let requests = (0..24).map(|i| {
            let person = people[i % 3];
            let mediator = k.s.mediator.token.clone();
            let app = &app;
            async move {
                let r = if i % 4 == 3 {
                    let programmes = if i % 8 == 3 { json!([k.programme]) } else { json!([]) };
                    app.send_json("PATCH", &format!("/api/v1/people/{person}"), Some(&mediator), &json!({"programme_ids": programmes}).to_string()).await
                } else {
                    let code = ["A1", "B1", "C2", "F1"][i % 4];
                    app.post_json(&format!("/api/v1/people/{person}/assessments"), &mediator,
                        json!({"kind": "diagnostic", "skills": [{"skill_code": code, "level": (i % 4) as i64}]})).await
                };
                assert!(r.status == Status::Ok || r.status == Status::Created, "{} {}", r.status, r.body);
            }
        });
        futures::future::join_all(requests).await;
        let urls = [
            "/api/v1/reports/skills-progress".to_string(),
            format!("/api/v1/reports/skills-progress?programme_id={}", k.programme),
        ];
        let mut kept = Vec::new();
        for url in &urls {
            kept.push(app.get(url, Some(token)).await.json());
        }
        let tz = app.config().timezone;
        app.db().run(move |conn| passerelle::rollups::rebuild(conn, &tz, |_, _| {})).await.unwrap();
        for (url, kept) in urls.iter().zip(kept) {
            assert_eq!(app.get(url, Some(token)).await.json(), kept, "{url}");
        }
    }
}

both_backends! {
    /// The equipped people's progress per domain, read for the whole département from the rows
    /// kept for the people handed a device (`equipped_progress`), is what the per-person rows
    /// of the one organisation everyone here is in give: all time and up to days around the
    /// handovers, after a handover of a device to Chloé, a merge of Bilal into her and a later
    /// assessment; and a rebuild changes nothing.
    async fn the_equipped_peoples_progress_kept_for_everyone_matches_the_rows(app) {
        let k = known(&app).await;
        let admin = app.staff("admin", "Département").await;
        let org = k.s.manager.user.organisation_id;
        let day = |n: i64| (today() - Duration::days(n)).to_string();
        let compare = |label: &'static str| {
            let (admin, day) = (&admin, &day);
            let app = &app;
            async move {
                let mut seen = Vec::new();
                for period in [String::new(), format!("to={}", day(11)), format!("to={}", day(5)), format!("to={}", day(3)), format!("from={}&to={}", day(7), day(0))] {
                    let all = app.get(&format!("/api/v1/reports/skills-progress?{period}"), Some(&admin.token)).await;
                    assert_eq!(all.status, Status::Ok, "{}", all.body);
                    let all = all.json();
                    let one = app.get(&format!("/api/v1/reports/skills-progress?organisation_id={org}&{period}"), Some(&admin.token)).await.json();
                    assert_eq!(all["equipped_per_domain"], one["equipped_per_domain"], "{label}, {period}");
                    seen.push(all["equipped_per_domain"].clone());
                }
                seen
            }
        };
        let first = compare("Ana's tablet").await;
        assert_eq!(domain(&first[0], "A")["people_assessed"], 1, "Ana, equipped ten days ago: {}", first[0]);
        assert_eq!(domain(&first[1], "A")["people_assessed"], 0, "nobody equipped eleven days ago");

        // Chloé receives a phone four days ago; Bilal is merged into her; she is assessed again.
        let phone = app
            .post_json("/api/v1/equipment", &k.s.mediator.token, json!({"kind": "tablet", "model": "Tab A9", "serial": "T-2"}))
            .await
            .json()["id"]
            .as_i64()
            .unwrap();
        let given = app
            .post_json(&format!("/api/v1/equipment/{phone}/assign"), &k.s.mediator.token, json!({"person_id": k.chloe, "mode": "donation",
                "handed_over_on": day(4), "acceptance": "paper_signature"}))
            .await;
        assert_eq!(given.status, Status::Created, "{}", given.body);
        let handed = compare("Chloé's phone").await;
        assert_eq!(domain(&handed[0], "A")["people_assessed"], 2, "Ana and Chloé: {}", handed[0]);
        assert_eq!(domain(&handed[2], "A")["people_assessed"], 1, "Chloé, assessed five days ago, equipped four days ago");
        let merged = app.post_json(&format!("/api/v1/people/{}/merge", k.chloe), &k.s.mediator.token, json!({"from_id": k.bilal})).await;
        assert_eq!(merged.status, Status::Ok, "{}", merged.body);
        let assessed = app.post_json(&format!("/api/v1/people/{}/assessments", k.chloe), &k.s.mediator.token,
            json!({"kind": "final", "skills": [{"skill_code": "A1", "level": 3}, {"skill_code": "F1", "level": 3}]})).await;
        assert_eq!(assessed.status, Status::Created, "{}", assessed.body);
        let later = compare("after the merge and an assessment").await;
        assert_eq!(domain(&later[0], "A")["people_autonomous"], 2, "{}", later[0]);
        assert_eq!(domain(&later[0], "F")["people_assessed"], 1, "{}", later[0]);

        let tz = app.config().timezone;
        app.db().run(move |conn| passerelle::rollups::rebuild(conn, &tz, |_, _| {})).await.unwrap();
        assert_eq!(compare("after a rebuild").await, later);
    }
}
