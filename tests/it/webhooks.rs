//! Webhooks: signed deliveries to a real receiver process, in order, retried, dead and retried
//! by hand; SSRF refusals at subscription and at connection time.

use std::io::BufRead;

use chrono::Duration;
use diesel::prelude::*;
use rocket::http::Status;
use serde_json::{json, Value};

use crate::booking::{at, book, setup, today};
use crate::both_backends;
use crate::harness::{Backend, TestApp};

const SECRET: &str = "s3cret-de-test-webhook";

/// The receiver process (tests/it/webhook_receiver.py), killed when dropped.
struct Receiver {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Receiver {
    fn start(dir: &std::path::Path, fail_first: u32) -> Receiver {
        let log = dir.join("received.jsonl");
        let mut child = std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/it/webhook_receiver.py"
            ))
            .args([SECRET, log.to_str().unwrap(), &fail_first.to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the webhook receiver");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Receiver {
            child,
            port: line.trim().parse().expect("the receiver's port"),
            log,
        }
    }

    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn deliver(app: &TestApp) -> passerelle::webhooks::worker::Round {
    let worker =
        passerelle::webhooks::worker::WebhookWorker::new(app.db().clone(), app.config()).unwrap();
    rocket::tokio::task::spawn_blocking(move || worker.run_once().unwrap())
        .await
        .unwrap()
}

async fn app_allowing_private(backend: Backend) -> Option<TestApp> {
    TestApp::with(
        backend,
        &[
            ("webhook_allow_private", "true"),
            ("mail_retry_base", "0s"),
            ("mail_max_attempts", "2"),
        ],
    )
    .await
}

macro_rules! webhook_test {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            use super::*;
            async fn run($app: TestApp) $body
            #[rocket::async_test]
            async fn sqlite() { run(app_allowing_private(Backend::Sqlite).await.unwrap()).await }
            #[rocket::async_test]
            async fn postgres() {
                if let Some(app) = app_allowing_private(Backend::Postgres).await { run(app).await }
            }
        }
    };
}

webhook_test!(
    events_reach_a_real_receiver_signed_in_order_and_retried_with_one_delivery_id,
    |app| {
        let receiver = Receiver::start(app.dir.path(), 1);
        let s = setup(&app, "Centre social Fives").await;
        let created = app.post_json("/api/v1/webhooks", &s.manager.token, json!({
        "url": format!("http://127.0.0.1:{}/passerelle", receiver.port),
        "events": ["appointment.created", "participant.booked", "appointment.cancelled"],
        "secret": SECRET,
    })).await;
        assert_eq!(created.status, Status::Created, "{}", created.body);
        let webhook = created.json()["id"].as_i64().unwrap();
        let listed = app.get("/api/v1/webhooks", Some(&s.manager.token)).await;
        assert!(!listed.body.contains(SECRET), "{}", listed.body);

        let person = app.post_json("/api/v1/people", &s.mediator.token, json!({"given_name": "Bérénice", "family_name": "Vandamme", "email": "berenice.vandamme@example.org", "phone": "06 11 22 33 44", "reminder_consent": true})).await.json()["id"].as_i64().unwrap();
        let r = book(
            &app,
            &s,
            &s.mediator.token,
            &at(today() + Duration::days(4), "10:00"),
            &[person],
        )
        .await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let appointment = r.json()["id"].as_i64().unwrap();

        // One at a time per appointment: the participant waits for the appointment's event,
        // which the receiver first refuses (500), then takes.
        assert_eq!(deliver(&app).await.claimed, 1);
        assert_eq!(deliver(&app).await.delivered, 1);
        assert_eq!(deliver(&app).await.delivered, 1);
        let cancel = app
            .post_json(
                &format!("/api/v1/appointments/{appointment}/cancel"),
                &s.mediator.token,
                json!({"by": "structure", "reason": "Fermeture"}),
            )
            .await;
        assert_eq!(cancel.status, Status::Ok, "{}", cancel.body);
        assert_eq!(deliver(&app).await.delivered, 1);
        assert_eq!(deliver(&app).await.claimed, 0);

        let got = receiver.received();
        let events: Vec<(&str, u64)> = got
            .iter()
            .map(|l| (l["event"].as_str().unwrap(), l["status"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            events,
            [
                ("appointment.created", 500),
                ("appointment.created", 200),
                ("participant.booked", 200),
                ("appointment.cancelled", 200)
            ]
        );
        assert!(got.iter().all(|l| l["signature_ok"] == true), "{got:?}");
        // A retry is the same delivery: same id, same bytes.
        assert_eq!(got[0]["delivery"], got[1]["delivery"]);
        assert_eq!(got[0]["raw"], got[1]["raw"]);
        for line in &got {
            let body: Value = serde_json::from_str(line["raw"].as_str().unwrap()).unwrap();
            assert_eq!(body["id"], line["delivery"]);
            assert_eq!(body["event"], line["event"]);
            assert!(body["occurred_at"].as_str().unwrap().contains('T'));
            assert_eq!(body["data"]["appointment_id"], appointment);
            // Ids and statuses only.
            for secret in [
                "Bérénice",
                "Vandamme",
                "berenice",
                "06 11 22 33 44",
                "Fermeture",
            ] {
                assert!(!line["raw"].as_str().unwrap().contains(secret), "{line}");
            }
        }
        let booked: Value = serde_json::from_str(got[2]["raw"].as_str().unwrap()).unwrap();
        assert_eq!(
            booked["data"],
            json!({"appointment_id": appointment, "person_id": person, "status": "booked"})
        );
        let cancelled: Value = serde_json::from_str(got[3]["raw"].as_str().unwrap()).unwrap();
        assert_eq!(cancelled["data"]["status"], "cancelled");

        let deliveries = app
            .get(
                &format!("/api/v1/webhooks/{webhook}/deliveries"),
                Some(&s.manager.token),
            )
            .await;
        assert_eq!(deliveries.status, Status::Ok);
        let rows = deliveries.json();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|d| d["status"] == "delivered"));
        assert_eq!(
            rows.iter()
                .find(|d| d["event"] == "appointment.created")
                .unwrap()["attempts"],
            2
        );
        // Not another organisation's business.
        let other = app.staff("manager", "Ailleurs").await;
        assert_eq!(
            app.get(
                &format!("/api/v1/webhooks/{webhook}/deliveries"),
                Some(&other.token)
            )
            .await
            .status,
            Status::NotFound
        );
    }
);

webhook_test!(
    an_unreachable_receiver_ends_dead_and_is_retried_by_hand_without_holding_up_others,
    |app| {
        let receiver = Receiver::start(app.dir.path(), 0);
        let s = setup(&app, "Médiathèque de Wazemmes").await;
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dead = app.post_json("/api/v1/webhooks", &s.manager.token, json!({"url": format!("http://127.0.0.1:{closed}/"), "events": ["appointment.created"], "secret": SECRET})).await.json()["id"].as_i64().unwrap();
        let live = app.post_json("/api/v1/webhooks", &s.manager.token, json!({"url": format!("http://127.0.0.1:{}/", receiver.port), "events": ["appointment.created"], "secret": SECRET})).await.json()["id"].as_i64().unwrap();
        let person = crate::booking::person(&app, &s.mediator.token, "Inès").await;
        book(
            &app,
            &s,
            &s.mediator.token,
            &at(today() + Duration::days(4), "11:00"),
            &[person],
        )
        .await;

        let first = deliver(&app).await;
        assert_eq!((first.claimed, first.delivered, first.failed), (2, 1, 1));
        assert_eq!(deliver(&app).await.failed, 1);
        assert_eq!(
            deliver(&app).await.claimed,
            0,
            "dead after mail_max_attempts (2)"
        );
        assert_eq!(receiver.received().len(), 1);

        let rows = app
            .get(
                &format!("/api/v1/webhooks/{dead}/deliveries"),
                Some(&s.manager.token),
            )
            .await
            .json();
        let row = &rows[0];
        assert_eq!(
            (row["status"].as_str(), row["attempts"].as_i64()),
            (Some("dead"), Some(2))
        );
        assert!(row["last_error"].is_string());
        let delivered = app
            .get(
                &format!("/api/v1/webhooks/{live}/deliveries"),
                Some(&s.manager.token),
            )
            .await
            .json();
        let delivered_id = delivered[0]["id"].as_i64().unwrap();
        assert_eq!(
            app.post_json(
                &format!("/api/v1/webhooks/{live}/deliveries/{delivered_id}/retry"),
                &s.manager.token,
                json!({})
            )
            .await
            .status,
            Status::Conflict
        );
        let retried = app
            .post_json(
                &format!("/api/v1/webhooks/{dead}/deliveries/{}/retry", row["id"]),
                &s.manager.token,
                json!({}),
            )
            .await;
        assert_eq!(retried.status, Status::Ok, "{}", retried.body);
        assert_eq!(retried.json()["status"], "pending");
        assert_eq!(deliver(&app).await.claimed, 1);

        // Stopped: nothing more is written for it.
        assert_eq!(
            app.delete(&format!("/api/v1/webhooks/{live}"), &s.manager.token)
                .await
                .status,
            Status::NoContent
        );
        book(
            &app,
            &s,
            &s.mediator.token,
            &at(today() + Duration::days(5), "11:00"),
            &[person],
        )
        .await;
        assert!(app
            .get("/api/v1/webhooks", Some(&s.manager.token))
            .await
            .json()
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["id"] != live));
        deliver(&app).await;
        assert_eq!(receiver.received().len(), 1);
    }
);

both_backends! {
    async fn private_and_loopback_targets_are_refused_at_subscription_and_at_connection(app) {
        let s = setup(&app, "Espace public numérique").await;
        for url in ["http://127.0.0.1:8080/x", "http://localhost/x", "http://10.0.0.7/x", "http://[::1]/x", "http://169.254.169.254/latest", "ftp://93.184.216.34/x", "pas une adresse"] {
            let r = app.post_json("/api/v1/webhooks", &s.manager.token, json!({"url": url, "events": ["appointment.created"], "secret": SECRET})).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{url}: {}", r.body);
            assert!(r.json()["errors"]["url"].is_array(), "{url}: {}", r.body);
        }
        let r = app.post_json("/api/v1/webhooks", &s.manager.token, json!({"url": "http://93.184.216.34/x", "events": ["appointment.moved"], "secret": "court"})).await;
        assert_eq!(r.status, Status::UnprocessableEntity);
        assert!(r.json()["errors"]["events"].is_array() && r.json()["errors"]["secret"].is_array(), "{}", r.body);
        assert_eq!(app.post_json("/api/v1/webhooks", &s.mediator.token, json!({"url": "http://93.184.216.34/x", "events": ["appointment.created"], "secret": SECRET})).await.status, Status::Forbidden);

        // A target that was public when subscribed and is private now (DNS rebinding; here
        // written straight into the table) is refused when connecting: nothing reaches it.
        let receiver = Receiver::start(app.dir.path(), 0);
        let org = s.manager.user.organisation_id;
        let (creator, url) = (s.manager.user.id, format!("http://127.0.0.1:{}/", receiver.port));
        app.db().run(move |conn| {
            use passerelle::db::schema::webhooks as w;
            diesel::insert_into(w::table).values((w::organisation_id.eq(org), w::created_by.eq(creator), w::url.eq(url), w::events.eq("appointment.created"), w::secret.eq(SECRET), w::created_at.eq(passerelle::db::now()))).execute(conn)?;
            Ok(())
        }).await.unwrap();
        let person = crate::booking::person(&app, &s.mediator.token, "Jade").await;
        book(&app, &s, &s.mediator.token, &at(today() + Duration::days(4), "15:00"), &[person]).await;
        let round = deliver(&app).await;
        assert_eq!((round.claimed, round.failed), (1, 1));
        assert!(receiver.received().is_empty());
        let hooks = app.get("/api/v1/webhooks", Some(&s.manager.token)).await.json();
        let rows = app.get(&format!("/api/v1/webhooks/{}/deliveries", hooks[0]["id"]), Some(&s.manager.token)).await.json();
        assert!(rows[0]["last_error"].as_str().unwrap().contains("privée"), "{rows}");
    }
}

webhook_test!(
    session_logs_equipment_and_anonymisation_are_announced_by_ids_only,
    |app| {
        let receiver = Receiver::start(app.dir.path(), 0);
        let s = setup(&app, "Tiers-lieu numérique").await;
        let all = json!(passerelle::webhooks::EVENTS);
        let r = app.post_json("/api/v1/webhooks", &s.manager.token, json!({"url": format!("http://127.0.0.1:{}/", receiver.port), "events": all, "secret": SECRET})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let (here, away) = (
            crate::booking::person(&app, &s.mediator.token, "Gaëlle").await,
            crate::booking::person(&app, &s.mediator.token, "Hortense").await,
        );
        let past = crate::booking::walk_in(&app, &s, &[here, away], 2, "").await;
        let logged = app
            .post_json(
                &format!("/api/v1/appointments/{past}/log"),
                &s.mediator.token,
                json!({"participants": [
                    {"person_id": here, "attendance": "attended", "duration_minutes": 60},
                    {"person_id": away, "attendance": "no_show"},
                ]}),
            )
            .await;
        assert!(logged.status.code < 300, "{}", logged.body);
        let item = crate::mail::smartphone(&app, &s.manager.token).await;
        let assigned = app.post_json(&format!("/api/v1/equipment/{item}/assign"), &s.manager.token, json!({"person_id": here, "mode": "loan", "handed_over_on": today().to_string(), "due_back_on": (today() + Duration::days(30)).to_string(), "acceptance": "paper_signature"})).await;
        assert_eq!(assigned.status, Status::Created, "{}", assigned.body);
        let back = app
            .post_json(
                &format!("/api/v1/equipment/{item}/return"),
                &s.manager.token,
                json!({"returned_on": today().to_string()}),
            )
            .await;
        assert_eq!(back.status, Status::Ok, "{}", back.body);
        assert_eq!(
            app.delete(&format!("/api/v1/people/{away}"), &s.manager.token)
                .await
                .status,
            Status::NoContent
        );
        while deliver(&app).await.claimed > 0 {}

        let got = receiver.received();
        let find = |event: &str| -> Vec<Value> {
            got.iter()
                .filter(|l| l["event"] == event)
                .map(|l| serde_json::from_str(l["raw"].as_str().unwrap()).unwrap())
                .collect()
        };
        assert_eq!(
            find("participant.attended")[0]["data"],
            json!({"appointment_id": past, "person_id": here, "status": "attended"})
        );
        assert_eq!(
            find("participant.no_show")[0]["data"],
            json!({"appointment_id": past, "person_id": away, "status": "no_show"})
        );
        assert_eq!(
            find("session_log.recorded")[0]["data"]["participants"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            find("equipment.assigned")[0]["data"],
            json!({"equipment_id": item, "person_id": here})
        );
        assert_eq!(
            find("equipment.returned")[0]["data"],
            json!({"equipment_id": item, "person_id": here})
        );
        assert_eq!(
            find("person.anonymised")[0]["data"],
            json!({"person_id": away})
        );
        assert!(got.iter().all(|l| l["signature_ok"] == true));
        for line in &got {
            for secret in ["Gaëlle", "Hortense", "Test"] {
                assert!(!line["raw"].as_str().unwrap().contains(secret), "{line}");
            }
        }
    }
);
