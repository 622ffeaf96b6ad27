//! The authorization matrix: every route the application serves, called as five people (no one,
//! a mediator of organisation A, a manager of another organisation B, a manager of A, an admin)
//! with path parameters naming A's records. What each may do is written in [`cases`]; a served
//! route missing from that table fails the test, so a new route cannot ship without someone
//! deciding who may call it.
//!
//! To add a route: add a [`Case`] with the route's pattern exactly as Rocket prints it
//! (`/equipment/<id>/assign`), the URL to call with `$placeholders` (see [`Ctx::value`]), a body
//! if any, and the expected outcome per caller.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use rocket::http::{ContentType, Cookie, Header, Status};
use serde_json::{json, Value};

use crate::both_backends;
use crate::fixtures::{at, today};
use crate::harness::{collect, hidden_field, urlencode, Response, Staff, TestApp, PASSWORD};

/// Every record of organisation A carries this marker, so a leak to B shows in any answer.
const MARK: &str = "ZZALPHA";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    Mediator,
    OtherManager,
    Manager,
    Admin,
}

const CALLERS: [Who; 5] = [
    Who::Anonymous,
    Who::Mediator,
    Who::OtherManager,
    Who::Manager,
    Who::Admin,
];

/// What a caller gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Allowed: 2xx, or a redirect elsewhere than the sign-in page.
    Y,
    /// Sign in first: 401 problem+json on the API, 303 to /login on pages.
    L,
    /// 403: the role may not.
    F,
    /// Signed out: 303 to /login, the session cookie removed.
    O,
    /// 404: not found, or another organisation's.
    N,
    /// 422 naming the field: a filter or a body that names another organisation's record is
    /// told the record is unknown, as for one that does not exist.
    V,
}
use Expect::{F, L, N, O, V, Y};

const PUBLIC: [Expect; 5] = [Y, Y, Y, Y, Y];
/// Signed-in staff of any role; lists are scoped (B sees none of A's).
const STAFF: [Expect; 5] = [L, Y, Y, Y, Y];
/// A's staff on A's record; B's manager is told it does not exist.
const A_STAFF: [Expect; 5] = [L, Y, N, Y, Y];
/// Managers and admins, on A's record.
const A_MANAGERS: [Expect; 5] = [L, F, N, Y, Y];
/// Managers and admins, in their own organisation.
const MANAGERS: [Expect; 5] = [L, F, Y, Y, Y];
const ADMIN: [Expect; 5] = [L, F, F, F, Y];

#[derive(Clone, Copy)]
enum Body {
    None,
    Json(&'static str),
    Form(&'static [(&'static str, &'static str)]),
    Csv(&'static str),
    /// A file sent from a page's multipart form (with the session's `csrf_token`).
    Upload(&'static str),
}

/// Credentials the call consumes (a logout, a token revocation): made fresh for that call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fresh {
    No,
    Token,
    Session,
}

struct Case {
    method: &'static str,
    pattern: &'static str,
    url: &'static str,
    body: Body,
    expect: [Expect; 5],
    fresh: Fresh,
}

fn c(
    method: &'static str,
    pattern: &'static str,
    url: &'static str,
    body: Body,
    expect: [Expect; 5],
) -> Case {
    Case {
        method,
        pattern,
        url,
        body,
        expect,
        fresh: Fresh::No,
    }
}

fn get(pattern: &'static str, url: &'static str, expect: [Expect; 5]) -> Case {
    c("GET", pattern, url, Body::None, expect)
}

/// The table. Placeholders: `$place`, `$service`, `$mediator`, `$person`, `$appointment` (A's
/// upcoming one), `$past` (A's logged walk-in), `$equipment`, `$programme`, `$org_a`,
/// `$skill`, `$domain`, `$link` (a beneficiary link), `$calendar` (a feed file), `$n` (unique
/// number), `$start`/`$start_local` (a free slot), `$day`, `$today`, `$email` (the caller's);
/// `$new_*` are made for the call (for what the call consumes: an erasure, a cancellation…).
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use Body::{Csv, Form, Json, Upload};
    // These use up the caller's credentials: a token or a session is made for each call.
    let logout = Case { fresh: Fresh::Session, ..c("POST", "/logout", "/logout", Form(&[]), [L, O, O, O, O]) };
    let revoke = Case { fresh: Fresh::Token, ..c("DELETE", "/api/v1/tokens/current", "/api/v1/tokens/current", Body::None, STAFF) };
    vec![
        // ---- JSON API ----
        get("/api/v1/openapi.json", "/api/v1/openapi.json", PUBLIC),
        c("POST", "/api/v1/tokens", "/api/v1/tokens", Json(r#"{"email": "$email", "password": "$password"}"#), PUBLIC),
        revoke,
        get("/api/v1/users", "/api/v1/users", MANAGERS),
        c("POST", "/api/v1/users", "/api/v1/users", Json(r#"{"email": "compte$n@alpha.example", "name": "Compte $n", "role": "mediator", "organisation_id": $org_a, "password": "$password"}"#), [L, F, F, Y, Y]),
        get("/api/v1/organisations", "/api/v1/organisations", ADMIN),
        c("POST", "/api/v1/organisations", "/api/v1/organisations", Json(r#"{"name": "Structure $n"}"#), ADMIN),
        c("PATCH", "/api/v1/organisations/<id>", "/api/v1/organisations/$org_a", Json(r#"{"slug": "$slug"}"#), ADMIN),
        c("PATCH", "/api/v1/services/<id>", "/api/v1/services/$service", Json(r#"{"bookable_by": "public"}"#), A_MANAGERS),
        get("/api/v1/referrals", "/api/v1/referrals?status=new", STAFF),
        c("PATCH", "/api/v1/referrals/<id>", "/api/v1/referrals/$referral", Json(r#"{"status": "contacted"}"#), A_STAFF),
        c("POST", "/api/v1/referrals/<id>/booking", "/api/v1/referrals/$new_referral/booking", Json(r#"{"service_id": $service, "mediator_id": $mediator, "place_id": $place, "starts_at": "$start"}"#), A_STAFF),
        // The public's routes: A's bookable services and free slots are public by design.
        get("/api/v1/public/<slug>/services", "/api/v1/public/$slug/services", PUBLIC),
        get("/api/v1/public/<slug>/slots", "/api/v1/public/$slug/slots?service_id=$service&from=$day&to=$day", PUBLIC),
        c("POST", "/api/v1/public/<slug>/bookings", "/api/v1/public/$slug/bookings", Json(r#"{"service_id": $service, "place_id": $place, "starts_at": "$start", "person": {"given_name": "Public $n", "email": "public$n@example.org", "reminder_consent": true}}"#), PUBLIC),
        c("POST", "/api/v1/public/<slug>/referrals", "/api/v1/public/$slug/referrals", Json(r#"{"person": {"given_name": "Orientée $n"}, "referrer": {"name": "Référente", "organisation": "CCAS", "email": "ref$n@ccas.example"}, "topics": ["email"]}"#), PUBLIC),
        get("/api/v1/places", "/api/v1/places", STAFF),
        c("POST", "/api/v1/places", "/api/v1/places", Json(r#"{"name": "Lieu $n", "address": "1 rue Neuve", "postal_code": "59000", "city": "Lille"}"#), MANAGERS),
        get("/api/v1/places/<id>", "/api/v1/places/$place", A_STAFF),
        c("PATCH", "/api/v1/places/<id>", "/api/v1/places/$place", Json(r#"{"accessibility_notes": "Rampe $n"}"#), A_MANAGERS),
        get("/api/v1/programmes", "/api/v1/programmes", STAFF),
        c("POST", "/api/v1/programmes", "/api/v1/programmes", Json(r#"{"name": "Programme $n"}"#), MANAGERS),
        get("/api/v1/people", "/api/v1/people", STAFF),
        get("/api/v1/people", "/api/v1/people?q=Alice", STAFF),
        c("POST", "/api/v1/people", "/api/v1/people", Json(r#"{"given_name": "Personne $n"}"#), STAFF),
        get("/api/v1/people/<id>", "/api/v1/people/$person", A_STAFF),
        c("PATCH", "/api/v1/people/<id>", "/api/v1/people/$person", Json(r#"{"city": "Roubaix"}"#), A_STAFF),
        c("DELETE", "/api/v1/people/<id>", "/api/v1/people/$new_person", Body::None, A_MANAGERS),
        get("/api/v1/people/<id>/export", "/api/v1/people/$person/export", A_STAFF),
        c("POST", "/api/v1/people/import", "/api/v1/people/import?dry_run=true", Csv("prénom;nom\nImport $n;Matrice\n"), STAFF),
        c("POST", "/api/v1/people/import", "/api/v1/people/import", Csv("prénom;nom\nImport $n;Matrice\n"), STAFF),
        c("POST", "/api/v1/people/<id>/merge", "/api/v1/people/$person/merge", Json(r#"{"from_id": $new_person}"#), A_STAFF),
        get("/api/v1/audit", "/api/v1/audit", ADMIN),
        c("POST", "/api/v1/api-clients", "/api/v1/api-clients", Json(r#"{"name": "Logiciel $n", "scopes": ["people:read", "reports:read"]}"#), MANAGERS),
        get("/api/v1/api-clients", "/api/v1/api-clients", MANAGERS),
        c("POST", "/api/v1/webhooks", "/api/v1/webhooks", Json(r#"{"url": "https://93.184.216.34/hook/$n", "events": ["appointment.created", "participant.booked"], "secret": "un-secret-assez-long"}"#), MANAGERS),
        get("/api/v1/webhooks", "/api/v1/webhooks", MANAGERS),
        c("DELETE", "/api/v1/webhooks/<id>", "/api/v1/webhooks/$new_webhook", Body::None, A_MANAGERS),
        get("/api/v1/webhooks/<id>/deliveries", "/api/v1/webhooks/$new_webhook/deliveries", A_MANAGERS),
        c("POST", "/api/v1/webhooks/<id>/deliveries/<delivery_id>/retry", "/api/v1/webhooks/$new_webhook/deliveries/$new_dead_delivery/retry", Body::None, A_MANAGERS),
        c("DELETE", "/api/v1/api-clients/<id>", "/api/v1/api-clients/$new_api_client", Body::None, A_MANAGERS),
        get("/api/v1/services", "/api/v1/services", STAFF),
        c("POST", "/api/v1/services", "/api/v1/services", Json(r#"{"name": "Motif $n", "kind": "individual", "duration_minutes": 30}"#), MANAGERS),
        c("POST", "/api/v1/users/<id>/opening-hours", "/api/v1/users/$mediator/opening-hours", Json(r#"{"place_id": $place, "weekday": 1, "start": "21:00", "end": "21:30", "valid_from": "$opening_day", "valid_until": "$opening_day"}"#), A_STAFF),
        get("/api/v1/users/<id>/opening-hours", "/api/v1/users/$mediator/opening-hours", A_STAFF),
        c("DELETE", "/api/v1/opening-hours/<id>", "/api/v1/opening-hours/$new_opening_hours", Body::None, A_STAFF),
        c("POST", "/api/v1/users/<id>/absences", "/api/v1/users/$mediator/absences", Json(r#"{"starts_at": "$far_start", "ends_at": "$far_end", "reason": "Congés"}"#), A_STAFF),
        c("DELETE", "/api/v1/absences/<id>", "/api/v1/absences/$new_absence", Body::None, A_STAFF),
        get("/api/v1/slots", "/api/v1/slots?service_id=$service&from=$day&to=$day", [L, Y, V, Y, Y]),
        c("POST", "/api/v1/appointments", "/api/v1/appointments", Json(r#"{"service_id": $service, "mediator_id": $mediator, "place_id": $place, "starts_at": "$start", "person_ids": [$new_person]}"#), [L, Y, V, Y, Y]),
        get("/api/v1/appointments", "/api/v1/appointments?from=$today", STAFF),
        get("/api/v1/appointments/<id>", "/api/v1/appointments/$appointment", A_STAFF),
        get("/api/v1/appointments/<id>/ics", "/api/v1/appointments/$appointment/ics", A_STAFF),
        c("POST", "/api/v1/appointments/<id>/participants", "/api/v1/appointments/$appointment/participants", Json(r#"{"person_id": $new_person}"#), A_STAFF),
        c("DELETE", "/api/v1/appointments/<id>/participants/<person_id>", "/api/v1/appointments/$new_appointment/participants/$new_appointment_person", Body::None, A_STAFF),
        c("POST", "/api/v1/appointments/<id>/reschedule", "/api/v1/appointments/$new_appointment/reschedule", Json(r#"{"starts_at": "$start"}"#), A_STAFF),
        c("POST", "/api/v1/appointments/<id>/cancel", "/api/v1/appointments/$new_appointment/cancel", Json(r#"{"by": "structure", "reason": "Fermeture"}"#), A_STAFF),
        get("/api/v1/messages", "/api/v1/messages", MANAGERS),
        c("POST", "/api/v1/messages/<id>/retry", "/api/v1/messages/$new_dead_message/retry", Body::None, A_MANAGERS),
        get("/api/v1/skills", "/api/v1/skills", STAFF),
        c("POST", "/api/v1/skills", "/api/v1/skills", Json(r#"{"domain_code": "$domain", "code": "Z$n", "name": "Compétence $n"}"#), ADMIN),
        c("PATCH", "/api/v1/skills/<code>", "/api/v1/skills/$skill", Json(r#"{"position": 1}"#), ADMIN),
        c("POST", "/api/v1/appointments/<id>/log", "/api/v1/appointments/$past/log", Json(r#"{"participants": [{"person_id": $person, "attendance": "attended", "skills": [{"skill_code": "$skill", "level": 2}]}]}"#), A_STAFF),
        get("/api/v1/appointments/<id>/log", "/api/v1/appointments/$past/log", A_STAFF),
        get("/api/v1/people/<id>/skills", "/api/v1/people/$person/skills", A_STAFF),
        c("POST", "/api/v1/people/<id>/assessments", "/api/v1/people/$person/assessments", Json(r#"{"kind": "diagnostic", "skills": [{"skill_code": "$skill", "level": 1}]}"#), A_STAFF),
        get("/api/v1/logs-to-fill", "/api/v1/logs-to-fill", STAFF),
        get("/api/v1/equipment", "/api/v1/equipment", STAFF),
        c("POST", "/api/v1/equipment", "/api/v1/equipment", Json(r#"{"kind": "tablet", "model": "Tablette $n"}"#), STAFF),
        get("/api/v1/equipment/<id>", "/api/v1/equipment/$equipment", A_STAFF),
        c("POST", "/api/v1/equipment/import", "/api/v1/equipment/import", Csv("kind;model;serial\ntablet;Import $n;IMP-$n\n"), STAFF),
        c("POST", "/api/v1/equipment/<id>/assign", "/api/v1/equipment/$new_equipment/assign", Json(r#"{"person_id": $person, "mode": "loan", "handed_over_on": "$today", "due_back_on": "$day", "acceptance": "paper_signature"}"#), A_STAFF),
        c("POST", "/api/v1/equipment/<id>/return", "/api/v1/equipment/$new_assigned_equipment/return", Json(r#"{"returned_on": "$today", "condition": "bon état"}"#), A_STAFF),
        c("POST", "/api/v1/equipment/<id>/status", "/api/v1/equipment/$new_equipment/status", Json(r#"{"status": "broken", "note": "écran fêlé"}"#), A_STAFF),
        get("/api/v1/people/<id>/equipment", "/api/v1/people/$person/equipment", A_STAFF),
        get("/api/v1/reports/skills-progress", "/api/v1/reports/skills-progress", MANAGERS),
        get("/api/v1/reports/skills-progress", "/api/v1/reports/skills-progress?organisation_id=$org_a", MANAGERS),
        get("/api/v1/reports/activity", "/api/v1/reports/activity", MANAGERS),
        get("/api/v1/reports/activity", "/api/v1/reports/activity?place_id=$place", [L, F, V, Y, Y]),
        get("/api/v1/reports/equipment", "/api/v1/reports/equipment", MANAGERS),
        get("/api/v1/reports/equipment", "/api/v1/reports/equipment?mediator_id=$mediator", [L, F, V, Y, Y]),
        // ---- pages and public routes ----
        get("/health", "/health", PUBLIC),
        // Served to `metrics_allow` addresses only; these requests come from no address.
        get("/metrics", "/metrics", [N, N, N, N, N]),
        get("/static/style.css", "/static/style.css", PUBLIC),
        get("/static/card.css", "/static/card.css", PUBLIC),
        get("/static/handover.css", "/static/handover.css", PUBLIC),
        get("/favicon.svg", "/favicon.svg", PUBLIC),
        get("/favicon.ico", "/favicon.ico", PUBLIC),
        get("/", "/", STAFF),
        get("/login", "/login", PUBLIC),
        c("POST", "/login", "/login", Form(&[("email", "$email"), ("password", "$password")]), PUBLIC),
        logout,
        // Accounts exist: the first-admin link no longer opens anything.
        get("/setup/<token>", "/setup/$n", [N, N, N, N, N]),
        c("POST", "/setup/<token>", "/setup/$n", Form(&[("organisation", "X"), ("name", "X"), ("email", "x@example.org"), ("password", "$password"), ("password_confirmation", "$password")]), [N, N, N, N, N]),
        get("/users", "/users", MANAGERS),
        c("POST", "/users", "/users", Form(&[("name", "Compte $n"), ("email", "page$n@alpha.example"), ("role", "mediator"), ("organisation_id", "$org_a"), ("password", "$password")]), [L, F, F, Y, Y]),
        get("/organisations", "/organisations", ADMIN),
        c("POST", "/organisations", "/organisations", Form(&[("name", "Structure page $n")]), ADMIN),
        c("POST", "/organisations/<id>", "/organisations/$org_a", Form(&[("name", "Association ZZALPHA"), ("slug", "$slug")]), ADMIN),
        c("POST", "/services/<id>/bookable-by", "/services/$service/bookable-by", Form(&[("bookable_by", "public")]), A_MANAGERS),
        get("/referrals", "/referrals?status=new", STAFF),
        c("POST", "/referrals/<id>/status", "/referrals/$referral/status", Form(&[("status", "contacted")]), A_STAFF),
        c("POST", "/referrals/<id>/book", "/referrals/$new_referral/book", Form(&[("service_id", "$service"), ("mediator_id", "$mediator"), ("place_id", "$place"), ("starts_at_local", "$start_local")]), A_STAFF),
        get("/rdv/<slug>", "/rdv/$slug", PUBLIC),
        get("/rdv/<slug>/creneaux", "/rdv/$slug/creneaux?service_id=$service&place_id=$place&date=$day", PUBLIC),
        get("/rdv/<slug>/reserver", "/rdv/$slug/reserver?service_id=$service&place_id=$place&starts_at=$start", PUBLIC),
        c("POST", "/rdv/<slug>/reserver", "/rdv/$slug/reserver", Form(&[("service_id", "$service"), ("place_id", "$place"), ("starts_at", "$start"), ("given_name", "Publique $n"), ("email", "web$n@example.org"), ("reminder_consent", "true"), ("website", "")]), PUBLIC),
        get("/rdv/<slug>/orienter", "/rdv/$slug/orienter", PUBLIC),
        c("POST", "/rdv/<slug>/orienter", "/rdv/$slug/orienter", Form(&[("referrer_name", "Référente"), ("referrer_organisation", "CCAS"), ("referrer_email", "page$n@ccas.example"), ("given_name", "Orientée page $n"), ("agreement", "true"), ("topics", "email"), ("slot", ""), ("website", "")]), PUBLIC),
        get("/people", "/people", STAFF),
        get("/people", "/people?q=Alice", STAFF),
        get("/people/new", "/people/new", STAFF),
        get("/people/import", "/people/import", STAFF),
        get("/people/duplicates", "/people/duplicates", STAFF),
        c("POST", "/people/<id>/merge", "/people/$person/merge", Form(&[("from_id", "$new_person")]), A_STAFF),
        c("POST", "/people/import", "/people/import", Upload("prénom,nom\nPage $n,Matrice\n"), STAFF),
        // A file never analysed (or already imported) is unknown.
        c("POST", "/people/import/confirm", "/people/import/confirm", Form(&[("token", "0123456789abcdef0123456789abcdef")]), [L, V, V, V, V]),
        c("POST", "/people", "/people", Form(&[("given_name", "Personne page $n")]), STAFF),
        get("/people/<id>", "/people/$person", A_STAFF),
        get("/people/<id>/edit", "/people/$person/edit", A_STAFF),
        c("POST", "/people/<id>", "/people/$new_person", Form(&[("given_name", "Renommée $n"), ("city", "Wattrelos")]), A_STAFF),
        get("/people/<id>/erase", "/people/$person/erase", A_MANAGERS),
        c("POST", "/people/<id>/erase", "/people/$new_person/erase", Form(&[("confirm", "true")]), A_MANAGERS),
        get("/people/<id>/export", "/people/$person/export", A_STAFF),
        get("/audit", "/audit", ADMIN),
        get("/places", "/places", STAFF),
        get("/places/new", "/places/new", MANAGERS),
        c("POST", "/places", "/places", Form(&[("name", "Lieu page $n"), ("address", "3 rue Basse"), ("postal_code", "59000"), ("city", "Lille"), ("phone", ""), ("accessibility_notes", "")]), MANAGERS),
        get("/places/<id>", "/places/$place", A_STAFF),
        get("/places/<id>/edit", "/places/$place/edit", A_MANAGERS),
        c("POST", "/places/<id>", "/places/$new_place", Form(&[("name", "Lieu renommé $n"), ("address", "3 rue Basse"), ("postal_code", "59000"), ("city", "Lille"), ("phone", ""), ("accessibility_notes", "")]), A_MANAGERS),
        get("/programmes", "/programmes", STAFF),
        c("POST", "/programmes", "/programmes", Form(&[("name", "Programme page $n"), ("funder", "État"), ("starts_on", ""), ("ends_on", "")]), MANAGERS),
        get("/agenda", "/agenda", STAFF),
        get("/agenda", "/agenda?view=week&mediator_id=$mediator&date=$day", STAFF),
        get("/appointments/new", "/appointments/new", STAFF),
        c("POST", "/appointments", "/appointments", Form(&[("service_id", "$service"), ("mediator_id", "$mediator"), ("place_id", "$place"), ("starts_at", "$start"), ("person_id", "$new_person")]), [L, Y, V, Y, Y]),
        get("/appointments/<id>", "/appointments/$appointment", A_STAFF),
        c("POST", "/appointments/<id>/participants", "/appointments/$appointment/participants", Form(&[("person_id", "$new_person")]), A_STAFF),
        get("/appointments/<id>/participants/<person_id>/withdraw", "/appointments/$new_appointment/participants/$new_appointment_person/withdraw", A_STAFF),
        c("POST", "/appointments/<id>/participants/<person_id>/withdraw", "/appointments/$new_appointment/participants/$new_appointment_person/withdraw", Form(&[]), A_STAFF),
        c("POST", "/appointments/<id>/reschedule", "/appointments/$new_appointment/reschedule", Form(&[("starts_at_local", "$start_local")]), A_STAFF),
        get("/appointments/<id>/cancel", "/appointments/$appointment/cancel", A_STAFF),
        c("POST", "/appointments/<id>/cancel", "/appointments/$new_appointment/cancel", Form(&[("by", "person"), ("reason", "Malade")]), A_STAFF),
        get("/appointments/<id>/card", "/appointments/$appointment/card?person_id=$person", A_STAFF),
        get("/appointments/<id>/ics", "/appointments/$appointment/ics", A_STAFF),
        get("/calendar/<file>", "/calendar/$calendar", PUBLIC),
        get("/calendar", "/calendar", STAFF),
        c("POST", "/calendar", "/calendar", Form(&[]), STAFF),
        c("POST", "/calendar/revoke", "/calendar/revoke", Form(&[]), STAFF),
        get("/services", "/services", STAFF),
        c("POST", "/services", "/services", Form(&[("name", "Motif page $n"), ("kind", "workshop"), ("duration_minutes", "90"), ("capacity", "6")]), MANAGERS),
        get("/users/<id>/availability", "/users/$mediator/availability", A_STAFF),
        c("POST", "/users/<id>/opening-hours", "/users/$mediator/opening-hours", Form(&[("place_id", "$place"), ("weekday", "2"), ("start", "21:00"), ("end", "21:30"), ("valid_from", "$opening_day"), ("valid_until", "$opening_day")]), A_STAFF),
        c("POST", "/opening-hours/<id>/delete", "/opening-hours/$new_opening_hours/delete", Form(&[]), A_STAFF),
        c("POST", "/users/<id>/absences", "/users/$mediator/absences", Form(&[("starts_at_local", "$far_start_local"), ("ends_at_local", "$far_end_local"), ("reason", "Formation")]), A_STAFF),
        c("POST", "/absences/<id>/delete", "/absences/$new_absence/delete", Form(&[]), A_STAFF),
        get("/r/<token>", "/r/$link", PUBLIC),
        c("POST", "/r/<token>/confirm", "/r/$link/confirm", Form(&[]), PUBLIC),
        c("POST", "/r/<token>/cancel", "/r/$new_link/cancel", Form(&[]), PUBLIC),
        // Nothing chosen: the page again (303); a choice is checked against the free slots.
        c("POST", "/r/<token>/reschedule", "/r/$link/reschedule", Form(&[]), PUBLIC),
        get("/h/<token>", "/h/$handover", PUBLIC),
        c("POST", "/h/<token>/accept", "/h/$handover/accept", Form(&[]), PUBLIC),
        get("/messages", "/messages", MANAGERS),
        c("POST", "/messages/<id>/retry", "/messages/$new_dead_message/retry", Form(&[]), A_MANAGERS),
        get("/webhooks", "/webhooks", MANAGERS),
        c("POST", "/webhooks", "/webhooks", Form(&[("url", "https://93.184.216.34/hook/$n"), ("events", "appointment.created"), ("secret", "")]), MANAGERS),
        c("POST", "/webhooks/<id>/disable", "/webhooks/$new_webhook/disable", Form(&[]), A_MANAGERS),
        c("POST", "/webhooks/<id>/enable", "/webhooks/$new_webhook/enable", Form(&[]), A_MANAGERS),
        c("POST", "/webhooks/<id>/delete", "/webhooks/$new_webhook/delete", Form(&[]), A_MANAGERS),
        get("/webhooks/<id>/deliveries", "/webhooks/$new_webhook/deliveries", A_MANAGERS),
        c("POST", "/webhooks/<id>/deliveries/<delivery_id>/retry", "/webhooks/$new_webhook/deliveries/$new_dead_delivery/retry", Form(&[]), A_MANAGERS),
        get("/to-call", "/to-call", STAFF),
        // Kannel's callbacks take no session: a forged delivery report names no message, a reply
        // without the shared secret is refused.
        get("/sms/dlr/<id>/<signature>", "/sms/dlr/1/0123456789abcdef01234567?type=1", [N, N, N, N, N]),
        get("/sms/inbound", "/sms/inbound?secret=wrong&from=%2B33612345678&text=STOP", [F, F, F, F, F]),
        get("/appointments/<id>/log", "/appointments/$past/log", A_STAFF),
        c("POST", "/appointments/<id>/log", "/appointments/$past/log", Form(&[("participants[0].person_id", "$person"), ("participants[0].attendance", "attended"), ("participants[0].note", "Bien")]), A_STAFF),
        get("/logs-to-fill", "/logs-to-fill", STAFF),
        get("/skills", "/skills", STAFF),
        c("POST", "/skills", "/skills", Form(&[("domain_code", "$domain"), ("code", "P$n"), ("name", "Compétence page $n")]), ADMIN),
        c("POST", "/skills/<code>", "/skills/$skill", Form(&[("position", "2")]), ADMIN),
        get("/equipment", "/equipment", STAFF),
        c("POST", "/equipment", "/equipment", Form(&[("kind", "laptop"), ("model", "Portable $n")]), STAFF),
        get("/equipment/due", "/equipment/due", STAFF),
        get("/equipment/<id>", "/equipment/$equipment", A_STAFF),
        c("POST", "/equipment/<id>/assign", "/equipment/$new_equipment/assign", Form(&[("person_id", "$person"), ("mode", "donation"), ("handed_over_on", "$today"), ("acceptance", "typed_name"), ("accepted_by_name", "Alice")]), A_STAFF),
        c("POST", "/equipment/<id>/return", "/equipment/$new_assigned_equipment/return", Form(&[("returned_on", "$today"), ("condition", "rayé")]), A_STAFF),
        get("/equipment/<id>/status", "/equipment/$equipment/status?status=lost&note=oubli%C3%A9", A_STAFF),
        c("POST", "/equipment/<id>/status", "/equipment/$new_equipment/status", Form(&[("status", "lost"), ("note", "oublié dans le bus")]), A_STAFF),
        get("/equipment/<id>/handover", "/equipment/$equipment/handover", A_STAFF),
        get("/reports", "/reports", MANAGERS),
        get("/reports", "/reports?organisation_id=$org_a", MANAGERS),
        get("/reports/skills-progress", "/reports/skills-progress", MANAGERS),
        get("/reports/activity", "/reports/activity", MANAGERS),
        get("/reports/equipment", "/reports/equipment?programme_id=$programme", MANAGERS),
        get("/exports/<file>", "/exports/people.csv", MANAGERS),
        get("/exports/<file>", "/exports/appointments.csv?place_id=$place", [L, F, V, Y, Y]),
        get("/exports/<file>", "/exports/appointments.xlsx?place_id=$place", [L, F, V, Y, Y]),
        get("/exports/<file>", "/exports/people.xlsx", MANAGERS),
        get("/exports/<file>", "/exports/activites-coop.csv", MANAGERS),
        get("/exports/<file>", "/exports/activites-coop.xlsx?place_id=$place", [L, F, V, Y, Y]),
        get("/exports/lieux-mediation-numerique.csv", "/exports/lieux-mediation-numerique.csv", MANAGERS),
        get("/exports/lieux-mediation-numerique.json", "/exports/lieux-mediation-numerique.json", MANAGERS),
    ]
}

/// Organisation A's records, B's manager and an admin.
struct Ctx<'a> {
    app: &'a TestApp,
    mediator: Staff,
    manager: Staff,
    other: Staff,
    admin: Staff,
    values: HashMap<&'static str, String>,
    counter: std::cell::Cell<u32>,
}

/// Unique free starts in the mediator's opening hours (every day 08:00–20:00).
fn slot(k: u32) -> (NaiveDate, String) {
    let day = today() + Duration::days(5 + i64::from(k / 10));
    (day, format!("{:02}:00", 8 + k % 10))
}

impl<'a> Ctx<'a> {
    async fn new(app: &'a TestApp) -> Ctx<'a> {
        let manager = app.staff("manager", "Association ZZALPHA").await;
        let mediator = app.staff("mediator", "Association ZZALPHA").await;
        let other = app.staff("manager", "Structure Beta").await;
        let admin = app.staff("admin", "Département").await;
        let mut ctx = Ctx {
            app,
            mediator,
            manager,
            other,
            admin,
            values: HashMap::new(),
            counter: std::cell::Cell::new(0),
        };
        ctx.fixture().await;
        ctx
    }

    async fn api(&self, path: &str, body: Value) -> Value {
        let r = self.app.post_json(path, &self.manager.token, body).await;
        assert!(
            r.status.code < 300,
            "fixture {path}: {} {}",
            r.status,
            r.body
        );
        r.json()
    }

    fn id(v: &Value) -> String {
        v["id"].as_i64().expect("an id").to_string()
    }

    async fn fixture(&mut self) {
        let org_a = self.manager.user.organisation_id.to_string();
        let mediator_id = self.mediator.user.id;
        let programme = self
            .api(
                "/api/v1/programmes",
                json!({"name": "Programme partagé", "funder": "Conseil départemental"}),
            )
            .await;
        let place = self.api("/api/v1/places", json!({"name": "Lieu ZZALPHA", "address": "1 rue ZZALPHA", "postal_code": "59100", "city": "Roubaix", "accessibility_notes": "Accès ZZALPHA"})).await;
        let place_id = place["id"].as_i64().unwrap();
        let service = self.api("/api/v1/services", json!({"name": "Accompagnement ZZALPHA", "kind": "individual", "duration_minutes": 60, "min_notice_minutes": 0, "horizon_days": 730, "what_to_bring": "Carte ZZALPHA", "bookable_by": "public"})).await;
        let service_id = service["id"].as_i64().unwrap();
        for weekday in 1..=7 {
            self.api(
                &format!("/api/v1/users/{mediator_id}/opening-hours"),
                json!({"place_id": place_id, "weekday": weekday, "start": "08:00", "end": "20:00"}),
            )
            .await;
        }
        self.api(
            &format!("/api/v1/users/{mediator_id}/absences"),
            json!({"starts_at": at(today() + Duration::days(600), "08:00"), "ends_at": at(today() + Duration::days(600), "18:00"), "reason": "Absence ZZALPHA"}),
        )
        .await;
        let person = self.api("/api/v1/people", json!({"given_name": "Alice ZZALPHA", "family_name": "ZZALPHA", "email": "alice@zzalpha.example", "phone": "06 00 00 00 01", "reminder_consent": true, "city": "Ville ZZALPHA", "notes": "Note ZZALPHA", "programme_ids": [programme["id"]]})).await;
        let person_id = person["id"].as_i64().unwrap();
        let appointment = self.api("/api/v1/appointments", json!({"service_id": service_id, "mediator_id": mediator_id, "place_id": place_id, "starts_at": at(today() + Duration::days(3), "10:00"), "person_ids": [person_id], "title": "RDV ZZALPHA", "notes": "Notes ZZALPHA"})).await;
        let past = self.api("/api/v1/appointments", json!({"service_id": service_id, "mediator_id": mediator_id, "place_id": place_id, "starts_at": at(today() - Duration::days(1), "10:00"), "person_ids": [person_id], "title": "Passé ZZALPHA", "walk_in": true})).await;
        let skills = self
            .app
            .get("/api/v1/skills", Some(&self.manager.token))
            .await
            .json();
        let domain = skills[0]["domain_code"].as_str().unwrap().to_string();
        let skill = skills[0]["skills"][0]["code"].as_str().unwrap().to_string();
        self.api(
            &format!("/api/v1/appointments/{}/log", past["id"]),
            json!({"participants": [{"person_id": person_id, "attendance": "attended", "orientation": "autre", "orientation_note": "Orientation ZZALPHA", "note": "Séance ZZALPHA", "skills": [{"skill_code": skill, "level": 1}]}]}),
        )
        .await;
        let equipment = self.api("/api/v1/equipment", json!({"kind": "tablet", "model": "Tablette ZZALPHA", "serial": "SER-ZZALPHA", "programme_id": programme["id"]})).await;
        self.api(&format!("/api/v1/equipment/{}/assign", equipment["id"]), json!({"person_id": person_id, "mode": "loan", "handed_over_on": today().to_string(), "due_back_on": (today() + Duration::days(30)).to_string(), "acceptance": "typed_name", "accepted_by_name": "Alice ZZALPHA"})).await;
        // A tablet handed over on acceptance by email: the person's handover link.
        let emailed = self.api("/api/v1/equipment", json!({"kind": "tablet", "model": "Tablette par e-mail ZZALPHA", "serial": "SER-ZZALPHA-2"})).await;
        self.api(&format!("/api/v1/equipment/{}/assign", emailed["id"]), json!({"person_id": person_id, "mode": "donation", "handed_over_on": today().to_string(), "acceptance": "email_confirmation"})).await;
        let handover = {
            use passerelle::db::schema::assignments;
            let key = self.app.config().secret_key.clone();
            let item = emailed["id"].as_i64().unwrap() as i32;
            self.app
                .db()
                .run(move |conn| {
                    let id: i32 = assignments::table
                        .filter(assignments::equipment_id.eq(item))
                        .select(assignments::id)
                        .first(conn)?;
                    Ok(passerelle::mail::links::sign_for(
                        &key,
                        passerelle::mail::links::Purpose::Handover,
                        id,
                        chrono::Utc::now().naive_utc() + Duration::days(60),
                    ))
                })
                .await
                .unwrap()
        };
        // A colleague of the mediator with a calendar feed (the mediator's own may be renewed
        // by the calls below).
        let colleague = self.app.staff("mediator", "Association ZZALPHA").await;
        let page = self
            .app
            .post_form(
                "/calendar",
                Some(&colleague.session),
                &[("csrf_token", &colleague.csrf)],
            )
            .await;
        let url = crate::harness::unescape(&page.body);
        let prefix = format!("{}/calendar/", self.app.config().public_url);
        let file = url
            .split(prefix.as_str())
            .nth(1)
            .and_then(|rest| rest.split(".ics").next())
            .map(|token| format!("{token}.ics"))
            .expect("a calendar feed URL");
        let link = self
            .app
            .beneficiary_link(appointment["id"].as_i64().unwrap() as i32, person_id as i32)
            .await;
        // A's public slug, and a referral request sent from its public page.
        let slug: String = self
            .app
            .get("/api/v1/organisations", Some(&self.admin.token))
            .await
            .json()
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"].as_i64() == Some(self.manager.user.organisation_id as i64))
            .and_then(|o| o["slug"].as_str())
            .expect("A's slug")
            .to_string();
        let referral = self.refer(&slug, 0).await;
        let values = [
            ("slug", slug),
            ("referral", referral),
            ("org_a", org_a),
            ("mediator", mediator_id.to_string()),
            ("programme", Self::id(&programme)),
            ("place", place_id.to_string()),
            ("service", service_id.to_string()),
            ("person", person_id.to_string()),
            ("appointment", Self::id(&appointment)),
            ("past", Self::id(&past)),
            ("equipment", Self::id(&equipment)),
            ("domain", domain),
            ("skill", skill),
            ("calendar", file),
            ("link", link),
            ("handover", handover),
            ("password", PASSWORD.to_string()),
            ("today", today().to_string()),
            ("day", (today() + Duration::days(7)).to_string()),
        ];
        self.values.extend(values);
    }

    /// A referral request sent to A from its public page; its id.
    async fn refer(&self, slug: &str, n: u32) -> String {
        let r = self.app.send_json("POST", &format!("/api/v1/public/{slug}/referrals"), None, &json!({"person": {"given_name": format!("Orientée {n}")}, "referrer": {"name": "Référente ZZALPHA", "organisation": "CCAS", "email": format!("ref{n}@ccas.example")}, "topics": ["email"]}).to_string()).await;
        assert_eq!(r.status, Status::Created, "fixture referral: {}", r.body);
        let list = self
            .app
            .get("/api/v1/referrals?status=new", Some(&self.manager.token))
            .await
            .json();
        list.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .max()
            .expect("a referral")
            .to_string()
    }

    fn next(&self) -> u32 {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        n
    }

    fn staff(&self, who: Who) -> Option<&Staff> {
        match who {
            Who::Anonymous => None,
            Who::Mediator => Some(&self.mediator),
            Who::OtherManager => Some(&self.other),
            Who::Manager => Some(&self.manager),
            Who::Admin => Some(&self.admin),
        }
    }

    /// Makes what a `$new_*` placeholder names, for one call.
    async fn fresh(&self, name: &str, made: &mut HashMap<String, String>) {
        let n = self.next();
        let mediator = self.values["mediator"].clone();
        match name {
            "new_person" => {
                let p = self
                    .api(
                        "/api/v1/people",
                        json!({"given_name": format!("Nouvelle {n}"), "email": format!("n{n}@example.org"), "reminder_consent": true}),
                    )
                    .await;
                made.insert(name.into(), Self::id(&p));
            }
            "new_appointment" | "new_appointment_person" | "new_dead_message" | "new_link" => {
                let p = self
                    .api(
                        "/api/v1/people",
                        json!({"given_name": format!("Invitée {n}"), "email": format!("i{n}@example.org"), "reminder_consent": true}),
                    )
                    .await;
                let (day, time) = slot(self.next());
                let a = self.api("/api/v1/appointments", json!({"service_id": self.values["service"].parse::<i64>().unwrap(), "mediator_id": mediator.parse::<i64>().unwrap(), "place_id": self.values["place"].parse::<i64>().unwrap(), "starts_at": at(day, &time), "person_ids": [p["id"]]})).await;
                let appointment = a["id"].as_i64().unwrap() as i32;
                made.insert("new_appointment".into(), appointment.to_string());
                made.insert("new_appointment_person".into(), Self::id(&p));
                if name == "new_dead_message" {
                    use passerelle::db::schema::messages;
                    let id = self
                        .app
                        .db()
                        .run(move |conn| {
                            let id: i32 = messages::table
                                .filter(messages::appointment_id.eq(appointment))
                                .select(messages::id)
                                .first(conn)?;
                            diesel::update(messages::table.find(id))
                                .set(messages::status.eq("dead"))
                                .execute(conn)?;
                            Ok(id)
                        })
                        .await
                        .unwrap();
                    made.insert(name.into(), id.to_string());
                }
                if name == "new_link" {
                    let person = p["id"].as_i64().unwrap() as i32;
                    made.insert(
                        name.into(),
                        self.app.beneficiary_link(appointment, person).await,
                    );
                }
            }
            "new_equipment" | "new_assigned_equipment" => {
                let e = self
                    .api(
                        "/api/v1/equipment",
                        json!({"kind": "smartphone", "model": format!("Téléphone {n}")}),
                    )
                    .await;
                if name == "new_assigned_equipment" {
                    self.api(&format!("/api/v1/equipment/{}/assign", e["id"]), json!({"person_id": self.values["person"].parse::<i64>().unwrap(), "mode": "loan", "handed_over_on": today().to_string(), "due_back_on": (today() + Duration::days(30)).to_string(), "acceptance": "paper_signature"})).await;
                }
                made.insert(name.into(), Self::id(&e));
            }
            "new_opening_hours" => {
                // Valid one day of its own: made again for each call, never a duplicate.
                let day = (today() + Duration::days(3000 + i64::from(n))).to_string();
                let h = self
                    .api(
                        &format!("/api/v1/users/{mediator}/opening-hours"),
                        json!({"place_id": self.values["place"].parse::<i64>().unwrap(), "weekday": 3, "start": "20:00", "end": "21:00",
                            "valid_from": day, "valid_until": day}),
                    )
                    .await;
                made.insert(name.into(), Self::id(&h));
            }
            "new_absence" => {
                let day = today() + Duration::days(800 + i64::from(n));
                let a = self
                    .api(
                        &format!("/api/v1/users/{mediator}/absences"),
                        json!({"starts_at": at(day, "09:00"), "ends_at": at(day, "10:00")}),
                    )
                    .await;
                made.insert(name.into(), Self::id(&a));
            }
            "new_api_client" => {
                let client = self
                    .api(
                        "/api/v1/api-clients",
                        json!({"name": format!("Logiciel {n}"), "scopes": ["people:read"]}),
                    )
                    .await;
                made.insert(name.into(), Self::id(&client));
            }
            "new_webhook" | "new_dead_delivery" => {
                let hook = self.api("/api/v1/webhooks", json!({"url": format!("http://93.184.216.34/hook/{n}"), "events": ["appointment.created"], "secret": "un-secret-assez-long"})).await;
                let webhook = hook["id"].as_i64().unwrap() as i32;
                use passerelle::db::schema::webhook_deliveries as d;
                let stamp = passerelle::db::now();
                let delivery: i32 = self
                    .app
                    .db()
                    .run(move |conn| {
                        Ok(diesel::insert_into(d::table)
                            .values((
                                d::webhook_id.eq(webhook),
                                d::event.eq("appointment.created"),
                                d::delivery_key.eq(format!("k{n}")),
                                d::body.eq("{}"),
                                d::status.eq("dead"),
                                d::attempts.eq(8),
                                d::due_at.eq(stamp),
                                d::created_at.eq(stamp),
                            ))
                            .returning(d::id)
                            .get_result(conn)?)
                    })
                    .await
                    .unwrap();
                made.insert("new_webhook".into(), webhook.to_string());
                made.insert("new_dead_delivery".into(), delivery.to_string());
            }
            "new_referral" => {
                let id = self.refer(&self.values["slug"], n).await;
                made.insert(name.into(), id);
            }
            "new_place" => {
                let p = self.api("/api/v1/places", json!({"name": format!("Annexe {n}"), "address": "5 rue Haute", "postal_code": "59000", "city": "Lille"})).await;
                made.insert(name.into(), Self::id(&p));
            }
            other => panic!("unknown placeholder ${other}"),
        }
    }

    /// The value of a placeholder for one call by `who`.
    async fn value(&self, name: &str, who: Who, made: &mut HashMap<String, String>) -> String {
        if let Some(v) = made.get(name).or_else(|| self.values.get(name)) {
            return v.clone();
        }
        let value = match name {
            "n" => self.next().to_string(),
            // A day of its own far ahead: an opening valid that day only is no duplicate of
            // another call's (the same opening twice is refused).
            "opening_day" => (today() + Duration::days(3000 + i64::from(self.next()))).to_string(),
            "email" => self.staff(who).unwrap_or(&self.manager).email.clone(),
            "start" | "start_local" => {
                let (day, time) = slot(self.next());
                let start = at(day, &time);
                made.insert("start".into(), start);
                made.insert("start_local".into(), format!("{day}T{time}"));
                return made[name].clone();
            }
            "far_start" | "far_end" | "far_start_local" | "far_end_local" => {
                let day = today() + Duration::days(1000 + i64::from(self.next()));
                made.insert("far_start".into(), at(day, "09:00"));
                made.insert("far_end".into(), at(day, "12:00"));
                made.insert("far_start_local".into(), format!("{day}T09:00"));
                made.insert("far_end_local".into(), format!("{day}T12:00"));
                return made[name].clone();
            }
            _ if name.starts_with("new_") => {
                self.fresh(name, made).await;
                return made[name].clone();
            }
            other => panic!("unknown placeholder ${other}"),
        };
        made.insert(name.to_string(), value.clone());
        value
    }

    /// `text` with its placeholders filled in.
    async fn fill(&self, text: &str, who: Who, made: &mut HashMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            out.push_str(&self.value(&after[..end], who, made).await);
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }

    async fn call(&self, case: &Case, who: Who) -> (String, Response) {
        self.call_with(case, who, Tweak::None).await
    }

    /// The call of `case`, with one input made hostile.
    async fn call_with(&self, case: &Case, who: Who, tweak: Tweak<'_>) -> (String, Response) {
        let mut made = HashMap::new();
        let mut url = match tweak {
            // Every path parameter replaced.
            Tweak::Path(value) => case
                .pattern
                .split('/')
                .map(|segment| {
                    if segment.starts_with('<') {
                        value
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/"),
            _ => self.fill(case.url, who, &mut made).await,
        };
        if let Tweak::Query(name, value) = tweak {
            let joiner = if url.contains('?') { '&' } else { '?' };
            url = format!("{url}{joiner}{name}={}", urlencode(value));
        }
        let staff = self.staff(who);
        let is_api = url.starts_with("/api/");
        // Credentials this call uses up are made for it.
        let (token, session, csrf) = match (staff, case.fresh) {
            (None, _) => (None, None, None),
            (Some(s), Fresh::No) => (
                Some(s.token.clone()),
                Some(s.session.clone()),
                Some(s.csrf.clone()),
            ),
            (Some(s), Fresh::Token) => {
                let r = self
                    .app
                    .send_json(
                        "POST",
                        "/api/v1/tokens",
                        None,
                        &json!({"email": s.email, "password": PASSWORD}).to_string(),
                    )
                    .await;
                (
                    Some(r.json()["token"].as_str().unwrap().to_string()),
                    None,
                    None,
                )
            }
            (Some(s), Fresh::Session) => {
                let user_id = s.user.id;
                let session = self
                    .app
                    .db()
                    .run(move |conn| {
                        passerelle::auth::service::open_session(
                            conn,
                            user_id,
                            std::time::Duration::from_secs(3600),
                        )
                    })
                    .await
                    .unwrap();
                let csrf = self.app.csrf_of(&session).await;
                (None, Some(session), Some(csrf))
            }
        };
        let mut request = match case.method {
            "GET" => self.app.client.get(url.clone()),
            "POST" => self.app.client.post(url.clone()),
            "PATCH" => self.app.client.patch(url.clone()),
            "DELETE" => self.app.client.delete(url.clone()),
            other => panic!("method {other}"),
        };
        if is_api {
            if let Some(token) = token {
                request = request.header(Header::new("Authorization", format!("Bearer {token}")));
            }
        } else if let Some(session) = session {
            request = request.cookie(Cookie::new(passerelle::auth::SESSION_COOKIE, session));
        }
        request = match case.body {
            Body::None => request,
            Body::Json(text) => request
                .header(ContentType::JSON)
                .body(self.fill(text, who, &mut made).await),
            Body::Csv(text) => request
                .header(ContentType::CSV)
                .body(self.fill(text, who, &mut made).await),
            Body::Upload(text) => {
                let file = self.fill(text, who, &mut made).await;
                let boundary = "matrixboundary7MA4YWxkTrZu0gW";
                let body = format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n\
                     --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"personnes.csv\"\r\n\
                     Content-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n",
                    csrf.unwrap_or_default()
                );
                request
                    .header(
                        ContentType::new("multipart", "form-data")
                            .with_params(("boundary", boundary)),
                    )
                    .body(body)
            }
            Body::Form(fields) => {
                let mut pairs = Vec::new();
                for (i, (k, v)) in fields.iter().enumerate() {
                    let value = match tweak {
                        Tweak::Field(j, hostile) if i == j => hostile.to_string(),
                        _ => self.fill(v, who, &mut made).await,
                    };
                    pairs.push(format!("{}={}", urlencode(k), urlencode(&value)));
                }
                // Forms shown before sign-in carry the double-submit cookie's token.
                let pre_session = url == "/login"
                    || url.starts_with("/setup/")
                    || url.starts_with("/r/")
                    || url.starts_with("/h/")
                    || url.starts_with("/rdv/");
                let token = if pre_session {
                    let login = self.app.get("/login", None).await;
                    let cookie = login.cookie(passerelle::auth::PRE_SESSION_CSRF_COOKIE);
                    request = request.cookie(Cookie::new(
                        passerelle::auth::PRE_SESSION_CSRF_COOKIE,
                        cookie.expect("pre-session cookie"),
                    ));
                    hidden_field(&login.body, "csrf_token")
                } else {
                    csrf
                };
                if let Some(token) = token {
                    pairs.push(format!("csrf_token={}", urlencode(&token)));
                }
                request.header(ContentType::Form).body(pairs.join("&"))
            }
        };
        let response = collect(request.dispatch().await).await;
        (url, response)
    }
}

/// One input of a call made hostile.
#[derive(Clone, Copy)]
enum Tweak<'t> {
    None,
    /// The form field at this index gets this value.
    Field(usize, &'t str),
    /// This query parameter is added with this value.
    Query(&'t str, &'t str),
    /// Every path parameter is this text.
    Path(&'t str),
}

/// Inputs that have broken servers before.
fn hostile_values() -> Vec<String> {
    [
        "",
        " ",
        "\u{0}",
        "-1",
        "0",
        "2147483648",
        "99999999999999999999",
        "1.5",
        "abc",
        "é🎉",
        "2026-02-30",
        "+262142-12-31",
        "-262143-01-01T00:00",
        "9999-12-31T23:59",
        "24:60",
        "<script>",
        "true",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(std::iter::once("x".repeat(20_000)))
    .collect()
}

/// Whether `response` is what `expect` says, for a call to `url`.
fn matches(expect: Expect, url: &str, r: &Response) -> bool {
    let is_api = url.starts_with("/api/");
    let to_login = r.header("location") == Some("/login");
    let code = r.status.code;
    match expect {
        Expect::Y => (200..300).contains(&code) || ((300..400).contains(&code) && !to_login),
        Expect::L if is_api => {
            r.status == Status::Unauthorized
                && r.header("content-type") == Some("application/problem+json")
        }
        Expect::L => r.status == Status::SeeOther && to_login,
        Expect::F => r.status == Status::Forbidden,
        Expect::O => {
            r.status == Status::SeeOther
                && to_login
                && r.headers.iter().any(|(n, v)| {
                    n.eq_ignore_ascii_case("set-cookie")
                        && v.starts_with(&format!("{}=;", passerelle::auth::SESSION_COOKIE))
                })
        }
        Expect::N => r.status == Status::NotFound,
        Expect::V => r.status == Status::UnprocessableEntity,
    }
}

both_backends! {
    async fn every_route_answers_each_role_as_the_matrix_says(app) {
        let table = cases();
        let ctx = Ctx::new(&app).await;

        // The table covers every served route, and names no route that is gone.
        let served: BTreeSet<(String, String)> = app
            .client
            .rocket()
            .routes()
            .map(|r| (r.method.as_str().to_string(), r.uri.path().to_string()))
            .collect();
        let listed: BTreeSet<(String, String)> = table
            .iter()
            .map(|c| (c.method.to_string(), c.pattern.to_string()))
            .collect();
        let missing: Vec<_> = served.difference(&listed).collect();
        assert!(missing.is_empty(), "routes without an entry in the authorization matrix (add one to cases()): {missing:?}");
        let stale: Vec<_> = listed.difference(&served).collect();
        assert!(stale.is_empty(), "matrix entries for routes that are not served: {stale:?}");

        let mut failures = Vec::new();
        let mut calls = 0;
        for case in &table {
            for (who, expect) in CALLERS.iter().zip(case.expect) {
                let (url, r) = ctx.call(case, *who).await;
                calls += 1;
                if r.status.code >= 500 {
                    failures.push(format!("{} {url} as {who:?}: {} (5xx) {}", case.method, r.status, r.body.chars().take(200).collect::<String>()));
                    continue;
                }
                if !matches(expect, &url, &r) {
                    failures.push(format!(
                        "{} {url} as {who:?}: expected {expect:?}, got {} {} {}",
                        case.method,
                        r.status,
                        r.header("location").unwrap_or_default(),
                        r.body.chars().take(160).collect::<String>()
                    ));
                }
                // Public routes (a beneficiary's link) show what the link is for to anyone.
                let public = case.expect[0] == Y;
                if *who == Who::OtherManager && !public && r.body.contains(MARK) {
                    failures.push(format!("{} {url} as {who:?}: organisation A's data in the answer", case.method));
                }
            }
        }
        assert!(calls >= 5 * served.len());
        assert!(failures.is_empty(), "{} of {calls} calls differ from the matrix:\n{}", failures.len(), failures.join("\n"));
    }
}

both_backends! {
    async fn pages_and_forms_never_answer_5xx_to_hostile_input(app) {
        let table = cases();
        let ctx = Ctx::new(&app).await;
        let hostile = hostile_values();
        // Query parameters each route reads: the API's and the exports' from the OpenAPI
        // document, the pages' from the contract tests' table.
        let mut queries: HashMap<(String, String), Vec<String>> = HashMap::new();
        let doc = app.get("/api/v1/openapi.json", None).await.json();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let names: Vec<String> = op["parameters"].as_array().into_iter().flatten()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str().map(String::from))
                    .collect();
                let pattern = path.replace('{', "<").replace('}', ">");
                queries.entry((method.to_uppercase(), pattern)).or_default().extend(names);
            }
        }
        for (pattern, _, params) in crate::contract::page_parameters() {
            queries.entry(("GET".to_string(), pattern.to_string())).or_default()
                .extend(params.into_iter().map(|(name, _)| name.to_string()));
        }
        let mut failures = Vec::new();
        let mut calls = 0;
        let mut done_queries = BTreeSet::new();
        for case in &table {
            // As someone the route lets through, so the input is read.
            let Some(who) = [Who::Manager, Who::Admin, Who::Mediator, Who::Anonymous]
                .into_iter()
                .find(|w| case.expect[CALLERS.iter().position(|c| c == w).unwrap()] == Y)
            else {
                continue;
            };
            if case.fresh != Fresh::No {
                continue;
            }
            let mut tweaks: Vec<Tweak> = Vec::new();
            for value in &hostile {
                if case.pattern.contains('<') {
                    tweaks.push(Tweak::Path(value));
                }
                if let Body::Form(fields) = case.body {
                    for i in 0..fields.len() {
                        tweaks.push(Tweak::Field(i, value));
                    }
                }
            }
            let key = (case.method.to_string(), case.pattern.to_string());
            if done_queries.insert(key.clone()) {
                for name in queries.get(&key).into_iter().flatten() {
                    for value in &hostile {
                        tweaks.push(Tweak::Query(name, value));
                    }
                }
            }
            for tweak in tweaks {
                let (url, r) = ctx.call_with(case, who, tweak).await;
                calls += 1;
                if r.status.code >= 500 {
                    let shown: String = url.chars().take(160).collect();
                    let input = match tweak {
                        Tweak::Field(i, v) => match case.body {
                            Body::Form(fields) => format!("{}={:?}", fields[i].0, v.chars().take(40).collect::<String>()),
                            _ => String::new(),
                        },
                        _ => String::new(),
                    };
                    failures.push(format!("{} {shown} {input} as {who:?}: {}", case.method, r.status));
                }
            }
        }
        assert!(calls > 1000, "only {calls} calls");
        failures.sort();
        failures.dedup();
        assert!(failures.is_empty(), "{} of {calls} calls with hostile input failed:\n{}", failures.len(), failures.join("\n"));
    }
}

both_backends! {
    async fn records_of_another_organisation_named_in_a_body_or_filter_are_refused(app) {
        let ctx = Ctx::new(&app).await;
        let v = |k: &str| ctx.values[k].clone();
        let (a_person, a_place, a_mediator) = (v("person"), v("place"), v("mediator"));
        // Organisation B's own records.
        let b = crate::fixtures::setup(&app, "Structure Beta").await;
        let bt = b.manager.token.clone();
        let b_person = crate::fixtures::person(&app, &bt, "Bruno").await;
        let b_appointment = crate::fixtures::book(&app, &b, &bt, &at(today() + Duration::days(4), "10:00"), &[b_person]).await.json()["id"].clone();
        let b_past = app.post_json("/api/v1/appointments", &bt, json!({"service_id": b.service_id, "mediator_id": b.mediator.user.id,
            "place_id": b.place_id, "starts_at": at(today() - Duration::days(1), "10:00"), "person_ids": [b_person], "walk_in": true})).await.json()["id"].clone();
        let b_equipment = app.post_json("/api/v1/equipment", &bt, json!({"kind": "tablet"})).await.json()["id"].clone();
        let start = at(today() + Duration::days(5), "11:00");
        let (bm, bs, bp) = (b.mediator.user.id, b.service_id, b.place_id);

        let api: Vec<(&str, String, Value)> = vec![
            ("POST", "/api/v1/appointments".into(), json!({"service_id": bs, "mediator_id": a_mediator.parse::<i64>().unwrap(), "place_id": bp, "starts_at": start, "person_ids": [b_person]})),
            ("POST", "/api/v1/appointments".into(), json!({"service_id": bs, "mediator_id": bm, "place_id": a_place.parse::<i64>().unwrap(), "starts_at": start, "person_ids": [b_person]})),
            ("POST", "/api/v1/appointments".into(), json!({"service_id": bs, "mediator_id": bm, "place_id": bp, "starts_at": start, "person_ids": [a_person.parse::<i64>().unwrap()]})),
            ("POST", format!("/api/v1/appointments/{b_appointment}/participants"), json!({"person_id": a_person.parse::<i64>().unwrap()})),
            ("POST", format!("/api/v1/appointments/{b_past}/log"), json!({"participants": [{"person_id": a_person.parse::<i64>().unwrap(), "attendance": "attended"}]})),
            ("POST", format!("/api/v1/equipment/{b_equipment}/assign"), json!({"person_id": a_person.parse::<i64>().unwrap(), "mode": "donation", "handed_over_on": today().to_string(), "acceptance": "paper_signature"})),
            ("POST", format!("/api/v1/users/{bm}/opening-hours"), json!({"place_id": a_place.parse::<i64>().unwrap(), "weekday": 1, "start": "09:00", "end": "10:00"})),
            ("POST", "/api/v1/people".into(), json!({"given_name": "Intrus", "organisation_id": v("org_a").parse::<i64>().unwrap()})),
            ("POST", "/api/v1/places".into(), json!({"name": "Intrus", "address": "1 rue", "postal_code": "59000", "city": "Lille", "organisation_id": v("org_a").parse::<i64>().unwrap()})),
            ("POST", "/api/v1/services".into(), json!({"name": "Intrus", "kind": "individual", "duration_minutes": 30, "organisation_id": v("org_a").parse::<i64>().unwrap()})),
            ("POST", "/api/v1/equipment".into(), json!({"kind": "tablet", "organisation_id": v("org_a").parse::<i64>().unwrap()})),
        ];
        let mut failures = Vec::new();
        for (method, path, body) in &api {
            let r = app.send_json(method, path, Some(&bt), &body.to_string()).await;
            if !(400..500).contains(&r.status.code) || r.body.contains(MARK) {
                failures.push(format!("{method} {path} {body}: {} {}", r.status, r.body.chars().take(200).collect::<String>()));
            }
        }
        // Filters naming A's records: refused, or answered with nothing of A's.
        for path in [
            format!("/api/v1/appointments?person_id={a_person}"),
            format!("/api/v1/appointments?mediator_id={a_mediator}"),
            format!("/api/v1/appointments?place_id={a_place}"),
            format!("/api/v1/slots?service_id={bs}&from={}&to={}&mediator_id={a_mediator}", today(), today() + Duration::days(7)),
            format!("/api/v1/slots?service_id={bs}&from={}&to={}&place_id={a_place}", today(), today() + Duration::days(7)),
            format!("/api/v1/logs-to-fill?mediator_id={a_mediator}"),
            format!("/api/v1/audit?entity_id={a_person}"),
        ] {
            let r = app.get(&path, Some(&bt)).await;
            let empty = r.status.code == 200 && r.json().as_array().is_some_and(|a| a.is_empty());
            if !(empty || (400..500).contains(&r.status.code)) || r.body.contains(MARK) {
                failures.push(format!("GET {path}: {} {}", r.status, r.body.chars().take(200).collect::<String>()));
            }
        }
        // The same on the pages.
        let s = &b.manager;
        for (path, fields) in [
            (format!("/appointments/{b_appointment}/participants"), vec![("person_id", a_person.clone())]),
            (format!("/equipment/{b_equipment}/assign"), vec![("person_id", a_person.clone()), ("mode", "donation".into()), ("handed_over_on", today().to_string()), ("acceptance", "paper_signature".into())]),
            (format!("/users/{bm}/opening-hours"), vec![("place_id", a_place.clone()), ("weekday", "1".into()), ("start", "09:00".into()), ("end", "10:00".into())]),
            ("/appointments".to_string(), vec![("service_id", bs.to_string()), ("mediator_id", a_mediator.clone()), ("place_id", bp.to_string()), ("starts_at", start.clone()), ("person_id", b_person.to_string())]),
            ("/appointments".to_string(), vec![("service_id", bs.to_string()), ("mediator_id", bm.to_string()), ("place_id", bp.to_string()), ("starts_at", start.clone()), ("person_id", a_person.clone())]),
        ] {
            let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            form.push(("csrf_token", &s.csrf));
            let r = app.post_form(&path, Some(&s.session), &form).await;
            if !(400..500).contains(&r.status.code) || r.body.contains(MARK) {
                failures.push(format!("POST {path} {fields:?}: {} {}", r.status, r.header("location").unwrap_or_default()));
            }
        }
        for path in [
            format!("/appointments/{b_appointment}/card?person_id={a_person}"),
            format!("/appointments/new?q=Alice&mediator_id={a_mediator}&place_id={a_place}"),
            format!("/agenda?place_id={a_place}&view=week"),
            format!("/audit?entity_id={a_person}"),
        ] {
            let r = app.page(&path, &s.session).await;
            if r.status.code >= 500 || r.body.contains(MARK) {
                failures.push(format!("GET {path}: {}", r.status));
            }
        }
        // Within A, a mediator does not change a colleague's agenda.
        let colleague = app.staff("mediator", "Association ZZALPHA").await;
        for (path, body) in [
            (format!("/api/v1/users/{}/opening-hours", colleague.user.id), json!({"place_id": a_place.parse::<i64>().unwrap(), "weekday": 1, "start": "09:00", "end": "10:00"})),
            (format!("/api/v1/users/{}/absences", colleague.user.id), json!({"starts_at": at(today() + Duration::days(9), "09:00"), "ends_at": at(today() + Duration::days(9), "10:00")})),
        ] {
            let r = app.post_json(&path, &ctx.mediator.token, body).await;
            if r.status != Status::Forbidden {
                failures.push(format!("mediator on a colleague's agenda: POST {path}: {}", r.status));
            }
        }
        assert!(failures.is_empty(), "{} answers accept or show another organisation's records:\n{}", failures.len(), failures.join("\n"));
    }
}
