//! Equipment: identifiers, CSV import, handovers under concurrency, history, pages, scoping.

use chrono::Duration;
use rocket::http::{ContentType, Header, Status};
use serde_json::json;

use crate::both_backends;
use crate::fixtures::{person, today};
use crate::harness::{unescape, TestApp};

const IMEI: &str = "352099001761481";
const ICCID: &str = "8933150319002381420";

async fn import(app: &TestApp, token: &str, csv: &str) -> crate::harness::Response {
    let response = app
        .client
        .post("/api/v1/equipment/import")
        .header(ContentType::new("text", "csv"))
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .body(csv)
        .dispatch()
        .await;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect();
    crate::harness::Response {
        status,
        body: response.into_string().await.unwrap_or_default(),
        headers,
    }
}

both_backends! {
    async fn imei_and_iccid_are_checked_and_identifiers_unique(app) {
        let staff = app.staff("manager", "Emmaüs Connect").await;
        let ok = app.post_json("/api/v1/equipment", &staff.token, json!({"kind": "smartphone", "model": "Galaxy A14", "serial": "R58T", "imei": "35 2099 0017 6148 1"})).await;
        assert_eq!(ok.status, Status::Created, "{}", ok.body);
        assert_eq!(ok.json()["imei"], IMEI);
        assert_eq!(ok.json()["status"], "in_stock");
        assert_eq!(ok.json()["current_holder"], serde_json::Value::Null);
        let bad_imei = app.post_json("/api/v1/equipment", &staff.token, json!({"kind": "smartphone", "imei": "352099001761482"})).await;
        assert_eq!(bad_imei.status, Status::UnprocessableEntity);
        assert!(bad_imei.json()["errors"]["imei"][0].as_str().unwrap().contains("IMEI"));
        let short = app.post_json("/api/v1/equipment", &staff.token, json!({"kind": "smartphone", "imei": "12345"})).await;
        assert!(short.json()["errors"]["imei"][0].as_str().unwrap().contains("15 chiffres"));
        let sim = app.post_json("/api/v1/equipment", &staff.token, json!({"kind": "sim_card", "iccid": ICCID, "phone_number": "07 00 00 00 01", "operator": "Orange", "valid_until": "2027-06-30"})).await;
        assert_eq!(sim.status, Status::Created, "{}", sim.body);
        let bad_iccid = app.post_json("/api/v1/equipment", &staff.token, json!({"kind": "sim_card", "iccid": "8933150319002381421"})).await;
        assert!(bad_iccid.json()["errors"]["iccid"].is_array());
        let not_89 = app.post_json("/api/v1/equipment", &staff.token, json!({"kind": "sim_card", "iccid": "1233150319002381426"})).await;
        assert!(not_89.json()["errors"]["iccid"][0].as_str().unwrap().contains("89"));
        let twice = app.post_json("/api/v1/equipment", &staff.token, json!({"kind": "tablet", "serial": "R58T", "imei": IMEI})).await;
        assert_eq!(twice.status, Status::UnprocessableEntity);
        assert!(twice.json()["errors"]["serial"].is_array() && twice.json()["errors"]["imei"].is_array());
        let kind = app.post_json("/api/v1/equipment", &staff.token, json!({"kind": "toaster"})).await;
        assert!(kind.json()["errors"]["kind"].is_array());
        assert_eq!(app.get("/api/v1/equipment", Some(&staff.token)).await.json().as_array().unwrap().len(), 2);
    }
}

both_backends! {
    async fn a_csv_import_is_all_or_nothing_and_names_each_bad_line(app) {
        let staff = app.staff("manager", "Emmaüs Connect").await;
        app.post_json("/api/v1/programmes", &staff.token, json!({"name": "RSA — équipement 2020"})).await;
        let bad = "Type;Modèle;Numéro de série;IMEI;ICCID;Dispositif;Fin de validité\n\
                   tablette;Lenovo M10;SN-1;;;RSA — équipement 2020;\n\
                   smartphone;Galaxy;SN-2;352099001761482;;;\n\
                   carte SIM;;;;8933150319002381420;;31/12/2027\n\
                   grille-pain;;SN-1;;;Inconnu;\n";
        let refused = import(&app, &staff.token, bad).await;
        assert_eq!(refused.status, Status::UnprocessableEntity, "{}", refused.body);
        let errors = refused.json()["errors"].as_array().unwrap().clone();
        let lines: Vec<i64> = errors.iter().map(|e| e["line"].as_i64().unwrap()).collect();
        assert_eq!(lines, vec![3, 5]);
        assert!(errors[0]["message"].as_str().unwrap().contains("imei"));
        let last = errors[1]["message"].as_str().unwrap();
        assert!(last.contains("kind") && last.contains("SN-1") && last.contains("Inconnu"), "{last}");
        assert!(app.get("/api/v1/equipment", Some(&staff.token)).await.json().as_array().unwrap().is_empty(), "nothing imported");

        let good = "kind,model,serial,imei,iccid,programme,valid_until\n\
                    tablet,Lenovo M10,SN-1,,,RSA — équipement 2020,\n\
                    smartphone,Galaxy,SN-2,352099001761481,,,\n\
                    sim_card,,,,8933150319002381420,,2027-12-31\n";
        let imported = import(&app, &staff.token, good).await;
        assert_eq!(imported.status, Status::Ok, "{}", imported.body);
        assert_eq!(imported.json()["imported"], 3);
        let items = app.get("/api/v1/equipment?kind=tablet", Some(&staff.token)).await.json();
        assert_eq!(items.as_array().unwrap().len(), 1);
        assert!(items[0]["programme_id"].is_number());
        assert_eq!(import(&app, &staff.token, good).await.status, Status::UnprocessableEntity, "the same serials again");
        assert_eq!(import(&app, &staff.token, "").await.status, Status::UnprocessableEntity);
    }
}

async fn handover_race(app: &TestApp) {
    let staff = app.staff("mediator", "Emmaüs Connect").await;
    let item = app
        .post_json(
            "/api/v1/equipment",
            &staff.token,
            json!({"kind": "tablet", "serial": "RACE-1"}),
        )
        .await
        .json();
    let mut people = Vec::new();
    for i in 0..20 {
        people.push(person(app, &staff.token, &format!("T{i}")).await);
    }
    let requests = people.iter().map(|p| {
        let (path, p) = (format!("/api/v1/equipment/{}/assign", item["id"]), *p);
        let token = staff.token.clone();
        async move {
            app.post_json(&path, &token, json!({"person_id": p, "mode": "donation", "handed_over_on": today().to_string(), "acceptance": "paper_signature"})).await
        }
    });
    let answers = futures::future::join_all(requests).await;
    let created = answers
        .iter()
        .filter(|r| r.status == Status::Created)
        .count();
    let refused = answers
        .iter()
        .filter(|r| r.status == Status::Conflict && r.json()["code"] == "already_assigned")
        .count();
    assert_eq!(
        (created, refused),
        (1, 19),
        "{:?}",
        answers.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
}

both_backends! {
    async fn twenty_concurrent_handovers_of_one_item_give_one_holder(app) {
        handover_race(&app).await;
    }
}

both_backends! {
    async fn loans_returns_and_status_changes_make_the_history(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        let (a, b) = (person(&app, &staff.token, "Adèle").await, person(&app, &staff.token, "Bruno").await);
        let item = app.post_json("/api/v1/equipment", &staff.token, json!({"kind": "laptop", "model": "ThinkPad", "serial": "TP-9"})).await.json();
        let id = item["id"].as_i64().unwrap();
        let day = today();
        let no_due = app.post_json(&format!("/api/v1/equipment/{id}/assign"), &staff.token,
            json!({"person_id": a, "mode": "loan", "handed_over_on": day.to_string(), "acceptance": "typed_name"})).await;
        assert_eq!(no_due.status, Status::UnprocessableEntity);
        assert!(no_due.json()["errors"]["due_back_on"].is_array() && no_due.json()["errors"]["accepted_by_name"].is_array());
        // A typed name longer than the documented 120 characters is refused, nothing handed over.
        let long = app.post_json(&format!("/api/v1/equipment/{id}/assign"), &staff.token, json!({"person_id": a, "mode": "donation",
            "handed_over_on": day.to_string(), "acceptance": "typed_name", "accepted_by_name": "A".repeat(121)})).await;
        assert_eq!(long.status, Status::UnprocessableEntity, "{}", long.body);
        assert_eq!(long.json()["errors"]["accepted_by_name"][0], "120 caractères au plus.");
        assert_eq!(app.get(&format!("/api/v1/equipment/{id}"), Some(&staff.token)).await.json()["status"], "in_stock");
        let lent = app.post_json(&format!("/api/v1/equipment/{id}/assign"), &staff.token, json!({"person_id": a, "mode": "loan",
            "handed_over_on": (day - Duration::days(30)).to_string(), "due_back_on": (day - Duration::days(2)).to_string(),
            "acceptance": "typed_name", "accepted_by_name": "Adèle"})).await;
        assert_eq!(lent.status, Status::Created, "{}", lent.body);
        assert_eq!(lent.json()["current_holder"], a);
        // Overdue loans are listed; the handover form prints both names and the identifiers.
        let due = app.page("/equipment/due", &staff.session).await;
        assert!(due.body.contains("Adèle") && due.body.contains("en retard"));
        let form = app.page(&format!("/equipment/{id}/handover"), &staff.session).await;
        assert_eq!(form.status, Status::Ok);
        assert!(form.body.contains("Adèle") && form.body.contains(&staff.user.name) && form.body.contains("TP-9") && form.body.contains("Signature du bénéficiaire"));
        assert!(unescape(&form.body).contains(&format!("à rendre au plus tard le {}", passerelle::french::date_in_words(day - Duration::days(2)))));
        let back = app.post_json(&format!("/api/v1/equipment/{id}/return"), &staff.token, json!({"returned_on": day.to_string(), "condition": "bon état"})).await;
        assert_eq!(back.status, Status::Ok);
        assert_eq!(back.json()["status"], "in_stock");
        assert_eq!(app.post_json(&format!("/api/v1/equipment/{id}/return"), &staff.token, json!({"returned_on": day.to_string()})).await.json()["code"], "not_assigned");
        let given = app.post_json(&format!("/api/v1/equipment/{id}/assign"), &staff.token,
            json!({"person_id": b, "mode": "donation", "handed_over_on": day.to_string(), "acceptance": "paper_signature"})).await;
        assert_eq!(given.status, Status::Created);
        let lost = app.post_json(&format!("/api/v1/equipment/{id}/status"), &staff.token, json!({"status": "lost", "note": "déclaré perdu"})).await;
        assert_eq!(lost.json()["status"], "lost");
        assert_eq!(app.post_json(&format!("/api/v1/equipment/{id}/status"), &staff.token, json!({"status": "melted"})).await.status, Status::UnprocessableEntity);
        let again = app.post_json(&format!("/api/v1/equipment/{id}/assign"), &staff.token,
            json!({"person_id": a, "mode": "donation", "handed_over_on": day.to_string(), "acceptance": "paper_signature"})).await;
        assert_eq!(again.json()["code"], "already_assigned");

        let history = app.get(&format!("/api/v1/equipment/{id}"), Some(&staff.token)).await.json();
        let actions: Vec<&str> = history["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec!["created", "loaned", "returned", "donated", "status"]);
        assert_eq!(history["history"][1]["person_id"], a);
        let of_a = app.get(&format!("/api/v1/people/{a}/equipment"), Some(&staff.token)).await.json();
        assert_eq!(of_a.as_array().unwrap().len(), 1);
        assert_eq!(of_a[0]["current"], false);
        assert_eq!(of_a[0]["mode"], "loan");
        let of_b = app.get(&format!("/api/v1/people/{b}/equipment"), Some(&staff.token)).await.json();
        assert_eq!(of_b[0]["item"]["serial"], "TP-9");
        let person_page = app.page(&format!("/people/{a}"), &staff.session).await;
        assert!(person_page.body.contains("Matériel remis") && person_page.body.contains("ThinkPad"));
        let item_page = app.page(&format!("/equipment/{id}"), &staff.session).await;
        assert!(item_page.body.contains("prêté") && item_page.body.contains("donné") && item_page.body.contains("perdu"));
    }
}

both_backends! {
    async fn another_organisations_equipment_is_a_404(app) {
        let mine = app.staff("manager", "Emmaüs Connect").await;
        let theirs = app.staff("manager", "Mission locale").await;
        let item = app.post_json("/api/v1/equipment", &mine.token, json!({"kind": "tablet", "serial": "ORG-1"})).await.json();
        let id = item["id"].as_i64().unwrap();
        assert_eq!(app.get(&format!("/api/v1/equipment/{id}"), Some(&theirs.token)).await.status, Status::NotFound);
        let p = person(&app, &theirs.token, "Zed").await;
        let steal = app.post_json(&format!("/api/v1/equipment/{id}/assign"), &theirs.token,
            json!({"person_id": p, "mode": "donation", "handed_over_on": today().to_string(), "acceptance": "paper_signature"})).await;
        assert_eq!(steal.status, Status::NotFound);
        assert!(app.get("/api/v1/equipment", Some(&theirs.token)).await.json().as_array().unwrap().is_empty());
        assert_eq!(app.page(&format!("/equipment/{id}"), &theirs.session).await.status, Status::NotFound);
        let mine_person = person(&app, &mine.token, "Yves").await;
        assert_eq!(app.get(&format!("/api/v1/people/{mine_person}/equipment"), Some(&theirs.token)).await.status, Status::NotFound);
        // And their person cannot receive our item.
        let cross = app.post_json(&format!("/api/v1/equipment/{id}/assign"), &mine.token,
            json!({"person_id": p, "mode": "donation", "handed_over_on": today().to_string(), "acceptance": "paper_signature"})).await;
        assert_eq!(cross.status, Status::UnprocessableEntity);
    }
}

both_backends! {
    async fn a_session_on_a_lent_device_names_that_device(app) {
        let s = crate::fixtures::setup(&app, "Emmaüs Connect").await;
        let p = person(&app, &s.mediator.token, "Gaby").await;
        let item = app.post_json("/api/v1/equipment", &s.mediator.token, json!({"kind": "tablet", "serial": "LENT-1"})).await.json();
        let lent = app.post_json(&format!("/api/v1/equipment/{}/assign", item["id"]), &s.mediator.token, json!({"person_id": p, "mode": "loan",
            "handed_over_on": today().to_string(), "due_back_on": (today() + Duration::days(60)).to_string(), "acceptance": "paper_signature"})).await;
        assert_eq!(lent.status, Status::Created);
        let walk_in = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": crate::fixtures::at(today() - Duration::days(1), "10:00"), "person_ids": [p], "walk_in": true})).await.json();
        let logged = app.post_json(&format!("/api/v1/appointments/{}/log", walk_in["id"]), &s.mediator.token,
            json!({"participants": [{"person_id": p, "attendance": "attended", "device": "lent"}]})).await;
        assert_eq!(logged.status, Status::Created, "{}", logged.body);
        assert_eq!(logged.json()[0]["equipment_id"], item["id"]);
        let current = app.get(&format!("/api/v1/appointments/{}/log", walk_in["id"]), Some(&s.mediator.token)).await.json();
        assert_eq!(current[0]["equipment_id"], item["id"]);
    }
}
