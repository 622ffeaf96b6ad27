//! Every HTML form, submitted wrong, comes back as the RGAA pattern asks (issue 16, point 4):
//! 422, every error at once, each next to its field (`aria-invalid`, `aria-describedby`), a
//! summary at the top linking to each field (whose id is on the page), and everything typed
//! shown again. A new form must join the table below (a test reads the templates).

use chrono::Duration;
use rocket::http::{ContentType, Cookie, Status};

use crate::both_backends;
use crate::fixtures::{at, today, walk_in};
use crate::harness::{hidden_field, post, unescape, urlencode, Response, TestApp, PASSWORD};
use crate::public::{public_setup, SLUG};

/// The templates whose POST forms have fields a person fills in, all checked by the table of
/// [`every_form_submitted_wrong_shows_every_error_at_its_field_with_a_summary`] (or, for the
/// first ones, by the tests of `daily.rs`, `booking.rs` and `equipment.rs`).
const CHECKED: [&str; 22] = [
    "booking/new",
    "booking/show",
    "booking/availability",
    "booking/cancel",
    "equipment/show",
    "equipment/status",
    "skills/log",
    "skills/referential",
    "places/form",
    "people/form",
    "people/import",
    "users/list",
    "setup",
    "booking/services",
    "programmes",
    "organisations",
    "webhooks/list",
    "equipment/list",
    "referrals/inbox",
    "public/form",
    "public/refer",
    "login",
];

/// What a template's POST forms ask a person to fill in (hidden fields and buttons aside).
fn post_forms_have_fields(template: &str) -> bool {
    const FIELDS: [&str; 11] = [
        "<select",
        "<textarea",
        "<input type=\"text\"",
        "<input type=\"number\"",
        "<input type=\"date",
        "<input type=\"email\"",
        "<input type=\"file\"",
        "<input type=\"checkbox\"",
        "<input id=",
        "::input(",
        "::person(",
    ];
    template.split("<form method=\"post\"").skip(1).any(|form| {
        let form = form.split("</form>").next().unwrap_or(form);
        FIELDS.iter().any(|field| form.contains(field))
    })
}

#[test]
fn every_template_with_a_form_to_fill_is_checked_by_the_table() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/pages");
    let mut unchecked = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".html.tera")
                .to_string();
            if post_forms_have_fields(&text) {
                if !CHECKED.contains(&name.as_str()) {
                    unchecked.push(name);
                } else {
                    // And the page can show the summary.
                    assert!(
                        text.contains("error_summary(") || text.contains("error-summary"),
                        "{name} has no error summary"
                    );
                }
            }
        }
    }
    assert!(
        unchecked.is_empty(),
        "forms to fill that no test submits wrong (add them to tests/it/forms.rs): {unchecked:?}"
    );
    // The detection itself: a form with a field is seen, a form with only a button is not.
    assert!(post_forms_have_fields(
        "<form method=\"post\" action=\"/x\"><input type=\"text\" name=\"a\"></form>"
    ));
    assert!(!post_forms_have_fields(
        "<form method=\"post\" action=\"/x\"><input type=\"hidden\" name=\"csrf_token\"><button>Ok</button></form><form method=\"get\"><select></select></form>"
    ));
}

/// The ids the error summary links to, in order.
fn summary_links(body: &str) -> Vec<String> {
    let Some(start) = body.find("error-summary") else {
        return Vec::new();
    };
    let end = start + body[start..].find("</div>").expect("summary closed");
    body[start..end]
        .split("href=\"#")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

/// The opening tag that carries `id="{id}"`.
fn tag_with_id<'a>(body: &'a str, id: &str) -> Option<&'a str> {
    let at = body.find(&format!(" id=\"{id}\""))?;
    let start = body[..at].rfind('<')?;
    let end = at + body[at..].find('>')?;
    Some(&body[start..=end])
}

/// The ids of the fields whose error is shown beside them (`{id}-error`).
fn errors_beside_fields(body: &str) -> Vec<String> {
    body.split("class=\"error-message\" id=\"")
        .skip(1)
        .map(|s| {
            s.split('"')
                .next()
                .unwrap()
                .trim_end_matches("-error")
                .to_string()
        })
        .collect()
}

/// A form shown again as the pattern asks: `fields` among the summary's links, each to an
/// invalid field on the page described by its error; every error beside a field is in the
/// summary; `kept` (what was typed) is on the page.
fn assert_shown_again(what: &str, r: &Response, fields: &[&str], kept: &[&str]) {
    assert_eq!(r.status, Status::UnprocessableEntity, "{what}: {}", r.body);
    let links = summary_links(&r.body);
    assert!(!links.is_empty(), "{what}: no error summary: {}", r.body);
    for field in fields {
        assert!(
            links.iter().any(|l| l == field),
            "{what}: no link to #{field} in {links:?}"
        );
    }
    for link in &links {
        let tag = tag_with_id(&r.body, link)
            .unwrap_or_else(|| panic!("{what}: the summary links to #{link}, not on the page"));
        if fields.contains(&link.as_str()) {
            assert!(
                tag.contains("aria-invalid=\"true\""),
                "{what}: {tag} not marked invalid"
            );
            assert!(
                tag.contains("aria-describedby=\"") && tag.contains(&format!("{link}-error")),
                "{what}: {tag} not described by its error"
            );
        }
    }
    for field in errors_beside_fields(&r.body) {
        assert!(
            links.contains(&field),
            "{what}: the error of {field} is not in the summary {links:?}"
        );
    }
    let body = unescape(&r.body);
    for value in kept {
        assert!(
            body.contains(value),
            "{what}: {value:?} typed and lost: {body}"
        );
    }
    assert!(
        !body.contains("Certains champs sont à corriger"),
        "{what}: the old vague alert"
    );
}

/// A form of a page shown before sign-in (public pages, login, setup): its pre-session cookie
/// and token.
async fn post_anonymous(
    app: &TestApp,
    page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    let page = app.get(page, None).await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    let cookie = page
        .cookie(passerelle::auth::PRE_SESSION_CSRF_COOKIE)
        .expect("pre-session cookie");
    let token = hidden_field(&page.body, "csrf_token").expect("csrf_token field");
    let mut body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect();
    body.push(format!("csrf_token={}", urlencode(&token)));
    let request = app
        .client
        .post(path.to_string())
        .header(ContentType::Form)
        .cookie(Cookie::new(
            passerelle::auth::PRE_SESSION_CSRF_COOKIE,
            cookie,
        ))
        .body(body.join("&"));
    crate::harness::collect(request.dispatch().await).await
}

both_backends! {
    async fn every_form_submitted_wrong_shows_every_error_at_its_field_with_a_summary(app) {
        let s = public_setup(&app).await;
        let admin = app.staff("admin", crate::public::ORG).await;
        let (m, mg) = (&s.mediator, &s.manager);
        let long = |n: usize| "x".repeat(n);
        let (x81, x121, x201, x501) = (long(81), long(121), long(201), long(501));
        let ids = (s.service_id.to_string(), m.user.id.to_string(), s.place_id.to_string());

        // Places: four fields wrong at once, a too-long commune says its limit.
        let r = post(&app, "/places", &mg.session, &mg.csrf, &[
            ("name", ""), ("address", ""), ("postal_code", "59"), ("city", &x81),
            ("phone", "03 20 00 00 00"), ("accessibility_notes", "Rampe au fond de la cour"), ("siret", "123"),
        ]).await;
        assert_shown_again("places", &r, &["name", "address", "postal_code", "city", "siret"], &["Rampe au fond de la cour", "03 20 00 00 00", &x81, "80 caractères au plus."]);

        // People: a year that does not read, a too-long name, the checkboxes and the language kept.
        let r = post(&app, "/people", &m.session, &m.csrf, &[
            ("given_name", ""), ("family_name", &x81), ("birth_year", "mille"), ("city", "Roubaix"),
            ("reminder_consent", "true"), ("language", "en"), ("notes", "Préfère le matin"),
        ]).await;
        assert_shown_again("people", &r, &["given_name", "family_name", "birth_year"], &["mille", "Roubaix", "Préfère le matin", "name=\"reminder_consent\" value=\"true\" checked", "<option value=\"en\" selected>", "80 caractères au plus."]);

        // Accounts.
        let r = post(&app, "/users", &mg.session, &mg.csrf, &[
            ("name", ""), ("email", "pas-un-email"), ("role", "manager"), ("password", "court"),
        ]).await;
        assert_shown_again("users", &r, &["name", "email", "password"], &["pas-un-email", "value=\"manager\" selected"]);

        // Services: a duration that does not read is refused (it was dropped), what to bring kept.
        let r = post(&app, "/services", &mg.session, &mg.csrf, &[
            ("name", ""), ("kind", "workshop"), ("duration_minutes", "une heure"), ("capacity", "dix"),
            ("bookable_by", "staff"), ("what_to_bring", "Son telephone charge"),
        ]).await;
        assert_shown_again("services", &r, &["name", "duration_minutes", "capacity"], &["une heure", "dix", "Son telephone charge", "value=\"workshop\" selected"]);

        // Programmes: a date that does not read with the name's and the funder's mistakes.
        let r = post(&app, "/programmes", &mg.session, &mg.csrf, &[
            ("name", ""), ("funder", &x121), ("starts_on", "31/02"), ("ends_on", ""),
        ]).await;
        assert_shown_again("programmes", &r, &["name", "funder", "starts_on"], &["31/02", "120 caractères au plus."]);

        // Organisations: a too-long name says its limit, not that it is required.
        let r = post(&app, "/organisations", &admin.session, &admin.csrf, &[("name", &x121)]).await;
        assert_shown_again("organisations", &r, &["name"], &[&x121, "120 caractères au plus."]);
        assert!(!r.body.contains("obligatoire"), "{}", r.body);
        let org = admin.user.organisation_id;
        let r = post(&app, &format!("/organisations/{org}"), &admin.session, &admin.csrf, &[("name", ""), ("slug", "Pas Bon")]).await;
        assert_shown_again("an organisation", &r, &[&format!("name-{org}"), &format!("slug-{org}")], &["Pas Bon"]);

        // Webhooks (the typed secret is deliberately not shown again).
        let r = post(&app, "/webhooks", &mg.session, &mg.csrf, &[("url", ""), ("secret", "court")]).await;
        assert_shown_again("webhooks", &r, &["url", "events", "secret"], &[]);

        // Equipment: a date that does not read is refused (it was dropped); the kind kept.
        let r = post(&app, "/equipment", &mg.session, &mg.csrf, &[
            ("kind", "smartphone"), ("model", &x121), ("imei", "123"), ("valid_until", "demain"),
        ]).await;
        assert_shown_again("equipment", &r, &["model", "imei", "valid_until"], &["demain", "value=\"smartphone\" selected", "120 caractères au plus."]);

        // The import without a file.
        let r = post(&app, "/people/import", &m.session, &m.csrf, &[]).await;
        assert_shown_again("import", &r, &["file"], &[]);

        // The referential: adding and editing a skill.
        let r = post(&app, "/skills", &admin.session, &admin.csrf, &[("domain_code", "B"), ("code", ""), ("name", &x201)]).await;
        assert_shown_again("a new skill", &r, &["code", "name"], &["value=\"B\" selected", "200 caractères au plus."]);
        let r = post(&app, "/skills/A1", &admin.session, &admin.csrf, &[("name", ""), ("position", "premier"), ("retired", "false")]).await;
        assert_shown_again("a skill", &r, &["name-A1", "pos-A1"], &["premier"]);

        // The booking form.
        let r = post(&app, "/appointments", &m.session, &m.csrf, &[
            ("service_id", &ids.0), ("mediator_id", &ids.1), ("place_id", &ids.2),
            ("starts_at_local", "bientôt"), ("new_family_name", "Durand"),
        ]).await;
        assert_shown_again("a booking", &r, &["starts_at_local", "new_given_name"], &["bientôt", "Durand"]);

        // The session log: each error at the participant's field.
        let person = crate::fixtures::person(&app, &m.token, "Amina").await;
        let log = walk_in(&app, &s, &[person], 1, "").await;
        let person = person.to_string();
        let r = post(&app, &format!("/appointments/{log}/log"), &m.session, &m.csrf, &[
            ("participants[0].person_id", &person), ("participants[0].attendance", "attended"),
            ("participants[0].duration_minutes", "longtemps"), ("participants[0].note", &x501),
            ("participants[0].orientation_note", "Mission locale"), ("participants[0].device", "own"),
        ]).await;
        assert_shown_again("the session log", &r, &["duration-0", "note-0"], &["longtemps", "Mission locale", "value=\"own\" selected", "500 caractères au plus."]);

        // The public pages.
        let start = at(today() + Duration::days(3), "10:00");
        let page = format!("/rdv/{SLUG}/reserver?service_id={}&place_id={}&starts_at={}", ids.0, ids.2, urlencode(&start));
        let r = post_anonymous(&app, &page, &format!("/rdv/{SLUG}/reserver"), &[
            ("service_id", &ids.0), ("place_id", &ids.2), ("starts_at", &start),
            ("given_name", ""), ("family_name", "Durand"), ("email", "pas-un-email"), ("website", ""),
        ]).await;
        assert_shown_again("the public booking", &r, &["given_name", "email"], &["Durand", "pas-un-email"]);
        assert!(r.body.len() <= 30 * 1024, "{} bytes", r.body.len());
        let orienter = format!("/rdv/{SLUG}/orienter");
        let r = post_anonymous(&app, &orienter, &orienter, &[
            ("referrer_name", ""), ("referrer_organisation", ""), ("referrer_email", "x"),
            ("given_name", ""), ("family_name", "Martin"), ("message", "Le mardi"), ("slot", ""), ("website", ""),
        ]).await;
        assert_shown_again("the referral", &r, &["referrer_name", "referrer_organisation", "referrer_email", "given_name", "agreement"], &["Martin", "Le mardi"]);
        assert!(r.body.len() <= 30 * 1024 && !r.body.contains("<script"), "{} bytes", r.body.len());

        // Booking from a referral: each error beside the request's field, the choices kept.
        let r = post_anonymous(&app, &orienter, &orienter, &[
            ("referrer_name", "Sophie"), ("referrer_organisation", "CCAS"), ("referrer_email", "s@ccas.example"),
            ("given_name", "Karim"), ("agreement", "true"), ("topics", "email"), ("slot", ""), ("website", ""),
        ]).await;
        assert_eq!(r.status, Status::Ok, "{}", r.body);
        let referral = app.get("/api/v1/referrals", Some(&m.token)).await.json()[0]["id"].as_i64().unwrap();
        let r = post(&app, &format!("/referrals/{referral}/book"), &m.session, &m.csrf, &[
            ("service_id", ""), ("mediator_id", &ids.1), ("place_id", &ids.2), ("starts_at_local", "demain matin"),
        ]).await;
        assert_shown_again("a referral's booking", &r, &[&format!("service-{referral}"), &format!("start-{referral}")], &["demain matin", &format!("<option value=\"{}\" selected>", ids.2)]);
        let list = app.get("/api/v1/referrals", Some(&m.token)).await.json();
        assert_eq!(list[0]["status"], "new", "nothing booked");
    }
}

both_backends! {
    async fn the_first_admin_form_shows_every_error_at_once(app) {
        let token = app
            .db()
            .run(passerelle::auth::service::setup_token_if_no_user)
            .await
            .unwrap()
            .expect("a setup token");
        let path = format!("/setup/{token}");
        let r = post_anonymous(&app, &path, &path, &[
            ("organisation", ""), ("name", ""), ("email", "camille"), ("password", "court"), ("password_confirmation", "autre"),
        ]).await;
        assert_shown_again("setup", &r, &["organisation", "name", "email", "password", "password_confirmation"], &["camille"]);
        assert!(!r.body.contains("court") && !r.body.contains("autre\""), "passwords are not shown again");
    }
}

both_backends! {
    async fn a_failed_sign_in_says_so_at_the_fields_without_saying_which_was_wrong(app) {
        let staff = app.staff("mediator", "Structure Alpha").await;
        let wrong_password = post_anonymous(&app, "/login", "/login", &[("email", &staff.email), ("password", "pas le bon")]).await;
        let no_account = post_anonymous(&app, "/login", "/login", &[("email", "personne@example.org"), ("password", PASSWORD)]).await;
        for (r, email) in [(&wrong_password, staff.email.as_str()), (&no_account, "personne@example.org")] {
            assert_eq!(r.status, Status::Unauthorized);
            assert_eq!(summary_links(&r.body), ["email"]);
            for id in ["email", "password"] {
                let tag = tag_with_id(&r.body, id).unwrap();
                assert!(tag.contains("aria-invalid=\"true\"") && tag.contains("login-error"), "{tag}");
            }
            assert!(r.body.contains(&format!("value=\"{email}\"")), "the email kept");
        }
        // One message, the same whichever was wrong.
        let message = |r: &Response| r.body.split("id=\"login-error\">").nth(1).unwrap().split('<').next().unwrap().to_string();
        assert_eq!(message(&wrong_password), message(&no_account));
    }
}
