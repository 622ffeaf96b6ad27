//! The contract kept strictly (API.md, "Strictness of the contract"): query parameters that do
//! not parse are refused and named, never dropped; exports pseudonymise on `1`; phone numbers
//! reach spreadsheets as they are; calendars keep their UID; emails carry standard headers.

use std::collections::BTreeMap;

use chrono::Duration;
use rocket::http::Status;
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, book, person, setup, today};
use crate::harness::unescape;

/// A page's route pattern, the URL to call (`$appointment`, `$person`, `$link` filled in), and each
/// parameter with a value it must refuse.
pub type PageParameters = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

/// The query parameters of the HTML pages (the API's and the exports' are in the OpenAPI
/// document), each with a value it must refuse. The route patterns are Rocket's.
pub fn page_parameters() -> Vec<PageParameters> {
    let filters = vec![
        ("from", "2026-13-45"),
        ("to", "demain"),
        ("programme_id", "abc"),
        ("place_id", "1.5"),
        ("mediator_id", "trois"),
        ("organisation_id", "three"),
    ];
    vec![
        (
            "/agenda",
            "/agenda",
            vec![
                ("date", "2026-02-30"),
                ("view", "month"),
                ("mediator_id", "abc"),
                ("place_id", "x"),
                ("service_id", "99999999999"),
                ("organisation_id", "three"),
            ],
        ),
        ("/to-call", "/to-call", vec![("organisation_id", "trois")]),
        (
            "/appointments/new",
            "/appointments/new",
            vec![
                ("service_id", "abc"),
                ("mediator_id", "x"),
                ("place_id", "-"),
                ("person_id", "Fatou"),
            ],
        ),
        (
            "/appointments/<id>/card",
            "/appointments/$appointment/card",
            vec![("person_id", "abc")],
        ),
        (
            "/r/<token>",
            "/r/$link",
            vec![("lang", "de"), ("moved", "yes")],
        ),
        (
            "/people/<id>",
            "/people/$person",
            vec![("duplicates", "1,x"), ("ok", "bravo")],
        ),
        (
            "/appointments/<id>",
            "/appointments/$appointment",
            vec![("ok", "bravo")],
        ),
        (
            "/equipment/<id>",
            "/equipment/$equipment",
            vec![("ok", "bravo")],
        ),
        (
            "/equipment/<id>/status",
            "/equipment/$equipment/status",
            vec![("status", "stolen")],
        ),
        (
            "/equipment",
            "/equipment",
            vec![
                ("kind", "spaceship"),
                ("status", "stolen"),
                ("programme_id", "abc"),
            ],
        ),
        ("/messages", "/messages", vec![("status", "lost")]),
        ("/referrals", "/referrals", vec![("status", "lost")]),
        (
            "/rdv/<slug>/creneaux",
            "/rdv/structure-stricte/creneaux",
            vec![
                ("service_id", "abc"),
                ("place_id", "x"),
                ("date", "2026-02-30"),
            ],
        ),
        (
            "/rdv/<slug>/reserver",
            "/rdv/structure-stricte/reserver",
            vec![("service_id", "abc"), ("place_id", "1.5")],
        ),
        (
            "/webhooks/<id>/deliveries",
            "/webhooks/1/deliveries",
            vec![("status", "lost")],
        ),
        (
            "/audit",
            "/audit",
            vec![
                ("entity", "nothing"),
                ("entity_id", "abc"),
                ("actor", "x"),
                ("from", "hier"),
                ("to", "2026-13-01"),
                ("page", "deux"),
            ],
        ),
        ("/reports", "/reports", filters.clone()),
        (
            "/reports/skills-progress",
            "/reports/skills-progress",
            filters.clone(),
        ),
        ("/reports/activity", "/reports/activity", filters.clone()),
        ("/reports/equipment", "/reports/equipment", filters.clone()),
        ("/exports/<file>", "/exports/people.csv", {
            let mut all = filters.clone();
            all.extend([("pseudonymise", "yes"), ("sep", "|")]);
            all
        }),
        ("/exports/<file>", "/exports/people.xlsx", {
            let mut all = filters.clone();
            all.extend([("pseudonymise", "yes"), ("sep", "|")]);
            all
        }),
        ("/exports/<file>", "/exports/activites-coop.xlsx", {
            let mut all = filters;
            all.extend([("pseudonymise", "2"), ("sep", "\t")]);
            all
        }),
    ]
}

/// Values a documented query parameter must refuse, from its schema (none for free text).
fn bad_values(schema: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    if schema.get("enum").is_some() {
        bad.push("inconnu|x".to_string());
    }
    match schema["type"].as_str() {
        Some("integer") => {
            bad.extend(["abc", "1.5"].map(String::from));
            if schema["format"] != "int64" {
                bad.push("99999999999".to_string());
            }
            if let Some(min) = schema["minimum"].as_i64() {
                bad.push((min - 1).to_string());
            }
            if let Some(max) = schema["maximum"].as_i64() {
                bad.push((max + 1).to_string());
            }
        }
        Some("boolean") => bad.extend(["yes", "on", "2"].map(String::from)),
        Some("string") => match schema["format"].as_str() {
            Some("date") => bad.extend(["2026-13-45", "demain"].map(String::from)),
            Some("date-time") => {
                bad.extend(["hier", "2026-12-03T25:61:00+01:00"].map(String::from))
            }
            _ => {}
        },
        _ => {}
    }
    bad
}

both_backends! {
    async fn every_documented_query_parameter_refuses_a_value_that_does_not_parse(app) {
        let s = setup(&app, "Structure Stricte").await;
        let admin = app.staff("admin", "Département").await;
        let p = person(&app, &s.manager.token, "Nadia").await;
        let appointment = book(&app, &s, &s.manager.token, &at(today() + Duration::days(3), "10:00"), &[p]).await.json()["id"].clone();
        let item = app.post_json("/api/v1/equipment", &s.manager.token, json!({"kind": "tablet", "model": "Tab"})).await;
        assert_eq!(item.status, Status::Created, "{}", item.body);
        let item = item.json()["id"].as_i64().unwrap();

        // One mechanism: no route reads its query through Rocket's own (lenient) parameters.
        for route in app.client.rocket().routes() {
            assert!(route.uri.query().is_none(), "{} {} declares query parameters in its route: read them with web::query::Query instead", route.method, route.uri);
        }

        // Valid values for the parameters a call needs.
        let valid = |name: &str| -> String {
            match name {
                "service_id" => s.service_id.to_string(),
                "from" | "to" => today().to_string(),
                _ => String::new(),
            }
        };
        let doc = app.get("/api/v1/openapi.json", None).await.json();
        let mut failures = Vec::new();
        let mut checked = 0;
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let params: Vec<&Value> = op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "query").collect();
                if params.is_empty() {
                    continue;
                }
                assert!(method == "get" || method == "post", "{method} {path}");
                // Any id: the query is refused before the record is looked up.
                let concrete = path.replace("{file}", "people.csv").replace("{id}", "1").replace("{slug}", "structure-stricte");
                let required: Vec<(String, String)> = params.iter().filter(|p| p["required"] == true)
                    .map(|p| { let n = p["name"].as_str().unwrap(); (n.to_string(), valid(n)) }).collect();
                for param in &params {
                    let name = param["name"].as_str().unwrap();
                    for bad in bad_values(&param["schema"]) {
                        let mut query: Vec<(String, String)> = required.iter().filter(|(n, _)| n != name).cloned().collect();
                        query.push((name.to_string(), bad.clone()));
                        let qs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", crate::harness::urlencode(v))).collect();
                        let url = format!("{concrete}?{}", qs.join("&"));
                        // A POST's query is read before its body: an empty body does.
                        let r = if method == "post" {
                            app.send_json("POST", &url, Some(&admin.token), "").await
                        } else {
                            app.get(&url, Some(&admin.token)).await
                        };
                        checked += 1;
                        let named = r.status == Status::UnprocessableEntity
                            && r.header("Content-Type") == Some("application/problem+json")
                            && r.json()["errors"][name].as_array().is_some_and(|m| !m.is_empty());
                        if !named {
                            failures.push(format!("{} {url}: {} {}", method.to_uppercase(), r.status, r.body.chars().take(200).collect::<String>()));
                        }
                    }
                }
            }
        }
        assert!(checked >= 80, "only {checked} bad values tried");

        // The pages: the French error page (or the form again), naming the parameter.
        let routes: Vec<String> = app.client.rocket().routes().filter(|r| r.method.as_str() == "GET").map(|r| r.uri.path().to_string()).collect();
        for (pattern, url, params) in page_parameters() {
            assert!(routes.iter().any(|r| r == pattern), "{pattern} is not served");
            let mut url = url.replace("$appointment", &appointment.to_string()).replace("$person", &p.to_string()).replace("$equipment", &item.to_string());
            if url.contains("$link") {
                url = url.replace("$link", &app.beneficiary_link(appointment.as_i64().unwrap() as i32, p as i32).await);
            }
            for (name, bad) in params {
                let full = format!("{url}?{name}={}", crate::harness::urlencode(bad));
                let r = app.page(&full, &admin.session).await;
                let body = unescape(&r.body);
                let html = r.header("Content-Type").is_some_and(|t| t.starts_with("text/html"));
                // The journal shows its form again, each message under its field.
                let named = body.contains(&format!("{name} :")) || body.contains(&format!("id=\"{name}-error\""));
                if r.status != Status::UnprocessableEntity || !html || !named {
                    failures.push(format!("page {full}: {} {}", r.status, body.chars().take(300).collect::<String>()));
                }
            }
        }
        assert!(failures.is_empty(), "{} parameters were not refused by name:\n{}", failures.len(), failures.join("\n"));

        // Good values still work; on the API an empty id is refused, on a page it is no filter
        // (a form's "all").
        for url in ["/api/v1/appointments?mediator_id=", "/api/v1/audit?to=", "/api/v1/people?limit="] {
            let r = app.get(url, Some(&admin.token)).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{url}: {}", r.body);
        }
        for url in ["/api/v1/appointments?mediator_id=6&limit=1000&offset=0", "/api/v1/equipment?kind=tablet&status=in_stock", "/api/v1/audit?entity=person", "/api/v1/people?q="] {
            let r = app.get(url, Some(&admin.token)).await;
            assert_eq!(r.status, Status::Ok, "{url}: {}", r.body);
        }
        for url in ["/agenda?view=week&date=2026-12-03", "/equipment?kind=&status=", "/reports?programme_id="] {
            let r = app.page(url, &admin.session).await;
            assert_eq!(r.status, Status::Ok, "{url}");
        }
        // Not signed in is said first, whatever the query.
        assert_eq!(app.get("/api/v1/appointments?mediator_id=abc", None).await.status, Status::Unauthorized);
    }
}

both_backends! {
    async fn exports_pseudonymise_on_1_refuse_yes_and_keep_phone_numbers_plain(app) {
        let s = setup(&app, "Structure Export").await;
        let r = app.post_json("/api/v1/people", &s.manager.token, json!({"given_name": "Yasmina", "family_name": "Benali", "phone": "+33612345678", "email": "yasmina@example.org"})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let formula = app.post_json("/api/v1/people", &s.manager.token, json!({"given_name": "+SUM(A1)", "family_name": "-2+3"})).await;
        assert_eq!(formula.status, Status::Created, "{}", formula.body);
        let token = &s.manager.token;

        for on in ["1", "true"] {
            let r = app.get(&format!("/exports/people.csv?pseudonymise={on}"), Some(token)).await;
            assert_eq!(r.status, Status::Ok);
            assert!(!r.body.contains("Yasmina") && !r.body.contains("Benali") && !r.body.contains("33612345678") && !r.body.contains("yasmina@"), "pseudonymise={on}: {}", r.body);
        }
        for off in ["0", "false"] {
            let r = app.get(&format!("/exports/people.csv?pseudonymise={off}"), Some(token)).await;
            assert!(r.body.contains("Yasmina"), "pseudonymise={off}");
        }
        for refused in ["yes", "on", "oui", "2"] {
            let r = app.get(&format!("/exports/people.csv?pseudonymise={refused}"), Some(token)).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "pseudonymise={refused}: {}", r.body);
            assert!(r.json()["errors"]["pseudonymise"].is_array());
            assert!(!r.body.contains("Yasmina"));
        }

        // A phone number is written as is; other text starting like a formula is defused.
        let rows = crate::reports::parse_csv(&app.get("/exports/people.csv", Some(token)).await.body, ',');
        let column = |name: &str| rows[0].iter().position(|h| h == name).unwrap_or_else(|| panic!("{name} in {:?}", rows[0]));
        let yasmina = rows.iter().find(|r| r.contains(&"Yasmina".to_string())).unwrap();
        assert_eq!(yasmina[column("telephone")], "+33612345678");
        let defused = rows.iter().find(|r| r.iter().any(|c| c.contains("SUM"))).unwrap();
        assert_eq!(defused[column("prenom")], "'+SUM(A1)");
        assert_eq!(defused[column("nom")], "'-2+3");
    }
}

both_backends! {
    async fn an_appointment_calendar_file_comes_by_api_and_keeps_its_uid_when_public_url_changes(app) {
        let s = setup(&app, "Structure Agenda").await;
        let p = person(&app, &s.manager.token, "Odile").await;
        let id = book(&app, &s, &s.manager.token, &at(today() + Duration::days(4), "15:00"), &[p]).await.json()["id"].as_i64().unwrap();
        let uid_of = |body: &str| body.replace("\r\n ", "").lines().find_map(|l| l.strip_prefix("UID:").map(str::to_string)).expect("a UID");

        let r = app.get(&format!("/api/v1/appointments/{id}/ics"), Some(&s.mediator.token)).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        assert!(r.header("Content-Type").unwrap().starts_with("text/calendar"));
        assert!(r.body.starts_with("BEGIN:VCALENDAR") && !r.body.contains("Odile"));
        let uid = uid_of(&r.body);
        assert!(uid.starts_with(&format!("appointment-{id}-")) && !uid.contains("127.0.0.1"), "{uid}");
        // The page's download says the same.
        assert_eq!(uid_of(&app.page(&format!("/appointments/{id}/ics"), &s.mediator.session).await.body), uid);
        // Token required, organisation scoped.
        assert_eq!(app.get(&format!("/api/v1/appointments/{id}/ics"), None).await.status, Status::Unauthorized);
        let other = app.staff("manager", "Autre structure").await;
        assert_eq!(app.get(&format!("/api/v1/appointments/{id}/ics"), Some(&other.token)).await.status, Status::NotFound);

        // The same installation at another address: the same UID.
        let key = base64_of(&app.config().secret_key);
        let moved = app.another_instance_with(&[("public_url", "https://rdv.example.org:8443/passerelle"), ("secret_key", &key)]).await;
        assert_eq!(moved.config().public_url, "https://rdv.example.org:8443/passerelle");
        let again = moved.get(&format!("/api/v1/appointments/{id}/ics"), Some(&s.mediator.token)).await;
        assert_eq!(uid_of(&again.body), uid);
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

both_backends! {
    async fn every_email_has_a_message_id_kept_across_retries_and_auto_submitted(app) {
        let s = setup(&app, "Structure Courriel").await;
        let r = app.post_json("/api/v1/people", &s.manager.token, json!({"given_name": "Paul", "email": "paul@example.org", "reminder_consent": true})).await;
        let p = r.json()["id"].as_i64().unwrap();
        let booked = book(&app, &s, &s.manager.token, &at(today() + Duration::days(6), "11:00"), &[p]).await;
        assert_eq!(booked.status, Status::Created, "{}", booked.body);
        let config = app.config();
        let ids: BTreeMap<i32, (String, String)> = app.db().run(move |conn| {
            use diesel::prelude::*;
            use passerelle::db::schema::messages;
            use passerelle::outbox::MessageRow;
            let rows: Vec<MessageRow> = messages::table.select(MessageRow::as_select()).load(conn)?;
            let mut ids = BTreeMap::new();
            for row in rows {
                // Composed twice, as a retry does.
                let heads: Vec<(String, String)> = (0..2).map(|_| {
                    let composed = passerelle::mail::compose::compose(conn, &config, &row).expect("composed");
                    let raw = composed.message.formatted();
                    let parsed = mail_parser::MessageParser::default().parse(&raw[..]).expect("MIME");
                    let auto = parsed.header_raw("Auto-Submitted").unwrap_or_default().trim().to_string();
                    (parsed.message_id().unwrap_or_default().to_string(), auto)
                }).collect();
                assert_eq!(heads[0], heads[1], "the same Message-ID on a retry of message {}", row.id);
                ids.insert(row.id, heads[0].clone());
            }
            Ok(ids)
        }).await.unwrap();
        assert!(ids.len() >= 2, "a confirmation and reminders: {ids:?}");
        let distinct: std::collections::BTreeSet<&String> = ids.values().map(|(id, _)| id).collect();
        assert_eq!(distinct.len(), ids.len(), "one Message-ID per message");
        for (id, auto) in ids.values() {
            assert!(id.ends_with("@localhost") && id.starts_with("passerelle."), "on mail_from's domain: {id}");
            assert_eq!(auto, "auto-generated");
        }
    }
}

both_backends! {
    async fn every_json_body_refuses_a_field_it_does_not_have(app) {
        // The body-side twin of the strict query: a misspelt field is a 422 naming it, never
        // silently dropped. Walks every operation of the document that takes a JSON body.
        let s = setup(&app, "Structure Stricte").await;
        let admin = app.staff("admin", "Département").await;
        let p = person(&app, &s.manager.token, "Nadia").await;
        let doc = app.get("/api/v1/openapi.json", None).await.json();
        let mut failures = Vec::new();
        let mut checked = 0;
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                if op["requestBody"]["content"]["application/json"].is_null() {
                    continue;
                }
                // A real record where a patch is merged onto it; elsewhere any id does: the
                // body is read before the record is looked up.
                let mut url = String::new();
                let mut resource = "";
                for segment in path.split('/').skip(1) {
                    url.push('/');
                    if segment.starts_with('{') {
                        url.push_str(&match resource {
                            "people" => p.to_string(),
                            "places" => s.place_id.to_string(),
                            "services" => s.service_id.to_string(),
                            _ => "1".to_string(),
                        });
                    } else {
                        url.push_str(segment);
                        resource = segment;
                    }
                }
                let body = serde_json::json!({"remider_consent": true}).to_string();
                let r = app.send_json(&method.to_uppercase(), &url, Some(&admin.token), &body).await;
                checked += 1;
                let named = r.status == Status::UnprocessableEntity
                    && r.json()["errors"]["remider_consent"].as_array().is_some_and(|m| !m.is_empty());
                if !named {
                    failures.push(format!("{} {url}: {} {}", method.to_uppercase(), r.status, r.body.chars().take(200).collect::<String>()));
                }
            }
        }
        assert!(checked >= 25, "only {checked} bodies tried");
        // Inside a list, the field is named with its place, like the other field errors.
        let nested = r#"{"participants": [{"person_id": 1, "attendance": "attended", "remider": 1}]}"#;
        let r = app.send_json("POST", "/api/v1/appointments/1/log", Some(&admin.token), nested).await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
        assert!(r.json()["errors"]["participants[0].remider"].is_array(), "{}", r.body);
        assert!(failures.is_empty(), "bodies that accept a field they do not have:\n{}", failures.join("\n"));
    }
}

both_backends! {
    async fn a_path_asked_with_a_method_it_does_not_serve_is_405_with_allow(app) {
        let allow = |r: &rocket::local::asynchronous::LocalResponse<'_>| r.headers().get_one("Allow").map(str::to_string);
        let r = app.client.delete("/api/v1/places").dispatch().await;
        assert_eq!(r.status(), Status::MethodNotAllowed);
        assert_eq!(allow(&r).as_deref(), Some("GET, HEAD, POST"));
        assert_eq!(r.content_type().map(|c| c.to_string()).as_deref(), Some("application/problem+json"));
        let r = app.client.put("/api/v1/appointments/12/cancel").dispatch().await;
        assert_eq!(r.status(), Status::MethodNotAllowed);
        assert_eq!(allow(&r).as_deref(), Some("POST"));
        let r = app.client.put("/people/12").dispatch().await;
        assert_eq!(r.status(), Status::MethodNotAllowed);
        assert_eq!(allow(&r).as_deref(), Some("GET, HEAD, POST"));
        assert!(r.content_type().is_some_and(|c| c.is_html()));
        // The most specific route decides: `/equipment/import` is not an item's address.
        let r = app.client.options("/api/v1/equipment/import").dispatch().await;
        assert_eq!(r.status(), Status::MethodNotAllowed);
        assert_eq!(allow(&r).as_deref(), Some("POST"));
        let admin = app.staff("admin", "Département").await;
        let r = app.get("/api/v1/equipment/import", Some(&admin.token)).await;
        assert_eq!(r.status, Status::MethodNotAllowed, "{}", r.body);
        assert_eq!(r.header("Allow"), Some("POST"));
        // An id that is not a whole number, where the method is served, names no record: 404.
        assert_eq!(app.get("/api/v1/equipment/abc", Some(&admin.token)).await.status, Status::NotFound);
        assert_eq!(app.send_json("POST", "/api/v1/appointments/None/cancel", Some(&admin.token), r#"{"by": "structure"}"#).await.status, Status::NotFound);
        // A path that does not exist stays a 404; HEAD of a page is its GET.
        assert_eq!(app.client.delete("/api/v1/nowhere").dispatch().await.status(), Status::NotFound);
        assert_eq!(app.client.head("/api/v1/openapi.json").dispatch().await.status(), Status::Ok);
    }
}
