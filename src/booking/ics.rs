//! iCalendar (RFC 5545): one appointment as a file, and a mediator's private feed.
//! Events carry no beneficiary's name: a feed ends up on third-party calendar services.

use chrono::NaiveDateTime;

use super::model::Appointment;

/// One event. Carries no beneficiary's name unless the caller puts it there (emails to the
/// person themselves do; the mediator's feed does not).
pub struct EventInfo<'a> {
    pub appointment: &'a Appointment,
    pub summary: String,
    pub location: String,
    pub description: String,
    /// The server's secret key: the event's UID is derived from it and the appointment's id,
    /// never from `public_url` (a new address must not duplicate events in calendars).
    pub uid_key: &'a [u8],
    /// Overrides the appointment's SEQUENCE (an email keeps the one it was written with).
    pub sequence: Option<i32>,
    /// Marks the event cancelled even when the appointment still stands (a withdrawn person).
    pub cancelled: bool,
    pub organizer: Option<String>,
    pub attendee: Option<String>,
}

fn stamp(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value.
fn text(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace(['\n', '\r'], "\\n")
}

/// Folds a content line at 75 octets, without splitting a character.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
    out
}

/// The appointment's UID: the same for as long as the installation keeps its secret key,
/// whatever `public_url` becomes, and unlike any other installation's.
pub fn uid(appointment_id: i32, key: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(b"ics-uid");
    let installation = hex::encode(&mac.finalize().into_bytes()[..8]);
    format!("appointment-{appointment_id}-{installation}@passerelle")
}

/// One VEVENT.
pub fn event(info: &EventInfo) -> String {
    let row = &info.appointment.row;
    let cancelled = info.cancelled || row.status == crate::status::AppointmentStatus::Cancelled;
    let mut lines = vec![
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}", uid(row.id, info.uid_key)),
        format!("SEQUENCE:{}", info.sequence.unwrap_or(row.sequence)),
        format!("DTSTAMP:{}", stamp(row.updated_at)),
        format!("DTSTART:{}", stamp(row.starts_at)),
        format!("DTEND:{}", stamp(row.ends_at)),
        format!("SUMMARY:{}", text(&info.summary)),
        format!("LOCATION:{}", text(&info.location)),
        format!("DESCRIPTION:{}", text(&info.description)),
        format!(
            "STATUS:{}",
            if cancelled { "CANCELLED" } else { "CONFIRMED" }
        ),
    ];
    if let Some(organizer) = &info.organizer {
        lines.push(format!("ORGANIZER:mailto:{organizer}"));
    }
    if let Some(attendee) = &info.attendee {
        lines.push(format!("ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:{attendee}"));
    }
    lines.push("END:VEVENT".to_string());
    lines.iter().map(|line| fold(line)).collect()
}

/// A VCALENDAR around events; `method` is `REQUEST` or `CANCEL` for an emailed invitation.
pub fn calendar(events: &[String], method: Option<&str>) -> String {
    let mut out = String::new();
    out.push_str(&fold("BEGIN:VCALENDAR"));
    out.push_str(&fold("VERSION:2.0"));
    out.push_str(&fold("PRODID:-//Passerelle//Mediation numerique//FR"));
    out.push_str(&fold("CALSCALE:GREGORIAN"));
    if let Some(method) = method {
        out.push_str(&fold(&format!("METHOD:{method}")));
    }
    for event in events {
        out.push_str(event);
    }
    out.push_str(&fold("END:VCALENDAR"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_and_text_escapes() {
        let folded = fold(&format!("DESCRIPTION:{}", "é".repeat(60)));
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(text("a,b;c\nd"), "a\\,b\\;c\\nd");
    }
}
