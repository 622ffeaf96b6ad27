//! Email: the transactional outbox, the worker that delivers it, composing the French emails
//! (plain text, HTML and an ICS invitation), the beneficiaries' signed links, and a small SMTP
//! sink for tests and benchmarks.

pub mod api;
pub mod compose;
pub mod links;
pub mod outbox;
pub mod sink;
pub mod web;
pub mod worker;

use lettre::transport::smtp::SmtpTransport;
use lettre::{FileTransport, Message, Transport};

use crate::config::{Config, MailTransport};

/// Where emails go: `.eml` files under `data_dir/mail`, or an SMTP server.
#[derive(Clone)]
pub enum Mailer {
    File(FileTransport),
    Smtp(SmtpTransport),
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
                let transport = SmtpTransport::from_url(url)
                    .map_err(|e| format!("smtp_url: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(15)))
                    .build();
                Ok(Mailer::Smtp(transport))
            }
        }
    }

    pub fn send(&self, message: &Message) -> Result<(), String> {
        match self {
            Mailer::File(t) => t.send(message).map(|_| ()).map_err(|e| e.to_string()),
            Mailer::Smtp(t) => t.send(message).map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}
