//! People, places and programmes: creation, search, duplicates, scoping, forms.

use rocket::http::Status;
use serde_json::json;

use crate::both_backends;

both_backends! {
    async fn search_ignores_case_and_accents(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        for (given, family, phone) in [("Hélène", "Dupont", "06 12 34 56 78"), ("Helena", "Martin", "07 81 00 00 01"), ("Zoé", "Lefèvre", "")] {
            let mut body = json!({"given_name": given, "family_name": family});
            if !phone.is_empty() {
                body["phone"] = json!(phone);
            }
            assert_eq!(app.post_json("/api/v1/people", &staff.token, body).await.status, Status::Created);
        }
        let names = |response: crate::harness::Response| -> Vec<String> {
            response.json().as_array().unwrap().iter().map(|p| p["given_name"].as_str().unwrap().to_string()).collect()
        };
        assert_eq!(names(app.get("/api/v1/people?q=helene", Some(&staff.token)).await), vec!["Hélène"]);
        assert_eq!(names(app.get("/api/v1/people?q=HELENE%20dup", Some(&staff.token)).await), vec!["Hélène"]);
        assert_eq!(names(app.get("/api/v1/people?q=h%C3%A8l%C3%A8ne", Some(&staff.token)).await), vec!["Hélène"]);
        assert_eq!(names(app.get("/api/v1/people?q=hel", Some(&staff.token)).await), vec!["Helena", "Hélène"]);
        assert_eq!(names(app.get("/api/v1/people?q=lefevre", Some(&staff.token)).await), vec!["Zoé"]);
        assert_eq!(names(app.get("/api/v1/people?q=06%2012%2034", Some(&staff.token)).await), vec!["Hélène"]);
        assert_eq!(names(app.get("/api/v1/people?q=0612", Some(&staff.token)).await), vec!["Hélène"]);
        assert!(names(app.get("/api/v1/people?q=%25", Some(&staff.token)).await).is_empty(), "% is literal");
        // Pagination.
        assert_eq!(names(app.get("/api/v1/people?limit=1&offset=1", Some(&staff.token)).await), vec!["Hélène"]);
        // The HTML search finds the same.
        let page = app.page("/people?q=helene", &staff.session).await;
        assert!(page.body.contains("Hélène Dupont") && !page.body.contains("Helena"));
    }
}

both_backends! {
    async fn pseudonymous_people_and_possible_duplicates(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        let alias = app.post_json("/api/v1/people", &staff.token, json!({"given_name": "Oiseau bleu"})).await;
        assert_eq!(alias.status, Status::Created);
        assert_eq!(alias.json()["possible_duplicates"], json!([]));
        assert_eq!(alias.json()["family_name"], serde_json::Value::Null);

        let first = app
            .post_json("/api/v1/people", &staff.token, json!({"given_name": "Karim", "family_name": "Benali", "birth_year": 1971, "email": "k.benali@example.org"}))
            .await
            .json();
        let same_name = app
            .post_json("/api/v1/people", &staff.token, json!({"given_name": "karim", "family_name": "BENALI", "birth_year": 1971}))
            .await;
        assert_eq!(same_name.json()["possible_duplicates"], json!([first["id"]]));
        let same_email = app
            .post_json("/api/v1/people", &staff.token, json!({"given_name": "K.", "email": "K.Benali@example.org"}))
            .await;
        assert_eq!(same_email.json()["possible_duplicates"], json!([first["id"]]));
        let other_year = app
            .post_json("/api/v1/people", &staff.token, json!({"given_name": "Karim", "family_name": "Benali", "birth_year": 1990}))
            .await;
        assert_eq!(other_year.json()["possible_duplicates"], json!([]));
        // A person of another organisation is never reported.
        let elsewhere = app.staff("mediator", "Mission locale").await;
        let theirs = app
            .post_json("/api/v1/people", &elsewhere.token, json!({"given_name": "Karim", "family_name": "Benali", "birth_year": 1971}))
            .await;
        assert_eq!(theirs.json()["possible_duplicates"], json!([]));
    }
}

both_backends! {
    async fn organisations_only_see_their_own_people(app) {
        let admin = app.staff("admin", "Département").await;
        let a = app.staff("mediator", "Emmaüs Connect").await;
        let b = app.staff("manager", "Mission locale").await;
        let person = app.post_json("/api/v1/people", &a.token, json!({"given_name": "Inès"})).await.json();
        let id = person["id"].as_i64().unwrap();
        assert_eq!(person["organisation_id"], a.user.organisation_id);

        // Another organisation: 404, not 403, on every route, API and HTML alike.
        assert_eq!(app.get(&format!("/api/v1/people/{id}"), Some(&b.token)).await.status, Status::NotFound);
        assert_eq!(app.send_json("PATCH", &format!("/api/v1/people/{id}"), Some(&b.token), r#"{"city":"X"}"#).await.status, Status::NotFound);
        assert_eq!(app.delete(&format!("/api/v1/people/{id}"), &b.token).await.status, Status::NotFound);
        assert_eq!(app.get(&format!("/api/v1/people/{id}/export"), Some(&b.token)).await.status, Status::NotFound);
        assert!(app.get("/api/v1/people", Some(&b.token)).await.json().as_array().unwrap().is_empty());
        assert_eq!(app.page(&format!("/people/{id}"), &b.session).await.status, Status::NotFound);
        assert_eq!(app.page(&format!("/people/{id}/edit"), &b.session).await.status, Status::NotFound);
        assert!(!app.page("/people", &b.session).await.body.contains("Inès"));
        let form = app
            .post_form(&format!("/people/{id}"), Some(&b.session), &[("csrf_token", &b.csrf), ("given_name", "Pirate")])
            .await;
        assert_eq!(form.status, Status::NotFound);

        // The admin sees it; the owner sees it.
        assert_eq!(app.get(&format!("/api/v1/people/{id}"), Some(&admin.token)).await.status, Status::Ok);
        assert_eq!(app.page(&format!("/people/{id}"), &a.session).await.status, Status::Ok);
        assert_eq!(app.get(&format!("/api/v1/people/{id}"), Some(&a.token)).await.json()["given_name"], "Inès");
    }
}

both_backends! {
    async fn people_update_export_and_erase(app) {
        let manager = app.staff("manager", "Emmaüs Connect").await;
        let mediator = app.staff("mediator", "Emmaüs Connect").await;
        let programme = app
            .post_json("/api/v1/programmes", &manager.token, json!({"name": "RSA — équipement 2020", "funder": "Département"}))
            .await;
        assert_eq!(programme.status, Status::Created, "{}", programme.body);
        let programme_id = programme.json()["id"].as_i64().unwrap();
        assert_eq!(
            app.post_json("/api/v1/programmes", &mediator.token, json!({"name": "Autre"})).await.status,
            Status::Forbidden
        );
        let created = app
            .post_json("/api/v1/people", &mediator.token, json!({
                "given_name": "Marie", "family_name": "Curie", "email": "marie@example.org", "phone": "06 11 22 33 44",
                "reminder_consent": true, "referent_name": "M. Prescripteur", "programme_ids": [programme_id]
            }))
            .await;
        assert_eq!(created.status, Status::Created);
        let id = created.json()["id"].as_i64().unwrap();
        assert_eq!(created.json()["programme_ids"], json!([programme_id]));
        // Stored in E.164, whatever the spacing typed.
        assert_eq!(created.json()["phone"], "+33611223344");

        let unknown_programme = app
            .send_json("PATCH", &format!("/api/v1/people/{id}"), Some(&mediator.token), r#"{"programme_ids": [9999]}"#)
            .await;
        assert_eq!(unknown_programme.status, Status::UnprocessableEntity);
        let patched = app
            .send_json("PATCH", &format!("/api/v1/people/{id}"), Some(&mediator.token), r#"{"city": "Roubaix", "email": null}"#)
            .await;
        assert_eq!(patched.status, Status::Ok, "{}", patched.body);
        assert_eq!(patched.json()["city"], "Roubaix");
        assert_eq!(patched.json()["email"], serde_json::Value::Null);
        assert_eq!(patched.json()["family_name"], "Curie", "untouched fields stay");
        assert_eq!(patched.json()["programme_ids"], json!([programme_id]));

        let export = app.get(&format!("/api/v1/people/{id}/export"), Some(&mediator.token)).await;
        assert_eq!(export.status, Status::Ok);
        assert_eq!(export.json()["person"]["family_name"], "Curie");
        assert_eq!(export.json()["programmes"][0]["name"], "RSA — équipement 2020");

        // Erasure: mediators may not; managers may; names and contacts go, programmes stay.
        assert_eq!(app.delete(&format!("/api/v1/people/{id}"), &mediator.token).await.status, Status::Forbidden);
        assert_eq!(app.delete(&format!("/api/v1/people/{id}"), &manager.token).await.status, Status::NoContent);
        let erased = app.get(&format!("/api/v1/people/{id}"), Some(&manager.token)).await.json();
        assert_eq!(erased["anonymised"], true);
        assert_eq!(erased["family_name"], serde_json::Value::Null);
        assert_eq!(erased["phone"], serde_json::Value::Null);
        assert_eq!(erased["referent_name"], serde_json::Value::Null);
        assert_eq!(erased["programme_ids"], json!([programme_id]));
        assert!(app.get("/api/v1/people?q=curie", Some(&manager.token)).await.json().as_array().unwrap().is_empty());
        let edit = app.send_json("PATCH", &format!("/api/v1/people/{id}"), Some(&manager.token), r#"{"city": "Lens"}"#).await;
        assert_eq!(edit.status, Status::Conflict);
    }
}

both_backends! {
    async fn html_person_form_shows_errors_next_to_fields_and_saves(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        let invalid = app
            .post_form("/people", Some(&staff.session), &[
                ("csrf_token", &staff.csrf), ("given_name", "Lucie"), ("family_name", "Moreau"), ("birth_year", "abc"),
                ("email", "pas-un-email"), ("postal_code", ""), ("city", ""), ("phone", ""), ("referent_name", ""),
                ("referent_email", ""), ("referent_organisation", ""), ("notes", ""),
            ])
            .await;
        assert_eq!(invalid.status, Status::UnprocessableEntity);
        assert!(invalid.body.contains("id=\"email-error\"") && invalid.body.contains("Adresse e-mail invalide."));
        assert!(invalid.body.contains("id=\"birth_year-error\""));
        assert!(invalid.body.contains("value=\"Moreau\""), "what was typed is kept");
        assert!(app.get("/api/v1/people", Some(&staff.token)).await.json().as_array().unwrap().is_empty());

        let saved = app
            .post_form("/people", Some(&staff.session), &[
                ("csrf_token", &staff.csrf), ("given_name", "Lucie"), ("family_name", "Moreau"), ("birth_year", "1980"),
                ("email", ""), ("postal_code", "59100"), ("city", "Roubaix"), ("phone", ""), ("referent_name", ""),
                ("referent_email", ""), ("referent_organisation", ""), ("notes", ""),
            ])
            .await;
        assert_eq!(saved.status, Status::SeeOther, "{}", saved.body);
        let location = saved.header("location").unwrap().to_string();
        let page = app.page(&location, &staff.session).await;
        assert!(page.body.contains("Lucie Moreau") && page.body.contains("59100 Roubaix"));

        // Creating a look-alike warns with a link to the first one.
        let twin = app
            .post_form("/people", Some(&staff.session), &[
                ("csrf_token", &staff.csrf), ("given_name", "lucie"), ("family_name", "MOREAU"), ("birth_year", "1980"),
                ("email", ""), ("postal_code", ""), ("city", ""), ("phone", ""), ("referent_name", ""),
                ("referent_email", ""), ("referent_organisation", ""), ("notes", ""),
            ])
            .await;
        let twin_page = app.page(twin.header("location").unwrap(), &staff.session).await;
        assert!(twin_page.body.contains("Doublon possible"));
        let first = location.split('?').next().unwrap();
        assert!(twin_page.body.contains(&format!("href=\"{first}\"")));
    }
}

both_backends! {
    async fn stored_markup_is_escaped_on_pages(app) {
        let staff = app.staff("manager", "Emmaüs Connect").await;
        let payload = "<script>alert(1)</script>";
        let person = app.post_json("/api/v1/people", &staff.token, json!({"given_name": payload, "notes": payload})).await.json();
        let place = app
            .post_json("/api/v1/places", &staff.token, json!({"name": payload, "address": "1 rue", "postal_code": "59000", "city": "Lille"}))
            .await
            .json();
        for path in [format!("/people/{}", person["id"]), "/people".into(), format!("/places/{}", place["id"]), "/places".into()] {
            let page = app.page(&path, &staff.session).await;
            assert!(!page.body.contains(payload), "{path} shows raw markup");
            assert!(page.body.contains("&lt;script&gt;"), "{path}");
        }
    }
}

both_backends! {
    async fn places_are_scoped_and_managed_by_managers(app) {
        let manager = app.staff("manager", "Emmaüs Connect").await;
        let mediator = app.staff("mediator", "Emmaüs Connect").await;
        let other = app.staff("manager", "Mission locale").await;
        let body = json!({"name": "Médiathèque", "address": "2 place de la Gare", "postal_code": "59100", "city": "Roubaix"});
        assert_eq!(app.post_json("/api/v1/places", &mediator.token, body.clone()).await.status, Status::Forbidden);
        let created = app.post_json("/api/v1/places", &manager.token, body).await;
        assert_eq!(created.status, Status::Created);
        let id = created.json()["id"].as_i64().unwrap();
        let bad = app.send_json("PATCH", &format!("/api/v1/places/{id}"), Some(&manager.token), r#"{"postal_code": "ABC"}"#).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        let patched = app.send_json("PATCH", &format!("/api/v1/places/{id}"), Some(&manager.token), r#"{"phone": "03 20 00 00 00"}"#).await;
        assert_eq!(patched.json()["phone"], "03 20 00 00 00");
        assert_eq!(patched.json()["name"], "Médiathèque");
        assert_eq!(app.get(&format!("/api/v1/places/{id}"), Some(&mediator.token)).await.status, Status::Ok);
        assert_eq!(app.get(&format!("/api/v1/places/{id}"), Some(&other.token)).await.status, Status::NotFound);
        assert!(app.get("/api/v1/places", Some(&other.token)).await.json().as_array().unwrap().is_empty());
        assert_eq!(app.page(&format!("/places/{id}"), &other.session).await.status, Status::NotFound);
    }
}
