//! Webhooks: signed deliveries to a real receiver process, in order, retried, dead and retried
//! by hand; SSRF refusals at subscription and at connection time.

use std::io::BufRead;

use chrono::Duration;
use diesel::prelude::*;
use rocket::http::Status;
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, book, setup, today};
use crate::harness::{Backend, TestApp};

pub const SECRET: &str = "s3cret-de-test-webhook";

/// The receiver process (tests/it/webhook_receiver.py), killed when dropped.
pub struct Receiver {
    child: std::process::Child,
    pub port: u16,
    log: std::path::PathBuf,
}

impl Receiver {
    /// Listens on a free port; refuses the first `fail_first` deliveries with a 500.
    pub fn start(dir: &std::path::Path, fail_first: u32) -> Receiver {
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

    /// The deliveries received so far, as their JSON bodies.
    pub fn received(&self) -> Vec<Value> {
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

async fn deliver(app: &TestApp) -> passerelle::delivery::Round {
    run_round(webhook_worker(app)).await
}

fn webhook_worker(app: &TestApp) -> passerelle::webhooks::worker::WebhookWorker {
    passerelle::webhooks::worker::WebhookWorker::new(app.db().clone(), app.config()).unwrap()
}

async fn run_round(
    worker: passerelle::webhooks::worker::WebhookWorker,
) -> passerelle::delivery::Round {
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

/// A test on both backends with an app that may post to loopback receivers.
macro_rules! webhook_test {
    ($name:ident, |$app:ident| $body:block) => {
        $crate::both_backends! {
            async fn $name($app: TestApp = app_allowing_private) $body
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
        assert_eq!(deliver(&app).await.sent, 1);
        assert_eq!(deliver(&app).await.sent, 1);
        let cancel = app
            .post_json(
                &format!("/api/v1/appointments/{appointment}/cancel"),
                &s.mediator.token,
                json!({"by": "structure", "reason": "Fermeture"}),
            )
            .await;
        assert_eq!(cancel.status, Status::Ok, "{}", cancel.body);
        assert_eq!(deliver(&app).await.sent, 1);
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
    a_stopping_webhook_worker_gives_back_what_it_claimed_and_posts_nothing,
    |app| {
        let receiver = Receiver::start(app.dir.path(), 0);
        let s = setup(&app, "Espace numérique de Roubaix").await;
        let webhook = app.post_json("/api/v1/webhooks", &s.manager.token, json!({"url": format!("http://127.0.0.1:{}/", receiver.port), "events": ["appointment.created"], "secret": SECRET})).await.json()["id"].as_i64().unwrap();
        for (i, name) in ["Olga", "Pia"].iter().enumerate() {
            let person = crate::fixtures::person(&app, &s.mediator.token, name).await;
            book(
                &app,
                &s,
                &s.mediator.token,
                &at(today() + Duration::days(3), &format!("{}:00", 9 + 2 * i)),
                &[person],
            )
            .await;
        }
        // Shutdown was asked: the round posts nothing and gives every claimed delivery back.
        let worker = webhook_worker(&app);
        worker.stop();
        let round = run_round(worker).await;
        assert_eq!((round.claimed, round.sent, round.released), (2, 0, 2));
        assert!(receiver.received().is_empty());
        let rows = app
            .get(
                &format!("/api/v1/webhooks/{webhook}/deliveries"),
                Some(&s.manager.token),
            )
            .await
            .json();
        let statuses: Vec<_> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["status"].as_str().unwrap().to_string(),
                    r["attempts"].as_i64(),
                )
            })
            .collect();
        assert_eq!(
            statuses,
            vec![("pending".to_string(), Some(0)); 2],
            "given back, not stuck in sending nor counted as an attempt"
        );
        // Another worker posts them at once, with no lease to wait for.
        assert_eq!(deliver(&app).await.sent, 2);
        assert_eq!(receiver.received().len(), 2);
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
        let person = crate::fixtures::person(&app, &s.mediator.token, "Inès").await;
        book(
            &app,
            &s,
            &s.mediator.token,
            &at(today() + Duration::days(4), "11:00"),
            &[person],
        )
        .await;

        let first = deliver(&app).await;
        assert_eq!((first.claimed, first.sent, first.failed), (2, 1, 1));
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
        let person = crate::fixtures::person(&app, &s.mediator.token, "Jade").await;
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
            crate::fixtures::person(&app, &s.mediator.token, "Gaëlle").await,
            crate::fixtures::person(&app, &s.mediator.token, "Hortense").await,
        );
        let past = crate::fixtures::walk_in(&app, &s, &[here, away], 2, "").await;
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
        let item = crate::fixtures::smartphone(&app, &s.manager.token).await;
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

/// A subscription made from the webhooks page (as `staff`), with this secret (empty: drawn by
/// the server); the page answered.
async fn subscribe_from_page(
    app: &TestApp,
    session: &str,
    url: &str,
    secret: &str,
) -> crate::harness::Response {
    let csrf = app.csrf_of(session).await;
    app.post_form(
        "/webhooks",
        Some(session),
        &[
            ("csrf_token", &csrf),
            ("url", url),
            ("events", "appointment.created"),
            ("events", "appointment.cancelled"),
            ("secret", secret),
        ],
    )
    .await
}

async fn first_webhook(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/webhooks", Some(token)).await.json()[0]["id"]
        .as_i64()
        .unwrap()
}

webhook_test!(
    the_deliveries_page_shows_a_dead_delivery_whose_retry_button_gets_it_delivered,
    |app| {
        // The receiver refuses the first two posts: with mail_max_attempts = 2, dead.
        let receiver = Receiver::start(app.dir.path(), 2);
        let s = setup(&app, "Maison France services").await;
        let session = &s.manager.session;
        let list = app.page("/webhooks", session).await;
        assert_eq!(list.status, Status::Ok);
        assert!(list.body.contains("Aucun webhook"), "{}", list.body);
        let url = format!("http://127.0.0.1:{}/recu", receiver.port);
        let made = subscribe_from_page(&app, session, &url, SECRET).await;
        assert_eq!(made.status, Status::Ok, "{}", made.body);
        let webhook = first_webhook(&app, &s.manager.token).await;
        let page_url = format!("/webhooks/{webhook}/deliveries");

        let person = crate::fixtures::person(&app, &s.mediator.token, "Solène").await;
        book(
            &app,
            &s,
            &s.mediator.token,
            &at(today() + Duration::days(4), "10:00"),
            &[person],
        )
        .await;
        assert_eq!(deliver(&app).await.failed, 1);
        assert_eq!(deliver(&app).await.failed, 1);
        assert_eq!(deliver(&app).await.claimed, 0);

        let page = app.page(&page_url, session).await;
        assert_eq!(page.status, Status::Ok);
        let text = crate::harness::unescape(&page.body);
        for shown in [
            "rendez-vous créé",
            "appointment.created",
            "abandonné",
            "réponse HTTP 500",
            "Relancer",
            &url,
        ] {
            assert!(text.contains(shown), "{shown} missing: {text}");
        }
        assert!(!text.contains(SECRET));
        // The list counts it too.
        assert!(app
            .page("/webhooks", session)
            .await
            .body
            .contains("1 abandonné"));
        // Filters: none delivered yet; a status that does not exist is refused by name.
        let delivered = app
            .page(&format!("{page_url}?status=delivered"), session)
            .await;
        assert!(
            delivered.body.contains("Aucun envoi avec ce statut"),
            "{}",
            delivered.body
        );
        assert!(app
            .page(&format!("{page_url}?status=dead"), session)
            .await
            .body
            .contains("Relancer"));
        let refused = app.page(&format!("{page_url}?status=perdu"), session).await;
        assert_eq!(refused.status, Status::UnprocessableEntity);
        assert!(
            crate::harness::unescape(&refused.body).contains("Statut inconnu"),
            "{}",
            refused.body
        );

        let delivery = app
            .get(
                &format!("/api/v1/webhooks/{webhook}/deliveries"),
                Some(&s.manager.token),
            )
            .await
            .json()[0]["id"]
            .as_i64()
            .unwrap();
        let retry_url = format!("{page_url}/{delivery}/retry");
        // A form without the session's token changes nothing.
        assert_eq!(
            app.post_form(&retry_url, Some(session), &[("csrf_token", "faux")])
                .await
                .status,
            Status::Forbidden
        );
        // Not for a mediator, nor for another organisation's manager (it does not exist there).
        let csrf = app.csrf_of(&s.mediator.session).await;
        assert_eq!(
            app.post_form(
                &retry_url,
                Some(&s.mediator.session),
                &[("csrf_token", &csrf)]
            )
            .await
            .status,
            Status::Forbidden
        );
        assert_eq!(
            app.page(&page_url, &s.mediator.session).await.status,
            Status::Forbidden
        );
        let other = app.staff("manager", "Autre structure").await;
        let csrf = app.csrf_of(&other.session).await;
        assert_eq!(
            app.post_form(&retry_url, Some(&other.session), &[("csrf_token", &csrf)])
                .await
                .status,
            Status::NotFound
        );
        assert_eq!(
            app.page(&page_url, &other.session).await.status,
            Status::NotFound
        );
        assert!(!app
            .page("/webhooks", &other.session)
            .await
            .body
            .contains(&url));
        assert_eq!(
            app.get(
                &format!("/api/v1/webhooks/{webhook}/deliveries"),
                Some(&s.manager.token)
            )
            .await
            .json()[0]["status"],
            "dead"
        );

        let csrf = app.csrf_of(session).await;
        let retried = app
            .post_form(&retry_url, Some(session), &[("csrf_token", &csrf)])
            .await;
        assert_eq!(retried.status, Status::SeeOther, "{}", retried.body);
        assert_eq!(retried.header("Location"), Some(page_url.as_str()));
        let waiting = crate::harness::unescape(&app.page(&page_url, session).await.body);
        assert!(
            waiting.contains("à envoyer") && !waiting.contains("Relancer"),
            "{waiting}"
        );

        // The worker sends it again: same delivery id, and the receiver takes it.
        assert_eq!(deliver(&app).await.sent, 1);
        let got = receiver.received();
        assert_eq!(
            got.iter()
                .map(|l| l["status"].as_u64().unwrap())
                .collect::<Vec<_>>(),
            [500, 500, 200]
        );
        assert!(got
            .iter()
            .all(|l| l["signature_ok"] == true && l["delivery"] == got[0]["delivery"]));
        let done = crate::harness::unescape(
            &app.page(&format!("{page_url}?status=delivered"), session)
                .await
                .body,
        );
        assert!(
            done.contains("remis") && done.contains("rendez-vous créé"),
            "{done}"
        );

        // Retrying what is not dead: the page again, saying why; nothing changes.
        let again = app
            .post_form(&retry_url, Some(session), &[("csrf_token", &csrf)])
            .await;
        assert_eq!(again.status, Status::Conflict, "{}", again.body);
        let again = crate::harness::unescape(&again.body);
        assert!(
            again.contains("Seul un envoi abandonné (dead) se relance.") && again.contains(&url),
            "{again}"
        );
        assert_eq!(deliver(&app).await.claimed, 0);
        assert_eq!(receiver.received().len(), 3);
    }
);

webhook_test!(
    a_paused_webhook_gets_nothing_until_resumed_and_a_page_made_secret_is_shown_once,
    |app| {
        let receiver = Receiver::start(app.dir.path(), 0);
        let s = setup(&app, "Point numerique").await;
        let session = &s.manager.session;
        let url = format!("http://127.0.0.1:{}/", receiver.port);

        // Bad input: the form again, each message by its field, nothing written.
        let csrf = app.csrf_of(session).await;
        let bad = app
            .post_form(
                "/webhooks",
                Some(session),
                &[
                    ("csrf_token", &csrf),
                    ("url", "ftp://exemple.fr/x"),
                    ("events", "appointment.moved"),
                    ("secret", "court"),
                ],
            )
            .await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        let text = crate::harness::unescape(&bad.body);
        for shown in [
            "id=\"url-error\"",
            "id=\"events-error\"",
            "id=\"secret-error\"",
            "ftp://exemple.fr/x",
        ] {
            assert!(text.contains(shown), "{shown} missing: {text}");
        }
        assert!(app
            .get("/api/v1/webhooks", Some(&s.manager.token))
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty());
        // Mediators do not manage webhooks.
        assert_eq!(
            app.page("/webhooks", &s.mediator.session).await.status,
            Status::Forbidden
        );

        // No secret typed: one is drawn, shown on the answer only, and signs the deliveries.
        let made = subscribe_from_page(&app, session, &url, "").await;
        assert_eq!(made.status, Status::Ok, "{}", made.body);
        let start = made
            .body
            .find("<code class=\"secret\">")
            .expect("the secret is shown")
            + "<code class=\"secret\">".len();
        let secret = made.body[start..start + 48].to_string();
        assert!(secret.chars().all(|c| c.is_ascii_hexdigit()), "{secret}");
        assert!(made.body.contains("il ne sera plus affiché"));
        let list = app.page("/webhooks", session).await.body;
        assert!(!list.contains(&secret) && list.contains("actif"), "{list}");
        let webhook = first_webhook(&app, &s.manager.token).await;
        let stored: String = app
            .db()
            .run(move |conn| {
                use passerelle::db::schema::webhooks as w;
                Ok(w::table
                    .find(webhook as i32)
                    .select(w::secret)
                    .first(conn)?)
            })
            .await
            .unwrap();
        assert_eq!(stored, secret);

        let person = crate::fixtures::person(&app, &s.mediator.token, "Maëlys").await;
        let first = book(
            &app,
            &s,
            &s.mediator.token,
            &at(today() + Duration::days(3), "09:00"),
            &[person],
        )
        .await
        .json()["id"]
            .as_i64()
            .unwrap();
        // Paused: the delivery already written waits, and nothing new is written.
        let csrf = app.csrf_of(session).await;
        let paused = app
            .post_form(
                &format!("/webhooks/{webhook}/disable"),
                Some(session),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(paused.status, Status::SeeOther);
        assert!(app
            .page("/webhooks", session)
            .await
            .body
            .contains("en pause depuis le"));
        assert!(app
            .get("/api/v1/webhooks", Some(&s.manager.token))
            .await
            .json()[0]["disabled_at"]
            .is_string());
        assert_eq!(deliver(&app).await.claimed, 0);
        let cancel = app
            .post_json(
                &format!("/api/v1/appointments/{first}/cancel"),
                &s.mediator.token,
                json!({"by": "structure"}),
            )
            .await;
        assert_eq!(cancel.status, Status::Ok, "{}", cancel.body);
        let rows = app
            .get(
                &format!("/api/v1/webhooks/{webhook}/deliveries"),
                Some(&s.manager.token),
            )
            .await
            .json();
        assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
        assert!(receiver.received().is_empty());

        // Resumed: the one waiting goes out.
        let resumed = app
            .post_form(
                &format!("/webhooks/{webhook}/enable"),
                Some(session),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(resumed.status, Status::SeeOther);
        assert_eq!(deliver(&app).await.sent, 1);
        let got = receiver.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["event"], "appointment.created");
        // Signed with the drawn secret (not the receiver's usual one).
        let raw = got[0]["raw"].as_str().unwrap();
        assert_eq!(got[0]["signature_ok"], false);
        assert_eq!(
            got[0]["signature"],
            passerelle::webhooks::worker::signature(&secret, raw)
        );

        // Deleted from the page: gone from the list and the API, nothing more sent.
        let other = app.staff("manager", "Ailleurs").await;
        let their_csrf = app.csrf_of(&other.session).await;
        assert_eq!(
            app.post_form(
                &format!("/webhooks/{webhook}/delete"),
                Some(&other.session),
                &[("csrf_token", &their_csrf)]
            )
            .await
            .status,
            Status::NotFound
        );
        let deleted = app
            .post_form(
                &format!("/webhooks/{webhook}/delete"),
                Some(session),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(deleted.status, Status::SeeOther);
        assert!(!app
            .page("/webhooks", session)
            .await
            .body
            .contains(&url.replace('/', "&#x2F;")));
        assert!(app
            .get("/api/v1/webhooks", Some(&s.manager.token))
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty());
        book(
            &app,
            &s,
            &s.mediator.token,
            &at(today() + Duration::days(5), "09:00"),
            &[person],
        )
        .await;
        assert_eq!(deliver(&app).await.claimed, 0);
        assert_eq!(receiver.received().len(), 1);
    }
);

webhook_test!(webhook_times_carry_the_configured_offset, |app| {
    let receiver = Receiver::start(app.dir.path(), 0);
    let s = setup(&app, "Centre social Lazare Garreau").await;
    let r = app.post_json("/api/v1/webhooks", &s.manager.token, json!({"url": format!("http://127.0.0.1:{}/", receiver.port), "events": ["appointment.created", "equipment.assigned"], "secret": SECRET})).await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    let webhook = r.json()["id"].as_i64().unwrap();
    let paris = |text: &str| {
        let t = chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|_| panic!("{text}"));
        let offset = chrono::Offset::fix(
            chrono::TimeZone::from_utc_datetime(&chrono_tz::Europe::Paris, &t.naive_utc()).offset(),
        );
        assert!(!text.ends_with('Z'), "{text} is in UTC");
        assert_eq!(*t.offset(), offset, "{text}");
    };
    paris(r.json()["created_at"].as_str().unwrap());

    let person = crate::fixtures::person(&app, &s.mediator.token, "Zoé").await;
    let starts_at = at(today() + Duration::days(4), "10:00");
    let booked = book(&app, &s, &s.mediator.token, &starts_at, &[person])
        .await
        .json();
    let item = crate::fixtures::smartphone(&app, &s.manager.token).await;
    let assigned = app.post_json(&format!("/api/v1/equipment/{item}/assign"), &s.manager.token, json!({"person_id": person, "mode": "donation", "handed_over_on": today().to_string(), "acceptance": "paper_signature"})).await;
    assert_eq!(assigned.status, Status::Created, "{}", assigned.body);
    while deliver(&app).await.claimed > 0 {}

    let got = receiver.received();
    assert_eq!(got.len(), 2, "{got:?}");
    for line in &got {
        let body: Value = serde_json::from_str(line["raw"].as_str().unwrap()).unwrap();
        paris(body["occurred_at"].as_str().unwrap());
        if body["event"] == "appointment.created" {
            // As the API gives them.
            assert_eq!(body["data"]["starts_at"], starts_at);
            assert_eq!(body["data"]["starts_at"], booked["starts_at"]);
            assert_eq!(body["data"]["ends_at"], booked["ends_at"]);
        }
    }
    let rows = app
        .get(
            &format!("/api/v1/webhooks/{webhook}/deliveries"),
            Some(&s.manager.token),
        )
        .await
        .json();
    for row in rows.as_array().unwrap() {
        paris(row["created_at"].as_str().unwrap());
        paris(row["due_at"].as_str().unwrap());
        paris(row["delivered_at"].as_str().unwrap());
    }
});
