//! What the delivery benchmarks share (`mail`, `sms`): one booked appointment whose first
//! message is copied into many due ones, then the worker run until nothing is left.

use diesel::prelude::*;
use passerelle::config::Config;
use passerelle::db::schema::messages;
use passerelle::db::Db;
use passerelle::outbox::MessageRow;

/// A manager, a place, an individual service and `person`, booked in three days; returns the
/// configuration, the database and the booking's first message on `channel` (`email|sms`).
pub fn booked_message(
    figment: &rocket::figment::Figment,
    person: passerelle::people::PersonInput,
    place_name: &str,
    channel: &str,
) -> (Config, Db, MessageRow) {
    let (config, db) = passerelle::open(figment).unwrap();
    let mut conn = db.get().unwrap();
    let org = passerelle::organisations::find_or_create(&mut conn, None, "Bench").unwrap();
    let user = passerelle::auth::service::create_user(
        &mut conn,
        None,
        passerelle::auth::service::UserInput {
            email: format!("bench{}@example.org", std::process::id()),
            name: "Camille Bench".into(),
            role: "manager".into(),
            organisation_id: Some(org.id),
            password: "bench-password".into(),
        },
    )
    .unwrap()
    .staff();
    let place = passerelle::places::create(
        &mut conn,
        &user,
        passerelle::places::PlaceInput {
            name: place_name.into(),
            address: "1 rue de la Gare".into(),
            postal_code: "59000".into(),
            city: "Lille".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let service = passerelle::booking::availability::create_service(
        &mut conn,
        &user,
        passerelle::booking::availability::ServiceInput {
            name: "Accompagnement".into(),
            kind: "individual".into(),
            duration_minutes: 60,
            ..Default::default()
        },
    )
    .unwrap();
    let (person, _) = passerelle::people::create(&mut conn, &user, person).unwrap();
    let start = chrono::Utc::now() + chrono::Duration::days(3);
    let appointment = passerelle::booking::service::book(
        &mut conn,
        &user,
        passerelle::booking::service::BookingInput {
            service_id: service.id,
            mediator_id: user.id,
            place_id: place.id,
            starts_at: start.to_rfc3339(),
            person_ids: vec![person.id],
            walk_in: false,
            override_opening_hours: true,
            ..Default::default()
        },
        &config,
    )
    .unwrap();
    let template: MessageRow = messages::table
        .filter(messages::appointment_id.eq(appointment.row.id))
        .filter(messages::channel.eq(channel))
        .select(MessageRow::as_select())
        .first(&mut *conn)
        .unwrap();
    drop(conn);
    (config, db, template)
}

/// Replaces every message by `count` due reminders like `template`, in one transaction.
pub fn fill_due(db: &Db, template: &MessageRow, count: usize) {
    let mut conn = db.get().unwrap();
    diesel::delete(messages::table).execute(&mut *conn).unwrap();
    passerelle::db::transaction(&mut conn, |conn| {
        for _ in 0..count {
            diesel::insert_into(messages::table)
                .values((
                    messages::organisation_id.eq(template.organisation_id),
                    messages::appointment_id.eq(template.appointment_id),
                    messages::person_id.eq(template.person_id),
                    messages::kind.eq("reminder"),
                    messages::recipient.eq(&template.recipient),
                    messages::recipient_kind.eq("person"),
                    messages::channel.eq(&template.channel),
                    messages::sequence.eq(0),
                    messages::due_at.eq(passerelle::db::now() - chrono::Duration::minutes(1)),
                    messages::status.eq("pending"),
                    messages::attempts.eq(0),
                    messages::created_at.eq(passerelle::db::now()),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
    .unwrap();
}

/// Runs the worker's rounds until nothing is due; `(sent, failed)`.
pub fn drain(db: &Db, config: &Config) -> (usize, usize) {
    let worker = passerelle::worker::Worker::new(db.clone(), config.clone()).unwrap();
    let (mut sent, mut failed) = (0, 0);
    loop {
        let round = worker.run_once().unwrap();
        sent += round.sent;
        failed += round.failed;
        if round.claimed == 0 {
            return (sent, failed);
        }
    }
}
