//! The public pages, for people and referrers without an account: plain French, large targets,
//! no JavaScript, light pages. Every form carries the double-submit CSRF token and a hidden
//! honeypot field (`website`): a form that fills it books nothing and gets a page that looks
//! like a confirmation.

use std::net::IpAddr;

use chrono::{Duration, NaiveDate, TimeZone};
use rocket::http::{CookieJar, Status};
use rocket::State;
use rocket_dyn_templates::Template;
use serde::Deserialize;
use serde_json::json;

use super::service::{self, BookingRequest, PublicPerson, ReferralRequest};
use crate::auth::csrf::Csrf;
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::referrals::Referrer;
use crate::time::LocalTime;
use crate::web::query::Query;

pub type Page = (Status, Template);

const LANGUAGES: [(&str, &str); 3] = [("fr", "français"), ("en", "English"), ("ar", "العربية")];

/// Days searched forward for the next free slot when a day has none.
const LOOKAHEAD_DAYS: i64 = 14;

fn render(status: Status, name: &'static str, context: serde_json::Value) -> Page {
    (status, Template::render(name, context))
}

#[rocket::get("/rdv/<slug>")]
pub async fn home(db: &State<Db>, slug: String) -> Result<Page, AppError> {
    let (org, services) = db
        .run(move |conn| {
            let org = service::organisation(conn, &slug)?;
            let services = service::bookable_services(conn, org.id, false)?;
            Ok((org, services))
        })
        .await?;
    Ok(render(
        Status::Ok,
        "public/home",
        json!({ "org": org, "services": services }),
    ))
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    pub service_id: Option<i32>,
    pub place_id: Option<i32>,
    #[serde(default, deserialize_with = "crate::web::query::date")]
    pub date: Option<NaiveDate>,
}

/// One day of free slots of a service at a place, with the days before and after.
#[rocket::get("/rdv/<slug>/creneaux")]
pub async fn day(
    db: &State<Db>,
    config: &State<Config>,
    slug: String,
    query: Query<DayQuery>,
) -> Result<Page, AppError> {
    let tz = config.timezone;
    let query = query.into_inner();
    let (Some(service_id), Some(place_id)) = (query.service_id, query.place_id) else {
        let field = if query.service_id.is_none() {
            "service_id"
        } else {
            "place_id"
        };
        return Err(AppError::field(field, "Ce paramètre est obligatoire."));
    };
    let today = crate::time::today(&tz);
    let asked = query.date.unwrap_or(today).max(today);
    let (org, svc, place, date, slots) = db
        .run(move |conn| {
            let org = service::organisation(conn, &slug)?;
            let svc = service::bookable_service(conn, org.id, service_id, false)?;
            let places = service::bookable_services(conn, org.id, false)?
                .into_iter()
                .find(|s| s.id == svc.id)
                .map(|s| s.places)
                .unwrap_or_default();
            let place = places
                .into_iter()
                .find(|p| p.id == place_id)
                .ok_or_else(|| AppError::field("place_id", "Ce lieu n'existe pas."))?;
            // The asked day, or the next one with a free slot.
            let horizon = asked + Duration::days(LOOKAHEAD_DAYS);
            let found = service::slots(conn, &svc, asked, horizon, Some(place_id), &tz)?;
            let date = found
                .first()
                .map(|s| tz.from_utc_datetime(&s.start_utc).date_naive())
                .unwrap_or(asked);
            let slots: Vec<_> = found
                .into_iter()
                .filter(|s| tz.from_utc_datetime(&s.start_utc).date_naive() == date)
                .collect();
            Ok((org, svc, place, date, slots))
        })
        .await?;
    let times: Vec<serde_json::Value> = slots
        .iter()
        .map(|s| {
            let local = tz.from_utc_datetime(&s.start_utc);
            json!({ "time": local.format("%H:%M").to_string(), "starts_at": s.starts_at, "seats_left": s.seats_left })
        })
        .collect();
    let previous = (date > today).then(|| (date - Duration::days(1)).to_string());
    Ok(render(
        Status::Ok,
        "public/day",
        json!({ "org": org, "service": svc, "place": place, "date": date.to_string(),
                "day": crate::time::date_in_words(date), "times": times,
                "previous": previous, "next": (date + Duration::days(1)).to_string(),
                "skipped": date != asked }),
    ))
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct SlotChoice {
    pub service_id: Option<i32>,
    pub place_id: Option<i32>,
    pub starts_at: Option<String>,
}

/// What the booking form shows above its fields: the service, the place and the time.
async fn booking_context(
    db: &Db,
    config: &Config,
    slug: String,
    service_id: i32,
    place_id: i32,
    starts_at: &str,
) -> Result<serde_json::Value, AppError> {
    let tz = config.timezone;
    let start = crate::booking::service::parse_start("starts_at", starts_at)?;
    let (org, svc, place) = db
        .run(move |conn| {
            let org = service::organisation(conn, &slug)?;
            let svc = service::bookable_service(conn, org.id, service_id, false)?;
            let place = service::bookable_services(conn, org.id, false)?
                .into_iter()
                .find(|s| s.id == svc.id)
                .and_then(|s| s.places.into_iter().find(|p| p.id == place_id))
                .ok_or_else(|| AppError::field("place_id", "Ce lieu n'existe pas."))?;
            Ok((org, svc, place))
        })
        .await?;
    Ok(
        json!({ "org": org, "service": svc, "place": place, "starts_at": starts_at,
               "when": tz.in_words(start), "languages": LANGUAGES,
               "date": tz.from_utc_datetime(&start).date_naive().to_string() }),
    )
}

#[rocket::get("/rdv/<slug>/reserver")]
pub async fn form(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    slug: String,
    query: Query<SlotChoice>,
) -> Result<Page, AppError> {
    let query = query.into_inner();
    let (Some(service_id), Some(place_id), Some(starts_at)) =
        (query.service_id, query.place_id, query.starts_at)
    else {
        return Err(AppError::field(
            "starts_at",
            "Choisissez d'abord un créneau.",
        ));
    };
    // A `+` left unencoded in a link arrives as a space.
    let starts_at = starts_at.trim().replace(' ', "+");
    let mut context = booking_context(db, config, slug, service_id, place_id, &starts_at).await?;
    context["csrf_token"] = json!(crate::auth::csrf::masked(
        &crate::auth::web::pre_session_token(jar, config)
    ));
    context["values"] = json!({ "language": "fr" });
    context["errors"] = json!({});
    context["summary"] = json!([]);
    Ok(render(Status::Ok, "public/form", context))
}

#[derive(rocket::FromForm, Debug)]
pub struct BookingForm {
    service_id: i32,
    place_id: i32,
    starts_at: String,
    given_name: String,
    family_name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    sms_consent: bool,
    reminder_consent: bool,
    language: Option<String>,
    /// The honeypot: hidden from people, filled by robots.
    website: Option<String>,
}

/// The person's fields, in their order on the booking page, for the error summary (the
/// referral page asks them too, between the referrer's and the referral's).
const BOOK_FIELDS: [(&str, &str); 7] = [
    ("given_name", "Prénom"),
    ("family_name", "Nom"),
    ("phone", "Téléphone portable"),
    ("sms_consent", "Rappels par SMS"),
    ("email", "Adresse e-mail"),
    ("reminder_consent", "Rappels par e-mail"),
    ("language", "Langue des messages"),
];

/// The referrer's fields, first on the referral page.
const REFERRER_FIELDS: [(&str, &str); 4] = [
    ("referrer_name", "Votre nom"),
    ("referrer_organisation", "Votre structure"),
    ("referrer_email", "Votre adresse e-mail"),
    ("referrer_phone", "Votre téléphone"),
];

/// The referral's own fields, after the person's.
const REFERRAL_FIELDS: [(&str, &str); 4] = [
    ("agreement", "Accord de la personne"),
    ("topics", "Ses besoins"),
    ("message", "Précisions pratiques"),
    ("slot", "Rendez-vous"),
];

/// Error keys of the service (`person.phone`) as the form names its fields (`phone`).
fn form_errors(errors: FieldErrors) -> FieldErrors {
    errors
        .into_iter()
        .map(|(field, messages)| {
            let name = field
                .strip_prefix("person.")
                .map(str::to_string)
                .or_else(|| {
                    field
                        .strip_prefix("referrer.")
                        .map(|f| format!("referrer_{f}"))
                })
                .unwrap_or(field);
            (name, messages)
        })
        .collect()
}

fn filled(text: &Option<String>) -> bool {
    text.as_deref().is_some_and(|t| !t.trim().is_empty())
}

#[rocket::post("/rdv/<slug>/reserver", data = "<form>")]
pub async fn book(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    slug: String,
    address: Option<IpAddr>,
    form: Csrf<BookingForm>,
) -> Result<Page, AppError> {
    let form = form.into_inner();
    let mut context = booking_context(
        db,
        config,
        slug.clone(),
        form.service_id,
        form.place_id,
        &form.starts_at,
    )
    .await?;
    if filled(&form.website) {
        // Looks done; nothing is written.
        return Ok(render(Status::Ok, "public/done", context));
    }
    let request = BookingRequest {
        service_id: form.service_id,
        place_id: form.place_id,
        starts_at: form.starts_at.clone(),
        person: PublicPerson {
            given_name: form.given_name.clone(),
            family_name: form.family_name.clone(),
            phone: form.phone.clone(),
            email: form.email.clone(),
            sms_consent: form.sms_consent,
            reminder_consent: form.reminder_consent,
            language: form.language.clone(),
        },
        referrer: None,
        topics: Vec::new(),
    };
    let cfg = config.inner().clone();
    let outcome = db
        .run(move |conn| {
            let org = service::organisation(conn, &slug)?;
            service::book(conn, &cfg, &org, request, address)
        })
        .await;
    let (status, errors, problem) = match outcome {
        Ok(done) => {
            context["done"] =
                json!({ "link": done.link, "status": done.status, "when": done.when });
            return Ok(render(Status::Ok, "public/done", context));
        }
        Err(AppError::Validation(errors)) => {
            (Status::UnprocessableEntity, form_errors(errors), None)
        }
        Err(AppError::Conflict { message, .. }) => {
            (Status::Conflict, FieldErrors::new(), Some(message))
        }
        Err(e) => return Err(e),
    };
    context["csrf_token"] = json!(crate::auth::csrf::masked(
        &crate::auth::web::pre_session_token(jar, config)
    ));
    context["values"] = json!({ "given_name": form.given_name, "family_name": form.family_name,
        "phone": form.phone, "email": form.email, "sms_consent": form.sms_consent,
        "reminder_consent": form.reminder_consent, "language": form.language });
    context["errors"] = json!(errors);
    context["problem"] = json!(problem);
    let context = crate::web::notice::with_summary(context, &BOOK_FIELDS);
    Ok(render(status, "public/form", context))
}

/// The referrer's form: the slots of the next days of every service they may book.
async fn refer_context(
    db: &Db,
    config: &Config,
    slug: String,
) -> Result<serde_json::Value, AppError> {
    let tz = config.timezone;
    let today = crate::time::today(&tz);
    let (org, options) = db
        .run(move |conn| {
            let org = service::organisation(conn, &slug)?;
            let mut options = Vec::new();
            for svc in service::bookable_services(conn, org.id, true)? {
                let full = service::bookable_service(conn, org.id, svc.id, true)?;
                for place in &svc.places {
                    let slots = service::slots(
                        conn,
                        &full,
                        today,
                        today + Duration::days(LOOKAHEAD_DAYS),
                        Some(place.id),
                        &tz,
                    )?;
                    for slot in slots.into_iter().take(8) {
                        options.push(json!({
                            "value": format!("{}|{}|{}", svc.id, place.id, slot.starts_at),
                            "label": format!("{} — {} — {}", svc.name, place.name, tz.in_words(slot.start_utc)),
                        }));
                    }
                }
            }
            Ok((org, options))
        })
        .await?;
    let topics: Vec<(&str, &str)> = crate::skills::topics::DIGITAL
        .iter()
        .chain(crate::skills::topics::PROCEDURES.iter())
        .copied()
        .collect();
    Ok(json!({ "org": org, "options": options, "topics": topics, "languages": LANGUAGES }))
}

#[rocket::get("/rdv/<slug>/orienter")]
pub async fn refer_form(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    slug: String,
) -> Result<Page, AppError> {
    let mut context = refer_context(db, config, slug).await?;
    context["csrf_token"] = json!(crate::auth::csrf::masked(
        &crate::auth::web::pre_session_token(jar, config)
    ));
    context["values"] = json!({ "language": "fr", "topics": [], "slot": "" });
    context["errors"] = json!({});
    context["summary"] = json!([]);
    Ok(render(Status::Ok, "public/refer", context))
}

#[derive(rocket::FromForm, Debug)]
pub struct ReferForm {
    referrer_name: String,
    referrer_organisation: String,
    referrer_email: String,
    referrer_phone: Option<String>,
    given_name: String,
    family_name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    sms_consent: bool,
    reminder_consent: bool,
    language: Option<String>,
    /// The person agrees to be referred.
    agreement: bool,
    topics: Vec<String>,
    message: Option<String>,
    /// `service|place|starts_at`, or empty for a request without a slot.
    slot: Option<String>,
    website: Option<String>,
}

#[rocket::post("/rdv/<slug>/orienter", data = "<form>")]
pub async fn refer(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    slug: String,
    address: Option<IpAddr>,
    form: Csrf<ReferForm>,
) -> Result<Page, AppError> {
    let form = form.into_inner();
    let org_slug = slug.clone();
    let org = db
        .run(move |conn| service::organisation(conn, &org_slug))
        .await?;
    if filled(&form.website) {
        return Ok(render(
            Status::Ok,
            "public/referred",
            json!({ "org": org, "referrer_email": form.referrer_email }),
        ));
    }
    let person = PublicPerson {
        given_name: form.given_name.clone(),
        family_name: form.family_name.clone(),
        phone: form.phone.clone(),
        email: form.email.clone(),
        sms_consent: form.sms_consent,
        reminder_consent: form.reminder_consent,
        language: form.language.clone(),
    };
    let referrer = Referrer {
        name: form.referrer_name.clone(),
        organisation: form.referrer_organisation.clone(),
        email: form.referrer_email.clone(),
        phone: form.referrer_phone.clone(),
    };
    let slot = form
        .slot
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut parts = s.splitn(3, '|');
            let service_id = parts.next().and_then(|p| p.parse::<i32>().ok());
            let place_id = parts.next().and_then(|p| p.parse::<i32>().ok());
            match (service_id, place_id, parts.next()) {
                (Some(a), Some(b), Some(c)) => Ok((a, b, c.to_string())),
                _ => Err(AppError::field("slot", "Ce créneau n'existe pas.")),
            }
        })
        .transpose();
    let cfg = config.inner().clone();
    let agreement = form.agreement;
    let topics = form.topics.clone();
    let message = form.message.clone();
    let org_for_run = org.clone();
    let outcome: Result<Option<String>, AppError> = match slot {
        Err(e) => Err(e),
        // Nothing is recorded without the agreement; the other fields' mistakes come with it.
        Ok(_) if !agreement => {
            let mut errors = service::referral_errors(&ReferralRequest {
                person,
                referrer,
                topics,
                message,
            });
            errors.insert(
                "agreement".into(),
                vec!["Cochez la case : la personne doit être d'accord pour être orientée.".into()],
            );
            Err(AppError::Validation(errors))
        }
        Ok(Some((service_id, place_id, starts_at))) => {
            db.run(move |conn| {
                let request = BookingRequest {
                    service_id,
                    place_id,
                    starts_at,
                    person,
                    referrer: Some(referrer),
                    topics,
                };
                service::book(conn, &cfg, &org_for_run, request, address).map(|d| Some(d.when))
            })
            .await
        }
        Ok(None) => {
            db.run(move |conn| {
                let request = ReferralRequest {
                    person,
                    referrer,
                    topics,
                    message,
                };
                service::refer(conn, &cfg, &org_for_run, request, address).map(|_| None)
            })
            .await
        }
    };
    let (status, errors, problem) = match outcome {
        Ok(when) => {
            return Ok(render(
                Status::Ok,
                "public/referred",
                json!({ "org": org, "when": when, "given_name": form.given_name, "referrer_email": form.referrer_email }),
            ))
        }
        Err(AppError::Validation(errors)) => {
            (Status::UnprocessableEntity, form_errors(errors), None)
        }
        Err(AppError::Conflict { message, .. }) => {
            (Status::Conflict, FieldErrors::new(), Some(message))
        }
        Err(e) => return Err(e),
    };
    let mut context = refer_context(db, config, slug).await?;
    context["csrf_token"] = json!(crate::auth::csrf::masked(
        &crate::auth::web::pre_session_token(jar, config)
    ));
    context["values"] = json!({ "referrer_name": form.referrer_name, "referrer_organisation": form.referrer_organisation,
        "referrer_email": form.referrer_email, "referrer_phone": form.referrer_phone,
        "given_name": form.given_name, "family_name": form.family_name, "phone": form.phone, "email": form.email,
        "sms_consent": form.sms_consent, "reminder_consent": form.reminder_consent, "language": form.language,
        "agreement": form.agreement, "topics": form.topics, "message": form.message, "slot": form.slot });
    context["errors"] = json!(errors);
    context["problem"] = json!(problem);
    let context = crate::web::notice::with_summary(
        context,
        &[&REFERRER_FIELDS[..], &BOOK_FIELDS, &REFERRAL_FIELDS].concat(),
    );
    Ok(render(status, "public/refer", context))
}
