//! Delivery throughput: 10,000 due messages sent to a local SMTP server (the in-process sink).
//! `cargo bench --bench mail`; `PASSERELLE_BENCH_DATABASE_URL=postgres://…/empty_db` for
//! PostgreSQL. Prints emails per second.

#[allow(dead_code)]
#[path = "../tests/support/smtp_sink.rs"]
mod smtp_sink;
mod support;

use std::time::Instant;

use smtp_sink::SmtpSink;

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
    let (config, db, template) = support::booked_message(
        &figment,
        passerelle::people::PersonInput {
            given_name: "Hélène".into(),
            email: Some("helene@example.org".into()),
            reminder_consent: true,
            ..Default::default()
        },
        "Médiathèque",
        "email",
    );
    let filled = Instant::now();
    support::fill_due(&db, &template, MESSAGES);
    eprintln!(
        "{MESSAGES} due messages written in {:.1?}",
        filled.elapsed()
    );

    let started = Instant::now();
    let (sent, _) = support::drain(&db, &config);
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
