//! Email reminders through a real SMTP server (the in-process sink): outbox, recipients, lead
//! times, worker races and failures, the beneficiary's page, the outbox view.

use crate::smtp_sink::SmtpSink;
use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use chrono_tz::Europe::Paris;
use rocket::http::{ContentType, Cookie, Status};
use serde_json::{json, Value};

use crate::fixtures::{at, messages, reachable_person, setup, today, Setup};
use crate::harness::{unescape, Backend, TestApp};

/// A test on both backends with an app sending to its own SMTP server, and more settings.
macro_rules! mail_test {
    ($name:ident, |$app:ident, $sink:ident| $body:block) => {
        mail_test!($name, [], |$app, $sink| $body);
    };
    ($name:ident, [$($k:literal = $v:literal),*], |$app:ident, $sink:ident| $body:block) => {
        $crate::both_backends! {
            async fn $name(($app, $sink): (TestApp, SmtpSink) = |backend| {
                TestApp::with_smtp(backend, &[$(($k, $v)),*])
            }) $body
        }
    };
}

pub(crate) use mail_test;

pub(crate) async fn book_at(app: &TestApp, s: &Setup, start: &str, people: &[i64]) -> Value {
    let r = app
        .post_json(
            "/api/v1/appointments",
            &s.mediator.token,
            json!({
        "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
        "starts_at": start, "person_ids": people, "override_opening_hours": true}),
        )
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()
}

pub(crate) struct Parsed {
    /// The `Message-ID` header, which names the outbox row the email was sent from.
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub ics: String,
}

pub(crate) fn parse(raw: &[u8]) -> Parsed {
    use mail_parser::MimeHeaders;
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a MIME message");
    let address = |a: Option<&mail_parser::Address>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string()
    };
    let ics = message
        .attachments()
        .find(|a| a.attachment_name() == Some("rendez-vous.ics"))
        .map(|a| String::from_utf8_lossy(a.contents()).to_string())
        // Empty when there is none (a handover's email); the appointment tests read its fields.
        .unwrap_or_default();
    Parsed {
        message_id: message.message_id().unwrap_or_default().to_string(),
        from: address(message.from()),
        to: address(message.to()),
        subject: message.subject().unwrap_or_default().to_string(),
        text: message.body_text(0).unwrap_or_default().to_string(),
        html: message.body_html(0).unwrap_or_default().to_string(),
        ics,
    }
}

/// An email the sink received, parsed, counted as looked at by `app` (its outbox row).
pub(crate) fn read(app: &TestApp, raw: &[u8]) -> Parsed {
    let mail = parse(raw);
    app.saw_email(&mail.message_id);
    mail
}

/// Looks at what the worker left unsent: reminders only, waiting for their time or cancelled
/// by a change to their appointment; no other message should be left behind.
pub(crate) async fn assert_only_reminders_left(app: &TestApp, token: &str) {
    for status in ["pending", "cancelled"] {
        let left = messages(app, token, &format!("?status={status}")).await;
        assert!(
            left.iter().all(|m| m["kind"] == "reminder"),
            "{status}: {left:?}"
        );
    }
}

/// Unfolds an ICS and reads its properties (the last value of each name).
fn ics_fields(ics: &str) -> std::collections::HashMap<String, String> {
    let unfolded = ics.replace("\r\n ", "");
    unfolded
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.split(';').next().unwrap().to_string(), v.to_string()))
        .collect()
}

mail_test!(
    a_booking_writes_its_confirmation_and_reminders_and_the_worker_sends_them,
    |app, sink| {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(5);
        let p = reachable_person(&app, &s.mediator.token, "Hélène", "helene@example.org").await;
        let appointment = book_at(&app, &s, &at(day, "14:30"), &[p]).await;
        let written = messages(&app, &s.manager.token, "").await;
        let mut kinds: Vec<(String, String)> = written
            .iter()
            .map(|m| {
                (
                    m["kind"].as_str().unwrap().into(),
                    m["due_at"].as_str().unwrap().into(),
                )
            })
            .collect();
        kinds.sort();
        assert_eq!(kinds.len(), 3, "{written:?}");
        assert_eq!(kinds[0].0, "confirmation");
        assert_eq!(
            kinds[1],
            ("reminder".to_string(), at(day - Duration::days(2), "14:30"))
        );
        assert_eq!(kinds[2], ("reminder".to_string(), at(day, "12:30")));
        assert!(written
            .iter()
            .all(|m| m["recipient"] == "helene@example.org" && m["status"] == "pending"));

        let round = app.run_worker().await;
        assert_eq!(
            (round.claimed, round.sent),
            (1, 1),
            "only the confirmation is due"
        );
        let received = sink.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].to, vec!["helene@example.org".to_string()]);
        let mail = parse(&received[0].data);
        assert_eq!(mail.from, "no-reply@localhost");
        assert_eq!(mail.to, "helene@example.org");
        let words = passerelle::time::LocalTime::in_words(
            &Paris,
            chrono::DateTime::parse_from_rfc3339(&at(day, "14:30"))
                .unwrap()
                .naive_utc(),
        );
        assert!(words.ends_with("à 14 h 30"));
        assert_eq!(mail.subject, format!("Votre rendez-vous : {words}"));
        for part in [&mail.text, &unescape(&mail.html)] {
            assert!(part.contains("Bonjour Hélène"), "{part}");
            assert!(part.contains(&words));
            assert!(part.contains("Médiathèque Jean Macé, 2 rue de la Gare, 59100 Roubaix"));
            assert!(
                part.contains(&format!(
                    "Avec : {}",
                    s.mediator.user.name.split(' ').next().unwrap()
                )) || part.contains("Avec :")
            );
            assert!(part.contains("À apporter"));
            assert!(part.contains("http://127.0.0.1:8000/r/"));
        }
        let ics = ics_fields(&mail.ics);
        assert_eq!(ics["METHOD"], "REQUEST");
        assert!(
            ics["UID"].starts_with(&format!("appointment-{}-", appointment["id"]))
                && ics["UID"].ends_with("@passerelle"),
            "{}",
            ics["UID"]
        );
        assert_eq!(ics["SEQUENCE"], "0");
        let utc = chrono::DateTime::parse_from_rfc3339(&at(day, "14:30"))
            .unwrap()
            .naive_utc();
        assert_eq!(ics["DTSTART"], utc.format("%Y%m%dT%H%M%SZ").to_string());
        assert_eq!(ics["STATUS"], "CONFIRMED");
        let sent = messages(&app, &s.manager.token, "?status=sent").await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0]["attempts"], 1);
        // Nothing more is due: a second round sends nothing.
        assert_eq!(app.run_worker().await.claimed, 0);
        assert_eq!(sink.count(), 1);
    }
);

mail_test!(
    messages_go_to_the_person_then_the_referent_else_onto_the_call_list,
    |app, sink| {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(3);
        let direct = reachable_person(&app, &s.mediator.token, "Ali", "ali@example.org").await;
        let via_referent = app
            .post_json(
                "/api/v1/people",
                &s.mediator.token,
                json!({"given_name": "Binta", "referent_name": "Mme Conseillère",
        "referent_email": "conseillere@mission-locale.example", "referent_consent": true}),
            )
            .await
            .json()["id"]
            .as_i64()
            .unwrap();
        let no_consent = app
            .post_json(
                "/api/v1/people",
                &s.mediator.token,
                json!({"given_name": "Chris", "email": "chris@example.org",
        "reminder_consent": false, "phone": "07 81 22 33 44"}),
            )
            .await
            .json()["id"]
            .as_i64()
            .unwrap();
        for (i, p) in [direct, via_referent, no_consent].iter().enumerate() {
            book_at(&app, &s, &at(day, &format!("{}:00", 9 + 2 * i)), &[*p]).await;
        }
        app.run_worker().await;
        let mut to: Vec<String> = sink.received().iter().map(|r| r.to[0].clone()).collect();
        to.sort();
        assert_eq!(
            to,
            vec!["ali@example.org", "conseillere@mission-locale.example"]
        );
        let referent_mail = sink
            .received()
            .into_iter()
            .find(|r| r.to[0].starts_with("conseillere"))
            .unwrap();
        let parsed = read(&app, &referent_mail.data);
        let ali = sink
            .received()
            .into_iter()
            .find(|r| r.to[0] == "ali@example.org")
            .unwrap();
        let ali = read(&app, &ali.data);
        assert!(
            ali.subject.starts_with("Votre rendez-vous"),
            "{}",
            ali.subject
        );
        // Chris, who did not consent, gets nothing: only reminders are left.
        assert_only_reminders_left(&app, &s.manager.token).await;
        assert!(
            parsed.subject.starts_with("Rendez-vous de Binta"),
            "{}",
            parsed.subject
        );
        assert!(parsed.text.contains("merci de le lui transmettre"));
        // The referent's copy speaks to the referent, of the person; the person's, to her.
        for (text, part) in [(&parsed.text, "text"), (&parsed.html, "html")] {
            let text = crate::harness::unescape(text);
            for wanted in [
                "Votre bénéficiaire Binta",
                "À apporter par Binta",
                "son téléphone",
            ] {
                assert!(text.contains(wanted), "{part}: {wanted:?} in {text}");
            }
            if part == "html" {
                assert!(
                    text.contains("Confirmer ou annuler pour Binta"),
                    "the button: {text}"
                );
                assert!(text.contains("référent·e de Binta"), "the footer: {text}");
            } else {
                assert!(
                    text.contains(
                        "Pour confirmer sa venue, ou nous dire que Binta ne peut pas venir"
                    ),
                    "{text}"
                );
            }
            for unwanted in [
                "votre téléphone",
                "Je confirme ou j'annule",
                "Votre rendez-vous",
            ] {
                assert!(!text.contains(unwanted), "{part}: {unwanted:?} in {text}");
            }
        }
        let persons_own = sink
            .received()
            .into_iter()
            .find(|r| r.to[0] == "ali@example.org")
            .unwrap();
        let persons_own = parse(&persons_own.data);
        assert!(
            persons_own.text.contains("votre téléphone")
                && !persons_own.text.contains("bénéficiaire")
        );
        // Chris gets no email: on the mediator's call list, with the phone number.
        let page = app.page("/to-call", &s.mediator.session).await;
        assert_eq!(page.status, Status::Ok);
        assert!(
            page.body.contains("Chris") && page.body.contains("07 81 22 33 44"),
            "the number as people dial it"
        );
        assert!(!page.body.contains("Ali Martin") && !page.body.contains("Binta"));
        assert!(!page.body.contains("Annulé par la structure"));

        // The structure cancels: Chris, whom no message reaches, stays on the list to be told.
        // Dana cancelled herself: she knows, nobody needs to call her.
        let dana = app
            .post_json(
                "/api/v1/people",
                &s.mediator.token,
                json!({"given_name": "Dana", "phone": "07 81 55 66 77"}),
            )
            .await
            .json()["id"]
            .as_i64()
            .unwrap();
        let chris_appointment = book_at(&app, &s, &at(day, "16:00"), &[no_consent]).await;
        let danas = book_at(&app, &s, &at(day + Duration::days(1), "10:00"), &[dana]).await;
        for (appointment, by) in [(&chris_appointment, "structure"), (&danas, "person")] {
            let r = app
                .post_json(
                    &format!("/api/v1/appointments/{}/cancel", appointment["id"]),
                    &s.mediator.token,
                    json!({"by": by}),
                )
                .await;
            assert_eq!(r.status, Status::Ok, "{}", r.body);
        }
        let page = app.page("/to-call", &s.mediator.session).await;
        let cancelled_row = page
            .body
            .split("<tr>")
            .find(|row| row.contains(&format!("/appointments/{}\"", chris_appointment["id"])))
            .expect("Chris's cancelled appointment is on the call list");
        assert!(
            cancelled_row.contains("Annulé par la structure") && cancelled_row.contains("Chris"),
            "{cancelled_row}"
        );
        assert!(
            !page.body.contains("Dana") && !page.body.contains("07 81 55 66 77"),
            "she cancelled herself"
        );
        assert_eq!(page.body.matches("Annulé par la structure").count(), 1);
    }
);

/// The Monday after the last Sunday of March next year (clocks go forward on that Sunday).
fn monday_after_spring_change() -> NaiveDate {
    let year = today().year() + 1;
    let mut d = NaiveDate::from_ymd_opt(year, 3, 31).unwrap();
    while d.weekday() != chrono::Weekday::Sun {
        d -= Duration::days(1);
    }
    d + Duration::days(1)
}

mail_test!(
    reminder_times_hold_across_daylight_saving_and_short_notice_skips_past_ones,
    |app, sink| {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = reachable_person(&app, &s.mediator.token, "Dina", "dina@example.org").await;
        let monday = monday_after_spring_change();
        book_at(&app, &s, &at(monday, "10:00"), &[p]).await;
        let mut due: Vec<String> = messages(&app, &s.manager.token, "")
            .await
            .iter()
            .filter(|m| m["kind"] == "reminder")
            .map(|m| m["due_at"].as_str().unwrap().to_string())
            .collect();
        due.sort();
        // 48h before is Saturday 10:00 local (winter time), 2h before is Monday 08:00 (summer time).
        assert_eq!(
            due,
            vec![
                format!("{}T10:00:00+01:00", monday - Duration::days(2)),
                format!("{monday}T08:00:00+02:00")
            ]
        );

        // Booked 3 hours ahead: the 48h reminder is already past, the 2h one is not.
        let soon =
            Paris.from_utc_datetime(&(chrono::Utc::now().naive_utc() + Duration::minutes(180)));
        let q = reachable_person(&app, &s.mediator.token, "Eva", "eva@example.org").await;
        let a = book_at(&app, &s, &soon.to_rfc3339(), &[q]).await;
        let of_a: Vec<Value> = messages(&app, &s.manager.token, "")
            .await
            .into_iter()
            .filter(|m| m["appointment_id"] == a["id"])
            .collect();
        let mut kinds: Vec<&str> = of_a.iter().map(|m| m["kind"].as_str().unwrap()).collect();
        kinds.sort();
        assert_eq!(kinds, vec!["confirmation", "reminder"]);
        // Booked 90 minutes ahead: confirmation only.
        let sooner =
            Paris.from_utc_datetime(&(chrono::Utc::now().naive_utc() + Duration::minutes(90)));
        let r = reachable_person(&app, &s.mediator.token, "Fanny", "fanny@example.org").await;
        let b = book_at(&app, &s, &sooner.to_rfc3339(), &[r]).await;
        let of_b: Vec<Value> = messages(&app, &s.manager.token, "")
            .await
            .into_iter()
            .filter(|m| m["appointment_id"] == b["id"])
            .collect();
        assert_eq!(of_b.len(), 1);
        assert_eq!(of_b[0]["kind"], "confirmation");
        app.run_worker().await;
        assert_eq!(sink.count(), 3, "three confirmations");
    }
);

mail_test!(
    rescheduling_replaces_the_reminders_and_cancelling_sends_an_ics_cancel,
    |app, sink| {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(6);
        let p = reachable_person(&app, &s.mediator.token, "Gaëlle", "gaelle@example.org").await;
        let a = book_at(&app, &s, &at(day, "10:00"), &[p]).await;
        let id = a["id"].as_i64().unwrap();
        app.run_worker().await;
        let moved = app
            .post_json(
                &format!("/api/v1/appointments/{id}/reschedule"),
                &s.mediator.token,
                json!({"starts_at": at(day, "15:00")}),
            )
            .await;
        assert_eq!(moved.status, Status::Ok);
        let all = messages(&app, &s.manager.token, "").await;
        let pending_reminders: Vec<&Value> = all
            .iter()
            .filter(|m| m["kind"] == "reminder" && m["status"] == "pending")
            .collect();
        assert_eq!(pending_reminders.len(), 2);
        assert!(
            pending_reminders
                .iter()
                .any(|m| m["due_at"] == at(day, "13:00")),
            "the 2h reminder follows the new time"
        );
        assert_eq!(
            all.iter()
                .filter(|m| m["kind"] == "reminder" && m["status"] == "cancelled")
                .count(),
            2
        );
        app.run_worker().await;
        let notice = parse(&sink.received()[1].data);
        assert!(notice.subject.contains("déplacé"));
        assert!(notice.text.contains("à 15 h"));
        assert_eq!(ics_fields(&notice.ics)["SEQUENCE"], "1");

        let cancelled = app
            .post_json(
                &format!("/api/v1/appointments/{id}/cancel"),
                &s.mediator.token,
                json!({"by": "structure", "reason": "médiateur malade"}),
            )
            .await;
        assert_eq!(cancelled.status, Status::Ok);
        let after = messages(&app, &s.manager.token, "?status=pending").await;
        assert_eq!(
            after.len(),
            1,
            "only the cancellation notice is left to send: {after:?}"
        );
        app.run_worker().await;
        let cancel = parse(&sink.received()[2].data);
        assert!(cancel.subject.starts_with("Rendez-vous annulé"));
        let ics = ics_fields(&cancel.ics);
        assert_eq!(ics["METHOD"], "CANCEL");
        assert_eq!(ics["STATUS"], "CANCELLED");
        assert_eq!(ics["SEQUENCE"], "2");
        assert!(ics["UID"].starts_with(&format!("appointment-{id}-")));
    }
);

mail_test!(
    two_workers_racing_never_send_a_message_twice,
    |app, sink| {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(4);
        for i in 0..30 {
            let p = reachable_person(
                &app,
                &s.mediator.token,
                &format!("R{i}"),
                &format!("r{i}@example.org"),
            )
            .await;
            let hour = 8 + (i / 4);
            let minute = (i % 4) * 15;
            let other = app.staff("mediator", "Emmaüs Connect").await;
            let r = app.post_json("/api/v1/appointments", &s.manager.token, json!({
            "service_id": s.service_id, "mediator_id": other.user.id, "place_id": s.place_id,
            "starts_at": at(day, &format!("{hour:02}:{minute:02}")), "person_ids": [p], "override_opening_hours": true})).await;
            assert_eq!(r.status, Status::Created, "{}", r.body);
        }
        let (a, b) = (app.worker(), app.worker());
        let rounds = rocket::tokio::task::spawn_blocking(move || {
            std::thread::scope(|scope| {
                let first =
                    scope.spawn(|| (0..3).map(|_| a.run_once().unwrap().sent).sum::<usize>());
                let second =
                    scope.spawn(|| (0..3).map(|_| b.run_once().unwrap().sent).sum::<usize>());
                (first.join().unwrap(), second.join().unwrap())
            })
        })
        .await
        .unwrap();
        assert_eq!(rounds.0 + rounds.1, 30);
        let mut recipients: Vec<String> = sink.received().iter().map(|r| r.to[0].clone()).collect();
        recipients.sort();
        recipients.dedup();
        assert_eq!(sink.count(), 30, "no duplicate");
        assert_eq!(recipients.len(), 30);
        assert_eq!(
            messages(&app, &s.manager.token, "?status=sent").await.len(),
            30
        );
        assert_only_reminders_left(&app, &s.manager.token).await;
    }
);

mail_test!(
    a_lease_left_by_a_killed_worker_expires_and_the_message_goes_out,
    ["worker_lease" = "1s"],
    |app, sink| {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = reachable_person(&app, &s.mediator.token, "Hugo", "hugo@example.org").await;
        book_at(&app, &s, &at(today() + Duration::days(2), "11:00"), &[p]).await;
        // A worker claims the confirmation, then dies before sending it.
        let claimed = app
            .db()
            .run(|conn| {
                passerelle::outbox::claim(
                    conn,
                    "killed-worker",
                    10,
                    std::time::Duration::from_secs(1),
                )
            })
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(app.run_worker().await.claimed, 0, "the lease still holds");
        rocket::tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let round = app.run_worker().await;
        assert_eq!((round.claimed, round.sent), (1, 1));
        assert_eq!(sink.count(), 1);
        let confirmation = read(&app, &sink.received()[0].data);
        assert_eq!(confirmation.to, "hugo@example.org");
        assert!(confirmation.subject.starts_with("Votre rendez-vous"));
        assert_only_reminders_left(&app, &s.manager.token).await;
    }
);

mail_test!(
    smtp_down_then_back_loses_nothing,
    ["mail_retry_base" = "1s", "mail_max_attempts" = "3"],
    |app, sink| {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = reachable_person(&app, &s.mediator.token, "Iris", "iris@example.org").await;
        book_at(&app, &s, &at(today() + Duration::days(2), "11:00"), &[p]).await;
        sink.set_down(true);
        let before_round = chrono::Utc::now();
        let round = app.run_worker().await;
        assert_eq!((round.sent, round.failed), (0, 1));
        let pending = messages(&app, &s.manager.token, "?status=pending").await;
        let confirmation = pending
            .iter()
            .find(|m| m["kind"] == "confirmation")
            .unwrap();
        assert_eq!(confirmation["attempts"], 1);
        assert!(confirmation["last_error"].as_str().unwrap().len() > 3);
        // Backed off: due again one retry base (1 s) after the failure, not at once. (Read from
        // its due time: asking the worker again is a race on a loaded machine.)
        let due =
            chrono::DateTime::parse_from_rfc3339(confirmation["due_at"].as_str().unwrap()).unwrap();
        let earliest = before_round.timestamp() + 1;
        assert!(
            due.timestamp() >= earliest,
            "due {due}, failed after {before_round}"
        );
        sink.set_down(false);
        rocket::tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert_eq!(app.run_worker().await.sent, 1);
        assert_eq!(sink.count(), 1);

        // Past the last attempt a message is dead, shown with a retry button, and can be retried.
        let q = reachable_person(&app, &s.mediator.token, "Jade", "jade@example.org").await;
        book_at(&app, &s, &at(today() + Duration::days(2), "14:00"), &[q]).await;
        sink.set_down(true);
        for _ in 0..3 {
            app.run_worker().await;
            rocket::tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
        }
        let dead = messages(&app, &s.manager.token, "?status=dead").await;
        assert_eq!(
            dead.len(),
            1,
            "{:?}",
            messages(&app, &s.manager.token, "").await
        );
        let page = app.page("/messages?status=dead", &s.manager.session).await;
        assert!(page
            .body
            .contains(&format!("/messages/{}/retry", dead[0]["id"])));
        // The filter says statuses in French, the chosen one selected.
        let text = crate::harness::unescape(&page.body);
        assert!(
            text.contains(r#"<option value="dead" selected>échec définitif</option>"#),
            "{text}"
        );
        assert!(
            text.contains(">à envoyer</option>") && !text.contains(">pending<"),
            "{text}"
        );
        assert_eq!(
            app.page("/messages", &s.mediator.session).await.status,
            Status::Forbidden
        );
        assert_eq!(
            app.get("/api/v1/messages", Some(&s.mediator.token))
                .await
                .status,
            Status::Forbidden
        );
        sink.set_down(false);
        let retry = app
            .post_form(
                &format!("/messages/{}/retry", dead[0]["id"]),
                Some(&s.manager.session),
                &[("csrf_token", &s.manager.csrf)],
            )
            .await;
        assert_eq!(retry.status, Status::SeeOther);
        assert_eq!(app.run_worker().await.sent, 1);
        assert_eq!(sink.count(), 2);
        assert_only_reminders_left(&app, &s.manager.token).await;
    }
);

/// The personal link from the email.
pub(crate) fn link_of(mail: &Parsed) -> String {
    path_in(mail, "/r/")
}

/// The first path in the email's text that starts with `prefix` (a personal link's `/r/`, a
/// handover's `/h/`).
pub(crate) fn path_in(mail: &Parsed, prefix: &str) -> String {
    let start = mail
        .text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in the email"));
    mail.text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

mail_test!(
    the_beneficiary_confirms_or_cancels_from_the_link,
    |app, sink| {
        let s = setup(&app, "Emmaüs Connect").await;
        let day = today() + Duration::days(3);
        let people = [
            reachable_person(&app, &s.mediator.token, "Karim", "karim@example.org").await,
            reachable_person(&app, &s.mediator.token, "Léa", "lea@example.org").await,
            reachable_person(&app, &s.mediator.token, "Malik", "malik@example.org").await,
        ];
        let w = app
            .post_json(
                "/api/v1/appointments",
                &s.mediator.token,
                json!({
        "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
        "starts_at": at(day, "14:00"), "capacity": 2, "person_ids": people}),
            )
            .await
            .json();
        let id = w["id"].as_i64().unwrap();
        app.run_worker().await;
        assert_eq!(
            sink.count(),
            2,
            "the two booked people; the waitlisted one gets nothing yet"
        );
        let mails: Vec<Parsed> = sink
            .received()
            .iter()
            .map(|r| read(&app, &r.data))
            .collect();
        let karim = mails.iter().find(|m| m.to == "karim@example.org").unwrap();
        let lea = mails.iter().find(|m| m.to == "lea@example.org").unwrap();

        let page = app.get(&link_of(karim), None).await;
        assert_eq!(page.status, Status::Ok);
        assert!(page.body.len() < 30_000, "{} bytes", page.body.len());
        assert!(
            page.body.contains("Je confirme ma venue")
                && page.body.contains("Je ne peux pas venir")
        );
        assert!(!page.body.contains("<script"));
        assert!(unescape(&page.body).contains("2 rue de la Gare"));
        assert_eq!(
            beneficiary_post(&app, &format!("{}/confirm", link_of(karim)), &page).await,
            Status::SeeOther
        );
        assert!(app
            .get(&link_of(karim), None)
            .await
            .body
            .contains("vous avez confirmé"));
        let stored = app
            .get(
                &format!("/api/v1/appointments/{id}"),
                Some(&s.mediator.token),
            )
            .await
            .json();
        assert_eq!(stored["participants"][0]["confirmed"], true);

        // Léa cannot come: her seat goes to Malik, who is told.
        assert_eq!(
            beneficiary_post(&app, &format!("{}/cancel", link_of(lea)), &page).await,
            Status::SeeOther
        );
        let stored = app
            .get(
                &format!("/api/v1/appointments/{id}"),
                Some(&s.mediator.token),
            )
            .await
            .json();
        let statuses: Vec<&str> = stored["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, vec!["booked", "excused", "booked"]);
        app.run_worker().await;
        let told: Vec<Parsed> = sink.received()[2..]
            .iter()
            .map(|r| read(&app, &r.data))
            .collect();
        let malik = told
            .iter()
            .find(|m| m.to == "malik@example.org")
            .expect("Malik is told");
        assert!(malik.subject.starts_with("Une place s'est libérée"));
        let mut recipients: Vec<&str> = told.iter().map(|m| m.to.as_str()).collect();
        recipients.sort();
        assert_eq!(
            recipients,
            ["lea@example.org", "malik@example.org"],
            "Léa's cancellation and Malik's seat"
        );
        assert_only_reminders_left(&app, &s.manager.token).await;
        assert!(app
            .get(&link_of(lea), None)
            .await
            .body
            .contains("vous ne venez pas"));
        // A POST without the form's token is refused.
        let forged = app
            .client
            .post(format!("{}/cancel", link_of(karim)))
            .header(ContentType::Form)
            .body("csrf_token=x")
            .dispatch()
            .await;
        assert_eq!(forged.status(), Status::Forbidden);

        // A wrong or expired link gets a kind page.
        let wrong = app.get("/r/abc.def", None).await;
        assert_eq!(wrong.status, Status::NotFound);
        assert!(wrong.body.contains("Ce lien ne fonctionne pas"));
        let key = app.config().secret_key;
        let expired = passerelle::mail::links::sign(
            &key,
            1,
            chrono::Utc::now().naive_utc() - Duration::hours(1),
        );
        let gone = app.get(&format!("/r/{expired}"), None).await;
        assert_eq!(gone.status, Status::Gone);
        assert!(unescape(&gone.body).contains("n'est plus valable"));
    }
);

#[rocket::async_test]
async fn by_default_emails_are_written_as_eml_files_in_the_data_dir() {
    let app = TestApp::new(Backend::Sqlite).await.unwrap();
    let s = setup(&app, "Emmaüs Connect").await;
    let p = reachable_person(&app, &s.mediator.token, "Nina", "nina@example.org").await;
    book_at(&app, &s, &at(today() + Duration::days(2), "10:00"), &[p]).await;
    assert_eq!(app.run_worker().await.sent, 1);
    let dir = app.dir.path().join("data").join("mail");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let mail = parse(&std::fs::read(files[0].path()).unwrap());
    assert_eq!(mail.to, "nina@example.org");
}

mail_test!(a_stopping_worker_releases_what_it_claimed, |app, sink| {
    let s = setup(&app, "Emmaüs Connect").await;
    for (i, name) in ["Olga", "Pia", "Quentin"].iter().enumerate() {
        let p = reachable_person(
            &app,
            &s.mediator.token,
            name,
            &format!("{}@example.org", name.to_lowercase()),
        )
        .await;
        book_at(
            &app,
            &s,
            &at(today() + Duration::days(2), &format!("{}:00", 9 + 2 * i)),
            &[p],
        )
        .await;
    }
    // Shutdown was asked: the round sends nothing and gives every claimed message back.
    let worker = app.worker();
    worker.stop();
    let round = rocket::tokio::task::spawn_blocking(move || worker.run_once().unwrap())
        .await
        .unwrap();
    assert_eq!((round.claimed, round.sent, round.released), (3, 0, 3));
    assert_eq!(sink.count(), 0);
    let pending = messages(&app, &s.manager.token, "?status=pending").await;
    assert_eq!(
        pending
            .iter()
            .filter(|m| m["kind"] == "confirmation")
            .count(),
        3,
        "released, not stuck in sending"
    );
    // Another worker sends them at once, no lease to wait for.
    assert_eq!(app.run_worker().await.sent, 3);
});

/// A form posted from a beneficiary's page (no session: the pre-session cookie's token).
pub(crate) async fn beneficiary_post(
    app: &TestApp,
    path: &str,
    page: &crate::harness::Response,
) -> Status {
    let csrf = page
        .cookie(passerelle::auth::PRE_SESSION_CSRF_COOKIE)
        .expect("the page sets the form's cookie");
    app.client
        .post(path.to_string())
        .header(ContentType::Form)
        .cookie(Cookie::new(
            passerelle::auth::PRE_SESSION_CSRF_COOKIE,
            csrf.clone(),
        ))
        .body(format!("csrf_token={csrf}"))
        .dispatch()
        .await
        .status()
}
