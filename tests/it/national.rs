//! The national standard of places of médiation numérique (API.md, "Data out"): places gain
//! the standard's fields (API and form), and `/exports/lieux-mediation-numerique.csv|json` is
//! valid against the standard's schema (`tests/standards/`, a copy of LaMednum's v1.0.2):
//! every constraint applied here, and the Frictionless validator from PyPI run on the file
//! (required with `PASSERELLE_REQUIRE_FRICTIONLESS=1` or `CI=true`, as `.ci/run` does).

use std::collections::HashSet;

use rocket::http::Status;
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::setup;
use crate::harness::unescape;
use crate::reports::parse_csv;

const SCHEMA: &str = include_str!("../standards/lieux-mediation-numerique.schema.json");

fn required() -> bool {
    std::env::var("PASSERELLE_REQUIRE_FRICTIONLESS").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Every constraint of the Table Schema on a CSV: the columns in order, required, unique,
/// pattern (whole value), maxLength, date and number types. The failures, none when valid.
pub(crate) fn violations(rows: &[Vec<String>]) -> Vec<String> {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let fields = schema["fields"].as_array().unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    let mut failures = Vec::new();
    if rows[0] != names {
        failures.push(format!(
            "header {:?} is not the schema's {names:?}",
            rows[0]
        ));
        return failures;
    }
    for (i, field) in fields.iter().enumerate() {
        let name = names[i];
        let c = &field["constraints"];
        let pattern = c["pattern"]
            .as_str()
            .map(|p| regex::Regex::new(&format!("^(?:{p})$")).unwrap());
        let mut seen = HashSet::new();
        for (line, row) in rows[1..].iter().enumerate() {
            let value = row[i].as_str();
            let at = format!("line {} {name}={value:?}", line + 2);
            if value.is_empty() {
                if c["required"] == true {
                    failures.push(format!("{at}: required"));
                }
                continue;
            }
            if c["unique"] == true && !seen.insert(value.to_string()) {
                failures.push(format!("{at}: not unique"));
            }
            if let Some(p) = &pattern {
                if !p.is_match(value) {
                    failures.push(format!("{at}: does not match {}", p.as_str()));
                }
            }
            if let Some(max) = c["maxLength"].as_u64() {
                if value.chars().count() as u64 > max {
                    failures.push(format!("{at}: longer than {max}"));
                }
            }
            match field["type"].as_str() {
                Some("date") if chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_err() => {
                    failures.push(format!("{at}: not a date"))
                }
                Some("number") if value.parse::<f64>().is_err() => {
                    failures.push(format!("{at}: not a number"))
                }
                _ => {}
            }
        }
    }
    failures
}

/// The Frictionless validator on a CSV; `None` when it is not installed (and not required).
fn frictionless(csv: &str) -> Option<(bool, String)> {
    let found = std::process::Command::new("frictionless")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !required(),
            "the Frictionless validator is required here (pip install frictionless) but missing"
        );
        eprintln!("frictionless not installed (pip install frictionless): its validation SKIPPED");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lieux.csv");
    let schema = dir.path().join("schema.json");
    std::fs::write(&file, csv).unwrap();
    std::fs::write(&schema, SCHEMA).unwrap();
    // Frictionless refuses absolute paths ("not safe"): run it in the folder.
    let out = std::process::Command::new("frictionless")
        .args(["validate", "--json", "--schema", "schema.json", "lieux.csv"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    let valid = out.status.success()
        && serde_json::from_str::<Value>(&report).is_ok_and(|r| r["valid"] == true);
    Some((valid, report))
}

#[test]
fn the_standards_own_example_passes_the_constraints_and_a_broken_one_does_not() {
    let example = include_str!("../standards/lieux-mediation-numerique.exemple-valide.csv");
    let rows = parse_csv(example, ',');
    assert!(rows.len() > 1);
    assert_eq!(violations(&rows), Vec::<String>::new());
    let mut broken = rows.clone();
    broken[1][1] = "123".into(); // pivot
    broken[1][4] = "5100".into(); // code_postal
    broken[1][21] = "Cours de cuisine".into(); // services
    broken[1][15] = "x".repeat(281); // presentation_resume
    broken[1][20] = "02/04/2024".into(); // date_maj
    assert_eq!(violations(&broken).len(), 5, "{:?}", violations(&broken));
    let mut text = String::new();
    for row in &broken {
        text.push_str(
            &row.iter()
                .map(|v| format!("\"{}\"", v.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(","),
        );
        text.push_str("\r\n");
    }
    if let Some((valid, report)) = frictionless(&text) {
        assert!(!valid, "frictionless accepts a broken file: {report}");
        // Refused for the five broken values, and for nothing else.
        let parsed: Value = serde_json::from_str(&report).unwrap();
        let mut kinds: Vec<&str> = parsed["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| {
                t["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["type"].as_str().unwrap())
            })
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                "constraint-error",
                "constraint-error",
                "constraint-error",
                "constraint-error",
                "type-error"
            ],
            "{report}"
        );
    }
}

both_backends! {
    async fn places_export_to_the_national_standard_valid_against_its_schema(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let token = &s.manager.token;
        // The standard's fields on a place, through the API.
        let place = format!("/api/v1/places/{}", s.place_id);
        let patch = |body: Value| {
            let token = token.clone();
            let app = &app;
            let place = place.clone();
            async move { app.send_json("PATCH", &place, Some(&token), &body.to_string()).await }
        };
        let r = patch(json!({
            "siret": "434 933 123 00029", "services": ["Maîtrise des outils numériques du quotidien", "Aide aux démarches administratives"],
            "modalites_acces": ["Se présenter", "Téléphoner"], "typologie": "BIB",
            "presentation_resume": "Accompagnement au numérique, sur rendez-vous ou sans."})).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        let body = r.json();
        assert_eq!(body["siret"], "43493312300029");
        assert_eq!(body["services"], json!(["Aide aux démarches administratives", "Maîtrise des outils numériques du quotidien"]), "the standard's order");
        assert_eq!(body["modalites_acces"], json!(["Se présenter", "Téléphoner"]));
        assert_eq!(body["opening_hours"], Value::Null);
        // Refused, each naming its field, and nothing changed.
        for (field, bad) in [("siret", json!("43493312300028")), ("services", json!(["Cours de cuisine"])),
                             ("modalites_acces", json!(["Venir"])), ("typologie", json!("CASINO")),
                             ("presentation_resume", json!("x".repeat(281))), ("opening_hours", json!("tous les jours"))] {
            let r = patch(json!({ field: bad })).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{field}: {}", r.body);
            assert!(r.json()["errors"][field].is_array(), "{field}: {}", r.body);
        }
        assert_eq!(app.get(&place, Some(token)).await.json()["typologie"], "BIB");
        // A second place with its own hours and no SIRET; an unusable phone is left out.
        let other = app.post_json("/api/v1/places", token, json!({"name": "Annexe \"Le Quai\", bus", "address": "1 quai de Brest", "postal_code": "35000",
            "city": "Rennes", "phone": "12", "opening_hours": "Mo-Fr 09:00-12:00; Sa 10:00-12:00"})).await;
        assert_eq!(other.status, Status::Created, "{}", other.body);
        // The mediator also works there on Saturday evenings.
        let saturday = app.post_json(&format!("/api/v1/users/{}/opening-hours", s.mediator.user.id), token,
            json!({"place_id": s.place_id, "weekday": 6, "start": "20:30", "end": "21:00"})).await;
        assert_eq!(saturday.status, Status::Created, "{}", saturday.body);

        let csv = app.get("/exports/lieux-mediation-numerique.csv", Some(token)).await;
        assert_eq!(csv.status, Status::Ok, "{}", csv.body);
        assert!(csv.header("Content-Type").unwrap().starts_with("text/csv"));
        let rows = parse_csv(&csv.body, ',');
        assert_eq!(rows.len(), 3, "{}", csv.body);
        assert_eq!(violations(&rows), Vec::<String>::new(), "{}", csv.body);
        if let Some((valid, report)) = frictionless(&csv.body) {
            assert!(valid, "frictionless: {report}\n{}", csv.body);
        }
        let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
        let first = &rows[1];
        assert_eq!(first[col("pivot")], "43493312300029");
        assert_eq!(first[col("nom")], "Médiathèque Jean Macé");
        assert_eq!(first[col("code_insee")], "59512", "Roubaix");
        assert_eq!(first[col("telephone")], "+33320000000");
        assert_eq!(first[col("typologie")], "BIB");
        assert_eq!(first[col("services")], "Aide aux démarches administratives|Maîtrise des outils numériques du quotidien");
        assert_eq!(first[col("modalites_acces")], "Se présenter|Téléphoner");
        // The mediators' hours at the place: 08:00–20:00 every day, and Saturday evenings.
        assert_eq!(first[col("horaires")], "Mo-Fr 08:00-20:00; Sa 08:00-20:00,20:30-21:00; Su 08:00-20:00");
        let second = &rows[2];
        assert_eq!(second[col("pivot")], "00000000000000", "no SIRET");
        assert_eq!(second[col("horaires")], "Mo-Fr 09:00-12:00; Sa 10:00-12:00", "the place's own hours");
        assert_eq!(second[col("telephone")], "");
        assert_eq!(second[col("code_insee")], "35238");
        assert_eq!(second[col("nom")], "Annexe \"Le Quai\", bus");

        // The JSON: the same places and values, an absent key for an empty cell.
        let json_file = app.get("/exports/lieux-mediation-numerique.json", Some(token)).await;
        assert_eq!(json_file.status, Status::Ok);
        let items = json_file.json();
        let items = items.as_array().unwrap();
        assert_eq!(items.len(), 2);
        for (item, row) in items.iter().zip(&rows[1..]) {
            for (i, name) in rows[0].iter().enumerate() {
                let value = item.get(name).map(|v| v.as_str().unwrap().to_string()).unwrap_or_default();
                assert_eq!(value, row[i], "{name}");
            }
        }

        // The form shows and keeps the fields; a bad value comes back with its message.
        let form = app.page(&format!("/places/{}/edit", s.place_id), &s.manager.session).await;
        assert_eq!(form.status, Status::Ok);
        let html = unescape(&form.body);
        assert!(html.contains(r#"value="Téléphoner" checked"#) && html.contains(r#"value="BIB" selected"#), "{html}");
        let bad = app.post_form(&format!("/places/{}", s.place_id), Some(&s.manager.session), &[
            ("csrf_token", &s.manager.csrf), ("name", "Médiathèque Jean Macé"), ("address", "2 rue de la Gare"), ("postal_code", "59100"), ("city", "Roubaix"),
            ("phone", ""), ("accessibility_notes", ""), ("siret", "123"), ("services", "Loisirs et créations numériques"),
            ("services", "Utilisation sécurisée du numérique"), ("typologie", ""), ("presentation_resume", ""), ("opening_hours", "Mo 9h-12h")]).await;
        assert_eq!(bad.status, Status::UnprocessableEntity, "{}", bad.body);
        let html = unescape(&bad.body);
        assert!(html.contains("14 chiffres") && html.contains("OpenStreetMap"), "{html}");
        assert!(html.contains(r#"value="Loisirs et créations numériques" checked"#), "the choices are kept");
        let good = app.post_form(&format!("/places/{}", s.place_id), Some(&s.manager.session), &[
            ("csrf_token", &s.manager.csrf), ("name", "Médiathèque Jean Macé"), ("address", "2 rue de la Gare"), ("postal_code", "59100"), ("city", "Roubaix"),
            ("phone", ""), ("accessibility_notes", ""), ("siret", ""), ("services", "Loisirs et créations numériques"),
            ("services", "Utilisation sécurisée du numérique"), ("typologie", "EPN"), ("presentation_resume", ""), ("opening_hours", "Tu-Sa 10:00-18:00")]).await;
        assert_eq!(good.status, Status::SeeOther, "{}", good.body);
        let shown = app.get(&place, Some(token)).await.json();
        assert_eq!(shown["services"], json!(["Utilisation sécurisée du numérique", "Loisirs et créations numériques"]));
        assert_eq!((shown["typologie"].as_str(), shown["opening_hours"].as_str(), shown["siret"].as_str()), (Some("EPN"), Some("Tu-Sa 10:00-18:00"), None));

        // Managers and admins only; another organisation's manager sees none of these places.
        assert_eq!(app.get("/exports/lieux-mediation-numerique.csv", Some(&s.mediator.token)).await.status, Status::Forbidden);
        let other_manager = app.staff("manager", "Autre structure").await;
        let theirs = parse_csv(&app.get("/exports/lieux-mediation-numerique.csv", Some(&other_manager.token)).await.body, ',');
        assert_eq!(theirs.len(), 1, "only the header");
        let strict = app.get("/exports/lieux-mediation-numerique.csv?place_id=1", Some(token)).await;
        assert_eq!(strict.status, Status::UnprocessableEntity, "an unknown filter is refused, not dropped");
    }
}
