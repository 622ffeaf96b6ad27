//! The demo's equipment: devices and SIM cards, most of them handed over to people followed,
//! some loans back, a few lost or broken; with their assignments and their history. Written
//! together in one transaction.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime, NaiveTime};
use rand::rngs::StdRng;
use rand::Rng;

use super::people::Followed;
use super::structures::Structures;
use super::{max_id, Calendar, Size};
use crate::db::bulk::{self, BulkInsert};
use crate::db::DbConn;
use crate::error::AppError;
use crate::status::EquipmentStatus;
use crate::time::LocalTime;

/// The rows waiting to be written, the next ids, and what devices draw from.
struct Writer<'a> {
    calendar: Calendar,
    structures: &'a Structures,
    followed_by_org: &'a HashMap<i32, Vec<Followed>>,
    /// Mediators per organisation: who records a device and hands it over.
    mediators_of: HashMap<i32, Vec<i32>>,
    items: BulkInsert,
    assignments: BulkInsert,
    events: BulkInsert,
    next_assignment: i64,
    next_event: i64,
}

/// Writes `size.devices` devices with their assignments and events.
pub(super) fn write(
    conn: &mut DbConn,
    rng: &mut StdRng,
    calendar: &Calendar,
    size: &Size,
    structures: &Structures,
    followed_by_org: &HashMap<i32, Vec<Followed>>,
) -> Result<(), AppError> {
    let equipment_base = max_id(conn, "equipment")?;
    let mut writer = Writer::new(conn, *calendar, structures, followed_by_org)?;
    for i in 0..size.devices {
        let id = equipment_base + 1 + i as i64;
        writer.device(conn, rng, id)?;
    }
    crate::db::transaction(conn, |conn| {
        writer.items.flush(conn)?;
        writer.assignments.flush(conn)?;
        writer.events.flush(conn)
    })
}

/// A kind of device, from a roll: about 45 % tablets, 30 % SIM cards, 15 % laptops, 7 %
/// smartphones, 3 % hotspots.
fn kind_of(roll: f64) -> &'static str {
    if roll < 0.45 {
        "tablet"
    } else if roll < 0.75 {
        "sim_card"
    } else if roll < 0.9 {
        "laptop"
    } else if roll < 0.97 {
        "smartphone"
    } else {
        "hotspot"
    }
}

/// The model shown for a kind of device.
fn model_of(kind: &str) -> &'static str {
    match kind {
        "tablet" => "Samsung Galaxy Tab A8",
        "sim_card" => "Carte SIM prépayée 20 Go",
        "laptop" => "Lenovo ThinkPad reconditionné",
        "smartphone" => "Fairphone 4",
        _ => "Routeur 4G",
    }
}

/// An IMEI's or ICCID's digits, completed with their Luhn check digit.
fn luhn_complete(payload: &str) -> String {
    format!(
        "{payload}{}",
        crate::equipment::ids::luhn_check_digit(payload)
    )
}

impl<'a> Writer<'a> {
    fn new(
        conn: &mut DbConn,
        calendar: Calendar,
        structures: &'a Structures,
        followed_by_org: &'a HashMap<i32, Vec<Followed>>,
    ) -> Result<Self, AppError> {
        let next_assignment = max_id(conn, "assignments")?;
        let next_event = max_id(conn, "equipment_events")?;
        let items = BulkInsert::deferred(
            "equipment",
            &[
                "id",
                "organisation_id",
                "kind",
                "model",
                "serial",
                "imei",
                "iccid",
                "phone_number",
                "operator",
                "data_allowance",
                "valid_until",
                "programme_id",
                "status",
                "current_holder_id",
                "created_at",
                "updated_at",
            ],
        );
        let assignments = BulkInsert::deferred(
            "assignments",
            &[
                "id",
                "equipment_id",
                "person_id",
                "mode",
                "handed_over_on",
                "due_back_on",
                "acceptance",
                "accepted_by_name",
                "returned_on",
                "return_condition",
                "author_id",
                "created_at",
            ],
        );
        let events = BulkInsert::deferred(
            "equipment_events",
            &[
                "id",
                "equipment_id",
                "person_id",
                "action",
                "status",
                "note",
                "actor_id",
                "at",
            ],
        );
        let mediators_of: HashMap<i32, Vec<i32>> =
            structures
                .mediators
                .iter()
                .fold(HashMap::new(), |mut acc, (m, o)| {
                    acc.entry(*o).or_default().push(*m);
                    acc
                });
        Ok(Writer {
            calendar,
            structures,
            followed_by_org,
            mediators_of,
            items,
            assignments,
            events,
            next_assignment,
            next_event,
        })
    }

    /// One device of a random organisation and programme, recorded on the first day; handed
    /// over to someone followed (about 88 %) or, when not, sometimes lost or broken.
    fn device(&mut self, conn: &mut DbConn, rng: &mut StdRng, id: i64) -> Result<(), AppError> {
        let Calendar {
            tz,
            today,
            first_day,
            ..
        } = self.calendar;
        let Structures {
            org_base,
            org_ids,
            programme_ids,
            ..
        } = self.structures;
        let org = org_ids[rng.gen_range(0..org_ids.len())];
        let kind = kind_of(rng.gen());
        let imei = matches!(kind, "tablet" | "smartphone").then(|| {
            luhn_complete(&format!(
                "35{:012}",
                100_000_000 + id + org_base * 1_000_000
            ))
        });
        let iccid = (kind == "sim_card").then(|| {
            luhn_complete(&format!(
                "8933{:014}",
                10_000_000 + id + org_base * 1_000_000
            ))
        });
        let model = model_of(kind);
        let programme = programme_ids[rng.gen_range(0..programme_ids.len())];
        let followed_by_org = self.followed_by_org;
        let cohort = followed_by_org.get(&org).map(Vec::as_slice).unwrap_or(&[]);
        let handed = !cohort.is_empty() && rng.gen_bool(0.88);
        let mediators = &self.mediators_of[&org];
        let author = mediators[rng.gen_range(0..mediators.len())];
        let created = tz.to_utc(first_day, NaiveTime::from_hms_opt(9, 0, 0).expect("valid"));
        self.event(
            conn,
            id,
            None,
            "created",
            EquipmentStatus::InStock,
            author,
            created,
        )?;
        let mut status = EquipmentStatus::InStock;
        let mut holder: Option<i32> = None;
        if handed {
            holder = self.hand_over(conn, rng, id, cohort, author)?;
            if holder.is_some() {
                status = EquipmentStatus::Assigned;
            }
        } else if rng.gen_bool(0.3) {
            status = if rng.gen_bool(0.5) {
                EquipmentStatus::Lost
            } else {
                EquipmentStatus::Broken
            };
        }
        self.items.push(
            conn,
            &[
                bulk::int(id),
                bulk::int(org.into()),
                bulk::text(kind),
                bulk::text(model),
                bulk::text(&format!("SN-{org}-{id:07}")),
                bulk::opt_text(imei.as_deref()),
                bulk::opt_text(iccid.as_deref()),
                bulk::opt_text(
                    (kind == "sim_card")
                        .then(|| {
                            format!(
                                "07 {:02} {:02} {:02} {:02}",
                                (id / 1_000_000) % 100,
                                (id / 10_000) % 100,
                                (id / 100) % 100,
                                id % 100
                            )
                        })
                        .as_deref(),
                ),
                bulk::opt_text((kind == "sim_card").then_some("Opérateur solidaire")),
                bulk::opt_text((kind == "sim_card").then_some("20 Go / mois")),
                bulk::opt_date(
                    (kind == "sim_card").then(|| today + Duration::days(rng.gen_range(-60..365))),
                ),
                bulk::int(programme.into()),
                bulk::text(status.as_str()),
                bulk::opt_int(holder.map(i64::from)),
                bulk::time(created),
                bulk::time(created),
            ],
        )?;
        Ok(())
    }

    /// Hands the device over to someone of the cohort, at the start of their follow-up: a
    /// donation, or a loan (about 30 %) for 180 days, given back in good condition when due
    /// in the past (about 60 %). Returns who holds it now.
    fn hand_over(
        &mut self,
        conn: &mut DbConn,
        rng: &mut StdRng,
        id: i64,
        cohort: &[Followed],
        author: i32,
    ) -> Result<Option<i32>, AppError> {
        let Calendar {
            tz,
            today,
            first_day,
            ..
        } = self.calendar;
        let person = &cohort[rng.gen_range(0..cohort.len())];
        let on = (first_day + Duration::days(person.start)).min(today);
        let loan = rng.gen_bool(0.3);
        let due = loan.then(|| on + Duration::days(180));
        let returned = due.filter(|d| *d < today && rng.gen_bool(0.6));
        self.next_assignment += 1;
        self.assignments.push(
            conn,
            &[
                bulk::int(self.next_assignment),
                bulk::int(id),
                bulk::int(person.id.into()),
                bulk::text(if loan { "loan" } else { "donation" }),
                bulk::date(on),
                bulk::opt_date(due),
                bulk::text(if rng.gen_bool(0.7) {
                    "paper_signature"
                } else {
                    "typed_name"
                }),
                "NULL".into(),
                bulk::opt_date(returned),
                bulk::opt_text(returned.map(|_| "bon état")),
                bulk::int(author.into()),
                bulk::time(tz.to_utc(on, NaiveTime::from_hms_opt(10, 0, 0).expect("valid"))),
            ],
        )?;
        let at = tz.to_utc(on, NaiveTime::from_hms_opt(10, 0, 0).expect("valid"));
        let action = if loan { "loaned" } else { "donated" };
        self.event(
            conn,
            id,
            Some(person.id),
            action,
            EquipmentStatus::Assigned,
            author,
            at,
        )?;
        if let Some(back) = returned {
            let at = tz.to_utc(back, NaiveTime::from_hms_opt(10, 0, 0).expect("valid"));
            self.event(
                conn,
                id,
                Some(person.id),
                "returned",
                EquipmentStatus::InStock,
                author,
                at,
            )?;
            Ok(None)
        } else {
            Ok(Some(person.id))
        }
    }

    /// A line of the device's history, without a note.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        conn: &mut DbConn,
        equipment: i64,
        person: Option<i32>,
        action: &str,
        status: EquipmentStatus,
        actor: i32,
        at: NaiveDateTime,
    ) -> Result<(), AppError> {
        self.next_event += 1;
        self.events.push(
            conn,
            &[
                bulk::int(self.next_event),
                bulk::int(equipment),
                bulk::opt_int(person.map(i64::from)),
                bulk::text(action),
                bulk::text(status.as_str()),
                "NULL".into(),
                bulk::int(actor.into()),
                bulk::time(at),
            ],
        )
    }
}
