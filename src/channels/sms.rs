//! The SMS channel: a short text in the person's language (one GSM segment in French, with the
//! day and time, the place and a short personal link), written as a `.txt` file under
//! `data_dir/sms` (the default, so a newcomer sees them) or sent through Kannel's smsbox
//! `sendsms` interface, with a delivery report asked back on `/sms/dlr/…`.

use std::path::PathBuf;
use std::time::Duration;

use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{gsm, short_link, Channel, Prepared};
use crate::booking::{AppointmentRow, ParticipantRow};
use crate::config::{Config, SmsTransport};
use crate::db::schema::{appointments, participants, people};
use crate::db::DbConn;
use crate::error::AppError;
use crate::outbox::MessageRow;

/// The most a French (GSM) text message may hold: one segment.
pub const GSM_LIMIT: usize = 160;
/// An Arabic (UCS-2) text message may take two segments.
pub const UCS2_LIMIT: usize = 2 * 67;

enum Transport {
    File(PathBuf),
    Kannel {
        /// `sendsms` without the credentials.
        url: String,
        username: String,
        password: String,
        agent: ureq::Agent,
    },
}

pub struct Sms {
    transport: Transport,
}

impl Sms {
    pub fn from_config(config: &Config) -> Result<Sms, String> {
        let transport = match config.sms_transport {
            SmsTransport::File => {
                let dir = config.data_dir.join("sms");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                Transport::File(dir)
            }
            SmsTransport::Kannel => {
                let raw = config.sms_url.as_deref().unwrap_or_default();
                let mut url = url::Url::parse(raw).map_err(|e| format!("sms_url: {e}"))?;
                let decode = |s: &str| {
                    url::form_urlencoded::parse(format!("v={s}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                let username = decode(url.username());
                let password = decode(url.password().unwrap_or_default());
                let _ = url.set_username("");
                let _ = url.set_password(None);
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(15))
                    .max_idle_connections_per_host(64)
                    .build();
                Transport::Kannel {
                    url: url.to_string(),
                    username,
                    password,
                    agent,
                }
            }
        };
        Ok(Sms { transport })
    }
}

/// The signature of a delivery-report URL, so that only the gateway told the URL can report.
pub fn dlr_signature(key: &[u8], message_id: i32) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(b"passerelle-sms-dlr-v1");
    mac.update(&message_id.to_be_bytes());
    hex::encode(&mac.finalize().into_bytes()[..12])
}

/// Where Kannel reports the delivery of message `id` (it fills `%d`).
pub fn dlr_url(config: &Config, id: i32) -> String {
    format!(
        "{}/sms/dlr/{id}/{}?type=%d",
        config.public_url,
        dlr_signature(&config.secret_key, id)
    )
}

/// What a text message about an appointment says, before fitting.
struct Parts {
    lang: &'static str,
    kind: String,
    when: String,
    place: String,
    link: String,
}

/// The message in `lang`: a GSM text folded to one segment in French or English (the place
/// name shortened, then the "reply" hint left out, when it would not fit); Arabic in UCS-2,
/// at most two segments.
fn fit(parts: &Parts) -> String {
    let answer = match parts.kind.as_str() {
        "cancellation" => None,
        _ => Some(crate::i18n::text(parts.lang, "sms-answer", &[])),
    };
    let unicode = parts.lang == "ar";
    let limit = if unicode { UCS2_LIMIT } else { GSM_LIMIT };
    let size = |t: &str| {
        if unicode {
            t.encode_utf16().count()
        } else {
            gsm::septets(t)
        }
    };
    let build = |place: &str, answer: Option<&str>| {
        let main = crate::i18n::text(
            parts.lang,
            &format!("sms-{}", parts.kind),
            &[("when", &parts.when), ("place", place)],
        );
        let text = match answer {
            Some(answer) => format!("{main} {answer} {}", parts.link),
            None => format!("{main} {}", parts.link),
        };
        if unicode {
            text
        } else {
            gsm::fold(&text)
        }
    };
    let place: Vec<char> = parts.place.chars().collect();
    let tries: Vec<Option<&str>> = match answer.as_deref() {
        Some(answer) => vec![Some(answer), None],
        None => vec![None],
    };
    for with_answer in tries {
        let mut keep = place.len();
        loop {
            let shown: String = if keep == place.len() {
                parts.place.clone()
            } else {
                format!("{}.", place[..keep].iter().collect::<String>().trim_end())
            };
            let text = build(&shown, with_answer);
            if size(&text) <= limit {
                return text;
            }
            if keep <= 8 {
                break;
            }
            keep -= 1;
        }
    }
    // A public URL so long that nothing fits: the link and the day, at least.
    let text = build(&place.iter().take(8).collect::<String>(), None);
    text.chars().take(limit).collect()
}

/// The text of an appointment message for its person, with their short link.
pub fn compose(
    conn: &mut DbConn,
    config: &Config,
    message: &MessageRow,
) -> Result<String, AppError> {
    if message.kind == "reply" {
        return message
            .body
            .clone()
            .ok_or_else(|| AppError::Internal(format!("reply {} has no text", message.id)));
    }
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
    let place = crate::places::Place::load(conn, row.place_id)?;
    let language: String = people::table
        .find(message.person_id)
        .select(people::language)
        .first(conn)?;
    let lang = crate::i18n::language(&language);
    let code = short_link::code_for(
        conn,
        participant.id,
        crate::mail::links::expiry_of(row.ends_at),
    )?;
    Ok(fit(&Parts {
        lang,
        kind: message.kind.clone(),
        when: crate::i18n::when(lang, &config.timezone, row.starts_at),
        place: place.name,
        link: format!("{}/r/{code}", config.public_url),
    }))
}

impl Channel for Sms {
    fn prepare(
        &self,
        conn: &mut DbConn,
        config: &Config,
        message: &MessageRow,
    ) -> Result<Prepared, AppError> {
        let text = compose(conn, config, message)?;
        let to = message.recipient.clone();
        let from = config.sms_from.clone();
        let send: Box<dyn FnOnce() -> Result<(), String> + Send> = match &self.transport {
            Transport::File(dir) => {
                let path = dir.join(format!(
                    "{}-{}.txt",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
                    message.id
                ));
                let content = format!("From: {from}\nTo: {to}\n\n{text}\n");
                Box::new(move || {
                    std::fs::write(&path, content)
                        .map_err(|e| format!("écriture de {} : {e}", path.display()))
                })
            }
            Transport::Kannel {
                url,
                username,
                password,
                agent,
            } => {
                let (url, username, password, agent) = (
                    url.clone(),
                    username.clone(),
                    password.clone(),
                    agent.clone(),
                );
                let coding = if gsm::is_gsm(&text) { "0" } else { "2" };
                let dlr = dlr_url(config, message.id);
                let text = text.clone();
                Box::new(move || {
                    let outcome = agent
                        .get(&url)
                        .query("username", &username)
                        .query("password", &password)
                        .query("from", &from)
                        .query("to", &to)
                        .query("text", &text)
                        .query("charset", "UTF-8")
                        .query("coding", coding)
                        .query("dlr-mask", "31")
                        .query("dlr-url", &dlr)
                        .call();
                    // The error is recorded on the message: never with the password or the URL.
                    let hide = |t: String| {
                        if password.is_empty() {
                            t
                        } else {
                            t.replace(password.as_str(), "***")
                        }
                    };
                    match outcome {
                        Ok(response) if (200..300).contains(&response.status()) => Ok(()),
                        Ok(response) => Err(format!(
                            "passerelle SMS : réponse HTTP {}",
                            response.status()
                        )),
                        Err(ureq::Error::Status(code, response)) => {
                            let body: String = response
                                .into_string()
                                .unwrap_or_default()
                                .chars()
                                .take(200)
                                .collect();
                            Err(hide(format!(
                                "passerelle SMS : réponse HTTP {code} {}",
                                body.trim()
                            )))
                        }
                        Err(ureq::Error::Transport(t)) => Err(hide(format!(
                            "passerelle SMS injoignable : {}{}",
                            t.kind(),
                            t.message().map(|m| format!(" ({m})")).unwrap_or_default()
                        ))),
                    }
                })
            }
        };
        Ok(Prepared::new(String::new(), text, send))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(lang: &'static str, kind: &str, place: &str) -> Parts {
        Parts {
            lang,
            kind: kind.into(),
            when: "mercredi 30 septembre à 14 h 30".into(),
            place: place.into(),
            link: "https://rdv.passerelle.example.org/r/Ab3dEf9hJk2L".into(),
        }
    }

    #[test]
    fn a_french_sms_is_one_gsm_segment_with_the_link() {
        for kind in [
            "confirmation",
            "reminder",
            "reschedule",
            "cancellation",
            "promotion",
        ] {
            for place in [
                "Médiathèque",
                "Maison France Services de Saint-Benoît-du-Sault, salle de l'étage côté cour",
            ] {
                let text = fit(&parts("fr", kind, place));
                assert!(gsm::is_gsm(&text), "{text}");
                assert!(gsm::septets(&text) <= 160, "{} {text}", text.len());
                assert_eq!(gsm::segments(&text), 1);
                assert!(
                    text.ends_with("https://rdv.passerelle.example.org/r/Ab3dEf9hJk2L"),
                    "{text}"
                );
                assert!(text.contains("mercredi 30 septembre à 14 h 30"), "{text}");
            }
        }
        // è is in GSM 03.38 and stays; ê and ç are not and lose their accent.
        let short = fit(&parts(
            "fr",
            "reminder",
            "Médiathèque de la Forêt Françoise",
        ));
        assert!(
            short.contains("Médiathèque de la Foret Francoise") && short.contains("OUI"),
            "{short}"
        );
    }

    #[test]
    fn an_arabic_sms_takes_at_most_two_ucs2_segments() {
        let text = fit(&parts(
            "ar",
            "reminder",
            "Maison France Services de Saint-Benoît-du-Sault, salle de l'étage",
        ));
        assert!(!gsm::is_gsm(&text));
        assert!(gsm::segments(&text) <= 2, "{text}");
    }

    #[test]
    fn delivery_report_urls_are_signed_per_message() {
        let key = b"0123456789abcdef0123456789abcdef";
        assert_ne!(dlr_signature(key, 1), dlr_signature(key, 2));
        assert_eq!(dlr_signature(key, 1).len(), 24);
    }
}
