//! The person's language (`fr`, `en`, `ar`) in every email they get and on their printed card;
//! referents and staff read French. And every text the code uses exists in every language.

use crate::smtp_sink::SmtpSink;
use chrono::Duration;
use rocket::http::Status;
use serde_json::json;

use crate::both_backends;
use crate::fixtures::{at, person_with, setup, today, Setup};
use crate::harness::{unescape, Backend, TestApp};
use crate::mail::{read, Parsed};

/// The ids a piece of code or a template names: `t["email-hello"]`, `text(lang, "sms-answer"…`,
/// any string literal of the form `family-word…` whose family is one of the files' families.
fn ids_named_in(source: &str, families: &[String]) -> Vec<String> {
    source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.contains('-')
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !s.ends_with('-')
                && families.iter().any(|f| s.starts_with(&format!("{f}-")))
        })
        .map(str::to_string)
        .collect()
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "tera") {
            out.push(path);
        }
    }
}

#[test]
fn every_text_the_code_uses_exists_in_every_language() {
    use passerelle::i18n::{ids, text, translate, LANGUAGES};
    let french = ids("fr");
    // The same texts in every file, no more, no fewer.
    for lang in LANGUAGES {
        let theirs = ids(lang);
        let missing: Vec<&String> = french.iter().filter(|id| !theirs.contains(id)).collect();
        let extra: Vec<&String> = theirs.iter().filter(|id| !french.contains(id)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "locales/{lang}/passerelle.ftl lacks {missing:?} and has unknown {extra:?}"
        );
    }
    // Each translation uses only the arguments the French text is given: a misspelt `$nmae`
    // would fail to format (and fall back to French).
    let fr_source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/locales/fr/passerelle.ftl"
    ))
    .unwrap();
    for id in &french {
        let line = fr_source
            .lines()
            .find(|l| l.starts_with(&format!("{id} =")))
            .unwrap();
        let args: Vec<String> = line
            .split("{ $")
            .skip(1)
            .filter_map(|rest| rest.split_once(' ').map(|(name, _)| name.to_string()))
            .collect();
        let values: Vec<(String, String)> =
            args.iter().map(|a| (a.clone(), format!("<{a}>"))).collect();
        let given: Vec<(&str, &str)> = values
            .iter()
            .map(|(a, v)| (a.as_str(), v.as_str()))
            .collect();
        let in_french = text("fr", id, &given);
        for lang in LANGUAGES {
            let translated = match translate(lang, id, &given) {
                Ok(Some(t)) => t,
                other => panic!(
                    "{lang}: {id} does not format with the French arguments {args:?}: {other:?}"
                ),
            };
            assert!(!translated.trim().is_empty(), "{lang}: {id} is empty");
            for (_, value) in &values {
                assert!(
                    translated.contains(value.as_str()) || !in_french.contains(value.as_str()),
                    "{lang}: {id} drops {value}: {translated}"
                );
            }
        }
    }
    // Every id the code or a template names is in the files.
    let families: Vec<String> = french
        .iter()
        .filter_map(|id| id.split_once('-').map(|(f, _)| f.to_string()))
        .collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    files_under(&root.join("src"), &mut files);
    files_under(&root.join("templates"), &mut files);
    let mut named = 0;
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for id in ids_named_in(&source, &families) {
            named += 1;
            assert!(
                french.contains(&id),
                "{} names the text {id}, which locales/fr/passerelle.ftl lacks",
                file.display()
            );
        }
    }
    assert!(named > 50, "the scan found only {named} texts named");
    // The ids built from a kind of message.
    for kind in passerelle::mail::compose::KINDS {
        for id in [
            format!("email-{kind}-subject"),
            format!("email-{kind}-subject-referent"),
        ] {
            assert!(french.contains(&id), "{id}");
        }
        if kind != "handover" {
            assert!(french.contains(&format!("sms-{kind}")), "sms-{kind}");
        }
    }
    for (kind, _) in passerelle::equipment::KINDS {
        let id = format!("equipment-{}", kind.replace('_', "-"));
        assert!(french.contains(&id), "{id}");
    }
}

async fn book(app: &TestApp, s: &Setup, start: &str, people: &[i64]) -> i64 {
    let r = app
        .post_json(
            "/api/v1/appointments",
            &s.mediator.token,
            json!({"service_id": s.service_id, "mediator_id": s.mediator.user.id,
                   "place_id": s.place_id, "starts_at": start, "person_ids": people}),
        )
        .await;
    assert_eq!(r.status, Status::Created, "{}", r.body);
    r.json()["id"].as_i64().unwrap()
}

/// The emails the sink received for `address`, oldest first, counted as looked at by `app`.
fn mails_to(app: &TestApp, sink: &SmtpSink, address: &str) -> Vec<Parsed> {
    sink.received()
        .iter()
        .filter(|r| r.to.iter().any(|t| t == address))
        .map(|r| read(app, &r.data))
        .collect()
}

/// A Tuesday at least three days ahead, so that its name is known in every language.
fn next_tuesday() -> chrono::NaiveDate {
    let mut day = today() + Duration::days(3);
    while chrono::Datelike::weekday(&day) != chrono::Weekday::Tue {
        day += Duration::days(1);
    }
    day
}

async fn emails_leg(backend: Backend) {
    let Some((app, sink)) = TestApp::with_smtp(backend, &[]).await else {
        return;
    };
    let s = setup(&app, "Emmaüs Connect").await;
    let english = person_with(&app, &s.mediator.token, json!({"given_name": "Grace", "email": "grace@example.org", "reminder_consent": true, "language": "en"})).await;
    let arabic = person_with(&app, &s.mediator.token, json!({"given_name": "Amina", "email": "amina@example.org", "reminder_consent": true, "language": "ar"})).await;
    // Only a referent to write to: the referent reads French, whatever the person's language.
    let referred = person_with(
        &app,
        &s.mediator.token,
        json!({"given_name": "Yusuf", "language": "ar", "referent_name": "Mme Conseillère",
        "referent_email": "conseillere@mission-locale.example", "referent_consent": true}),
    )
    .await;
    let day = next_tuesday();
    let en_id = book(&app, &s, &at(day, "14:30"), &[english]).await;
    book(&app, &s, &at(day, "10:00"), &[arabic]).await;
    book(&app, &s, &at(day + Duration::days(7), "10:00"), &[referred]).await;
    // A message about something that changed since is dropped: each is sent before the next change.
    app.run_worker().await;
    // Moved, then cancelled: every message the person gets is in English.
    let moved = app
        .post_json(
            &format!("/api/v1/appointments/{en_id}/reschedule"),
            &s.mediator.token,
            json!({"starts_at": at(day, "16:00")}),
        )
        .await;
    assert_eq!(moved.status, Status::Ok, "{}", moved.body);
    app.run_worker().await;
    let cancelled = app
        .post_json(
            &format!("/api/v1/appointments/{en_id}/cancel"),
            &s.mediator.token,
            json!({"by": "structure"}),
        )
        .await;
    assert_eq!(cancelled.status, Status::Ok, "{}", cancelled.body);
    app.run_worker().await;

    let grace = mails_to(&app, &sink, "grace@example.org");
    let subjects: Vec<&str> = grace.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(grace.len(), 3, "{subjects:?}");
    let year = chrono::Datelike::year(&day);
    assert!(
        subjects[0].starts_with("Your appointment: Tuesday ")
            && subjects[0].ends_with(&format!("{year} at 14:30")),
        "{subjects:?}"
    );
    assert!(
        subjects[1].starts_with("Your appointment has moved: Tuesday ")
            && subjects[1].ends_with("at 16:00"),
        "{subjects:?}"
    );
    assert!(
        subjects[2].starts_with("Appointment cancelled: Tuesday"),
        "{subjects:?}"
    );
    let confirmation = &grace[0];
    for part in [&confirmation.text, &unescape(&confirmation.html)] {
        assert!(part.contains("Hello Grace,"), "{part}");
        assert!(part.contains("Your appointment is booked."), "{part}");
        assert!(
            part.contains("Where:") && part.contains("Médiathèque Jean Macé"),
            "{part}"
        );
        assert!(
            part.contains("60 minutes") && part.contains("Please bring:"),
            "{part}"
        );
        assert!(
            !part.contains("Bonjour") && !part.contains("mardi"),
            "{part}"
        );
    }
    assert!(confirmation.html.contains(r#"<html lang="en" dir="ltr">"#));
    assert!(confirmation.html.contains("Confirm or cancel"));
    assert!(confirmation.ics.contains("To confirm or cancel"));
    assert!(grace[1].text.contains("Your appointment has a new time."));
    assert!(
        grace[2].text.contains("Your appointment is cancelled.")
            && grace[2]
                .text
                .contains("call Médiathèque Jean Macé on 03 20 00 00 00"),
        "{}",
        grace[2].text
    );

    let amina = mails_to(&app, &sink, "amina@example.org");
    assert_eq!(amina.len(), 1);
    let mail = &amina[0];
    assert!(
        mail.subject.starts_with("موعدك: الثلاثاء "),
        "{}",
        mail.subject
    );
    assert!(mail.subject.ends_with("الساعة 10:00"), "{}", mail.subject);
    assert!(
        mail.html.contains(r#"<html lang="ar" dir="rtl">"#),
        "{}",
        mail.html
    );
    for part in [&mail.text, &unescape(&mail.html)] {
        assert!(
            part.contains("مرحبا Amina،") && part.contains("تم تسجيل موعدك."),
            "{part}"
        );
        assert!(!part.contains("Bonjour"), "{part}");
    }

    let referent = mails_to(&app, &sink, "conseillere@mission-locale.example");
    assert_eq!(referent.len(), 1);
    assert!(
        referent[0]
            .subject
            .starts_with("Rendez-vous de Yusuf : mardi "),
        "{}",
        referent[0].subject
    );
    assert!(referent[0].html.contains(r#"<html lang="fr" dir="ltr">"#));
    assert!(referent[0]
        .text
        .contains("Votre bénéficiaire Yusuf a un rendez-vous"));
    crate::mail::assert_only_reminders_left(&app, &s.manager.token).await;
}

#[rocket::async_test]
async fn emails_follow_the_persons_language_and_referents_read_french_sqlite() {
    emails_leg(Backend::Sqlite).await
}

#[rocket::async_test]
async fn emails_follow_the_persons_language_and_referents_read_french_postgres() {
    emails_leg(Backend::Postgres).await
}

async fn handover_leg(backend: Backend) {
    let Some((app, sink)) = TestApp::with_smtp(backend, &[]).await else {
        return;
    };
    let mediator = app.staff("mediator", "Emmaüs Connect").await;
    let p = app
        .post_json("/api/v1/people", &mediator.token, json!({"given_name": "Grace", "email": "grace@example.org", "reminder_consent": true, "language": "en"}))
        .await;
    let p = p.json()["id"].as_i64().unwrap();
    let id = crate::fixtures::smartphone(&app, &mediator.token).await;
    let due = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let lent = app
        .post_json(
            &format!("/api/v1/equipment/{id}/assign"),
            &mediator.token,
            json!({"person_id": p, "mode": "loan", "handed_over_on": today().to_string(),
                   "due_back_on": due.to_string(), "acceptance": "email_confirmation"}),
        )
        .await;
    assert_eq!(lent.status, Status::Created, "{}", lent.body);
    app.run_worker().await;
    let mails = mails_to(&app, &sink, "grace@example.org");
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        "The equipment handed to you: please confirm"
    );
    for part in [&mails[0].text, &unescape(&mails[0].html)] {
        assert!(
            part.contains("Emmaüs Connect handed you some equipment."),
            "{part}"
        );
        assert!(
            part.contains("smartphone Galaxy A14") && part.contains("Serial number"),
            "{part}"
        );
        assert!(
            part.contains("It is a loan") && part.contains("Monday 1 March 2027"),
            "{part}"
        );
    }
    // The text part names the page's button as the page does.
    assert!(
        mails[0].text.contains("“I accept the handover”"),
        "{}",
        mails[0].text
    );
    // The page the link opens speaks her language too, and follows it when it changes.
    let link = crate::handovers_mail::handover_link_of(&mails[0]);
    let page = app.get(&link, None).await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    let body = unescape(&page.body);
    assert!(body.contains(r#"<html lang="en" dir="ltr">"#), "{body}");
    for text in [
        "Hello Grace, Emmaüs Connect hands you:",
        "smartphone Galaxy A14",
        "Serial number",
        "It is a loan, handed over on",
        "Monday 1 March 2027",
        "I accept the handover",
    ] {
        assert!(body.contains(text), "{text}: {body}");
    }
    assert!(
        !body.contains("J'accepte") && !body.contains("remis le"),
        "{body}"
    );
    let r = app
        .send_json(
            "PATCH",
            &format!("/api/v1/people/{p}"),
            Some(&mediator.token),
            r#"{"language": "ar"}"#,
        )
        .await;
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let body = unescape(&app.get(&link, None).await.body);
    assert!(
        body.contains(r#"<html lang="ar" dir="rtl">"#) && body.contains("أقبل الاستلام"),
        "{body}"
    );
}

#[rocket::async_test]
async fn a_handover_email_follows_the_persons_language_sqlite() {
    handover_leg(Backend::Sqlite).await
}

#[rocket::async_test]
async fn a_handover_email_follows_the_persons_language_postgres() {
    handover_leg(Backend::Postgres).await
}

both_backends! {
    async fn the_printed_card_follows_the_persons_language(app) {
        let s = setup(&app, "Emmaüs Connect").await;
        let english = person_with(&app, &s.mediator.token, json!({"given_name": "Grace", "language": "en"})).await;
        let arabic = person_with(&app, &s.mediator.token, json!({"given_name": "Amina", "language": "ar"})).await;
        let day = next_tuesday();
        let en_id = book(&app, &s, &at(day, "14:30"), &[english]).await;
        let ar_id = book(&app, &s, &at(day, "10:00"), &[arabic]).await;
        let card = app.page(&format!("/appointments/{en_id}/card?person_id={english}"), &s.mediator.session).await;
        assert_eq!(card.status, Status::Ok);
        assert!(card.body.contains(r#"<html lang="en" dir="ltr">"#), "{}", card.body);
        assert!(card.body.contains("Grace, your appointment") && card.body.contains("Tuesday ") && card.body.contains("at 14:30"), "{}", card.body);
        assert!(card.body.contains("If you cannot come, call:") && !card.body.contains("mardi"), "{}", card.body);
        let card = app.page(&format!("/appointments/{ar_id}/card?person_id={arabic}"), &s.mediator.session).await;
        assert!(card.body.contains(r#"<html lang="ar" dir="rtl">"#), "{}", card.body);
        assert!(card.body.contains("Amina، موعدك") && card.body.contains("الثلاثاء") && card.body.contains("الساعة 10:00"), "{}", card.body);
        // Printed for no one in particular: French.
        let card = app.page(&format!("/appointments/{ar_id}/card"), &s.mediator.session).await;
        assert!(card.body.contains(r#"<html lang="fr" dir="ltr">"#) && card.body.contains("Votre rendez-vous") && card.body.contains("mardi"), "{}", card.body);
    }
}
