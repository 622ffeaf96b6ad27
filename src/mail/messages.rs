//! The outbox as staff see it (the messages page and API): managers and admins, each in their
//! organisation's scope; a dead message retried by hand, audited.

use crate::auth::{Role, StaffUser};
use crate::db::DbConn;
use crate::error::AppError;
use crate::outbox::{self, MessageRow};
use crate::status::MessageStatus;

pub fn list(
    conn: &mut DbConn,
    user: &StaffUser,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<MessageRow>, AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    outbox::rows(conn, user.scope(), status, limit, offset)
}

/// Puts a dead message back in the queue, due now.
pub fn retry(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<(), AppError> {
    user.require(&[Role::Admin, Role::Manager])?;
    crate::db::transaction(conn, |conn| {
        let row = outbox::row(conn, id)?
            .filter(|m| user.can_see(m.organisation_id))
            .ok_or(AppError::NotFound)?;
        if row.status != MessageStatus::Dead {
            return Err(AppError::Conflict {
                code: "not_dead",
                message: "Seul un message en échec définitif peut être relancé.".into(),
            });
        }
        outbox::requeue(conn, id)?;
        crate::audit::record(
            conn,
            Some(user),
            "retry",
            "message",
            Some(id),
            Some(row.organisation_id),
        )?;
        Ok(())
    })
}
