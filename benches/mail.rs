//! Delivery throughput: 10,000 due messages sent to a local SMTP server (the in-process sink).
//! `cargo bench --bench mail`; `PASSERELLE_BENCH_DATABASE_URL=postgres://…/empty_db` for
//! PostgreSQL. Prints emails per second.

use std::time::Instant;

use diesel::prelude::*;
use passerelle::db::schema::messages;
use passerelle::mail::sink::SmtpSink;

const MESSAGES: usize = 10_000;

fn main() {
    let dir = std::env::temp_dir().join(format!("passerelle-mail-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = std::env::var("PASSERELLE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.join("bench.db").display()));
    let sink = SmtpSink::start().unwrap();
    let figment = passerelle::figment()
        .merge(("database_url", url.clone()))
        .merge(("data_dir", dir.display().to_string()))
        .merge((
            "mail_transport",
            std::env::var("BENCH_TRANSPORT").unwrap_or("smtp".into()),
        ))
        .merge(("smtp_url", sink.url()))
        .merge(("worker_concurrency", 32));
    let (config, db) = passerelle::open(&figment).unwrap();
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
            name: "Médiathèque".into(),
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
    let (person, _) = passerelle::people::create(
        &mut conn,
        &user,
        passerelle::people::PersonInput {
            given_name: "Hélène".into(),
            email: Some("helene@example.org".into()),
            reminder_consent: true,
            ..Default::default()
        },
    )
    .unwrap();
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
    let template: passerelle::mail::outbox::MessageRow = messages::table
        .filter(messages::appointment_id.eq(appointment.row.id))
        .select(passerelle::mail::outbox::MessageRow::as_select())
        .first(&mut *conn)
        .unwrap();
    diesel::delete(messages::table).execute(&mut *conn).unwrap();
    let filled = Instant::now();
    passerelle::db::transaction(&mut conn, |conn| {
        for _ in 0..MESSAGES {
            diesel::insert_into(messages::table)
                .values((
                    messages::organisation_id.eq(template.organisation_id),
                    messages::appointment_id.eq(template.appointment_id),
                    messages::person_id.eq(template.person_id),
                    messages::kind.eq("reminder"),
                    messages::recipient.eq(&template.recipient),
                    messages::recipient_kind.eq("person"),
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
    drop(conn);
    eprintln!(
        "{MESSAGES} due messages written in {:.1?}",
        filled.elapsed()
    );

    let worker = passerelle::mail::worker::Worker::new(db.clone(), config.clone()).unwrap();
    let started = Instant::now();
    let mut sent = 0;
    loop {
        let round = worker.run_once().unwrap();
        sent += round.sent;
        if round.claimed == 0 {
            break;
        }
    }
    let elapsed = started.elapsed();
    if config.mail_transport == passerelle::config::MailTransport::Smtp {
        assert_eq!(
            sink.count(),
            MESSAGES,
            "every message reached the SMTP server once"
        );
    }
    println!(
        "{sent} emails delivered to a local SMTP server in {:.2?}: {:.0} emails/s ({})",
        elapsed,
        sent as f64 / elapsed.as_secs_f64(),
        url.split(':').next().unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
