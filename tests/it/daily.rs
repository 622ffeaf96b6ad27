//! The mediators' daily pages (issue 16): people chosen by name, never by record number; the
//! person at the centre; the home page as today's work; forms that keep what was typed; safe
//! actions asked for on a page first, and saved changes that say so.

use chrono::{Duration, Timelike};
use chrono_tz::Europe::Paris;
use rocket::http::Status;
use serde_json::json;

use crate::both_backends;
use crate::fixtures::{at, book, person_with, setup, today, walk_in, Setup};
use crate::harness::{post, unescape, TestApp};

async fn appointments_of(app: &TestApp, s: &Setup) -> Vec<serde_json::Value> {
    app.get(
        &format!("/api/v1/appointments?from={}", today() - Duration::days(30)),
        Some(&s.manager.token),
    )
    .await
    .json()
    .as_array()
    .unwrap()
    .clone()
}

both_backends! {
    async fn an_individual_booking_with_nobody_chosen_is_refused_with_every_error_at_once(app) {
        let s = setup(&app, "Espace Numérique").await;
        let start = at(today() + Duration::days(2), "10:00");
        let long_title = "t".repeat(121);
        let ids = (s.service_id.to_string(), s.mediator.user.id.to_string(), s.place_id.to_string());
        let fields = [
            ("service_id", ids.0.as_str()), ("mediator_id", ids.1.as_str()), ("place_id", ids.2.as_str()),
            ("starts_at", start.as_str()), ("title", long_title.as_str()),
        ];
        // The bug: an unticked search result used to book an empty individual appointment.
        let refused = post(&app, "/appointments", &s.mediator.session, &s.mediator.csrf, &fields).await;
        assert_eq!(refused.status, Status::UnprocessableEntity, "{}", refused.body);
        let body = unescape(&refused.body);
        assert!(body.contains("un rendez-vous individuel ne peut pas être pris pour personne"), "{body}");
        assert!(body.contains("120 caractères au plus."), "a too-long title says so: {body}");
        // The RGAA summary at the top links to each field, and each error sits by its field.
        assert!(body.contains("Le formulaire contient 2 erreurs"), "{body}");
        assert!(body.contains("href=\"#person_id\"") && body.contains("href=\"#title\""), "{body}");
        assert!(body.contains("id=\"person_id-error\"") && body.contains("id=\"title-error\""), "{body}");
        // What was typed is kept: the title, and the time as a local date and time.
        assert!(body.contains(&format!("value=\"{long_title}\"")));
        let local = chrono::DateTime::parse_from_rfc3339(&start).unwrap().with_timezone(&Paris).format("%Y-%m-%dT%H:%M").to_string();
        assert!(body.contains(&format!("value=\"{local}\"")), "{local} kept in the datetime-local field");
        assert!(appointments_of(&app, &s).await.is_empty(), "nothing booked");

        // A new person's contact typed without a first name is not silently dropped.
        let half = post(&app, "/appointments", &s.mediator.session, &s.mediator.csrf, &[
            ("service_id", ids.0.as_str()), ("mediator_id", ids.1.as_str()), ("place_id", ids.2.as_str()),
            ("starts_at", start.as_str()), ("new_phone", "06 12 34 56 78"),
        ]).await;
        assert_eq!(half.status, Status::UnprocessableEntity);
        assert!(unescape(&half.body).contains("Le prénom (ou un pseudonyme) est obligatoire pour créer la fiche."));
        assert!(half.body.contains("value=\"06 12 34 56 78\""));
        assert!(appointments_of(&app, &s).await.is_empty());

        // A workshop may open with nobody yet: people enrol later.
        let workshop = s.workshop_id.to_string();
        let opened = post(&app, "/appointments", &s.mediator.session, &s.mediator.csrf, &[
            ("service_id", workshop.as_str()), ("mediator_id", ids.1.as_str()), ("place_id", ids.2.as_str()),
            ("starts_at", start.as_str()), ("title", "Atelier courriel"),
        ]).await;
        assert_eq!(opened.status, Status::SeeOther, "{}", opened.body);
        let page = app.page(opened.header("location").unwrap(), &s.mediator.session).await;
        assert!(page.body.contains("Le rendez-vous est enregistré."));
    }
}

both_backends! {
    async fn the_picker_finds_people_by_name_phone_or_email_without_accents_in_the_organisation_only(app) {
        let s = setup(&app, "Espace Numérique").await;
        let other = app.staff("manager", "Autre Structure").await;
        let helene = person_with(&app, &s.manager.token, json!({"given_name": "Hélène", "family_name": "Dupré", "birth_year": 1961,
            "postal_code": "59100", "city": "Roubaix", "phone": "06 12 34 56 78", "email": "helene.dupre@example.org"})).await;
        let namesake = person_with(&app, &other.token, json!({"given_name": "Hélène", "family_name": "Dupré", "city": "Lille"})).await;
        let workshop = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(today() + Duration::days(3), "14:00"), "title": "Atelier"})).await;
        let workshop = workshop.json()["id"].as_i64().unwrap();
        let item = app.post_json("/api/v1/equipment", &s.manager.token, json!({"kind": "tablet", "model": "Tab"})).await.json()["id"].as_i64().unwrap();
        for page in ["/appointments/new".to_string(), format!("/appointments/{workshop}"), format!("/equipment/{item}")] {
            for q in ["helene dupre", "HÉLÈNE", "06 12 34 56 78", "0612345678", "helene.dupre@example"] {
                let url = format!("{page}?q={}", crate::harness::urlencode(q));
                let r = app.page(&url, &s.mediator.session).await;
                assert_eq!(r.status, Status::Ok, "{url}: {}", r.body);
                assert!(r.body.contains(&format!("id=\"person-{helene}\"")), "{url} offers her");
                assert!(r.body.contains("1961") && r.body.contains("Roubaix"), "{url} tells namesakes apart");
                assert!(!r.body.contains(&format!("id=\"person-{namesake}\"")) && !r.body.contains("Lille"), "{url} shows another organisation's person");
            }
            let none = app.page(&format!("{page}?q=Zorglub"), &s.mediator.session).await;
            assert!(unescape(&none.body).contains("Personne ne correspond à « Zorglub » : créez sa fiche ci-dessous."));
            assert!(none.body.contains("id=\"new_given_name\""), "create this person, inline");
            assert!(!none.body.contains("Numéro de la fiche"), "no record number to type");
        }
    }
}

both_backends! {
    async fn a_person_picked_by_name_is_enrolled_and_handed_the_equipment(app) {
        let s = setup(&app, "Espace Numérique").await;
        let karim = person_with(&app, &s.manager.token, json!({"given_name": "Karim", "family_name": "Ziani"})).await.to_string();
        let workshop = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(today() + Duration::days(3), "14:00"), "title": "Atelier"})).await.json()["id"].as_i64().unwrap();
        let path = format!("/appointments/{workshop}/participants");

        // Nobody chosen: the page again, the error by the choice, nothing written.
        let nobody = post(&app, &path, &s.mediator.session, &s.mediator.csrf, &[]).await;
        assert_eq!(nobody.status, Status::UnprocessableEntity);
        assert!(unescape(&nobody.body).contains("Choisissez la personne dans la liste"), "{}", nobody.body);
        // Both a person and a new one: which one was meant is asked, with the typed name kept.
        let both = post(&app, &path, &s.mediator.session, &s.mediator.csrf, &[("person_id", &karim), ("new_given_name", "Inès")]).await;
        assert_eq!(both.status, Status::UnprocessableEntity);
        assert!(unescape(&both.body).contains("pas les deux") && both.body.contains("value=\"Inès\""));

        let enrolled = post(&app, &path, &s.mediator.session, &s.mediator.csrf, &[("person_id", &karim)]).await;
        assert_eq!(enrolled.status, Status::SeeOther, "{}", enrolled.body);
        assert_eq!(enrolled.header("location"), Some(format!("/appointments/{workshop}?ok=enrolled").as_str()));
        let page = app.page(enrolled.header("location").unwrap(), &s.mediator.session).await;
        assert!(page.body.contains("La personne est inscrite.") && page.body.contains("Karim Ziani"));

        // Someone new, created on the spot; a bad email keeps both the fiche and the seat out.
        let bad = post(&app, &path, &s.mediator.session, &s.mediator.csrf, &[("new_given_name", "Inès"), ("new_email", "pas-un-email")]).await;
        assert_eq!(bad.status, Status::UnprocessableEntity);
        assert!(bad.body.contains("Adresse e-mail invalide.") && bad.body.contains("value=\"pas-un-email\""));
        assert!(app.get("/api/v1/people?q=ines", Some(&s.mediator.token)).await.json().as_array().unwrap().is_empty());
        let created = post(&app, &path, &s.mediator.session, &s.mediator.csrf, &[("new_given_name", "Inès"), ("new_family_name", "Morel")]).await;
        assert_eq!(created.status, Status::SeeOther, "{}", created.body);
        let participants = app.get(&format!("/api/v1/appointments/{workshop}"), Some(&s.mediator.token)).await.json()["participants"].clone();
        assert_eq!(participants.as_array().unwrap().len(), 2, "{participants}");

        // The handover: every error at once (no person, a date that is not one), values kept.
        let item = app.post_json("/api/v1/equipment", &s.manager.token, json!({"kind": "tablet", "model": "Tab"})).await.json()["id"].as_i64().unwrap();
        let assign = format!("/equipment/{item}/assign");
        let refused = post(&app, &assign, &s.mediator.session, &s.mediator.csrf, &[
            ("mode", "loan"), ("handed_over_on", "hier"), ("due_back_on", "2030-06-30"), ("acceptance", "paper_signature"),
        ]).await;
        assert_eq!(refused.status, Status::UnprocessableEntity, "{}", refused.body);
        let body = unescape(&refused.body);
        assert!(body.contains("Le formulaire contient 2 erreurs"), "{body}");
        assert!(body.contains("id=\"person_id-error\"") && body.contains("id=\"handed_over_on-error\""), "{body}");
        assert!(body.contains("value=\"2030-06-30\"") && body.contains("<option value=\"loan\" selected>"), "values kept: {body}");
        assert_eq!(app.get(&format!("/api/v1/equipment/{item}"), Some(&s.mediator.token)).await.json()["status"], "in_stock");

        let handed = post(&app, &assign, &s.mediator.session, &s.mediator.csrf, &[
            ("person_id", &karim), ("mode", "donation"), ("handed_over_on", &today().to_string()), ("acceptance", "paper_signature"),
        ]).await;
        assert_eq!(handed.status, Status::SeeOther, "{}", handed.body);
        let page = app.page(handed.header("location").unwrap(), &s.mediator.session).await;
        assert!(unescape(&page.body).contains("La remise est enregistrée.") && page.body.contains("Karim Ziani"));
        let person_page = app.page(&format!("/people/{karim}"), &s.mediator.session).await;
        assert!(person_page.body.contains(&format!("/equipment/{item}")), "her equipment on her page");
    }
}

both_backends! {
    async fn cancelling_changing_an_items_status_and_anonymising_ask_on_a_page_first(app) {
        let s = setup(&app, "Espace Numérique").await;
        let lea = person_with(&app, &s.manager.token, json!({"given_name": "Léa", "family_name": "Martin"})).await;
        let booked = book(&app, &s, &s.mediator.token, &at(today() + Duration::days(2), "10:00"), &[lea]).await;
        let id = booked.json()["id"].as_i64().unwrap();

        // A move typed wrong keeps what was typed, and says what a time looks like.
        let moved = post(&app, &format!("/appointments/{id}/reschedule"), &s.mediator.session, &s.mediator.csrf, &[("starts_at_local", "2026-13-45T25:00")]).await;
        assert_eq!(moved.status, Status::UnprocessableEntity);
        assert!(unescape(&moved.body).contains("Date et heure attendues (jj/mm/aaaa hh:mm).") && moved.body.contains("value=\"2026-13-45T25:00\""), "{}", moved.body);
        assert!(moved.body.contains("id=\"starts_at_local-error\""));

        // The appointment page only links to the confirmation; the confirmation says what happens.
        let show = app.page(&format!("/appointments/{id}"), &s.mediator.session).await;
        assert!(show.body.contains(&format!("href=\"/appointments/{id}/cancel\"")));
        assert!(!show.body.contains(&format!("action=\"/appointments/{id}/cancel\"")), "no one-click cancel");
        let ask = app.page(&format!("/appointments/{id}/cancel"), &s.mediator.session).await;
        assert_eq!(ask.status, Status::Ok);
        let text = unescape(&ask.body);
        assert!(text.contains("Léa Martin") && text.contains("seront prévenues") && text.contains("ne peut pas être défaite"), "{text}");
        assert_eq!(appointments_of(&app, &s).await[0]["status"], "planned", "asking changes nothing");
        let too_long = "r".repeat(201);
        let refused = post(&app, &format!("/appointments/{id}/cancel"), &s.mediator.session, &s.mediator.csrf, &[("by", "person"), ("reason", &too_long)]).await;
        assert_eq!(refused.status, Status::UnprocessableEntity);
        assert!(refused.body.contains("200 caractères au plus.") && refused.body.contains("value=\"person\" checked"));
        let done = post(&app, &format!("/appointments/{id}/cancel"), &s.mediator.session, &s.mediator.csrf, &[("by", "structure"), ("reason", "Fermeture")]).await;
        assert_eq!(done.header("location"), Some(format!("/appointments/{id}?ok=cancelled").as_str()));
        let after = app.page(done.header("location").unwrap(), &s.mediator.session).await;
        assert!(unescape(&after.body).contains("Le rendez-vous est annulé ; les personnes inscrites sont prévenues."));
        assert_eq!(appointments_of(&app, &s).await[0]["status"], "cancelled");

        // An item: the status select preselects nothing, "perdu" least of all.
        let item = app.post_json("/api/v1/equipment", &s.manager.token, json!({"kind": "tablet", "model": "Tab"})).await.json()["id"].as_i64().unwrap();
        let r = app.post_json(&format!("/api/v1/equipment/{item}/assign"), &s.mediator.token, json!({"person_id": lea, "mode": "loan",
            "handed_over_on": today().to_string(), "due_back_on": (today() + Duration::days(30)).to_string(), "acceptance": "paper_signature"})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let page = unescape(&app.page(&format!("/equipment/{item}"), &s.mediator.session).await.body);
        let select = &page[page.find("<select id=\"status\"").unwrap()..];
        let select = &select[..select.find("</select>").unwrap()];
        assert!(select.contains("<option value=\"\">— choisir —</option>") && !select.contains("selected"), "{select}");
        assert!(select.find("value=\"\"").unwrap() < select.find("value=\"lost\"").unwrap());
        let ask = app.page(&format!("/equipment/{item}/status?status=lost&note=oubli%C3%A9"), &s.mediator.session).await;
        assert_eq!(ask.status, Status::Ok);
        let text = unescape(&ask.body);
        assert!(text.contains("« perdu »") && text.contains("La remise à Léa Martin sera close"), "{text}");
        assert_eq!(app.get(&format!("/api/v1/equipment/{item}"), Some(&s.mediator.token)).await.json()["status"], "assigned");
        let none = post(&app, &format!("/equipment/{item}/status"), &s.mediator.session, &s.mediator.csrf, &[("status", "")]).await;
        assert_eq!(none.status, Status::UnprocessableEntity);
        assert!(none.body.contains("Choisissez le nouveau statut."));
        let set = post(&app, &format!("/equipment/{item}/status"), &s.mediator.session, &s.mediator.csrf, &[("status", "lost"), ("note", "oublié")]).await;
        assert_eq!(set.header("location"), Some(format!("/equipment/{item}?ok=status").as_str()));
        assert!(unescape(&app.page(set.header("location").unwrap(), &s.mediator.session).await.body).contains("Le statut est enregistré."));
        assert_eq!(app.get(&format!("/api/v1/equipment/{item}"), Some(&s.mediator.token)).await.json()["status"], "lost");

        // Anonymising: the page says what is erased and kept; the person page links to it.
        let person_page = app.page(&format!("/people/{lea}"), &s.manager.session).await;
        assert!(person_page.body.contains(&format!("href=\"/people/{lea}/erase\"")));
        assert!(!person_page.body.contains(&format!("action=\"/people/{lea}/erase\"")));
        let ask = app.page(&format!("/people/{lea}/erase"), &s.manager.session).await;
        assert_eq!(ask.status, Status::Ok);
        let text = unescape(&ask.body);
        assert!(text.contains("Anonymiser Léa Martin ?") && text.contains("Les statistiques sont conservées"), "{text}");
        assert_eq!(app.page(&format!("/people/{lea}/erase"), &s.mediator.session).await.status, Status::Forbidden);
        let erased = post(&app, &format!("/people/{lea}/erase"), &s.manager.session, &s.manager.csrf, &[("confirm", "true")]).await;
        assert_eq!(erased.header("location"), Some(format!("/people/{lea}?ok=erased").as_str()));
        let after = unescape(&app.page(erased.header("location").unwrap(), &s.manager.session).await.body);
        assert!(after.contains("La personne est anonymisée.") && !after.contains("Léa Martin"));
    }
}

both_backends! {
    async fn the_person_page_shows_her_appointments_equipment_skills_and_messages(app) {
        let s = setup(&app, "Espace Numérique").await;
        let sofia = person_with(&app, &s.manager.token, json!({"given_name": "Sofia", "family_name": "Haddad",
            "email": "sofia@example.org", "reminder_consent": true})).await;
        let upcoming = book(&app, &s, &s.mediator.token, &at(today() + Duration::days(4), "15:00"), &[sofia]).await.json()["id"].as_i64().unwrap();
        let past = walk_in(&app, &s, &[sofia], 20, "").await;
        let skill = |level: i64| json!({"participants": [{"person_id": sofia, "attendance": "attended", "duration_minutes": 60,
            "skills": [{"skill_code": "C2", "level": level}]}]});
        let r = app.post_json(&format!("/api/v1/appointments/{past}/log"), &s.mediator.token, skill(1)).await;
        assert!(r.status.code < 300, "{}", r.body);
        let later = walk_in(&app, &s, &[sofia], 5, "").await;
        let r = app.post_json(&format!("/api/v1/appointments/{later}/log"), &s.mediator.token, skill(3)).await;
        assert!(r.status.code < 300, "{}", r.body);

        let page = app.page(&format!("/people/{sofia}"), &s.mediator.session).await;
        assert_eq!(page.status, Status::Ok);
        let text = unescape(&page.body);
        let upcoming_at = text.find("Rendez-vous à venir").unwrap();
        let past_at = text.find("Rendez-vous passés").unwrap();
        let upcoming_link = text.find(&format!("/appointments/{upcoming}\"")).unwrap();
        assert!(upcoming_at < upcoming_link && upcoming_link < past_at, "the booked one is upcoming");
        assert!(text[past_at..].contains(&format!("/appointments/{past}\"")) && text[past_at..].contains("venu·e"), "attendance shown");
        // Latest first among the past ones.
        assert!(text.find(&format!("/appointments/{later}\"")).unwrap() < text.find(&format!("/appointments/{past}\"")).unwrap());
        // First level → current level, with their dates.
        let first_day = passerelle::french::date_in_words(today() - Duration::days(20));
        let last_day = passerelle::french::date_in_words(today() - Duration::days(5));
        assert!(text.contains(&format!("le {first_day}")) && text.contains(&format!("le {last_day}")), "{text}");
        assert!(text.contains("1 → 3") && text.contains("(progrès)"));
        // Her messages: the booking's confirmation, by email.
        let messages = &text[text.find("<h2>Messages</h2>").unwrap()..];
        assert!(messages.contains("confirmation") && messages.contains("e-mail"), "{messages}");
        // "Prendre rendez-vous" opens the booking form with her chosen.
        let link = format!("/appointments/new?person_id={sofia}");
        assert!(text.contains(&format!("href=\"{link}\"")));
        let form = app.page(&link, &s.mediator.session).await;
        assert!(form.body.contains(&format!("id=\"person-{sofia}\" name=\"person_id\" value=\"{sofia}\" checked")), "{}", form.body);
        // Another organisation's manager sees nothing of her.
        let other = app.staff("manager", "Autre Structure").await;
        assert_eq!(app.page(&format!("/people/{sofia}"), &other.session).await.status, Status::NotFound);
        let foreign = app.page(&link, &other.session).await;
        assert!(!foreign.body.contains("Sofia"), "not offered to another organisation");
    }
}

both_backends! {
    async fn the_agenda_names_the_people_and_the_home_page_lists_todays_work(app) {
        let s = crate::public::public_setup(&app).await;
        let nadia = person_with(&app, &s.manager.token, json!({"given_name": "Nadia", "family_name": "Benali", "email": "nadia@example.org", "reminder_consent": true})).await;
        let omar = person_with(&app, &s.manager.token, json!({"given_name": "Omar", "family_name": "Diallo", "phone": "03 20 00 00 01"})).await;
        // Today, now (a drop-in session, whatever the hour), with Nadia; Omar, whom no message reaches, in two days.
        let now = chrono::Utc::now().with_timezone(&Paris);
        let now = now.with_second(0).unwrap().with_nanosecond(0).unwrap();
        let r = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": now.to_rfc3339(), "person_ids": [nadia], "walk_in": true, "override_opening_hours": true})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let today_id = r.json()["id"].as_i64().unwrap();
        let omar_day = today() + Duration::days(2);
        let r = book(&app, &s, &s.mediator.token, &at(omar_day, "11:00"), &[omar]).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let unlogged = walk_in(&app, &s, &[nadia], 3, "").await;
        let r = crate::public::anonymous_json(&app, &format!("/api/v1/public/{}/referrals", crate::public::SLUG), json!({
            "person": {"given_name": "Yasmine", "family_name": "Orientée"},
            "referrer": {"name": "Sandrine", "organisation": "CCAS de Roubaix", "email": "sandrine@ccas.example"}, "topics": ["email"]})).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);

        let agenda = unescape(&app.page(&format!("/agenda?date={omar_day}"), &s.mediator.session).await.body);
        assert!(agenda.contains("Omar Diallo"), "the agenda names who comes: {agenda}");
        let week = unescape(&app.page(&format!("/agenda?date={omar_day}&view=week"), &s.mediator.session).await.body);
        assert!(week.contains("Omar Diallo"));
        // The week is a grid (days in columns, hours in rows) with the free slots in place, not folded.
        assert!(week.contains("<table class=\"week-grid\">") && week.contains("<th scope=\"row\">11 h</th>"), "{week}");
        let row = &week[week.find("<th scope=\"row\">11 h</th>").unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains("Omar Diallo") && row.contains("class=\"appt status-planned\""), "{row}");
        assert!(week.contains("Libre 08:00") && !week.contains("<details"), "free slots shown without unfolding");
        assert!(!agenda.contains("<details") && agenda.contains("Réserver 08:00"), "the day view lists its free slots");

        let home = app.page("/", &s.mediator.session).await;
        assert_eq!(home.status, Status::Ok);
        let text = unescape(&home.body);
        let section = |title: &str| -> String {
            let start = text.find(&format!(">{title}</h2>")).unwrap_or_else(|| panic!("no {title} in {text}"));
            let rest = &text[start..];
            rest[..rest.find("</section>").unwrap()].to_string()
        };
        let todays = section("Mes rendez-vous d'aujourd'hui");
        assert!(todays.contains(&format!("/appointments/{today_id}\"")) && todays.contains("Nadia Benali") && todays.contains("pas encore confirmé"), "{todays}");
        assert!(!todays.contains("Omar"), "only today's: {todays}");
        let calls = section("À appeler");
        assert!(calls.contains("Omar Diallo") && calls.contains("03 20 00 00 01") && !calls.contains("Nadia"), "{calls}");
        let logs = section("Comptes rendus à remplir");
        assert!(logs.contains(&format!("/appointments/{unlogged}/log")), "{logs}");
        let referrals = section("Nouvelles orientations");
        assert!(referrals.contains("Yasmine Orientée") && referrals.contains("CCAS de Roubaix"), "{referrals}");

        // Another organisation's mediator sees none of it.
        let stranger = app.staff("mediator", "Autre Structure").await;
        let theirs = unescape(&app.page("/", &stranger.session).await.body);
        for name in ["Nadia", "Omar", "Yasmine"] {
            assert!(!theirs.contains(name), "{name} on another organisation's home page");
        }
        // An admin's home is their own structure's day, as their agenda is: not every
        // structure's logs and referrals (the département's would take a scan of a year).
        let admin = app.staff("admin", "Département").await;
        let admins = unescape(&app.page("/", &admin.session).await.body);
        assert!(!admins.contains("Yasmine") && !admins.contains(&format!("/appointments/{unlogged}/log")), "{admins}");
        let manager = unescape(&app.page("/", &s.manager.session).await.body);
        assert!(manager.contains("Yasmine Orientée") && manager.contains(&format!("/appointments/{unlogged}/log")), "the structure's manager sees them");
    }
}

/// Copies appointment `id` (and its participants) `n` times, straight in the database: a
/// structure far busier than a test can book through the API.
async fn copies(app: &TestApp, id: i64, n: usize) {
    let mut conn = app.db().get().unwrap();
    use diesel::RunQueryDsl;
    let columns = "organisation_id, service_id, mediator_id, place_id, starts_at, ends_at, blocked_until, capacity, title, notes, status, walk_in, cancelled_by, cancel_reason, sequence, created_at, updated_at";
    for _ in 0..n {
        diesel::sql_query(format!("INSERT INTO appointments ({columns}) SELECT {columns} FROM appointments WHERE id = {id}")).execute(&mut *conn).unwrap();
    }
    diesel::sql_query(format!(
        "INSERT INTO participants (appointment_id, person_id, status, created_at, updated_at) \
         SELECT a.id, p.person_id, p.status, p.created_at, p.updated_at FROM appointments a, participants p \
         WHERE a.id > {id} AND a.service_id = (SELECT service_id FROM appointments WHERE id = {id}) AND p.appointment_id = {id}"
    ))
    .execute(&mut *conn)
    .unwrap();
}

both_backends! {
    async fn the_agenda_and_the_people_to_call_show_one_structure_whole_or_say_what_they_leave_out(app) {
        let s = setup(&app, "Structure Chargée").await;
        let other = setup(&app, "Structure Voisine").await;
        let admin = app.staff("admin", "Département").await;
        let unreachable = crate::fixtures::person(&app, &s.manager.token, "Injoignable").await;
        let day = today() + Duration::days(3);
        let first = book(&app, &s, &s.mediator.token, &at(day, "10:00"), &[unreachable]).await;
        assert_eq!(first.status, Status::Created, "{}", first.body);
        let first = first.json()["id"].as_i64().unwrap();
        let neighbour = crate::fixtures::person(&app, &other.manager.token, "Voisine").await;
        let theirs = book(&app, &other, &other.mediator.token, &at(day, "14:00"), &[neighbour]).await;
        assert_eq!(theirs.status, Status::Created, "{}", theirs.body);
        let theirs = theirs.json()["id"].as_i64().unwrap();
        let link = |id: i64| format!("/appointments/{id}\"");

        // An admin's agenda is one structure's, theirs by default, another's on demand; a
        // manager cannot ask for another structure's.
        let week = |org: Option<i32>| format!("/agenda?date={day}&view=week{}", org.map(|o| format!("&organisation_id={o}")).unwrap_or_default());
        let own = app.page(&week(None), &admin.session).await;
        assert_eq!(own.status, Status::Ok);
        assert!(!own.body.contains(&link(first)) && !own.body.contains(&link(theirs)), "the admin's own structure has no appointment");
        assert!(own.body.contains("id=\"organisation_id\""), "an admin picks the structure");
        let org = s.manager.user.organisation_id;
        let chosen = app.page(&week(Some(org)), &admin.session).await;
        assert!(chosen.body.contains(&link(first)) && !chosen.body.contains(&link(theirs)), "one structure at a time");
        let refused = app.page(&week(Some(other.manager.user.organisation_id)), &s.manager.session).await;
        assert_eq!(refused.status, Status::UnprocessableEntity);
        assert!(unescape(&refused.body).contains("Vous ne voyez que votre structure."), "{}", refused.body);
        assert!(!app.page(&week(None), &s.manager.session).await.body.contains("id=\"organisation_id\""));

        // A long appointment shows in every hour row it covers (a two-hour workshop at 10:00).
        let workshop = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(day + Duration::days(1), "15:00"), "person_ids": []})).await;
        assert_eq!(workshop.status, Status::Created, "{}", workshop.body);
        let grid = unescape(&app.page(&week(None), &s.mediator.session).await.body);
        let row = |h: u32| -> String {
            let start = grid.find(&format!("<th scope=\"row\">{h} h</th>")).unwrap();
            let rest = &grid[start..];
            rest[..rest.find("</tr>").unwrap()].to_string()
        };
        assert!(row(15).contains("Atelier smartphone") && !row(15).contains("suite : Atelier"), "{}", row(15));
        assert!(row(16).contains("suite : Atelier smartphone") && row(16).contains("jusqu'à 17:00"), "{}", row(16));
        assert!(!row(17).contains("Atelier smartphone"), "it ends at 17:00: {}", row(17));

        // A structure with 1,001 appointments in the fortnight: every person to call is listed
        // (no silent cap), and the agenda says it shows only the first 300.
        copies(&app, first, 1000).await;
        let calls = app.page("/to-call", &s.manager.session).await;
        assert_eq!(calls.status, Status::Ok);
        assert_eq!(calls.body.matches("Injoignable Test").count(), 1001, "every seat to call");
        let busy = unescape(&app.page(&format!("/agenda?date={day}"), &s.manager.session).await.body);
        assert!(busy.contains("Plus de 300 rendez-vous sur la période : seuls les 300 premiers sont affichés."), "{}", &busy[..2000.min(busy.len())]);
        assert_eq!(busy.matches("Injoignable Test").count(), 300, "the first 300 are shown");
        // The admin's people to call are one structure's too.
        let admins = app.page("/to-call", &admin.session).await;
        assert!(!admins.body.contains("Injoignable Test") && !admins.body.contains("Voisine Test"), "the admin's own structure has nobody to call");
        let chosen = app.page(&format!("/to-call?organisation_id={org}"), &admin.session).await;
        assert_eq!(chosen.body.matches("Injoignable Test").count(), 1001);
    }
}

both_backends! {
    async fn an_admins_report_filters_list_the_places_and_mediators_of_the_structure_chosen(app) {
        let s = setup(&app, "Structure Une").await;
        let other = setup(&app, "Structure Deux").await;
        let admin = app.staff("admin", "Département").await;
        // The options of one select of the page.
        fn select<'a>(page: &'a str, name: &str) -> &'a str {
            let start = page.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no {name} select"));
            let rest = &page[start..];
            &rest[..rest.find("</select>").unwrap()]
        }
        let option = |id: i64| format!("<option value=\"{id}\">");
        let hint = "Choisissez une structure pour filtrer par lieu ou par médiateur·rice.";
        for path in ["/reports", "/reports/skills-progress", "/reports/activity", "/reports/equipment"] {
            let all = unescape(&app.page(path, &admin.session).await.body);
            assert!(all.contains(hint), "{path}");
            assert_eq!(select(&all, "place_id").matches("<option").count(), 1, "{path}: no structure chosen, no place listed (only « Tous »)");
            assert_eq!(select(&all, "mediator_id").matches("<option").count(), 1, "{path}: no mediator listed");
            let org = s.manager.user.organisation_id;
            let one = unescape(&app.page(&format!("{path}?organisation_id={org}"), &admin.session).await.body);
            assert!(!one.contains(hint), "{path}");
            assert!(select(&one, "place_id").contains(&option(s.place_id)) && select(&one, "mediator_id").contains(&option(s.mediator.user.id.into())), "{path}: the chosen structure's places and mediators");
            assert!(!select(&one, "place_id").contains(&option(other.place_id)) && !select(&one, "mediator_id").contains(&option(other.mediator.user.id.into())), "{path}: only the chosen structure's");
            // A place filter without a structure keeps the place chosen in the list.
            let chosen = unescape(&app.page(&format!("{path}?place_id={}", other.place_id), &admin.session).await.body);
            assert!(select(&chosen, "place_id").contains(&format!("<option value=\"{}\" selected>", other.place_id)), "{path}");
            // A manager sees their structure's lists without choosing.
            let theirs = unescape(&app.page(path, &s.manager.session).await.body);
            assert!(!theirs.contains(hint) && select(&theirs, "place_id").contains(&option(s.place_id)) && !select(&theirs, "place_id").contains(&option(other.place_id)), "{path}");
        }
    }
}

/// The statuses of an appointment's seats, in order.
async fn seat_statuses(app: &TestApp, token: &str, id: i64) -> Vec<String> {
    let a = app
        .get(&format!("/api/v1/appointments/{id}"), Some(token))
        .await
        .json();
    a["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap().to_string())
        .collect()
}

both_backends! {
    async fn withdrawing_a_participant_asks_on_a_page_that_says_who_takes_the_seat(app) {
        let s = setup(&app, "Espace Numérique").await;
        let lea = person_with(&app, &s.manager.token, json!({"given_name": "Léa", "family_name": "Martin"})).await;
        let omar = person_with(&app, &s.manager.token, json!({"given_name": "Omar", "family_name": "Benali"})).await;
        let r = app.post_json("/api/v1/appointments", &s.mediator.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(today() + Duration::days(4), "14:00"), "person_ids": [lea], "capacity": 1, "title": "Smartphone",
        })).await;
        assert_eq!(r.status, Status::Created, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();
        let r = app.post_json(&format!("/api/v1/appointments/{id}/participants"), &s.mediator.token, json!({"person_id": omar})).await;
        assert_eq!(r.json()["status"], "waitlisted", "{}", r.body);
        // The appointment page only links to the confirmation (the bug: one click withdrew).
        let withdraw = format!("/appointments/{id}/participants/{lea}/withdraw");
        let show = app.page(&format!("/appointments/{id}"), &s.mediator.session).await;
        assert!(show.body.contains(&format!("href=\"{withdraw}\"")), "{}", show.body);
        assert!(!show.body.contains(&format!("action=\"{withdraw}\"")), "no one-click withdrawal");
        let ask = app.page(&withdraw, &s.mediator.session).await;
        assert_eq!(ask.status, Status::Ok, "{}", ask.body);
        let text = unescape(&ask.body);
        assert!(text.contains("Désinscrire Léa Martin ?") && text.contains("perd sa place") && text.contains("est prévenu·e"), "{text}");
        assert!(text.contains("La place libérée revient à Omar Benali"), "the first person waiting is named: {text}");
        assert!(ask.body.contains(&format!("action=\"{withdraw}\"")) && text.contains("Ne pas désinscrire"));
        assert_eq!(seat_statuses(&app, &s.mediator.token, id).await, ["booked", "waitlisted"], "asking changes nothing");
        // Someone not in the appointment, or another organisation: nothing to ask.
        assert_eq!(app.page(&format!("/appointments/{id}/participants/{}/withdraw", lea + omar), &s.mediator.session).await.status, Status::NotFound);
        let stranger = app.staff("mediator", "Structure Beta").await;
        assert_eq!(app.page(&withdraw, &stranger.session).await.status, Status::NotFound);

        let done = post(&app, &withdraw, &s.mediator.session, &s.mediator.csrf, &[]).await;
        assert_eq!(done.status, Status::SeeOther, "{}", done.body);
        assert_eq!(seat_statuses(&app, &s.mediator.token, id).await, ["cancelled", "booked"]);
        // Once done, there is nothing left to confirm.
        assert_eq!(app.page(&withdraw, &s.mediator.session).await.status, Status::NotFound);
    }
}
