//! What equipment announces: where the request to accept a handover goes (the person's email,
//! else their referent's), and that request written into the outbox inside the handover's
//! transaction.

use diesel::prelude::*;

use crate::db::schema::messages;
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::outbox;

/// Where a person's messages go: their email when they consented, else their referent's when
/// they consented to that, else nowhere (the appointment lands on the "to call" list).
pub fn route(
    email: Option<&str>,
    consent: bool,
    referent_email: Option<&str>,
    referent_consent: bool,
) -> Option<(String, &'static str)> {
    match (email, consent, referent_email, referent_consent) {
        (Some(email), true, _, _) => Some((email.to_string(), "person")),
        (_, _, Some(referent), true) => Some((referent.to_string(), "referent")),
        _ => None,
    }
}

/// Writes the email asking a person to accept a handover of equipment (its link is signed when
/// the email is composed). Call it inside the handover's transaction.
pub fn announce_handover(
    conn: &mut DbConn,
    organisation_id: i32,
    person_id: i32,
    assignment_id: i32,
    recipient: &(String, &'static str),
) -> Result<(), AppError> {
    outbox::enqueue(
        conn,
        (
            messages::organisation_id.eq(organisation_id),
            messages::assignment_id.eq(Some(assignment_id)),
            messages::person_id.eq(person_id),
            messages::kind.eq("handover"),
            messages::recipient.eq(&recipient.0),
            messages::recipient_kind.eq(recipient.1),
            messages::sequence.eq(0),
            messages::due_at.eq(now()),
            outbox::waiting(),
            messages::created_at.eq(now()),
        ),
    )
}
