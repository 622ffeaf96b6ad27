//! The email channel: the French email of [`crate::mail::compose`], sent with lettre (or
//! written as an `.eml` file).

use super::{Channel, Prepared};
use crate::config::Config;
use crate::db::DbConn;
use crate::error::AppError;
use crate::mail::{compose, Mailer};
use crate::outbox::MessageRow;

pub struct Email {
    mailer: Mailer,
}

impl Email {
    pub fn from_config(config: &Config) -> Result<Email, String> {
        Ok(Email {
            mailer: Mailer::from_config(config)?,
        })
    }
}

impl Channel for Email {
    fn prepare(
        &self,
        conn: &mut DbConn,
        config: &Config,
        message: &MessageRow,
    ) -> Result<Prepared, AppError> {
        let composed = compose::compose(conn, config, message)?;
        let mailer = self.mailer.clone();
        let email = composed.message;
        Ok(Prepared::new(composed.subject, composed.text, move || {
            mailer.send(&email)
        }))
    }
}
