//! Handovers by email, through a real SMTP server (the in-process sink): the link sent to the
//! person or their referent, the person's click that records the handover, and personal
//! links that never open the other kind of page.

use chrono::Duration;
use rocket::http::{ContentType, Status};
use serde_json::{json, Value};

use crate::fixtures::{at, messages, reachable_person, setup, smartphone, today};
use crate::harness::{unescape, TestApp};
use crate::mail::{
    assert_only_reminders_left, beneficiary_post, book_at, link_of, mail_test, parse, read, Parsed,
};
use crate::smtp_sink::SmtpSink;

/// The path of the handover link in an email.
pub fn handover_link_of(mail: &Parsed) -> String {
    crate::mail::path_in(mail, "/h/")
}

mail_test!(
    a_handover_accepted_by_email_sends_a_link_and_the_persons_click_records_it,
    |app, sink| {
        let mediator = app.staff("mediator", "Emmaüs Connect").await;
        let manager = app.staff("manager", "Emmaüs Connect").await;
        let admin = app.staff("admin", "Département").await;
        let p = reachable_person(&app, &mediator.token, "Hélène", "helene@example.org").await;
        let id = smartphone(&app, &mediator.token).await;
        let day = today();
        let due = day + Duration::days(90);
        let lent = app
            .post_json(
                &format!("/api/v1/equipment/{id}/assign"),
                &mediator.token,
                json!({"person_id": p, "mode": "loan", "handed_over_on": day.to_string(),
                       "due_back_on": due.to_string(), "acceptance": "email_confirmation"}),
            )
            .await;
        assert_eq!(lent.status, Status::Created, "{}", lent.body);

        // Written with the handover, waiting for the person.
        let written = messages(&app, &manager.token, "").await;
        assert_eq!(written.len(), 1, "{written:?}");
        assert_eq!(written[0]["kind"], "handover");
        assert_eq!(written[0]["recipient"], "helene@example.org");
        assert_eq!(written[0]["appointment_id"], Value::Null);
        assert!(written[0]["assignment_id"].is_number());
        let shown = app
            .get(&format!("/api/v1/equipment/{id}"), Some(&mediator.token))
            .await
            .json();
        assert_eq!(
            shown["current_assignment"]["acceptance_status"],
            "awaiting_email"
        );
        assert_eq!(shown["current_assignment"]["accepted_at"], Value::Null);
        let item_page = app
            .page(&format!("/equipment/{id}"), &mediator.session)
            .await;
        assert!(item_page
            .body
            .contains("en attente de confirmation par e-mail"));
        let person_page = app.page(&format!("/people/{p}"), &mediator.session).await;
        assert!(person_page
            .body
            .contains("en attente de confirmation par e-mail"));

        // The real SMTP server receives a French email naming the item, the loan and the link.
        let round = app.run_worker().await;
        assert_eq!((round.claimed, round.sent), (1, 1));
        let received = sink.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].to, vec!["helene@example.org".to_string()]);
        let mail = parse(&received[0].data);
        assert_eq!(
            mail.subject,
            "Le matériel qui vous est remis : merci de confirmer"
        );
        assert!(mail.ics.is_empty(), "no calendar invitation");
        let due_words = passerelle::time::date_in_words(due);
        for part in [&mail.text, &unescape(&mail.html)] {
            assert!(part.contains("Bonjour Hélène"), "{part}");
            assert!(part.contains("Emmaüs Connect vous a remis du matériel"));
            assert!(part.contains("smartphone Galaxy A14"));
            assert!(
                part.contains("IMEI : 352099001761481")
                    || part.contains("IMEI :</strong> 352099001761481"),
                "{part}"
            );
            assert!(part.contains("R58T-1"));
            assert!(part.contains("prêt"));
            assert!(part.contains(&due_words), "{part}");
            assert!(part.contains("http://127.0.0.1:8000/h/"));
        }
        let link = handover_link_of(&mail);
        assert!(!link.contains("/r/"));

        let page = app.get(&link, None).await;
        assert_eq!(page.status, Status::Ok);
        let text = unescape(&page.body);
        assert!(text.contains("J'accepte la remise") && text.contains("Galaxy A14"));
        assert!(text.contains(&due_words) && text.contains("prêt"));
        assert!(!page.body.contains("<script"));

        // Without the form's token the acceptance is refused.
        let forged = app
            .client
            .post(format!("{link}/accept"))
            .header(ContentType::Form)
            .body("csrf_token=x")
            .dispatch()
            .await;
        assert_eq!(forged.status(), Status::Forbidden);
        let still = app
            .get(&format!("/api/v1/equipment/{id}"), Some(&mediator.token))
            .await
            .json();
        assert_eq!(
            still["current_assignment"]["acceptance_status"],
            "awaiting_email"
        );

        assert_eq!(
            beneficiary_post(&app, &format!("{link}/accept"), &page).await,
            Status::SeeOther
        );
        let accepted = app.get(&link, None).await;
        assert_eq!(accepted.status, Status::Ok);
        let text = unescape(&accepted.body);
        assert!(text.contains("vous avez accepté la remise le"), "{text}");
        assert!(!text.contains("J'accepte la remise"));
        // Pressing again is harmless.
        assert_eq!(
            beneficiary_post(&app, &format!("{link}/accept"), &accepted).await,
            Status::SeeOther
        );

        let shown = app
            .get(&format!("/api/v1/equipment/{id}"), Some(&mediator.token))
            .await
            .json();
        let current = &shown["current_assignment"];
        assert_eq!(current["acceptance_status"], "accepted");
        assert_eq!(current["acceptance"], "email_confirmation");
        assert_eq!(current["accepted_by_name"], "Hélène");
        assert!(current["accepted_at"]
            .as_str()
            .unwrap()
            .starts_with(&day.to_string()[..4]));
        let actions: Vec<&str> = shown["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, vec!["created", "loaned", "accepted"], "once");
        assert_eq!(shown["history"][2]["actor_id"], Value::Null);
        assert_eq!(shown["history"][2]["person_id"], p);
        let held = app
            .get(
                &format!("/api/v1/people/{p}/equipment"),
                Some(&mediator.token),
            )
            .await
            .json();
        assert_eq!(held[0]["acceptance_status"], "accepted");
        let audit = app
            .get(
                &format!("/api/v1/audit?entity=equipment&entity_id={id}"),
                Some(&admin.token),
            )
            .await
            .json();
        let accept = audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "accept")
            .collect::<Vec<_>>();
        assert_eq!(accept.len(), 1, "{audit}");
        assert_eq!(accept[0]["actor_id"], Value::Null);
        let today_fr = passerelle::french::date_in_words(day);
        for path in [format!("/equipment/{id}"), format!("/people/{p}")] {
            let page = app.page(&path, &mediator.session).await;
            assert!(
                unescape(&page.body).contains(&format!("acceptée par e-mail le {today_fr}")),
                "{path}"
            );
        }
        assert!(app
            .page(&format!("/equipment/{id}"), &mediator.session)
            .await
            .body
            .contains("remise acceptée"));
        assert_eq!(app.run_worker().await.claimed, 0);

        // Once the item is back, the link says so kindly.
        let back = app
            .post_json(
                &format!("/api/v1/equipment/{id}/return"),
                &mediator.token,
                json!({"returned_on": day.to_string()}),
            )
            .await;
        assert_eq!(back.status, Status::Ok);
        let gone = app.get(&link, None).await;
        assert_eq!(gone.status, Status::Gone);
        assert!(unescape(&gone.body).contains("Ce matériel a été rendu"));
        assert_eq!(
            beneficiary_post(&app, &format!("{link}/accept"), &page).await,
            Status::Gone
        );
    }
);

mail_test!(
    a_handover_by_email_goes_to_the_referent_or_is_refused_without_any_address,
    |app, sink| {
        let mediator = app.staff("mediator", "Emmaüs Connect").await;
        let manager = app.staff("manager", "Emmaüs Connect").await;
        let id = smartphone(&app, &mediator.token).await;
        let assign = |person: i64| {
            let (path, token) = (
                format!("/api/v1/equipment/{id}/assign"),
                mediator.token.clone(),
            );
            let app = &app;
            async move {
                app.post_json(
                    &path,
                    &token,
                    json!({"person_id": person, "mode": "donation",
                    "handed_over_on": today().to_string(), "acceptance": "email_confirmation"}),
                )
                .await
            }
        };
        // No email, or an email without consent and no referent: refused, nothing written.
        let nobody = crate::fixtures::person(&app, &mediator.token, "Sans").await;
        let unwilling = app
            .post_json("/api/v1/people", &mediator.token, json!({"given_name": "Théo", "email": "theo@example.org", "reminder_consent": false}))
            .await
            .json()["id"]
            .as_i64()
            .unwrap();
        for person in [nobody, unwilling] {
            let refused = assign(person).await;
            assert_eq!(
                refused.status,
                Status::UnprocessableEntity,
                "{}",
                refused.body
            );
            let message = refused.json()["errors"]["acceptance"][0]
                .as_str()
                .unwrap()
                .to_string();
            assert!(message.contains("Aucune adresse e-mail"), "{message}");
            assert!(message.contains("fiche papier") && message.contains("taper son nom"));
        }
        let item = app
            .get(&format!("/api/v1/equipment/{id}"), Some(&mediator.token))
            .await
            .json();
        assert_eq!(item["status"], "in_stock");
        assert!(messages(&app, &manager.token, "").await.is_empty());
        // The page's form says the same.
        let form = app
            .post_form(
                &format!("/equipment/{id}/assign"),
                Some(&mediator.session),
                &[
                    ("csrf_token", &mediator.csrf),
                    ("person_id", &nobody.to_string()),
                    ("mode", "donation"),
                    ("handed_over_on", &today().to_string()),
                    ("acceptance", "email_confirmation"),
                ],
            )
            .await;
        assert_eq!(form.status, Status::UnprocessableEntity);
        assert!(unescape(&form.body).contains("Aucune adresse e-mail"));

        // A referent who agreed to receive messages gets the link on the person's behalf.
        let referred = app
            .post_json("/api/v1/people", &mediator.token, json!({"given_name": "Ulysse",
                "referent_name": "Mme Roux", "referent_email": "roux@mission-locale.example", "referent_consent": true}))
            .await
            .json()["id"]
            .as_i64()
            .unwrap();
        assert_eq!(assign(referred).await.status, Status::Created);
        let written = messages(&app, &manager.token, "").await;
        assert_eq!(written.len(), 1);
        assert_eq!(written[0]["recipient"], "roux@mission-locale.example");
        assert_eq!(written[0]["recipient_kind"], "referent");
        assert_eq!(app.run_worker().await.sent, 1);
        let mail = parse(&sink.received()[0].data);
        assert_eq!(mail.subject, "Matériel remis à Ulysse : merci de confirmer");
        assert!(mail.text.contains("Merci de lui transmettre ce message"));
        assert!(mail.text.contains("C'est un don"));
        let link = handover_link_of(&mail);
        let page = app.get(&link, None).await;
        assert_eq!(
            beneficiary_post(&app, &format!("{link}/accept"), &page).await,
            Status::SeeOther
        );
        let shown = app
            .get(&format!("/api/v1/equipment/{id}"), Some(&mediator.token))
            .await
            .json();
        assert_eq!(
            shown["current_assignment"]["accepted_by_name"],
            "par e-mail"
        );

        // A handover returned before its email went out: the email is dropped, not sent.
        let back = app
            .post_json(
                &format!("/api/v1/equipment/{id}/return"),
                &mediator.token,
                json!({"returned_on": today().to_string()}),
            )
            .await;
        assert_eq!(back.status, Status::Ok);
        let again = reachable_person(&app, &mediator.token, "Vera", "vera@example.org").await;
        assert_eq!(assign(again).await.status, Status::Created);
        let back = app
            .post_json(
                &format!("/api/v1/equipment/{id}/return"),
                &mediator.token,
                json!({"returned_on": today().to_string()}),
            )
            .await;
        assert_eq!(back.status, Status::Ok);
        let round = app.run_worker().await;
        assert_eq!((round.claimed, round.sent), (1, 0));
        assert_eq!(sink.count(), 1);
        let cancelled = messages(&app, &manager.token, "?status=cancelled").await;
        assert_eq!(cancelled.len(), 1);
        assert_eq!(cancelled[0]["kind"], "handover");
    }
);

mail_test!(
    an_appointment_link_never_opens_a_handover_and_a_handover_link_never_an_appointment,
    |app, sink| {
        let s = setup(&app, "Emmaüs Connect").await;
        let p = reachable_person(&app, &s.mediator.token, "Wanda", "wanda@example.org").await;
        book_at(&app, &s, &at(today() + Duration::days(3), "10:00"), &[p]).await;
        let id = smartphone(&app, &s.mediator.token).await;
        let lent = app
            .post_json(&format!("/api/v1/equipment/{id}/assign"), &s.mediator.token,
                json!({"person_id": p, "mode": "donation", "handed_over_on": today().to_string(), "acceptance": "email_confirmation"}))
            .await;
        assert_eq!(lent.status, Status::Created, "{}", lent.body);
        assert_eq!(app.run_worker().await.sent, 2);
        let mails: Vec<Parsed> = sink
            .received()
            .iter()
            .map(|r| read(&app, &r.data))
            .collect();
        assert_only_reminders_left(&app, &s.manager.token).await;
        let appointment = mails.iter().find(|m| !m.ics.is_empty()).unwrap();
        let handover = mails.iter().find(|m| m.ics.is_empty()).unwrap();
        let r_token = link_of(appointment).trim_start_matches("/r/").to_string();
        let h_token = handover_link_of(handover)
            .trim_start_matches("/h/")
            .to_string();
        assert_eq!(
            app.get(&format!("/r/{r_token}"), None).await.status,
            Status::Ok
        );
        assert_eq!(
            app.get(&format!("/h/{h_token}"), None).await.status,
            Status::Ok
        );

        let crossed = app.get(&format!("/h/{r_token}"), None).await;
        assert_eq!(crossed.status, Status::NotFound);
        assert!(crossed.body.contains("Ce lien ne fonctionne pas"));
        let page = app.get(&format!("/h/{h_token}"), None).await;
        assert_eq!(
            beneficiary_post(&app, &format!("/h/{r_token}/accept"), &page).await,
            Status::NotFound
        );
        let crossed = app.get(&format!("/r/{h_token}"), None).await;
        assert_eq!(crossed.status, Status::NotFound);
        assert_eq!(
            beneficiary_post(&app, &format!("/r/{h_token}/confirm"), &page).await,
            Status::NotFound
        );
        // Nothing was accepted or confirmed by the crossed tokens.
        let shown = app
            .get(&format!("/api/v1/equipment/{id}"), Some(&s.mediator.token))
            .await
            .json();
        assert_eq!(
            shown["current_assignment"]["acceptance_status"],
            "awaiting_email"
        );
        // An expired handover link gets a kind page too.
        let expired = passerelle::mail::links::sign_for(
            &app.config().secret_key,
            passerelle::mail::links::Purpose::Handover,
            1,
            chrono::Utc::now().naive_utc() - Duration::hours(1),
        );
        let gone = app.get(&format!("/h/{expired}"), None).await;
        assert_eq!(gone.status, Status::Gone);
        assert!(unescape(&gone.body).contains("n'est plus valable"));
    }
);
