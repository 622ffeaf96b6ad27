//! How a person may be reached: the email, phone, referent and consents recorded on them, and
//! the destinations their messages go to.

use diesel::prelude::*;

use crate::db::schema::people;

/// One destination of a person's messages: an address (email, or phone in E.164), whose it is
/// (`person` or `referent`) and the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    pub kind: &'static str,
    pub channel: &'static str,
}

/// How a person may be reached, as recorded on them.
#[derive(Debug, Clone, Default, Queryable)]
pub struct Contact {
    pub email: Option<String>,
    pub reminder_consent: bool,
    pub phone: Option<String>,
    pub sms_consent: bool,
    pub referent_email: Option<String>,
    pub referent_consent: bool,
}

impl Contact {
    /// The columns a [`Contact`] is read from.
    #[allow(clippy::type_complexity)]
    pub fn columns() -> (
        people::email,
        people::reminder_consent,
        people::phone,
        people::sms_consent,
        people::referent_email,
        people::referent_consent,
    ) {
        (
            people::email,
            people::reminder_consent,
            people::phone,
            people::sms_consent,
            people::referent_email,
            people::referent_consent,
        )
    }

    /// Every channel the person consented to (their email; their mobile phone by SMS); their
    /// referent's email only when they have none; nothing at all puts them on the "to call"
    /// list.
    pub fn recipients(&self) -> Vec<Recipient> {
        let mut out = Vec::new();
        if let (Some(email), true) = (&self.email, self.reminder_consent) {
            out.push(Recipient {
                address: email.clone(),
                kind: "person",
                channel: "email",
            });
        }
        if let (Some(phone), true) = (&self.phone, self.sms_consent) {
            if crate::phone::is_mobile(phone) {
                out.push(Recipient {
                    address: phone.clone(),
                    kind: "person",
                    channel: "sms",
                });
            }
        }
        if out.is_empty() {
            if let (Some(referent), true) = (&self.referent_email, self.referent_consent) {
                out.push(Recipient {
                    address: referent.clone(),
                    kind: "referent",
                    channel: "email",
                });
            }
        }
        out
    }
}
