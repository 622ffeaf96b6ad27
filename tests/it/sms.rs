//! Text messages: phones in E.164, the channels a message goes to, the one-segment text with
//! its short link, and — through a real Kannel (bearerbox, smsbox, fakesmsc) — sending,
//! delivery reports and the replies OUI / NON / STOP.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use rocket::http::Status;
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, messages, setup, today};
use crate::harness::{Backend, ServedApp, TestApp, PASSWORD};
use crate::kannel::{self, Kannel};

fn in_days(n: i64) -> NaiveDate {
    today() + Duration::days(n)
}

both_backends! {
    async fn phones_are_stored_in_e164_and_unusable_ones_refused(app) {
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        for (typed, stored) in [
            ("06 12 34 56 78", "+33612345678"),
            ("0692 12 34 56", "+262692123456"),
            ("0690 12 34 56", "+590690123456"),
            ("0696 12 34 56", "+596696123456"),
            ("+33 1 44 55 66 77", "+33144556677"),
        ] {
            let r = app.post_json("/api/v1/people", &staff.token, json!({"given_name": "Awa", "phone": typed})).await;
            assert_eq!(r.status, Status::Created, "{typed}: {}", r.body);
            assert_eq!(r.json()["phone"], stored, "{typed}");
            assert_eq!(r.json()["language"], "fr");
            assert_eq!(r.json()["sms_consent"], false);
        }
        for typed in ["06 12", "12345678901234", "n'a pas de téléphone"] {
            let r = app.post_json("/api/v1/people", &staff.token, json!({"given_name": "Awa", "phone": typed})).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{typed}");
            assert!(r.json()["errors"]["phone"].is_array(), "{}", r.body);
        }
        let r = app.post_json("/api/v1/people", &staff.token, json!({"given_name": "Awa", "language": "de"})).await;
        assert_eq!(r.status, Status::UnprocessableEntity);
        assert!(r.json()["errors"]["language"].is_array(), "{}", r.body);
        // The form shows the error next to the field.
        let page = app.post_form("/people", Some(&staff.session), &[("csrf_token", &staff.csrf), ("given_name", "Awa"), ("phone", "06 12")]).await;
        assert_eq!(page.status, Status::UnprocessableEntity);
        assert!(page.body.contains("Numéro de téléphone inutilisable"), "{}", page.body);
    }
}

both_backends! {
    async fn phones_stored_before_are_rewritten_in_e164_at_start(app) {
        use passerelle::db::schema::people;
        let staff = app.staff("mediator", "Emmaüs Connect").await;
        let id = app.post_json("/api/v1/people", &staff.token, json!({"given_name": "Awa"})).await.json()["id"].as_i64().unwrap() as i32;
        let other = app.post_json("/api/v1/people", &staff.token, json!({"given_name": "Binta"})).await.json()["id"].as_i64().unwrap() as i32;
        app.db().run(move |conn| {
            diesel::update(people::table.find(id)).set(people::phone.eq("0692123456")).execute(conn)?;
            diesel::update(people::table.find(other)).set(people::phone.eq("12")).execute(conn)?;
            Ok(())
        }).await.unwrap();
        // A restart (another instance on the same database) migrates them.
        let restarted = app.another_instance().await;
        let phones: Vec<Option<String>> = restarted.db().run(move |conn| {
            Ok(people::table.filter(people::id.eq_any([id, other])).order(people::id).select(people::phone).load(conn)?)
        }).await.unwrap();
        assert_eq!(phones, vec![Some("+262692123456".to_string()), Some("12".to_string())]);
    }
}

both_backends! {
    async fn each_consented_channel_gets_the_messages_and_the_call_list_only_the_unreachable(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let person = |body: Value| {
            let app = &app;
            let token = s.mediator.token.clone();
            async move {
                let r = app.post_json("/api/v1/people", &token, body).await;
                assert_eq!(r.status, Status::Created, "{}", r.body);
                r.json()["id"].as_i64().unwrap()
            }
        };
        let both = person(json!({"given_name": "Awa", "email": "awa@example.org", "reminder_consent": true, "phone": "06 12 34 56 78", "sms_consent": true})).await;
        let sms_only = person(json!({"given_name": "Binta", "phone": "0692 12 34 56", "sms_consent": true,
            "referent_email": "ref@example.org", "referent_consent": true})).await;
        let landline = person(json!({"given_name": "Chris", "phone": "01 44 55 66 77", "sms_consent": true,
            "referent_email": "ref2@example.org", "referent_consent": true})).await;
        let nobody = person(json!({"given_name": "Dana", "phone": "07 81 22 33 44", "sms_consent": false})).await;
        for (i, p) in [both, sms_only, landline, nobody].iter().enumerate() {
            let r = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
                "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
                "starts_at": at(in_days(5), &format!("{}:00", 9 + 2 * i)), "person_ids": [p]})).await;
            assert_eq!(r.status, Status::Created, "{}", r.body);
        }
        let all = messages(&app, &s.manager.token, "").await;
        let confirmations = |channel: &str| -> Vec<String> {
            let mut v: Vec<String> = all.iter()
                .filter(|m| m["kind"] == "confirmation" && m["channel"] == channel)
                .map(|m| m["recipient"].as_str().unwrap().to_string()).collect();
            v.sort();
            v
        };
        assert_eq!(confirmations("email"), vec!["awa@example.org", "ref2@example.org"]);
        assert_eq!(confirmations("sms"), vec!["+262692123456", "+33612345678"]);
        // Reminders too, on each channel.
        assert!(all.iter().any(|m| m["kind"] == "reminder" && m["channel"] == "sms" && m["recipient"] == "+33612345678"));
        assert!(all.iter().any(|m| m["kind"] == "reminder" && m["channel"] == "email" && m["recipient"] == "awa@example.org"));
        assert!(all.iter().all(|m| m["delivery"].is_null()));
        // Only Dana (no channel at all) is to be called.
        let page = app.page("/to-call", &s.mediator.session).await;
        assert!(page.body.contains("Dana") && page.body.contains("07 81 22 33 44"), "{}", page.body);
        assert!(!page.body.contains("Awa") && !page.body.contains("Binta") && !page.body.contains("Chris"));

        // The file transport writes one .txt per SMS: one GSM segment with the short link.
        let round = app.run_worker().await;
        assert!(round.sent >= 4, "{round:?}");
        let dir = app.config().data_dir.join("sms");
        let mut texts: Vec<String> = std::fs::read_dir(&dir).unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
        texts.sort();
        assert_eq!(texts.len(), 2, "{texts:?}");
        for file in &texts {
            let body = file.split("\n\n").nth(1).unwrap().trim_end();
            assert!(body.chars().count() <= 160, "{} {body}", body.chars().count());
            assert!(body.contains("Mediatheque Jean Macé") || body.contains("Médiathèque Jean Macé") || body.contains("Mediathèque"), "{body}");
            assert!(body.contains("RDV confirmé le"), "{body}");
            let link = body.rsplit(' ').next().unwrap();
            let code = link.rsplit('/').next().unwrap();
            assert!(code.len() <= 12, "{link}");
            // The short link opens the person's page.
            let page = app.get(&format!("/r/{code}"), None).await;
            assert_eq!(page.status, Status::Ok, "{link}");
            assert!(page.body.contains("Médiathèque Jean Macé"));
        }
        let page = app.get("/r/abcdefghijkm", None).await;
        assert_eq!(page.status, Status::NotFound);
    }
}

both_backends! {
    async fn no_reminder_goes_out_once_the_appointment_has_started(app) {
        use passerelle::db::schema::messages as m;
        let s = setup(&app, "Emmaüs Connect").await;
        let p = app.post_json("/api/v1/people", &s.mediator.token, json!({"given_name": "Awa", "phone": "06 12 34 56 78", "sms_consent": true})).await.json()["id"].as_i64().unwrap();
        let r = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(in_days(3), "10:00"), "person_ids": [p]})).await;
        assert_eq!(r.status, Status::Created);
        let appointment = r.json()["id"].as_i64().unwrap() as i32;
        app.run_worker().await;
        // The gateway was away: the appointment has started when the reminders come due.
        app.db().run(move |conn| {
            use passerelle::db::schema::appointments as a;
            let past = chrono::Utc::now().naive_utc() - Duration::minutes(10);
            diesel::update(a::table.find(appointment)).set((a::starts_at.eq(past), a::ends_at.eq(past + Duration::hours(1)))).execute(conn)?;
            diesel::update(m::table.filter(m::kind.eq("reminder"))).set(m::due_at.eq(past - Duration::minutes(1))).execute(conn)?;
            Ok(())
        }).await.unwrap();
        let round = app.run_worker().await;
        assert_eq!(round.sent, 0, "{round:?}");
        let reminders = messages(&app, &s.manager.token, "").await;
        assert!(reminders.iter().filter(|m| m["kind"] == "reminder").all(|m| m["status"] == "cancelled"), "{reminders:?}");
    }
}

// ---- Through a real Kannel ----

fn http(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut request = agent.request(method, url);
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    let result = match body {
        Some(body) => request
            .set("Content-Type", "application/json")
            .send_string(&body.to_string()),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    rocket::tokio::task::spawn_blocking(f).await.unwrap()
}

/// A staff member of the served app, with an API token.
pub(crate) async fn served_staff(
    app: &ServedApp,
    role: &str,
    organisation: &str,
    n: usize,
) -> (i32, String) {
    let email = format!("{role}{n}@sms.example");
    let (role, organisation, email2) = (role.to_string(), organisation.to_string(), email.clone());
    let user_id = app
        .db
        .run(move |conn| {
            let org = passerelle::organisations::find_or_create(conn, None, &organisation)?;
            let row = passerelle::auth::service::create_user(
                conn,
                None,
                passerelle::auth::service::UserInput {
                    email: email2,
                    name: format!("{role} {n}"),
                    role,
                    organisation_id: Some(org.id),
                    password: PASSWORD.into(),
                },
            )?;
            Ok(row.id)
        })
        .await
        .unwrap();
    let url = app.url("/api/v1/tokens");
    let (status, body) = blocking(move || {
        http(
            "POST",
            &url,
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
    })
    .await;
    assert_eq!(status, 201, "{body}");
    (user_id, body["token"].as_str().unwrap().to_string())
}

pub(crate) async fn api(
    app: &ServedApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (url, token) = (app.url(path), token.to_string());
    let method = method.to_string();
    blocking(move || http(&method, &url, Some(&token), body)).await
}

/// Polls `GET path` until `check` holds on the answer (the reply reaches the server a moment
/// after smsbox took it).
async fn eventually(
    app: &ServedApp,
    path: &str,
    token: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, body) = api(app, "GET", path, token, None).await;
        if check(&body) {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}: {body}"
        );
        rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn kannel_leg(backend: Backend) {
    if !kannel::available() {
        return;
    }
    let ports = kannel::Ports::free();
    let sms_url = ports.sms_url();
    let Some(app) = TestApp::serve_with(
        backend,
        &[
            ("sms_transport", "kannel"),
            ("sms_url", sms_url.as_str()),
            ("sms_inbound_secret", kannel::INBOUND_SECRET),
        ],
    )
    .await
    else {
        return;
    };
    let base = app.base_url.clone();
    let mut gateway = blocking(move || Kannel::start(ports, &base)).await;

    let (_, manager) = served_staff(&app, "manager", "Emmaüs Connect", 1).await;
    let (mediator_id, mediator) = served_staff(&app, "mediator", "Emmaüs Connect", 2).await;
    let (_, place) = api(&app, "POST", "/api/v1/places", &manager, Some(json!({"name": "Médiathèque Jean Macé", "address": "2 rue de la Gare", "postal_code": "59100", "city": "Roubaix"}))).await;
    let (_, workshop) = api(&app, "POST", "/api/v1/services", &manager, Some(json!({"name": "Atelier smartphone", "kind": "workshop", "duration_minutes": 120, "capacity": 1, "horizon_days": 365}))).await;
    let (status, awa) = api(
        &app,
        "POST",
        "/api/v1/people",
        &mediator,
        Some(json!({"given_name": "Awa", "phone": "06 12 34 56 78", "sms_consent": true})),
    )
    .await;
    assert_eq!(status, 201, "{awa}");
    let (_, binta) = api(
        &app,
        "POST",
        "/api/v1/people",
        &mediator,
        Some(
            json!({"given_name": "Binta", "email": "binta@example.org", "reminder_consent": true}),
        ),
    )
    .await;
    let (status, appointment) = api(&app, "POST", "/api/v1/appointments", &mediator, Some(json!({
        "service_id": workshop["id"], "mediator_id": mediator_id, "place_id": place["id"], "capacity": 1,
        "starts_at": at(in_days(4), "14:30"), "person_ids": [awa["id"]], "override_opening_hours": true}))).await;
    assert_eq!(status, 201, "{appointment}");
    let id = appointment["id"].as_i64().unwrap();
    let (status, waiting) = api(
        &app,
        "POST",
        &format!("/api/v1/appointments/{id}/participants"),
        &mediator,
        Some(json!({"person_id": binta["id"]})),
    )
    .await;
    assert_eq!(
        (status, waiting["status"].as_str()),
        (201, Some("waitlisted")),
        "{waiting}"
    );

    // The confirmation goes through smsbox to the SMS centre.
    let round = app.run_worker().await;
    assert_eq!(round.failed, 0, "{round:?}");
    let got = blocking({
        let g = gateway_log_reader(&gateway);
        move || g(1)
    })
    .await;
    let sms = &got[0];
    assert_eq!(sms.to, "+33612345678");
    assert_eq!(sms.from, "Passerelle");
    assert_eq!(sms.kind, "text", "sent in GSM 7-bit, not UCS-2");
    assert!(
        sms.text.contains("RDV confirmé le")
            && sms.text.contains("à 14 h 30")
            && sms.text.contains("Médiathèque Jean Macé"),
        "{}",
        sms.text
    );
    assert!(sms.text.chars().count() <= 160, "{}", sms.text);
    let link = sms.text.rsplit(' ').next().unwrap().to_string();
    assert!(link.starts_with(&format!("{}/r/", app.base_url)), "{link}");

    // Kannel's delivery report comes back: the message shows it was delivered.
    let delivered = || {
        let url = app.url("/api/v1/messages");
        let manager = manager.clone();
        async move {
            let (_, list) = blocking(move || http("GET", &url, Some(&manager), None)).await;
            list.as_array().unwrap().iter().any(|m| {
                m["channel"] == "sms" && m["kind"] == "confirmation" && m["delivery"] == "delivered"
            })
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !delivered().await {
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery report: {}",
            gateway.smsbox_log()
        );
        rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The short link opens her page.
    let (status, page) = blocking({
        let link = link.clone();
        move || http("GET", &link, None, None)
    })
    .await;
    assert_eq!(status, 200);
    assert!(page.as_str().unwrap().contains("Médiathèque Jean Macé"));

    // A wrong secret changes nothing.
    let (status, _) = blocking({
        let url = app.url("/sms/inbound?secret=faux&from=%2B33612345678&text=NON");
        move || http("GET", &url, None, None)
    })
    .await;
    assert_eq!(status, 403);
    // An unknown number changes nothing, and gets no answer.
    gateway = blocking(move || {
        gateway.inject("+33699887766", "NON");
        gateway
    })
    .await;

    // "Oui !" confirms her venue, and she is answered.
    gateway = blocking(move || {
        gateway.inject("+33612345678", "Oui !");
        gateway
    })
    .await;
    let awa_id = awa["id"].clone();
    let seat = |shown: &Value, person: &Value| {
        shown["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| &p["person_id"] == person)
            .cloned()
            .unwrap()
    };
    let path = format!("/api/v1/appointments/{id}");
    eventually(&app, &path, &mediator, "the confirmation", |shown| {
        seat(shown, &awa_id)["confirmed"] == true
    })
    .await;
    app.run_worker().await;
    let got = blocking({
        let g = gateway_log_reader(&gateway);
        move || g(2)
    })
    .await;
    assert_eq!(got.len(), 2, "the unknown number got no answer: {got:?}");
    assert_eq!(got[1].to, "+33612345678");
    assert!(got[1].text.contains("confirmée"), "{}", got[1].text);

    // "non." cancels: her seat goes to Binta.
    gateway = blocking(move || {
        gateway.inject("+33612345678", "non.");
        gateway
    })
    .await;
    let shown = eventually(&app, &path, &mediator, "the cancellation", |shown| {
        seat(shown, &awa_id)["status"] == "excused"
    })
    .await;
    assert_eq!(seat(&shown, &binta["id"])["status"], "booked", "{shown}");
    app.run_worker().await;
    let got = blocking({
        let g = gateway_log_reader(&gateway);
        move || g(3)
    })
    .await;
    assert!(got[2].text.contains("annulé"), "{}", got[2].text);
    assert_eq!(
        got.len(),
        3,
        "one answer, not also a cancellation notice: {got:?}"
    );

    // "STOP" withdraws her consent.
    gateway = blocking(move || {
        gateway.inject("+33612345678", "STOP");
        gateway
    })
    .await;
    eventually(
        &app,
        &format!("/api/v1/people/{awa_id}"),
        &mediator,
        "the consent withdrawn",
        |person| person["sms_consent"] == false,
    )
    .await;
    app.run_worker().await;
    let got = blocking({
        let g = gateway_log_reader(&gateway);
        move || g(4)
    })
    .await;
    assert!(got[3].text.contains("plus de SMS"), "{}", got[3].text);

    // Each reply is audited.
    let (_, admin) = served_staff(&app, "admin", "Emmaüs Connect", 3).await;
    let (_, audit) = api(&app, "GET", "/api/v1/audit", &admin, None).await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["confirm_by_sms", "cancel_by_sms", "sms_stop"] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    drop(gateway);
}

/// Waits (blocking) until fakesmsc received `n` messages; returns them all.
fn gateway_log_reader(
    gateway: &Kannel,
) -> impl FnOnce(usize) -> Vec<kannel::Received> + Send + 'static {
    let reader = gateway.reader();
    move |n| reader.wait_received(n)
}

#[rocket::async_test]
async fn text_messages_go_through_kannel_with_delivery_reports_and_replies_sqlite() {
    kannel_leg(Backend::Sqlite).await
}

#[rocket::async_test]
async fn text_messages_go_through_kannel_with_delivery_reports_and_replies_postgres() {
    kannel_leg(Backend::Postgres).await
}

both_backends! {
    async fn the_personal_page_speaks_the_persons_language_and_switches_with_lang(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = app.post_json("/api/v1/people", &s.mediator.token, json!({"given_name": "Amina", "language": "ar"})).await;
        assert_eq!(p.status, Status::Created, "{}", p.body);
        assert_eq!(p.json()["language"], "ar");
        let person = p.json()["id"].as_i64().unwrap();
        // A Tuesday in December.
        let mut day = in_days(3);
        while chrono::Datelike::weekday(&day) != chrono::Weekday::Tue { day += Duration::days(1); }
        let r = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(day, "14:30"), "person_ids": [person]})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let link = app.beneficiary_link(r.json()["id"].as_i64().unwrap() as i32, person as i32).await;
        let arabic = app.get(&format!("/r/{link}"), None).await;
        assert_eq!(arabic.status, Status::Ok);
        assert!(arabic.body.contains(r#"<html lang="ar" dir="rtl">"#), "{}", arabic.body);
        assert!(arabic.body.contains("موعدك") && arabic.body.contains("الثلاثاء") && arabic.body.contains("أؤكد حضوري"), "{}", arabic.body);
        let english = app.get(&format!("/r/{link}?lang=en"), None).await;
        assert!(english.body.contains(r#"<html lang="en" dir="ltr">"#));
        assert!(english.body.contains("Your appointment") && english.body.contains("Tuesday") && english.body.contains("at 14:30"), "{}", english.body);
        let french = app.get(&format!("/r/{link}?lang=fr"), None).await;
        assert!(french.body.contains("Votre rendez-vous") && french.body.contains("mardi") && french.body.contains("à 14 h 30"));
        let unknown = app.get(&format!("/r/{link}?lang=xx"), None).await;
        assert_eq!(unknown.status, Status::UnprocessableEntity);
        // Staff pages stay French.
        let staff = app.page(&format!("/people/{person}"), &s.mediator.session).await;
        assert!(staff.body.contains("Langue des messages") && staff.body.contains("arabe"));
    }
}
