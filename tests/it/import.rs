//! People import: CSV or XLSX, analysis (dry run) by line and field, duplicates, all or
//! nothing; the HTML upload, analysis and confirmation.

use rocket::http::{ContentType, Header, Status};
use serde_json::{json, Value};

use crate::both_backends;
use crate::harness::{hidden_field, Response, Staff, TestApp};

async fn upload(app: &TestApp, staff: &Staff, query: &str, body: Vec<u8>) -> Response {
    let request = app
        .client
        .post(format!("/api/v1/people/import{query}"))
        .header(ContentType::CSV)
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", staff.token),
        ))
        .body(body);
    crate::harness::collect(request.dispatch().await).await
}

async fn people_named(app: &TestApp, staff: &Staff, q: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/people?q={q}"), Some(&staff.token))
        .await
        .json()
        .as_array()
        .unwrap()
        .clone()
}

both_backends! {
    async fn a_dry_run_lists_every_error_by_line_and_field_and_writes_nothing(app) {
        let s = crate::fixtures::setup(&app, "Emmaüs Connect").await;
        let known = app.post_json("/api/v1/people", &s.mediator.token,
            json!({"given_name": "Hélène", "family_name": "Dupont", "birth_year": 1970})).await.json();
        // French headers, semicolons, a BOM, Windows line ends; line 3 has two errors, line 5 one,
        // line 4 is Hélène again (accents aside).
        let csv = "\u{feff}Prénom;Nom;Année de naissance;Genre;Code postal;Email\r\n\
                   Inès;Martin;1990;Femme;35000;ines@example.org\r\n\
                   Paul;Durand;18xx;Homme;35000;pas-un-email\r\n\
                   helene;DUPONT;1970;;;\r\n\
                   ;Sans prénom;;;;\r\n";
        let r = upload(&app, &s.mediator, "?dry_run=true", csv.as_bytes().to_vec()).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        let a = r.json();
        assert_eq!((a["rows"].as_u64(), a["valid"].as_u64()), (Some(4), Some(2)), "{a}");
        let errors: Vec<(u64, String)> = a["errors"].as_array().unwrap().iter()
            .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap().to_string())).collect();
        assert_eq!(errors, vec![(3, "birth_year".into()), (3, "email".into()), (5, "given_name".into())], "{a}");
        assert!(a["errors"][0]["message"].as_str().unwrap().contains("18xx"));
        assert_eq!(a["duplicates"], json!([{"line": 4, "person_id": known["id"]}]));
        assert_eq!(people_named(&app, &s.mediator, "Martin").await.len(), 0);
    }
}

both_backends! {
    async fn an_import_with_an_error_imports_nothing_then_the_fixed_file_imports_all(app) {
        let s = crate::fixtures::setup(&app, "Emmaüs Connect").await;
        let programme = app.post_json("/api/v1/programmes", &s.manager.token, json!({"name": "RSA 2026"})).await.json();
        let bad = "given_name,family_name,gender,programmes\nAda,Lovelace,female,RSA 2026\nAlan,Turing,robot,RSA 2026\n";
        let r = upload(&app, &s.mediator, "", bad.as_bytes().to_vec()).await;
        assert_eq!(r.status, Status::UnprocessableEntity, "{}", r.body);
        assert_eq!(r.header("Content-Type"), Some("application/problem+json"));
        assert_eq!(r.json()["errors"], json!([{"line": 3, "field": "gender", "message": r.json()["errors"][0]["message"]}]));
        assert_eq!(people_named(&app, &s.mediator, "Lovelace").await.len(), 0, "half an import was written");

        let good = "given_name,family_name,gender,programmes,postal_code,city,birth_year\nAda,Lovelace,female,RSA 2026,75001,Paris,1915\nAlan,Turing,Homme,,,,1912\n";
        let r = upload(&app, &s.mediator, "", good.as_bytes().to_vec()).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        assert_eq!(r.json(), json!({"imported": 2, "skipped": 0}));
        let ada = &people_named(&app, &s.mediator, "Lovelace").await[0];
        assert_eq!((ada["gender"].as_str(), ada["commune_insee"].as_str()), (Some("female"), Some("75056")));
        assert_eq!(ada["programme_ids"], json!([programme["id"]]));
        assert_eq!(people_named(&app, &s.mediator, "Turing").await[0]["gender"], "male");
        // Audited, one entry per person.
        let audit = app.get(&format!("/api/v1/audit?entity=person&entity_id={}", ada["id"]), Some(&app.staff("admin", "Département").await.token)).await;
        assert!(audit.body.contains("\"import\""), "{}", audit.body);

        // The same file again: both are duplicates, skipped unless asked.
        let again = upload(&app, &s.mediator, "", good.as_bytes().to_vec()).await;
        assert_eq!(again.json(), json!({"imported": 0, "skipped": 2}), "{}", again.body);
    }
}

both_backends! {
    async fn duplicates_are_skipped_unless_asked(app) {
        let s = crate::fixtures::setup(&app, "Emmaüs Connect").await;
        let csv = "prénom;nom;téléphone\nJeanne;Moreau;06 11 22 33 44\nLouis;Petit;06 99 88 77 66\n";
        let first = upload(&app, &s.mediator, "", csv.as_bytes().to_vec()).await;
        assert_eq!(first.json(), json!({"imported": 2, "skipped": 0}));
        let skipped = upload(&app, &s.mediator, "?duplicates=skip", csv.as_bytes().to_vec()).await;
        assert_eq!(skipped.json(), json!({"imported": 0, "skipped": 2}));
        assert_eq!(people_named(&app, &s.mediator, "Moreau").await.len(), 1);
        let imported = upload(&app, &s.mediator, "?duplicates=import", csv.as_bytes().to_vec()).await;
        assert_eq!(imported.json(), json!({"imported": 2, "skipped": 0}));
        assert_eq!(people_named(&app, &s.mediator, "Moreau").await.len(), 2);
        // Another organisation's people are nobody's duplicates here.
        let other = crate::fixtures::setup(&app, "Autre structure").await;
        let elsewhere = upload(&app, &other.mediator, "", csv.as_bytes().to_vec()).await;
        assert_eq!(elsewhere.json(), json!({"imported": 2, "skipped": 0}));
        // Bad options are named.
        for query in ["?dry_run=peut-etre", "?duplicates=all"] {
            let r = upload(&app, &s.mediator, query, csv.as_bytes().to_vec()).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{query}");
            let name = query[1..].split('=').next().unwrap();
            assert!(r.json()["errors"][name].is_array(), "{}", r.body);
        }
    }
}

both_backends! {
    async fn an_xlsx_workbook_is_read_like_a_csv(app) {
        let s = crate::fixtures::setup(&app, "Emmaüs Connect").await;
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (col, header) in ["Prénom", "Nom", "Année de naissance", "Code postal", "Téléphone", "Genre"].iter().enumerate() {
            sheet.write_string(0, col as u16, *header).unwrap();
        }
        // Numbers as a spreadsheet keeps them: the year, a postal code and a phone without
        // their leading zero.
        sheet.write_string(1, 0, "Rose").unwrap();
        sheet.write_string(1, 1, "Lambert").unwrap();
        sheet.write_number(1, 2, 1985.0).unwrap();
        sheet.write_number(1, 3, 1400.0).unwrap();
        sheet.write_number(1, 4, 612345678.0).unwrap();
        sheet.write_string(1, 5, "Femme").unwrap();
        sheet.write_string(2, 0, "Sam").unwrap();
        sheet.write_string(2, 2, "vers 1990").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let dry = upload(&app, &s.mediator, "?dry_run=1", bytes.clone()).await;
        assert_eq!(dry.status, Status::Ok, "{}", dry.body);
        assert_eq!(dry.json()["errors"], json!([{"line": 3, "field": "birth_year", "message": dry.json()["errors"][0]["message"]}]));
        assert_eq!(dry.json()["valid"], 1);
    }
}

both_backends! {
    async fn a_file_too_large_or_malformed_is_refused_without_a_server_error(app) {
        let s = crate::fixtures::setup(&app, "Emmaüs Connect").await;
        let huge = vec![b'a'; 50 * 1024 * 1024];
        let r = upload(&app, &s.mediator, "", huge).await;
        assert_eq!(r.status, Status::PayloadTooLarge);
        assert!(r.json()["detail"].as_str().unwrap().contains("Mo"), "{}", r.body);
        for body in [
            b"PK\x03\x04not a zip at all".to_vec(),
            vec![0xff, 0xfe, 0x00, 0x41],
            b"\"unterminated;quote\nA;B\n".to_vec(),
            Vec::new(),
            b"pointure;couleur\n42;bleu\n".to_vec(),
        ] {
            for query in ["?dry_run=true", ""] {
                let r = upload(&app, &s.mediator, query, body.clone()).await;
                assert!(r.status == Status::Ok || r.status == Status::UnprocessableEntity, "{:?} {query}: {} {}", &body[..body.len().min(12)], r.status, r.body);
                // The analysis (200) and the refusal (422) both list the errors.
                let errors = r.json()["errors"].clone();
                assert!(!errors.as_array().unwrap().is_empty(), "{}", r.body);
                assert!(errors[0]["message"].as_str().unwrap().len() > 10);
            }
        }
    }
}

both_backends! {
    async fn the_page_uploads_shows_the_analysis_then_imports(app) {
        let s = crate::fixtures::setup(&app, "Emmaüs Connect").await;
        let form = app.page("/people/import", &s.mediator.session).await;
        assert_eq!(form.status, Status::Ok);
        assert!(form.body.contains(r#"enctype="multipart/form-data""#));
        let send = |csrf: String, file: &'static str| {
            let boundary = "XbOuNdArY";
            let body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n");
            app.client.post("/people/import")
                .header(ContentType::new("multipart", "form-data").with_params(("boundary", boundary)))
                .cookie(rocket::http::Cookie::new(passerelle::auth::SESSION_COOKIE, s.mediator.session.clone()))
                .body(body)
        };
        // A forged form is refused.
        let forged = crate::harness::collect(send("faux".into(), "prénom\nX\n").dispatch().await).await;
        assert_eq!(forged.status, Status::Forbidden);
        // Errors are shown, with nothing to confirm.
        let bad = crate::harness::collect(send(s.mediator.csrf.clone(), "prénom;année de naissance\nZélie;demain\n").dispatch().await).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        assert!(bad.body.contains("demain") && !bad.body.contains("/people/import/confirm"), "{}", bad.body);
        // A good file: the analysis, then the confirmation imports it.
        let good = crate::harness::collect(send(s.mediator.csrf.clone(), "prénom;nom\nZélie;Bernard\nYves;Roux\n").dispatch().await).await;
        assert_eq!(good.status, Status::Ok, "{}", good.body);
        assert!(good.body.contains("2 valide(s)"), "{}", good.body);
        assert_eq!(people_named(&app, &s.mediator, "Bernard").await.len(), 0, "imported before confirmation");
        let token = hidden_field(&good.body, "token").expect("a token to confirm");
        let done = app.post_form("/people/import/confirm", Some(&s.mediator.session),
            &[("csrf_token", &s.mediator.csrf), ("token", &token)]).await;
        assert_eq!(done.status, Status::Ok, "{}", done.body);
        assert!(done.body.contains("2 personne(s) importée(s)"));
        assert_eq!(people_named(&app, &s.mediator, "Bernard").await.len(), 1);
        // The file is gone: confirming twice imports nothing more.
        let twice = app.post_form("/people/import/confirm", Some(&s.mediator.session),
            &[("csrf_token", &s.mediator.csrf), ("token", &token)]).await;
        assert_eq!(twice.status, Status::UnprocessableEntity);
        // Another user cannot confirm someone else's file.
        let again = crate::harness::collect(send(s.mediator.csrf.clone(), "prénom;nom\nAnne;Autre\n").dispatch().await).await;
        let token = hidden_field(&again.body, "token").unwrap();
        let stolen = app.post_form("/people/import/confirm", Some(&s.manager.session),
            &[("csrf_token", &s.manager.csrf), ("token", &token)]).await;
        assert_eq!(stolen.status, Status::UnprocessableEntity);
        assert_eq!(people_named(&app, &s.mediator, "Autre").await.len(), 0);
    }
}
