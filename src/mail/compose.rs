//! Composes an outbox message into an email, in the person's language (French for a referent;
//! texts in `locales/`), short, plain language; plain text with an
//! HTML alternative; for an appointment, an ICS invitation (REQUEST, or CANCEL when it is off);
//! for a handover of equipment, the link to accept it.

use std::sync::OnceLock;

use diesel::prelude::*;
use lettre::message::header::{ContentDisposition, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder, MultiPart, SinglePart};
use lettre::Message;
use serde_json::json;
use tera::{Context, Tera};

use crate::booking::{ics, Appointment, AppointmentRow, ParticipantRow, Service};
use crate::config::Config;
use crate::db::schema::{
    appointments, assignments, equipment, organisations, participants, people, places, services,
    users,
};
use crate::db::DbConn;
use crate::error::AppError;
use crate::outbox::MessageRow;

pub const KINDS: [&str; 6] = [
    "confirmation",
    "reminder",
    "reschedule",
    "cancellation",
    "promotion",
    "handover",
];

/// How long the link of a handover email works.
const HANDOVER_LINK_DAYS: i64 = 60;

macro_rules! email_templates {
    ($($kind:literal),*) => {
        vec![
            ("emails/_details.txt", include_str!("../../templates/emails/_details.txt.tera")),
            ("emails/_details.html", include_str!("../../templates/emails/_details.html.tera")),
            ("emails/_layout.html", include_str!("../../templates/emails/_layout.html.tera")),
            $(
                (concat!("emails/", $kind, "/subject.txt"), include_str!(concat!("../../templates/emails/", $kind, "/subject.txt.tera"))),
                (concat!("emails/", $kind, "/body.txt"), include_str!(concat!("../../templates/emails/", $kind, "/body.txt.tera"))),
                (concat!("emails/", $kind, "/body.html"), include_str!(concat!("../../templates/emails/", $kind, "/body.html.tera"))),
            )*
        ]
    };
}

/// The email templates, compiled into the binary so that `passerelle worker` runs anywhere.
fn templates() -> &'static Tera {
    static TERA: OnceLock<Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut tera = Tera::default();
        tera.add_raw_templates(email_templates!(
            "confirmation",
            "reminder",
            "reschedule",
            "cancellation",
            "promotion",
            "handover"
        ))
        .expect("email templates parse");
        tera
    })
}

pub struct Composed {
    pub message: Message,
    pub subject: String,
    pub text: String,
}

fn render(name: &str, context: &Context) -> Result<String, AppError> {
    templates()
        .render(name, context)
        .map_err(|e| AppError::Internal(format!("email template {name}: {e:?}")))
}

/// The sender and the recipient of a message.
/// Headers every email carries: a `Message-ID` on the domain of `mail_from` that stays the same
/// across retries of one outbox row (a receiving server can drop a duplicate delivery), and
/// `Auto-Submitted: auto-generated` (RFC 3834: no vacation answers, no auto-reply loops).
fn standard_headers(
    builder: MessageBuilder,
    config: &Config,
    message: &MessageRow,
    from: &Mailbox,
) -> MessageBuilder {
    builder
        .message_id(Some(message_id(
            &config.secret_key,
            message.id,
            from.email.domain(),
        )))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
}

/// `<passerelle.{row}.{installation}@{domain}>`: unique per outbox row, and unlike another
/// installation's rows (the installation part is derived from the secret key).
pub fn message_id(key: &[u8], row_id: i32, domain: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(b"message-id");
    let installation = hex::encode(&mac.finalize().into_bytes()[..8]);
    format!("<passerelle.{row_id}.{installation}@{domain}>")
}

fn addresses(config: &Config, message: &MessageRow) -> Result<(Mailbox, Mailbox), AppError> {
    let from: Mailbox = config
        .mail_from
        .parse()
        .map_err(|e| AppError::Internal(format!("mail_from: {e}")))?;
    let to: Mailbox = message
        .recipient
        .parse()
        .map_err(|e| AppError::BadRequest(format!("adresse du destinataire invalide : {e}")))?;
    Ok((from, to))
}

/// Builds the email for an outbox row, from the appointment (or the handover) as it stands now.
pub fn compose(
    conn: &mut DbConn,
    config: &Config,
    message: &MessageRow,
) -> Result<Composed, AppError> {
    if message.kind == "handover" {
        return compose_handover(conn, config, message);
    }
    if message.kind == "receipt" {
        return compose_written(config, message);
    }
    compose_appointment(conn, config, message)
}

/// What an appointment's email speaks of, as it stands now: the appointment, the person's
/// participation, the place, the service, the mediator's name, and the person's given name
/// and language.
struct AppointmentFacts {
    row: AppointmentRow,
    participant: ParticipantRow,
    place: crate::places::Place,
    service: Service,
    mediator: String,
    given_name: String,
    language: String,
}

/// Reads what the email about the message's appointment speaks of.
fn appointment_facts(
    conn: &mut DbConn,
    message: &MessageRow,
) -> Result<AppointmentFacts, AppError> {
    let appointment_id = message.appointment_id.ok_or_else(|| {
        AppError::Internal(format!("message {} names no appointment", message.id))
    })?;
    let row: AppointmentRow = appointments::table
        .find(appointment_id)
        .select(AppointmentRow::as_select())
        .first(conn)?;
    let participant: ParticipantRow = participants::table
        .filter(participants::appointment_id.eq(appointment_id))
        .filter(participants::person_id.eq(message.person_id))
        .select(ParticipantRow::as_select())
        .first(conn)?;
    let place: crate::places::Place = places::table
        .find(row.place_id)
        .select(crate::places::Place::as_select())
        .first(conn)?;
    let service: Service = services::table
        .find(row.service_id)
        .select(Service::as_select())
        .first(conn)?;
    let mediator: String = users::table
        .find(row.mediator_id)
        .select(users::name)
        .first(conn)?;
    let (given_name, language): (String, String) = people::table
        .find(message.person_id)
        .select((people::given_name, people::language))
        .first(conn)?;
    Ok(AppointmentFacts {
        row,
        participant,
        place,
        service,
        mediator,
        given_name,
        language,
    })
}

/// The email about an appointment (confirmation, reminder, move, cancellation, promotion from
/// the waiting list), with its ICS invitation.
fn compose_appointment(
    conn: &mut DbConn,
    config: &Config,
    message: &MessageRow,
) -> Result<Composed, AppError> {
    let facts = appointment_facts(conn, message)?;
    let (context, title, calendar_text) = appointment_context(config, message, &facts)?;
    let kind = if KINDS.contains(&message.kind.as_str()) {
        message.kind.as_str()
    } else {
        "reminder"
    };
    let subject = render(&format!("emails/{kind}/subject.txt"), &context)?
        .trim()
        .to_string();
    let text = render(&format!("emails/{kind}/body.txt"), &context)?;
    let html = render(&format!("emails/{kind}/body.html"), &context)?;

    let (from, to) = addresses(config, message)?;
    let invitation = invitation(config, message, facts, &title, calendar_text, &from, &to)?;
    let email = standard_headers(Message::builder(), config, message, &from)
        .from(from)
        .to(to)
        .subject(subject.clone())
        .multipart(
            MultiPart::mixed()
                .multipart(MultiPart::alternative_plain_html(text.clone(), html))
                .singlepart(invitation),
        )
        .map_err(|e| AppError::Internal(format!("email: {e}")))?;
    Ok(Composed {
        message: email,
        subject,
        text,
    })
}

/// The templates' context of an appointment's email, in the recipient's language, with the
/// title of the appointment and the text of its calendar event.
fn appointment_context(
    config: &Config,
    message: &MessageRow,
    facts: &AppointmentFacts,
) -> Result<(Context, String, String), AppError> {
    let tz = &config.timezone;
    let AppointmentFacts {
        row,
        participant,
        place,
        service,
        mediator,
        given_name,
        language,
    } = facts;
    let lang = language_of(message, language);
    let mediator_first_name = mediator
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let title = row.title.clone().unwrap_or_else(|| service.name.clone());
    let link = format!(
        "{}/r/{}",
        config.public_url,
        // The page itself refuses an appointment that is over; the signature only needs to
        // outlive a later move of the appointment.
        super::links::sign(
            &config.secret_key,
            participant.id,
            super::links::expiry_of(row.ends_at)
        )
    );
    let when = crate::i18n::when_in_full(lang, tz, row.starts_at);
    let minutes = service.duration_minutes.to_string();
    let phone = place.phone.clone().unwrap_or_default();
    let t = crate::i18n::texts(
        lang,
        "email-",
        &[
            ("name", given_name),
            ("when", &when),
            ("title", &title),
            ("place", &place.name),
            ("phone", &phone),
            ("minutes", &minutes),
            ("sender", &place.name),
            ("mediator", &mediator_first_name),
            ("link", &link),
        ],
    );
    let for_referent = message.recipient_kind == "referent";
    let mut t = t;
    if for_referent {
        addressed_to_the_referent(&mut t);
    }
    let what_to_bring = service.what_to_bring.clone().unwrap_or_else(|| {
        t.get("email-bring-default")
            .and_then(|v| v.as_str())
            .unwrap_or(DEFAULT_BRING)
            .to_string()
    });
    let calendar_text = t
        .get("email-calendar")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let context = Context::from_value(json!({
        "kind": message.kind,
        "lang": lang,
        "dir": crate::i18n::direction(lang),
        "t": t,
        "heading": title,
        "for_referent": for_referent,
        "given_name": given_name,
        "when": when,
        "title": title,
        "place": place,
        "mediator": mediator_first_name,
        "what_to_bring": what_to_bring,
        "link": link,
        "duration_minutes": service.duration_minutes,
    }))
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((context, title, calendar_text))
}

/// The ICS attachment of an appointment's email: a REQUEST, or a CANCEL for a cancellation,
/// from the sender to the recipient.
fn invitation(
    config: &Config,
    message: &MessageRow,
    facts: AppointmentFacts,
    title: &str,
    calendar_text: String,
    from: &Mailbox,
    to: &Mailbox,
) -> Result<SinglePart, AppError> {
    let cancelled = message.kind == "cancellation";
    let place = &facts.place;
    let appointment = Appointment {
        row: facts.row,
        participants: vec![facts.participant],
    };
    let event = ics::event(&ics::EventInfo {
        appointment: &appointment,
        summary: format!("{title} — {}", place.name),
        location: format!(
            "{}, {}, {} {}",
            place.name, place.address, place.postal_code, place.city
        ),
        description: calendar_text,
        uid_key: &config.secret_key,
        sequence: Some(message.sequence),
        cancelled,
        organizer: Some(from.email.to_string()),
        attendee: Some(to.email.to_string()),
    });
    let method = if cancelled { "CANCEL" } else { "REQUEST" };
    let calendar = ics::calendar(&[event], Some(method));
    Ok(SinglePart::builder()
        .header(
            ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                .map_err(|e| AppError::Internal(e.to_string()))?,
        )
        .header(ContentDisposition::attachment("rendez-vous.ics"))
        .body(calendar))
}

/// The request to accept a handover: the item, donation or loan (with its due-back date), and
/// the signed link to the page where the person accepts it.
fn compose_handover(
    conn: &mut DbConn,
    config: &Config,
    message: &MessageRow,
) -> Result<Composed, AppError> {
    let assignment_id = message
        .assignment_id
        .ok_or_else(|| AppError::Internal(format!("message {} names no handover", message.id)))?;
    let assignment: crate::equipment::Assignment = assignments::table
        .find(assignment_id)
        .select(crate::equipment::Assignment::as_select())
        .first(conn)?;
    let item: crate::equipment::Item = equipment::table
        .find(assignment.equipment_id)
        .select(crate::equipment::Item::as_select())
        .first(conn)?;
    let (given_name, language): (String, String) = people::table
        .find(message.person_id)
        .select((people::given_name, people::language))
        .first(conn)?;
    let lang = language_of(message, &language);
    let organisation: String = organisations::table
        .find(message.organisation_id)
        .select(organisations::name)
        .first(conn)?;
    let link = format!(
        "{}/h/{}",
        config.public_url,
        super::links::sign_for(
            &config.secret_key,
            super::links::Purpose::Handover,
            assignment.id,
            crate::db::now() + chrono::Duration::days(HANDOVER_LINK_DAYS)
        )
    );
    let handed_over_on = crate::i18n::date_in_words(lang, assignment.handed_over_on);
    let due_back_on = assignment
        .due_back_on
        .map(|d| crate::i18n::date_in_words(lang, d))
        .unwrap_or_default();
    let days = HANDOVER_LINK_DAYS.to_string();
    let t = crate::i18n::texts(
        lang,
        "email-",
        &[
            ("name", &given_name),
            ("organisation", &organisation),
            ("sender", &organisation),
            ("handed_over_on", &handed_over_on),
            ("due_back_on", &due_back_on),
            ("days", &days),
        ],
    );
    let mut t = t;
    if message.recipient_kind == "referent" {
        addressed_to_the_referent(&mut t);
    }
    let context = Context::from_value(json!({
        "lang": lang,
        "dir": crate::i18n::direction(lang),
        "heading": t.get("email-handover-title"),
        "t": t,
        "for_referent": message.recipient_kind == "referent",
        "given_name": given_name,
        "organisation": organisation,
        // The footer of the layout names who writes.
        "place": { "name": organisation, "phone": null },
        "kind": crate::i18n::text(lang, &format!("equipment-{}", item.kind.replace('_', "-")), &[]),
        "model": item.model,
        "identifiers": crate::equipment::identifier_values(&item)
            .into_iter()
            .map(|(key, value)| json!({
                "label": format!("{}{}", crate::i18n::text(lang, key, &[]), crate::i18n::text(lang, "email-colon", &[])),
                "value": value,
            }))
            .collect::<Vec<_>>(),
        "loan": assignment.mode == "loan",
        "link": link,
    }))
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let subject = render("emails/handover/subject.txt", &context)?
        .trim()
        .to_string();
    let text = render("emails/handover/body.txt", &context)?;
    let html = render("emails/handover/body.html", &context)?;
    let (from, to) = addresses(config, message)?;
    let email = standard_headers(Message::builder(), config, message, &from)
        .from(from)
        .to(to)
        .subject(subject.clone())
        .multipart(MultiPart::alternative_plain_html(text.clone(), html))
        .map_err(|e| AppError::Internal(format!("email: {e}")))?;
    Ok(Composed {
        message: email,
        subject,
        text,
    })
}

/// The language of a message: the person's, but French for their referent (staff-facing).
fn language_of(message: &MessageRow, person_language: &str) -> &'static str {
    if message.recipient_kind == "referent" {
        crate::i18n::LANGUAGES[0]
    } else {
        crate::i18n::language(person_language)
    }
}

pub const DEFAULT_BRING: &str = "votre téléphone, votre tablette ou votre ordinateur si vous en avez un, chargé, et vos identifiants (adresse e-mail, mots de passe) si vous les connaissez.";

/// A plain-text email whose subject and text were written with the outbox row (a referrer's
/// receipt).
fn compose_written(config: &Config, message: &MessageRow) -> Result<Composed, AppError> {
    let subject = message.subject.clone().unwrap_or_default();
    let text = message.body.clone().unwrap_or_default();
    let (from, to) = addresses(config, message)?;
    let email = standard_headers(Message::builder(), config, message, &from)
        .from(from)
        .to(to)
        .subject(subject.clone())
        .singlepart(SinglePart::plain(text.clone()))
        .map_err(|e| AppError::Internal(format!("email: {e}")))?;
    Ok(Composed {
        message: email,
        subject,
        text,
    })
}

/// The texts of a message that speak to the person ("votre téléphone", "Je confirme"), in the
/// referent's copy replaced by their variants that speak of the person to the referent ("son
/// téléphone", "Confirmer pour Binta"), so that a social worker reads a message meant for them.
const REFERENT_TEXTS: [(&str, &str); 10] = [
    ("email-bring", "email-bring-referent"),
    ("email-bring-default", "email-bring-default-referent"),
    ("email-button", "email-button-referent"),
    (
        "email-confirmation-link",
        "email-confirmation-link-referent",
    ),
    ("email-reminder-link", "email-reminder-link-referent"),
    ("email-reschedule-link", "email-reschedule-link-referent"),
    ("email-promotion-link", "email-promotion-link-referent"),
    ("email-see-you", "email-see-you-referent"),
    ("email-footer", "email-footer-referent"),
    ("email-handover-how", "email-handover-how-referent"),
];

fn addressed_to_the_referent(t: &mut serde_json::Map<String, serde_json::Value>) {
    for (to_the_person, to_the_referent) in REFERENT_TEXTS {
        if let Some(text) = t.get(to_the_referent).cloned() {
            t.insert(to_the_person.to_string(), text);
        }
    }
}
