//! The channels the outbox delivers on: each turns a claimed message into something sent, in
//! one file (`email.rs`, `sms.rs`). The worker knows only [`Channel`]: composing happens with
//! a database connection, sending without one (a slow server must not hold the pool).

pub mod email;
pub mod gsm;
pub mod short_link;
pub mod sms;

use std::sync::Arc;

use crate::config::Config;
use crate::db::DbConn;
use crate::error::AppError;
use crate::outbox::MessageRow;

/// A message composed and ready to go: what to record of it, and how to send it.
pub struct Prepared {
    /// The email's subject (empty for a text message).
    pub subject: String,
    /// The plain text as sent.
    pub text: String,
    send: Box<dyn FnOnce() -> Result<(), String> + Send>,
}

impl Prepared {
    pub fn new(
        subject: String,
        text: String,
        send: impl FnOnce() -> Result<(), String> + Send + 'static,
    ) -> Prepared {
        Prepared {
            subject,
            text,
            send: Box::new(send),
        }
    }

    /// Sends it; an error text (never holding a password) when the server refused or was away.
    pub fn send(self) -> Result<(), String> {
        (self.send)()
    }
}

/// One way of reaching a person.
pub trait Channel: Send + Sync {
    /// Composes the message from the records as they stand now.
    fn prepare(
        &self,
        conn: &mut DbConn,
        config: &Config,
        message: &MessageRow,
    ) -> Result<Prepared, AppError>;
}

/// Every channel, as configured.
#[derive(Clone)]
pub struct Channels {
    email: Arc<dyn Channel>,
    sms: Arc<dyn Channel>,
}

impl Channels {
    pub fn from_config(config: &Config) -> Result<Channels, String> {
        Ok(Channels {
            email: Arc::new(email::Email::from_config(config)?),
            sms: Arc::new(sms::Sms::from_config(config)?),
        })
    }

    /// The channel a message travels on.
    pub fn of(&self, message: &MessageRow) -> &dyn Channel {
        match message.channel.as_str() {
            "sms" => self.sms.as_ref(),
            _ => self.email.as_ref(),
        }
    }
}
