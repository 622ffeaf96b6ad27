//! Spreadsheets (API.md, "Data out"): every CSV export also as XLSX, with the same rows and
//! typed cells (numbers, local dates and times, booleans), the header row frozen; and the
//! session logs in the columns of La Coop de la médiation numérique's activity export.

use std::io::{Cursor, Read};

use calamine::{Data, Reader};
use chrono::Duration;
use rocket::http::Status;
use serde_json::json;

use crate::both_backends;
use crate::fixtures::{log_session, setup, today, walk_in};
use crate::reports::{known, parse_csv};

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Every sheet's rows, the first sheet first.
pub(crate) fn read_xlsx(bytes: &[u8]) -> Vec<Vec<Vec<Data>>> {
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("an XLSX workbook");
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).expect("a worksheet");
            range.rows().map(|r| r.to_vec()).collect()
        })
        .collect()
}

/// The XML of a file inside the workbook.
fn part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).expect("a zip file");
    let mut xml = String::new();
    zip.by_name(name)
        .expect("the part")
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// A cell as the CSV export writes the same value; `csv` tells a date from a time.
fn as_csv(cell: &Data, csv: &str) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => (if *b { "oui" } else { "non" }).to_string(),
        Data::DateTime(d) => {
            let (y, m, day, h, min, _, _) = d.to_ymd_hms_milli();
            if csv.len() == 10 {
                format!("{y:04}-{m:02}-{day:02}")
            } else {
                format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}")
            }
        }
        other => format!("{other:?}"),
    }
}

fn column(header: &[Data], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == &Data::String(name.to_string()))
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

both_backends! {
    async fn every_csv_export_has_an_xlsx_twin_with_the_same_rows_and_typed_cells(app) {
        let k = known(&app).await;
        let token = &k.s.manager.token;
        for name in ["people", "appointments", "logs", "assessments", "equipment", "activites-coop"] {
            for query in ["", "?pseudonymise=true", &format!("?programme_id={}", k.programme)] {
                let csv = app.get(&format!("/exports/{name}.csv{query}"), Some(token)).await;
                assert_eq!(csv.status, Status::Ok, "{name}.csv{query}: {}", csv.body);
                let (status, headers, bytes) = app.get_bytes(&format!("/exports/{name}.xlsx{query}"), Some(token)).await;
                assert_eq!(status, Status::Ok, "{name}.xlsx{query}");
                let content_type = headers.iter().find(|(h, _)| h == "Content-Type").map(|(_, v)| v.as_str());
                assert_eq!(content_type, Some(XLSX_TYPE));
                let disposition = headers.iter().find(|(h, _)| h == "Content-Disposition").map(|(_, v)| v.clone()).unwrap();
                // Named in French for the person who downloads it.
                let french = match name {
                    "people" => "personnes",
                    "appointments" => "rendez-vous",
                    "logs" => "comptes-rendus",
                    "assessments" => "evaluations",
                    "equipment" => "materiel",
                    other => other,
                };
                assert!(disposition.contains(&format!("\"{french}.xlsx\"")), "{disposition}");
                let csv_rows = parse_csv(&csv.body, ',');
                let sheets = read_xlsx(&bytes);
                assert_eq!(sheets.len(), 1, "{name}: one sheet");
                let rows = &sheets[0];
                assert_eq!(rows.len(), csv_rows.len(), "{name}.xlsx{query} has the CSV's rows");
                assert!(rows.len() >= 2, "{name}{query}: some rows to compare");
                for (i, (row, csv_row)) in rows.iter().zip(&csv_rows).enumerate() {
                    let shown: Vec<String> = row.iter().zip(csv_row).map(|(c, v)| as_csv(c, v)).collect();
                    assert_eq!(&shown, csv_row, "{name}.xlsx{query}, row {i}");
                }
                // The header row stays in view: frozen, and the columns sized.
                let sheet = part(&bytes, "xl/worksheets/sheet1.xml");
                assert!(sheet.contains(r#"ySplit="1""#) && sheet.contains(r#"state="frozen""#), "{name}: {}", &sheet[..sheet.len().min(600)]);
                assert!(sheet.contains("<cols>") && sheet.contains(r#"customWidth="1""#), "{name}: column widths");
            }
        }

        // Types: times are dates in the configured time zone, counts are numbers, flags booleans.
        let (_, _, bytes) = app.get_bytes("/exports/appointments.xlsx", Some(token)).await;
        let rows = &read_xlsx(&bytes)[0];
        let (start, capacity, attended, walk_in) = (column(&rows[0], "debut"), column(&rows[0], "capacite"), column(&rows[0], "presents"), column(&rows[0], "sans_rendez_vous"));
        let Data::DateTime(first) = &rows[1][start] else { panic!("debut is a date: {:?}", rows[1][start]) };
        let (y, m, d, h, min, _, _) = first.to_ymd_hms_milli();
        let day = today() - Duration::days(10);
        assert_eq!(format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}"), format!("{day} 10:00"), "the local time of the walk-in");
        assert!(matches!(rows[1][capacity], Data::Float(c) if c >= 1.0), "{:?}", rows[1][capacity]);
        assert_eq!(rows[2][attended], Data::Float(2.0));
        assert_eq!(rows[1][walk_in], Data::Bool(true));
        let (_, _, bytes) = app.get_bytes("/exports/equipment.xlsx", Some(token)).await;
        let rows = &read_xlsx(&bytes)[0];
        let Data::DateTime(handed) = &rows[1][column(&rows[0], "remis_le")] else { panic!("remis_le is a date") };
        assert_eq!(handed.as_f64().fract(), 0.0, "a date without a time");
        assert_eq!(rows[1][column(&rows[0], "detenteur")], Data::Float(k.ana as f64));
        let (_, _, bytes) = app.get_bytes("/exports/people.xlsx", Some(token)).await;
        let rows = &read_xlsx(&bytes)[0];
        assert_eq!(rows[1][column(&rows[0], "consentement_rappels")], Data::Bool(false));
        assert_eq!(rows[1][column(&rows[0], "prenom")], Data::String("Ana".into()));
        // Pseudonymised: the same pseudonym as in the CSV, no names or contacts.
        let (_, _, bytes) = app.get_bytes("/exports/people.xlsx?pseudonymise=1", Some(token)).await;
        let rows = &read_xlsx(&bytes)[0];
        let everything = format!("{rows:?}");
        assert!(!everything.contains("Ana") && !everything.contains("@example.org"), "{everything}");
        assert!(matches!(&rows[1][0], Data::String(p) if p.starts_with('P') && p.len() == 13));

        // The same strictness and the same authorisation as the CSV; audited.
        let (status, headers, _) = app.get_bytes("/exports/people.xlsx?from=demain", Some(token)).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(headers.iter().any(|(h, v)| h == "Content-Type" && v == "application/problem+json"));
        assert_eq!(app.get_bytes("/exports/people.xlsx?pseudonymise=yes", Some(token)).await.0, Status::UnprocessableEntity);
        assert_eq!(app.get_bytes("/exports/people.xlsx", Some(&k.s.mediator.token)).await.0, Status::Forbidden);
        assert_eq!(app.get_bytes("/exports/people.xlsx", None).await.0, Status::SeeOther);
        assert_eq!(app.get_bytes("/exports/people.ods", Some(token)).await.0, Status::NotFound);
        let other = app.staff("manager", "Autre structure").await;
        let (status, _, bytes) = app.get_bytes("/exports/people.xlsx", Some(&other.token)).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(read_xlsx(&bytes)[0].len(), 1, "another organisation's manager gets only the header");
        let audited = app.db().run(|conn| {
            use diesel::prelude::*;
            use passerelle::db::schema::audit_log;
            Ok(audit_log::table.filter(audit_log::action.eq("export")).filter(audit_log::entity.eq("people.xlsx")).count().get_result::<i64>(conn)?)
        }).await.unwrap();
        assert!(audited >= 4, "{audited} XLSX exports of people audited");
    }
}

both_backends! {
    async fn session_logs_export_in_the_coop_activity_columns(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let create = |body: serde_json::Value| {
            let token = s.mediator.token.clone();
            let app = &app;
            async move {
                let r = app.post_json("/api/v1/people", &token, body).await;
                assert_eq!(r.status, Status::Created, "{}", r.body);
                r.json()["id"].as_i64().unwrap()
            }
        };
        let year = chrono::Datelike::year(&today());
        let ana = create(json!({"given_name": "Ana", "family_name": "Lopez", "gender": "female", "social_status": "retired",
            "birth_year": year - 72, "postal_code": "59100", "city": "Roubaix"})).await;
        let bilal = create(json!({"given_name": "Bilal", "gender": "male", "social_status": "job_seeker", "birth_year": year - 30})).await;
        // An individual session at home: thématiques, autonomy, orientation, no device.
        let individual = walk_in(&app, &s, &[ana], 6, "").await;
        log_session(&app, &s.mediator.token, individual, json!([{"person_id": ana, "attendance": "attended", "duration_minutes": 45,
            "topics": ["email", "logement"], "device": "none", "autonomy": "partly", "orientation": "aide_sociale",
            "location_type": "home", "note": "Boîte mail créée"}])).await;
        // A workshop: Ana and Bilal came, Chloé did not, two people came without a record.
        let chloe = create(json!({"given_name": "Chloé"})).await;
        let r = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": crate::fixtures::at(today() - Duration::days(3), "14:00"), "person_ids": [ana, bilal, chloe],
            "walk_in": true, "title": "Premiers pas sur smartphone"})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let workshop = r.json()["id"].as_i64().unwrap();
        let r = app.post_json(&format!("/api/v1/appointments/{workshop}/log"), &s.mediator.token, json!({
            "participants": [
                {"person_id": ana, "attendance": "attended", "topics": ["prendre_en_main_du_materiel"], "location_type": "place"},
                {"person_id": bilal, "attendance": "attended", "topics": ["prendre_en_main_du_materiel", "securite_numerique"]},
                {"person_id": chloe, "attendance": "no_show"}
            ],
            "anonymous_attendees": 2})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        // Nobody came to this one: no activity.
        let empty = walk_in(&app, &s, &[chloe], 2, "").await;
        log_session(&app, &s.mediator.token, empty, json!([{"person_id": chloe, "attendance": "no_show"}])).await;

        let token = &s.manager.token;
        let (status, _, bytes) = app.get_bytes("/exports/activites-coop.xlsx", Some(token)).await;
        assert_eq!(status, Status::Ok);
        let sheets = read_xlsx(&bytes);
        let rows = &sheets[0];
        let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
        assert_eq!(header, vec![
            "Date", "Type", "Nombre de participants", "Bénéficiaire", "Canaux d’accompagnement", "Lieu",
            "Durée (min)", "Nom de l’atelier", "Matériel numérique utilisé", "Thématique(s) d’accompagnement",
            "Tags", "Nom de la démarche administrative", "Niveau d’autonomie (ou de l’atelier)",
            "Bénéficiaire réorienté", "Structure de redirection", "Commune de résidence du bénéficiaire",
            "Genre du bénéficiaire", "Tranche d’âge du bénéficiaire", "Statut du bénéficiaire", "Notes supplémentaires",
        ], "the Coop's columns in its order");
        assert_eq!(rows.len(), 3, "two activities: {rows:?}");
        let text = |row: usize, col: usize| rows[row][col].to_string();
        // The individual session.
        let Data::DateTime(date) = &rows[1][0] else { panic!("a date: {:?}", rows[1][0]) };
        let (y, m, d, ..) = date.to_ymd_hms_milli();
        assert_eq!(format!("{y:04}-{m:02}-{d:02}"), (today() - Duration::days(6)).to_string());
        assert_eq!(text(1, 1), "Accompagnement individuel");
        assert_eq!(rows[1][2], Data::Float(1.0));
        assert_eq!(text(1, 3), "Ana Lopez");
        assert_eq!(text(1, 4), "À domicile");
        assert_eq!(rows[1][6], Data::Float(45.0));
        assert_eq!(text(1, 8), "Pas de matériel");
        assert_eq!(text(1, 9), "E-mail\nLogement");
        assert_eq!(text(1, 12), "2/3");
        assert_eq!(text(1, 13), "Oui");
        assert_eq!(text(1, 14), "Structure d’aide sociale (maison des solidarités, centre social…)");
        assert_eq!(text(1, 15), "59100 Roubaix");
        assert_eq!(text(1, 16), "Féminin");
        assert_eq!(text(1, 17), "70 ans et plus");
        assert_eq!(text(1, 18), "Retraité");
        assert_eq!(text(1, 19), "Boîte mail créée");
        // The workshop: one row, everyone who came, one line per beneficiary in every list.
        assert_eq!(text(2, 1), "Atelier collectif");
        assert_eq!(rows[2][2], Data::Float(4.0), "two people with a record and two without");
        assert_eq!(text(2, 3), "Ana Lopez\nBilal\nAnonyme\nAnonyme");
        assert_eq!(text(2, 4), "Lieu d’activité");
        assert_eq!(text(2, 5), "Médiathèque Jean Macé, 59100 Roubaix");
        assert_eq!(rows[2][6], Data::Float(120.0), "the workshop's length");
        assert_eq!(text(2, 7), "Premiers pas sur smartphone");
        assert_eq!(text(2, 9), "Prendre en main du matériel\nPrévention en sécurité numérique");
        assert_eq!(text(2, 13), "", "orientation is about one person");
        assert_eq!(text(2, 15), "59100 Roubaix\n-\n-\n-");
        assert_eq!(text(2, 16), "Féminin\nMasculin\nNon communiqué\nNon communiqué");
        assert_eq!(text(2, 17), "70 ans et plus\n25 - 39 ans\nNon communiqué\nNon communiqué");
        assert_eq!(text(2, 18), "Retraité\nSans emploi\nNon communiqué ou hétérogène\nNon communiqué ou hétérogène");

        // The CSV carries the same rows; pseudonymised, no names and no notes.
        let csv = parse_csv(&app.get("/exports/activites-coop.csv", Some(token)).await.body, ',');
        assert_eq!(csv.len(), 3);
        assert_eq!(csv[2][3], "Ana Lopez\nBilal\nAnonyme\nAnonyme");
        let pseudo = app.get("/exports/activites-coop.csv?pseudonymise=true", Some(token)).await.body;
        assert!(!pseudo.contains("Ana") && !pseudo.contains("Lopez") && !pseudo.contains("Boîte mail"), "{pseudo}");
        // Filters apply: a period that holds only the workshop.
        let recent = parse_csv(&app.get(&format!("/exports/activites-coop.csv?from={}", today() - Duration::days(4)), Some(token)).await.body, ',');
        assert_eq!(recent.len(), 2);
        assert_eq!(recent[1][1], "Atelier collectif");
        assert_eq!(app.get("/exports/activites-coop.csv", Some(&s.mediator.token)).await.status, Status::Forbidden);
    }
}
