//! Whom no message reaches: the people booked in some appointments who have neither an email
//! nor a text message they consented to, nor a referent who gets theirs; read in one query
//! for all of them (the home page lists today's).

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::booking::Appointment;
use crate::db::schema::people;
use crate::db::DbConn;
use crate::error::AppError;
use crate::people::contact::Contact;
use crate::status::{AppointmentStatus, ParticipantStatus};

/// (id, given name, family name, phone, how messages reach them)
type PersonContact = (i32, String, Option<String>, Option<String>, Contact);

#[derive(Serialize, Debug, Clone)]
pub struct ToCall {
    pub appointment_id: i32,
    pub person_id: i32,
    pub name: String,
    /// As people dial it.
    pub phone: Option<String>,
    /// The structure cancelled the appointment: the person must be told.
    pub cancelled: bool,
}

/// The booked people of these (planned, booked ahead) appointments whom no message reaches.
pub fn among(conn: &mut DbConn, appointments: &[Appointment]) -> Result<Vec<ToCall>, AppError> {
    let seats: Vec<(i32, i32, bool)> = appointments
        .iter()
        .filter(|a| a.row.status == AppointmentStatus::Planned && !a.row.walk_in)
        .flat_map(|a| {
            a.participants
                .iter()
                .filter(|p| p.status == ParticipantStatus::Booked)
                .map(move |p| (a.row.id, p.person_id, false))
        })
        .collect();
    unreachable_among(conn, seats)
}

/// Of these seats (appointment, person, cancelled by the structure), those whose person no
/// message reaches, with the name and phone to call; the people read in one query a chunk.
pub fn unreachable_among(
    conn: &mut DbConn,
    seats: Vec<(i32, i32, bool)>,
) -> Result<Vec<ToCall>, AppError> {
    let mut ids: Vec<i32> = seats.iter().map(|(_, p, _)| *p).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found: HashMap<i32, (String, Option<String>, Option<String>, Contact)> = HashMap::new();
    for chunk in ids.chunks(900) {
        let rows: Vec<PersonContact> = people::table
            .filter(people::id.eq_any(chunk))
            .filter(people::anonymised_at.is_null())
            .select((
                people::id,
                people::given_name,
                people::family_name,
                people::phone,
                Contact::columns(),
            ))
            .load(conn)?;
        for (id, given, family, phone, contact) in rows {
            found.insert(id, (given, family, phone, contact));
        }
    }
    Ok(seats
        .into_iter()
        .filter_map(|(appointment_id, person_id, cancelled)| {
            let (given, family, phone, contact) = found.get(&person_id)?;
            contact.recipients().is_empty().then(|| ToCall {
                appointment_id,
                person_id,
                name: match family {
                    Some(f) => format!("{given} {f}"),
                    None => given.clone(),
                },
                phone: phone.as_deref().map(crate::phone::display),
                cancelled,
            })
        })
        .collect())
}
