//! Email: composing the French emails (plain text, HTML and an ICS invitation), the outbox's
//! page and API, the beneficiaries' signed links. The queue is [`crate::outbox`], the worker
//! that delivers it [`crate::worker`]. (The tests' SMTP server is `tests/support/smtp_sink.rs`.)

pub mod api;
pub mod calling;
pub mod compose;
pub mod links;
pub mod messages;
pub mod person;
pub mod web;

use std::path::Path;

use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::SmtpTransport;
use lettre::{FileTransport, Message, Transport};

use crate::config::{Config, MailTransport};

/// Where emails go: `.eml` files under `data_dir/mail`, or an SMTP server (with the password of
/// `smtp_url`, if any, to keep out of error texts).
#[derive(Clone)]
pub enum Mailer {
    File(FileTransport),
    Smtp(SmtpTransport, Option<String>),
}

/// The TLS `smtp_url` asks for (`smtps://`: TLS from the start; `?tls=required` or
/// `?tls=opportunistic`: STARTTLS), also trusting the root certificates of `ca_file`.
fn tls_trusting(url: &str, ca_file: &Path) -> Result<Tls, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("smtp_url: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or("smtp_url: no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let pem =
        std::fs::read(ca_file).map_err(|e| format!("smtp_ca_file {}: {e}", ca_file.display()))?;
    let text = String::from_utf8_lossy(&pem);
    let mut parameters = TlsParameters::builder(host);
    let mut certificates = 0;
    const END: &str = "-----END CERTIFICATE-----";
    for block in text.split_inclusive(END).filter(|b| b.contains(END)) {
        let certificate = Certificate::from_pem(block.trim().as_bytes())
            .map_err(|e| format!("smtp_ca_file {}: {e}", ca_file.display()))?;
        parameters = parameters.add_root_certificate(certificate);
        certificates += 1;
    }
    if certificates == 0 {
        return Err(format!(
            "smtp_ca_file {}: no PEM certificate found",
            ca_file.display()
        ));
    }
    let parameters = parameters
        .build()
        .map_err(|e| format!("smtp_ca_file {}: {e}", ca_file.display()))?;
    let tls = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.to_string());
    match (parsed.scheme(), tls.as_deref()) {
        ("smtps", _) => Ok(Tls::Wrapper(parameters)),
        ("smtp", Some("required")) => Ok(Tls::Required(parameters)),
        ("smtp", Some("opportunistic")) => Ok(Tls::Opportunistic(parameters)),
        _ => Err(
            "smtp_ca_file is set but smtp_url uses no TLS (use smtps://… or ?tls=required)".into(),
        ),
    }
}

/// The password in `smtp_url`, as sent to the server.
fn password_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let password = parsed.password()?;
    url::form_urlencoded::parse(format!("p={password}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .filter(|p| !p.is_empty())
}

impl Mailer {
    pub fn from_config(config: &Config) -> Result<Mailer, String> {
        match config.mail_transport {
            MailTransport::File => {
                let dir = config.data_dir.join("mail");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                Ok(Mailer::File(FileTransport::new(dir)))
            }
            MailTransport::Smtp => {
                let url = config.smtp_url.as_deref().unwrap_or_default();
                let mut builder =
                    SmtpTransport::from_url(url).map_err(|e| format!("smtp_url: {e}"))?;
                if let Some(ca_file) = &config.smtp_ca_file {
                    builder = builder.tls(tls_trusting(url, ca_file)?);
                }
                let transport = builder
                    .timeout(Some(std::time::Duration::from_secs(15)))
                    .build();
                Ok(Mailer::Smtp(transport, password_of(url)))
            }
        }
    }

    pub fn send(&self, message: &Message) -> Result<(), String> {
        match self {
            Mailer::File(t) => t.send(message).map(|_| ()).map_err(|e| e.to_string()),
            Mailer::Smtp(t, password) => t.send(message).map(|_| ()).map_err(|e| {
                // The error is recorded on the message and shown on /messages: never with the
                // password, whatever a server echoes back.
                let text = e.to_string();
                match password {
                    Some(password) => text.replace(password.as_str(), "***"),
                    None => text,
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::password_of;

    #[test]
    fn the_password_to_keep_out_of_errors_is_the_decoded_one() {
        assert_eq!(
            password_of("smtps://user:p%40ss%2Fw0rd@mail.example:465").as_deref(),
            Some("p@ss/w0rd")
        );
        assert_eq!(password_of("smtp://mail.example:25"), None);
        assert_eq!(password_of("smtp://user@mail.example:25"), None);
    }
}
