//! What a person's reply does. `OUI` confirms and `NON` cancels their next appointment that a
//! text message told them about (the seat freed goes to the waitlist); `STOP` withdraws their
//! SMS consent. Case, accents and punctuation do not matter. Each is answered by a short SMS
//! through the outbox, in the person's language, and audited; a number no person has changes
//! nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::booking::service;
use crate::config::Config;
use crate::db::schema::{appointments, messages, organisations, participants, people};
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::outbox;
use crate::status::{AppointmentStatus, MessageStatus, ParticipantStatus};

/// What a reply asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Confirm,
    Cancel,
    Stop,
    Unclear,
}

/// Reads a reply: its first word, without case, accents or punctuation (`Oui !`, `non.`,
/// `« Stop »`, `OUÍ`).
pub fn intent(text: &str) -> Intent {
    let folded = crate::text::fold(text);
    let word: String = folded
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or_default()
        .to_string();
    match word.as_str() {
        "oui" | "yes" | "o" => Intent::Confirm,
        "non" | "no" | "n" => Intent::Cancel,
        "stop" | "stopsms" | "arret" | "arreter" => Intent::Stop,
        _ => Intent::Unclear,
    }
}

/// What the outcome was, for the caller and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The number belongs to nobody (or the number is not one): nothing changed.
    UnknownNumber,
    Confirmed(i32),
    Cancelled(i32),
    Stopped,
    /// OUI or NON with no appointment to act on, or a text not understood: the person gets the
    /// help text.
    Answered,
}

/// A seat a reply acts on: participation, person, appointment, organisation, start.
type Seat = (i32, i32, i32, i32, NaiveDateTime);

/// The person's next planned appointment (not started) where they hold a seat and that a text
/// message was sent about to this number.
fn next_reminded(
    conn: &mut DbConn,
    people_ids: &[i32],
    phone: &str,
) -> Result<Option<Seat>, AppError> {
    let told: Vec<i32> = messages::table
        .filter(messages::channel.eq("sms"))
        .filter(messages::recipient.eq(phone))
        .filter(messages::status.eq(MessageStatus::Sent))
        .filter(messages::person_id.eq_any(people_ids))
        .filter(messages::appointment_id.is_not_null())
        .select(messages::appointment_id.assume_not_null())
        .distinct()
        .load(conn)?;
    Ok(participants::table
        .inner_join(appointments::table)
        .filter(participants::person_id.eq_any(people_ids))
        .filter(participants::appointment_id.eq_any(&told))
        .filter(participants::status.eq(ParticipantStatus::Booked))
        .filter(appointments::status.eq(AppointmentStatus::Planned))
        .filter(appointments::starts_at.gt(now()))
        .order((appointments::starts_at, appointments::id))
        .select((
            participants::id,
            participants::person_id,
            appointments::id,
            appointments::organisation_id,
            appointments::starts_at,
        ))
        .first(conn)
        .optional()?)
}

/// The people who hold a number: id, organisation, language, oldest first (the first one is
/// answered when no appointment is concerned).
type Holders = [(i32, i32, String)];

/// Answers the number's first person with the text `key` (no appointment concerned).
fn answer_first(
    conn: &mut DbConn,
    phone: &str,
    holders: &Holders,
    key: &str,
) -> Result<(), AppError> {
    let (first_id, first_org, first_lang) = &holders[0];
    let answer = crate::i18n::text(first_lang, key, &[]);
    reply(
        conn, *first_org, *first_id, None, phone, first_lang, &answer,
    )
}

/// `STOP`: no more text messages to this number for any of its people, those pending dropped.
fn stop(conn: &mut DbConn, phone: &str, holders: &Holders) -> Result<Outcome, AppError> {
    let (first_id, first_org, first_lang) = &holders[0];
    let ids: Vec<i32> = holders.iter().map(|p| p.0).collect();
    diesel::update(people::table.filter(people::id.eq_any(&ids)))
        .set(people::sms_consent.eq(false))
        .execute(conn)?;
    // The text messages still to send to this number are dropped.
    diesel::update(
        messages::table
            .filter(messages::channel.eq("sms"))
            .filter(messages::recipient.eq(phone))
            .filter(messages::status.eq(MessageStatus::Pending)),
    )
    .set(messages::status.eq(MessageStatus::Cancelled))
    .execute(conn)?;
    for (id, organisation_id, _) in holders {
        crate::audit::record(
            conn,
            None,
            "sms_stop",
            "person",
            Some(*id),
            Some(*organisation_id),
        )?;
    }
    let organisation: String = organisations::table
        .find(*first_org)
        .select(organisations::name)
        .first(conn)?;
    let answer = crate::i18n::text(
        first_lang,
        "sms-reply-stop",
        &[("organisation", &organisation)],
    );
    reply(
        conn, *first_org, *first_id, None, phone, first_lang, &answer,
    )?;
    Ok(Outcome::Stopped)
}

/// `OUI`: the seat confirmed (once), audited and answered.
fn confirm(
    conn: &mut DbConn,
    phone: &str,
    seat: Seat,
    lang: &str,
    when: &str,
) -> Result<Outcome, AppError> {
    let (participant_id, person_id, appointment_id, organisation_id, _) = seat;
    crate::booking::participation::confirm(conn, participant_id)?;
    crate::audit::record(
        conn,
        None,
        "confirm_by_sms",
        "appointment",
        Some(appointment_id),
        Some(organisation_id),
    )?;
    let answer = crate::i18n::text(lang, "sms-reply-confirmed", &[("when", when)]);
    reply(
        conn,
        organisation_id,
        person_id,
        Some(appointment_id),
        phone,
        lang,
        &answer,
    )?;
    Ok(Outcome::Confirmed(appointment_id))
}

/// `NON`: the seat given up, audited and answered.
fn cancel(
    conn: &mut DbConn,
    config: &Config,
    phone: &str,
    seat: Seat,
    lang: &str,
    when: &str,
) -> Result<Outcome, AppError> {
    let (_, person_id, appointment_id, organisation_id, _) = seat;
    // The same as "Je ne peux pas venir" on the link: excused, the seat goes
    // to the first person waiting (who is told).
    service::withdraw(
        conn,
        None,
        appointment_id,
        person_id,
        ParticipantStatus::Excused,
        config,
    )?;
    crate::audit::record(
        conn,
        None,
        "cancel_by_sms",
        "appointment",
        Some(appointment_id),
        Some(organisation_id),
    )?;
    // The cancellation notice the withdrawal wrote would say it twice by SMS.
    diesel::update(
        messages::table
            .filter(messages::appointment_id.eq(appointment_id))
            .filter(messages::person_id.eq(person_id))
            .filter(messages::channel.eq("sms"))
            .filter(messages::kind.eq("cancellation"))
            .filter(messages::status.eq(MessageStatus::Pending)),
    )
    .set(messages::status.eq(MessageStatus::Cancelled))
    .execute(conn)?;
    let answer = crate::i18n::text(lang, "sms-reply-cancelled", &[("when", when)]);
    reply(
        conn,
        organisation_id,
        person_id,
        Some(appointment_id),
        phone,
        lang,
        &answer,
    )?;
    Ok(Outcome::Cancelled(appointment_id))
}

/// `OUI` or `NON`: acts on the next appointment a text message told them about, answered in
/// its person's language; with none, the number's first person is told so.
fn answer_seat(
    conn: &mut DbConn,
    config: &Config,
    intent: Intent,
    phone: &str,
    holders: &Holders,
) -> Result<Outcome, AppError> {
    let ids: Vec<i32> = holders.iter().map(|p| p.0).collect();
    let Some(seat) = next_reminded(conn, &ids, phone)? else {
        answer_first(conn, phone, holders, "sms-reply-nothing")?;
        return Ok(Outcome::Answered);
    };
    let (_, person_id, _, _, starts_at) = seat;
    let lang = holders
        .iter()
        .find(|p| p.0 == person_id)
        .map(|p| p.2.clone())
        .unwrap_or_else(|| holders[0].2.clone());
    let when = crate::i18n::when(&lang, &config.timezone, starts_at);
    if intent == Intent::Confirm {
        confirm(conn, phone, seat, &lang, &when)
    } else {
        cancel(conn, config, phone, seat, &lang, &when)
    }
}

/// Acts on a reply `text` from number `from` and writes the SMS that answers it.
pub fn handle(
    conn: &mut DbConn,
    config: &Config,
    from: &str,
    text: &str,
) -> Result<Outcome, AppError> {
    let Some(phone) = crate::phone::parse(from) else {
        return Ok(Outcome::UnknownNumber);
    };
    let phone = phone.e164;
    crate::db::transaction(conn, |conn| {
        let people_of: Vec<(i32, i32, String)> = people::table
            .filter(people::phone.eq(&phone))
            .filter(people::anonymised_at.is_null())
            .order(people::id)
            .select((people::id, people::organisation_id, people::language))
            .load(conn)?;
        if people_of.is_empty() {
            return Ok(Outcome::UnknownNumber);
        }
        match intent(text) {
            Intent::Stop => stop(conn, &phone, &people_of),
            intent @ (Intent::Confirm | Intent::Cancel) => {
                answer_seat(conn, config, intent, &phone, &people_of)
            }
            Intent::Unclear => {
                answer_first(conn, &phone, &people_of, "sms-reply-help")?;
                Ok(Outcome::Answered)
            }
        }
    })
}

/// Writes the answering SMS (folded to GSM unless in Arabic).
fn reply(
    conn: &mut DbConn,
    organisation_id: i32,
    person_id: i32,
    appointment_id: Option<i32>,
    phone: &str,
    lang: &str,
    text: &str,
) -> Result<(), AppError> {
    let text = if crate::i18n::language(lang) == "ar" {
        text.to_string()
    } else {
        crate::channels::gsm::fold(text)
    };
    announce_reply(
        conn,
        organisation_id,
        person_id,
        appointment_id,
        phone,
        &text,
    )
}

/// Writes the short SMS answering a person's reply (OUI, NON, STOP), its text already
/// written. Call it inside the transaction of what the reply changed.
pub fn announce_reply(
    conn: &mut DbConn,
    organisation_id: i32,
    person_id: i32,
    appointment_id: Option<i32>,
    phone: &str,
    text: &str,
) -> Result<(), AppError> {
    outbox::enqueue(
        conn,
        (
            messages::organisation_id.eq(organisation_id),
            messages::appointment_id.eq(appointment_id),
            messages::person_id.eq(person_id),
            messages::kind.eq("reply"),
            messages::recipient.eq(phone),
            messages::recipient_kind.eq("person"),
            messages::channel.eq("sms"),
            messages::sequence.eq(0),
            messages::due_at.eq(now()),
            outbox::waiting(),
            messages::body.eq(text),
            messages::created_at.eq(now()),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_without_case_accents_or_punctuation() {
        for text in ["OUI", "oui", "Oui !", " oui.", "OUÍ", "«oui»", "Oui merci"] {
            assert_eq!(intent(text), Intent::Confirm, "{text}");
        }
        for text in ["NON", "non.", "Non, désolé", "nOn!"] {
            assert_eq!(intent(text), Intent::Cancel, "{text}");
        }
        for text in ["STOP", "stop", "Stop.", "ARRÊT"] {
            assert_eq!(intent(text), Intent::Stop, "{text}");
        }
        for text in ["", "bonjour", "ouinon", "?"] {
            assert_eq!(intent(text), Intent::Unclear, "{text}");
        }
    }
}
