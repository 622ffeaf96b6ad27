//! The beneficiary's pages, reached from the personal link of an email or a card: no login,
//! plain language, large buttons, no JavaScript. An appointment's token (`/r/`) names one
//! participation and stops working when the appointment is over; a handover's token (`/h/`)
//! names one handover of equipment to accept, and is signed for that purpose only.

use chrono::TimeZone;
use diesel::prelude::*;
use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use crate::auth::csrf::{Csrf, TokenOnly};
use crate::booking::{service, Appointment, ParticipantRow};
use crate::config::Config;
use crate::db::schema::{participants, users};
use crate::db::{now, Db, DbConn};
use crate::error::AppError;
use crate::mail::links::{self, LinkError};
use crate::status::{AppointmentStatus, ParticipantStatus};
use crate::web::query::Query;

/// A page for the beneficiary: the appointment, or a kind explanation.
pub type Answer = (Status, Template);

fn kind_page(status: Status, title: &str, text: &str) -> Answer {
    kind_page_in("fr", status, title, text)
}

fn kind_page_in(lang: &str, status: Status, title: &str, text: &str) -> Answer {
    (
        status,
        Template::render(
            "beneficiary/message",
            json!({ "title": title, "text": text, "lang": lang, "dir": crate::i18n::direction(lang) }),
        ),
    )
}

fn bad_link(error: LinkError) -> Answer {
    bad_link_in("fr", error)
}

/// A link that does not work, said in `lang` (the page's, when the person chose one).
fn bad_link_in(lang: &str, error: LinkError) -> Answer {
    let lang = crate::i18n::language(lang);
    let (status, title, text) = match error {
        LinkError::Expired => (Status::Gone, "link-expired-title", "link-expired-text"),
        LinkError::Invalid => (Status::NotFound, "link-invalid-title", "link-invalid-text"),
    };
    kind_page_in(
        lang,
        status,
        &crate::i18n::text(lang, title, &[]),
        &crate::i18n::text(lang, text, &[]),
    )
}

/// The participation a token names and its appointment, while the link is valid: signed,
/// naming an existing participation, and the appointment not over.
fn participation(
    conn: &mut DbConn,
    config: &Config,
    token: &str,
) -> Result<Result<(ParticipantRow, Appointment), LinkError>, AppError> {
    // The short code of a text message, or the signed token of an email.
    let verified = if crate::channels::short_link::is_code(token) {
        crate::channels::short_link::resolve(conn, token, now())?
    } else {
        links::verify(&config.secret_key, token, now())
    };
    let id = match verified {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let Some(participant) = participants::table
        .find(id)
        .select(ParticipantRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Err(LinkError::Invalid));
    };
    let appointment = service::load_for(conn, None, participant.appointment_id)?;
    if appointment.row.ends_at <= now() {
        return Ok(Err(LinkError::Expired));
    }
    Ok(Ok((participant, appointment)))
}

/// `?lang=` switches the personal page's language; `?moved=1` after the person moved it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct LangQuery {
    #[serde(default, deserialize_with = "language")]
    pub lang: Option<String>,
    #[serde(default, deserialize_with = "crate::web::query::flag")]
    pub moved: Option<bool>,
}

fn language<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    crate::web::query::one_of(d, &crate::i18n::LANGUAGES)
}

/// What the personal page shows: the participation, its appointment and where, and the free
/// slots it may move to.
struct PageData {
    participant: ParticipantRow,
    appointment: Appointment,
    place: crate::places::Place,
    mediator: String,
    language: String,
    /// The motif (the service's name) and what the service asks to bring, when it says.
    motif: String,
    what_to_bring: Option<String>,
    /// `Some` when the person may move the appointment from the link.
    slots: Option<Vec<crate::booking::slots::Slot>>,
}

fn page_data(
    conn: &mut DbConn,
    config: &Config,
    token: &str,
) -> Result<Result<PageData, LinkError>, AppError> {
    let (participant, appointment) = match participation(conn, config, token)? {
        Ok(found) => found,
        Err(e) => return Ok(Err(e)),
    };
    let place = crate::places::Place::load(conn, appointment.row.place_id)?;
    let mediator: String = users::table
        .find(appointment.row.mediator_id)
        .select(users::name)
        .first(conn)?;
    let language: String = crate::db::schema::people::table
        .find(participant.person_id)
        .select(crate::db::schema::people::language)
        .first(conn)?;
    let service =
        crate::booking::availability::get_service_for(conn, None, appointment.row.service_id)?;
    let slots = if crate::reschedule::may_move(&appointment, &service, &participant) {
        Some(crate::reschedule::next_slots(conn, config, &appointment)?)
    } else {
        None
    };
    Ok(Ok(PageData {
        participant,
        appointment,
        place,
        mediator,
        language,
        motif: service.name.clone(),
        what_to_bring: service.what_to_bring.clone(),
        slots,
    }))
}

/// A line at the top of the page: the id of its text and its kind (`info`, `warning`).
type Notice = (&'static str, &'static str);

fn render_page(
    config: &Config,
    jar: &CookieJar<'_>,
    token: &str,
    data: PageData,
    asked: Option<&str>,
    notice: Option<Notice>,
    status: Status,
) -> Answer {
    let PageData {
        participant,
        appointment,
        place,
        mediator,
        language,
        motif,
        what_to_bring,
        slots,
    } = data;
    let tz = config.timezone;
    let csrf_token = crate::auth::csrf::masked(&crate::auth::web::pre_session_token(jar, config));
    // The page's state: a participant status, or `confirmed`.
    let state = match (appointment.row.status, participant.status) {
        (AppointmentStatus::Cancelled, _) | (_, ParticipantStatus::Cancelled) => {
            ParticipantStatus::Cancelled.as_str()
        }
        (_, ParticipantStatus::Excused) => ParticipantStatus::Excused.as_str(),
        (_, ParticipantStatus::Waitlisted) => ParticipantStatus::Waitlisted.as_str(),
        _ if participant.confirmed_at.is_some() => "confirmed",
        _ => ParticipantStatus::Booked.as_str(),
    };
    let local = tz.from_utc_datetime(&appointment.row.starts_at);
    let lang = crate::i18n::language(asked.unwrap_or(&language));
    let mediator = mediator
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let texts = crate::i18n::texts(lang, "page-", &[("mediator", &mediator)]);
    let notice =
        notice.map(|(id, kind)| json!({ "text": crate::i18n::text(lang, id, &[]), "kind": kind }));
    // The slots by local day, each day in words.
    let mut days: Vec<serde_json::Value> = Vec::new();
    let mut current_day = None;
    for slot in slots.iter().flatten() {
        let start = tz.from_utc_datetime(&slot.starts_at);
        if current_day != Some(start.date_naive()) {
            current_day = Some(start.date_naive());
            days.push(json!({ "label": crate::i18n::day_in_words(lang, &tz, slot.starts_at), "slots": [] }));
        }
        if let Some(list) = days
            .last_mut()
            .and_then(|d| d.get_mut("slots"))
            .and_then(|l| l.as_array_mut())
        {
            list.push(json!({
                "value": crate::reschedule::choice_value(config, slot),
                "time": start.format("%H:%M").to_string(),
            }));
        }
    }
    (
        status,
        Template::render(
            "beneficiary/appointment",
            json!({
                "token": token, "csrf_token": csrf_token, "state": state,
                "lang": lang, "dir": crate::i18n::direction(lang), "t": texts,
                "languages": [
                    {"code": "fr", "name": "Français"}, {"code": "en", "name": "English"}, {"code": "ar", "name": "العربية"},
                ],
                "when": crate::i18n::when(lang, &tz, appointment.row.starts_at), "time": local.format("%H:%M").to_string(),
                "place": place, "mediator": mediator,
                "title": appointment.row.title,
                "motif": motif,
                "bring": what_to_bring
                    .unwrap_or_else(|| crate::i18n::text(lang, "email-bring-default", &[])),
                "notice": notice,
                "can_move": slots.is_some() && (state == ParticipantStatus::Booked.as_str() || state == "confirmed"),
                "days": days,
            }),
        ),
    )
}

#[rocket::get("/r/<token>")]
pub async fn show(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    token: String,
    query: Query<LangQuery>,
) -> Result<Answer, AppError> {
    let query = query.into_inner();
    let asked = query.lang;
    let cfg = config.inner().clone();
    let link = token.clone();
    let found = db.run(move |conn| page_data(conn, &cfg, &link)).await?;
    let data = match found {
        Ok(found) => found,
        Err(e) => return Ok(bad_link_in(asked.as_deref().unwrap_or("fr"), e)),
    };
    let notice = (query.moved == Some(true)).then_some(("page-moved", "info"));
    Ok(render_page(
        config,
        jar,
        &token,
        data,
        asked.as_deref(),
        notice,
        Status::Ok,
    ))
}

/// The choice of a new time: one of the slot buttons of the page.
#[derive(rocket::FromForm)]
pub struct RescheduleForm {
    #[allow(dead_code)]
    csrf_token: String,
    starts_at: Option<String>,
    lang: Option<String>,
}

/// "Changer de rendez-vous": moves the appointment to the chosen free slot with the booking
/// service's rules; a refusal shows the page again, in the person's language, with the reason
/// and the slots as they are now.
#[rocket::post("/r/<token>/reschedule", data = "<form>")]
#[allow(clippy::too_many_arguments)]
pub async fn reschedule(
    db: &State<Db>,
    config: &State<Config>,
    throttle: &State<crate::reschedule::throttle::Throttle>,
    jar: &CookieJar<'_>,
    address: Option<std::net::IpAddr>,
    token: String,
    form: Csrf<RescheduleForm>,
) -> Result<Result<Redirect, Answer>, AppError> {
    let form = form.into_inner();
    let asked = form
        .lang
        .as_deref()
        .filter(|l| crate::i18n::LANGUAGES.contains(l))
        .map(str::to_string);
    let back = |moved: bool| {
        let mut query = Vec::new();
        if moved {
            query.push("moved=1".to_string());
        }
        if let Some(lang) = &asked {
            query.push(format!("lang={lang}"));
        }
        if query.is_empty() {
            format!("/r/{token}")
        } else {
            format!("/r/{token}?{}", query.join("&"))
        }
    };
    let throttled = throttle.attempt(address).is_err();
    let choice = form
        .starts_at
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if choice.is_none() && !throttled {
        // Nothing chosen: the page again.
        return Ok(Ok(Redirect::to(back(false))));
    }
    let starts_at = choice.and_then(crate::reschedule::parse_choice);
    let cfg = config.inner().clone();
    let link = token.clone();
    let outcome = db
        .run(move |conn| {
            let data = match page_data(conn, &cfg, &link)? {
                Ok(data) => data,
                Err(e) => return Ok(Err(e)),
            };
            if throttled {
                return Ok(Ok((
                    Some(("page-throttled", Status::TooManyRequests)),
                    data,
                )));
            }
            let Some(starts_at) = starts_at else {
                return Ok(Ok((
                    Some(("page-refused-time", Status::UnprocessableEntity)),
                    data,
                )));
            };
            let service = crate::booking::availability::get_service_for(
                conn,
                None,
                data.appointment.row.service_id,
            )?;
            match crate::reschedule::move_to(
                conn,
                &cfg,
                &data.participant,
                &data.appointment,
                &service,
                starts_at,
            )? {
                Ok(()) => Ok(Ok((None, data))),
                Err(refusal) => {
                    // The page as it stands now: the slot taken meanwhile is gone from it.
                    let data = match page_data(conn, &cfg, &link)? {
                        Ok(data) => data,
                        Err(e) => return Ok(Err(e)),
                    };
                    let status = if refusal == crate::reschedule::Refusal::NotAllowed {
                        Status::Forbidden
                    } else {
                        Status::Conflict
                    };
                    Ok(Ok((Some((refusal.text_id(), status)), data)))
                }
            }
        })
        .await?;
    Ok(match outcome {
        Err(e) => Err(bad_link_in(asked.as_deref().unwrap_or("fr"), e)),
        Ok((None, _)) => Ok(Redirect::to(back(true))),
        Ok((Some((id, status)), data)) => Err(render_page(
            config,
            jar,
            &token,
            data,
            asked.as_deref(),
            Some((id, "warning")),
            status,
        )),
    })
}

#[rocket::post("/r/<token>/confirm", data = "<_form>")]
pub async fn confirm(
    db: &State<Db>,
    config: &State<Config>,
    token: String,
    _form: Csrf<TokenOnly>,
) -> Result<Result<Redirect, Answer>, AppError> {
    let cfg = config.inner().clone();
    let link = token.clone();
    let outcome = db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                let (participant, appointment) = match participation(conn, &cfg, &link)? {
                    Ok(found) => found,
                    Err(e) => return Ok(Err(e)),
                };
                if participant.status == ParticipantStatus::Booked
                    && appointment.row.status == AppointmentStatus::Planned
                    && participant.confirmed_at.is_none()
                {
                    crate::booking::participation::confirm(conn, participant.id)?;
                    crate::audit::record(
                        conn,
                        None,
                        "confirm",
                        "appointment",
                        Some(appointment.row.id),
                        Some(appointment.row.organisation_id),
                    )?;
                }
                Ok(Ok(()))
            })
        })
        .await?;
    Ok(match outcome {
        Ok(()) => Ok(Redirect::to(format!("/r/{token}"))),
        Err(e) => Err(bad_link(e)),
    })
}

/// "Je ne peux pas venir": frees the seat, which goes to the first person waiting.
#[rocket::post("/r/<token>/cancel", data = "<_form>")]
pub async fn cancel(
    db: &State<Db>,
    config: &State<Config>,
    token: String,
    _form: Csrf<TokenOnly>,
) -> Result<Result<Redirect, Answer>, AppError> {
    let cfg = config.inner().clone();
    let link = token.clone();
    let outcome = db
        .run(move |conn| {
            let (participant, appointment) = match participation(conn, &cfg, &link)? {
                Ok(found) => found,
                Err(e) => return Ok(Err(e)),
            };
            if appointment.row.status == AppointmentStatus::Planned
                && matches!(
                    participant.status,
                    ParticipantStatus::Booked | ParticipantStatus::Waitlisted
                )
            {
                service::withdraw(
                    conn,
                    None,
                    appointment.row.id,
                    participant.person_id,
                    ParticipantStatus::Excused,
                    &cfg,
                )?;
            }
            Ok(Ok(()))
        })
        .await?;
    Ok(match outcome {
        Ok(()) => Ok(Redirect::to(format!("/r/{token}"))),
        Err(e) => Err(bad_link(e)),
    })
}

/// A handover link that does not work: a kind page.
fn bad_handover_link(error: LinkError) -> Answer {
    match error {
        LinkError::Expired => kind_page(
            Status::Gone,
            "Ce lien n'est plus valable",
            "Il a expiré. Pour accepter la remise du matériel, adressez-vous à la structure qui vous l'a remis : elle vous fera signer la fiche de remise.",
        ),
        LinkError::Invalid => bad_link(LinkError::Invalid),
    }
}

/// The handover an acceptance link names, if the link is good.
fn handover_id(config: &Config, token: &str) -> Result<i32, LinkError> {
    links::verify_for(&config.secret_key, links::Purpose::Handover, token, now())
}

/// The page of a handover, or a kind explanation when there is nothing left to accept.
fn handover_page(
    config: &Config,
    jar: &CookieJar<'_>,
    token: &str,
    found: Option<crate::equipment::LinkedHandover>,
) -> Answer {
    let Some(linked) = found else {
        return bad_link(LinkError::Invalid);
    };
    let assignment = &linked.assignment;
    if assignment.returned_on.is_some() {
        return kind_page(
            Status::Gone,
            "Ce matériel a été rendu",
            &format!(
                "Il n'y a plus rien à accepter. Une question ? Adressez-vous à {}.",
                linked.organisation
            ),
        );
    }
    let tz = config.timezone;
    let csrf_token = crate::auth::csrf::masked(&crate::auth::web::pre_session_token(jar, config));
    // In the person's language, as the email that brought her here.
    let lang = crate::i18n::language(&linked.language);
    let identifiers: Vec<_> = crate::equipment::identifier_values(&linked.item)
        .into_iter()
        .map(|(key, value)| json!({ "label": crate::i18n::text(lang, key, &[]), "value": value }))
        .collect();
    let handed_over_on = crate::i18n::date_in_words(lang, assignment.handed_over_on);
    let due_back_on = assignment
        .due_back_on
        .map(|d| crate::i18n::date_in_words(lang, d))
        .unwrap_or_default();
    let accepted_on = assignment
        .accepted_at
        .map(|at| crate::i18n::date_in_words(lang, tz.from_utc_datetime(&at).date_naive()))
        .unwrap_or_default();
    let texts = crate::i18n::texts(
        lang,
        "handover-",
        &[
            ("name", &linked.given_name),
            ("organisation", &linked.organisation),
            ("handed_over_on", &handed_over_on),
            ("due_back_on", &due_back_on),
            ("accepted_on", &accepted_on),
        ],
    );
    let kind = crate::i18n::text(
        lang,
        &format!("equipment-{}", linked.item.kind.replace('_', "-")),
        &[],
    );
    (
        Status::Ok,
        Template::render(
            "beneficiary/handover",
            json!({
                "token": token, "csrf_token": csrf_token,
                "lang": lang, "dir": crate::i18n::direction(lang), "t": texts,
                "kind": kind, "model": linked.item.model, "identifiers": identifiers,
                "loan": assignment.mode == "loan", "accepted": assignment.accepted_at.is_some(),
            }),
        ),
    )
}

/// The handover to accept, from the link of the email: what was handed over, donation or
/// loan, and one large button.
#[rocket::get("/h/<token>")]
pub async fn handover(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    token: String,
) -> Result<Answer, AppError> {
    let id = match handover_id(config, &token) {
        Ok(id) => id,
        Err(e) => return Ok(bad_handover_link(e)),
    };
    let found = db
        .run(move |conn| crate::equipment::linked_handover(conn, id))
        .await?;
    Ok(handover_page(config, jar, &token, found))
}

/// "J'accepte la remise": recorded once; a second press changes nothing.
#[rocket::post("/h/<token>/accept", data = "<_form>")]
pub async fn accept_handover(
    db: &State<Db>,
    config: &State<Config>,
    jar: &CookieJar<'_>,
    token: String,
    _form: Csrf<TokenOnly>,
) -> Result<Result<Redirect, Answer>, AppError> {
    let id = match handover_id(config, &token) {
        Ok(id) => id,
        Err(e) => return Ok(Err(bad_handover_link(e))),
    };
    let found = db
        .run(move |conn| crate::equipment::accept_by_email(conn, id))
        .await?;
    Ok(match found {
        Some(linked) if linked.assignment.returned_on.is_none() => {
            Ok(Redirect::to(format!("/h/{token}")))
        }
        other => Err(handover_page(config, jar, &token, other)),
    })
}
