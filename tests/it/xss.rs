//! Stored XSS: a script-and-attribute payload typed into every free-text field reaches every
//! page, email and calendar file that shows it, escaped, never as markup.

use chrono::Duration;
use diesel::prelude::*;
use rocket::http::Status;
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, today};
use crate::harness::{Staff, TestApp};

const PAYLOAD: &str = r#"<script>alert(1)</script>"'><img src=x onerror=alert(1)>"#;
/// What must never appear in an HTML answer.
const RAW: [&str; 3] = ["<script>alert(1)", "<img src=x", "onerror=alert(1)>"];
/// How Tera writes the payload's start, proof that the payload is on the page.
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;&#x2F;script&gt;";

async fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let r = app.post_json(path, token, body).await;
    assert!(
        r.status.code < 300,
        "{path} refused the payload: {} {}",
        r.status,
        r.body
    );
    r.json()
}

/// Asserts the page holds no raw payload; returns whether it shows it escaped.
fn check_html(what: &str, status: Status, body: &str) -> bool {
    assert!(status.code < 500, "{what}: {status}");
    for raw in RAW {
        if let Some(at) = body.find(raw) {
            let mut start = at.saturating_sub(200);
            while !body.is_char_boundary(start) {
                start -= 1;
            }
            let context: String = body[start..].chars().take(400).collect();
            panic!("{what}: unescaped `{raw}` in the answer:\n{context}");
        }
    }
    body.contains(ESCAPED)
}

both_backends! {
    async fn free_text_is_escaped_on_every_page_email_and_calendar(app) {
        let admin = app.staff("admin", "Département").await;
        let org = created(&app, &admin.token, "/api/v1/organisations", json!({"name": PAYLOAD})).await;
        let org_name = org["name"].as_str().unwrap();
        let manager = app.staff_named("manager", org_name, &format!("{PAYLOAD} Gestion"), "manager1@xss.example").await;
        let mediator = app.staff_named("mediator", org_name, PAYLOAD, "mediator2@xss.example").await;
        let t = manager.token.clone();

        let programme = created(&app, &t, "/api/v1/programmes", json!({"name": PAYLOAD, "funder": PAYLOAD})).await;
        let place = created(&app, &t, "/api/v1/places", json!({"name": PAYLOAD, "address": PAYLOAD, "postal_code": "59100", "city": PAYLOAD, "accessibility_notes": PAYLOAD})).await;
        let service = created(&app, &t, "/api/v1/services", json!({"name": PAYLOAD, "kind": "individual", "duration_minutes": 60, "min_notice_minutes": 0, "horizon_days": 730, "what_to_bring": PAYLOAD})).await;
        for weekday in 1..=7 {
            created(&app, &t, &format!("/api/v1/users/{}/opening-hours", mediator.user.id),
                json!({"place_id": place["id"], "weekday": weekday, "start": "08:00", "end": "20:00"})).await;
        }
        created(&app, &t, &format!("/api/v1/users/{}/absences", mediator.user.id),
            json!({"starts_at": at(today() + Duration::days(40), "08:00"), "ends_at": at(today() + Duration::days(40), "12:00"), "reason": PAYLOAD})).await;
        let person = created(&app, &t, "/api/v1/people", json!({
            "given_name": PAYLOAD, "family_name": PAYLOAD, "city": PAYLOAD, "notes": PAYLOAD,
            "referent_name": PAYLOAD, "referent_organisation": PAYLOAD, "email": "xss@example.org",
            "reminder_consent": true, "programme_ids": [programme["id"]],
        })).await;
        let pid = person["id"].as_i64().unwrap();
        // Reached by no email: listed on the page of people to call.
        let unreachable = created(&app, &t, "/api/v1/people", json!({"given_name": PAYLOAD, "family_name": PAYLOAD, "phone": "06 12 34 56 78"})).await;
        let book = |day: i64, time: &str, people: Vec<i64>, extra: Value| {
            let mut body = json!({"service_id": service["id"], "mediator_id": mediator.user.id, "place_id": place["id"],
                "starts_at": at(today() + Duration::days(day), time), "person_ids": people, "title": PAYLOAD, "notes": PAYLOAD});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            body
        };
        let upcoming = created(&app, &t, "/api/v1/appointments", book(2, "10:00", vec![pid], json!({}))).await;
        let to_call = created(&app, &t, "/api/v1/appointments", book(3, "10:00", vec![unreachable["id"].as_i64().unwrap()], json!({}))).await;
        let cancelled = created(&app, &t, "/api/v1/appointments", book(4, "10:00", vec![pid], json!({}))).await;
        created(&app, &t, &format!("/api/v1/appointments/{}/cancel", cancelled["id"]), json!({"by": "structure", "reason": PAYLOAD})).await;
        let past = created(&app, &t, "/api/v1/appointments", book(-1, "10:00", vec![pid], json!({"walk_in": true}))).await;
        let skills = app.get("/api/v1/skills", Some(&t)).await.json();
        let domain = skills[0]["domain_code"].as_str().unwrap();
        created(&app, &admin.token, "/api/v1/skills", json!({"domain_code": domain, "code": "XSS1", "name": PAYLOAD})).await;
        created(&app, &t, &format!("/api/v1/appointments/{}/log", past["id"]), json!({"participants": [{
            "person_id": pid, "attendance": "attended", "duration_minutes": 60, "device": "lent", "autonomy": "partly",
            "orientation": "autre", "orientation_note": PAYLOAD, "note": PAYLOAD, "skills": [{"skill_code": "XSS1", "level": 2}],
        }]})).await;
        let item = |n: u32| json!({"kind": "smartphone", "model": PAYLOAD, "serial": format!("{PAYLOAD} {n}"), "operator": PAYLOAD, "data_allowance": PAYLOAD, "programme_id": programme["id"]});
        let lent = created(&app, &t, "/api/v1/equipment", item(1)).await;
        created(&app, &t, &format!("/api/v1/equipment/{}/assign", lent["id"]), json!({"person_id": pid, "mode": "loan",
            "handed_over_on": (today() - Duration::days(10)).to_string(), "due_back_on": (today() - Duration::days(1)).to_string(),
            "acceptance": "typed_name", "accepted_by_name": PAYLOAD})).await;
        let broken = created(&app, &t, "/api/v1/equipment", item(2)).await;
        created(&app, &t, &format!("/api/v1/equipment/{}/status", broken["id"]), json!({"status": "broken", "note": PAYLOAD})).await;
        let returned = created(&app, &t, "/api/v1/equipment", item(3)).await;
        created(&app, &t, &format!("/api/v1/equipment/{}/assign", returned["id"]), json!({"person_id": pid, "mode": "loan",
            "handed_over_on": today().to_string(), "due_back_on": (today() + Duration::days(1)).to_string(), "acceptance": "paper_signature"})).await;
        created(&app, &t, &format!("/api/v1/equipment/{}/return", returned["id"]), json!({"returned_on": today().to_string(), "condition": PAYLOAD})).await;

        // Every page that shows these texts, as whoever sees it; `true`: the payload must be
        // on the page (escaped), so the check is not vacuous.
        let (a, p, e) = (upcoming["id"].clone(), past["id"].clone(), lent["id"].clone());
        assert!(to_call["id"].is_i64());
        let m = mediator.user.id;
        let link = app.beneficiary_link(a.as_i64().unwrap() as i32, pid as i32).await;
        let day = today() + Duration::days(2);
        let pages: Vec<(String, &Staff, bool)> = vec![
            ("/".into(), &manager, true),
            ("/people".into(), &manager, true),
            (format!("/people?q={}", crate::harness::urlencode(PAYLOAD)), &manager, true),
            (format!("/people/{pid}"), &manager, true),
            (format!("/people/{pid}/edit"), &manager, true),
            (format!("/people/{pid}/export"), &manager, true),
            ("/places".into(), &manager, true),
            (format!("/places/{}", place["id"]), &manager, true),
            (format!("/places/{}/edit", place["id"]), &manager, true),
            ("/programmes".into(), &manager, true),
            ("/services".into(), &manager, true),
            (format!("/agenda?date={day}"), &mediator, true),
            (format!("/agenda?date={day}&view=week&mediator_id={m}"), &manager, true),
            (format!("/appointments/{a}"), &manager, true),
            (format!("/appointments/{}", cancelled["id"]), &manager, true),
            (format!("/appointments/{a}/card?person_id={pid}"), &manager, true),
            (format!("/appointments/{p}"), &manager, true),
            (format!("/appointments/{p}/log"), &mediator, true),
            (format!("/appointments/new?q={}", crate::harness::urlencode(PAYLOAD)), &mediator, true),
            ("/logs-to-fill".into(), &mediator, true),
            ("/users".into(), &manager, true),
            ("/users".into(), &admin, true),
            ("/organisations".into(), &admin, true),
            (format!("/users/{m}/availability"), &manager, true),
            ("/calendar".into(), &mediator, true),
            ("/equipment".into(), &manager, true),
            (format!("/equipment/{e}"), &manager, true),
            (format!("/equipment/{}", broken["id"]), &manager, true),
            (format!("/equipment/{}", returned["id"]), &manager, true),
            (format!("/equipment/{e}/handover"), &manager, true),
            ("/equipment/due".into(), &manager, true),
            ("/messages".into(), &manager, false),
            ("/to-call".into(), &manager, true),
            ("/skills".into(), &mediator, true),
            ("/reports".into(), &manager, true),
            ("/reports".into(), &admin, true),
            (format!("/reports/skills-progress?programme_id={}", programme["id"]), &manager, true),
            ("/reports/activity".into(), &manager, true),
            ("/reports/equipment".into(), &manager, true),
            ("/audit".into(), &admin, false),
        ];
        let mut missing = Vec::new();
        for (path, who, shown) in &pages {
            let page = app.page(path, &who.session).await;
            assert_eq!(page.status, Status::Ok, "{path}: {}", page.body.chars().take(300).collect::<String>());
            if !check_html(path, page.status, &page.body) && *shown {
                missing.push(path.clone());
            }
        }
        assert!(missing.is_empty(), "pages that do not show the payload (the check would be vacuous): {missing:?}");

        // The beneficiary's page (no login).
        let page = app.get(&format!("/r/{link}"), None).await;
        assert_eq!(page.status, Status::Ok);
        assert!(check_html("/r/…", page.status, &page.body), "beneficiary page shows the place");

        // A form shown again with its errors echoes what was typed, escaped.
        let again = app.post_form("/people", Some(&manager.session), &[
            ("csrf_token", &manager.csrf), ("given_name", PAYLOAD), ("city", PAYLOAD), ("email", "pas-un-email"),
        ]).await;
        assert_eq!(again.status, Status::UnprocessableEntity);
        assert!(check_html("POST /people (invalid)", again.status, &again.body));
        let again = app.post_form("/places", Some(&manager.session), &[
            ("csrf_token", &manager.csrf), ("name", PAYLOAD), ("address", PAYLOAD), ("postal_code", "123"),
            ("city", PAYLOAD), ("phone", ""), ("accessibility_notes", PAYLOAD),
        ]).await;
        assert_eq!(again.status, Status::UnprocessableEntity);
        assert!(check_html("POST /places (invalid)", again.status, &again.body));

        // Emails: every message of the outbox, composed as the worker would send it.
        let config = app.config();
        let emails = app.db().run(move |conn| {
            use passerelle::db::schema::messages;
            let rows: Vec<passerelle::outbox::MessageRow> = messages::table
                .select(passerelle::outbox::MessageRow::as_select())
                .load(conn)?;
            rows.iter().map(|row| passerelle::mail::compose::compose(conn, &config, row).map(|c| (c.subject, c.message.formatted()))).collect::<Result<Vec<_>, _>>()
        }).await.unwrap();
        assert!(emails.len() >= 2, "confirmation and cancellation at least");
        for (subject, raw) in &emails {
            let parsed = mail_parser::MessageParser::default().parse(raw).expect("a MIME message");
            let html = parsed.body_html(0).expect("an HTML part").to_string();
            assert!(check_html(&format!("email « {subject} »"), Status::Ok, &html), "email « {subject} » shows the title");
            let text = parsed.body_text(0).expect("a text part").to_string();
            assert!(text.contains(PAYLOAD), "the text part shows the text as typed");
        }

        // Calendar files: the text cannot add a property of its own.
        let title = format!("{PAYLOAD}\r\nATTENDEE:mailto:evil@example.org\nX-INJECTED:1");
        let injected = created(&app, &t, "/api/v1/appointments", book(5, "10:00", vec![pid], json!({"title": title}))).await;
        let ics = app.page(&format!("/appointments/{}/ics", injected["id"]), &manager.session).await;
        assert_eq!(ics.status, Status::Ok);
        assert!(ics.header("content-type").unwrap().starts_with("text/calendar"));
        for line in ics.body.split("\r\n") {
            assert!(!line.starts_with("ATTENDEE") && !line.starts_with("X-INJECTED"), "{line}");
        }
        assert!(ics.body.contains("SUMMARY:"));
    }
}
