//! The appointments export, CSV and XLSX side by side, at growing sizes: rows/s and the peak
//! resident memory of the export alone (the process's high-water mark is reset before each
//! export through `/proc/self/clear_refs`).
//!
//! `cargo bench --bench xlsx_export` (SQLite; 50,000, 100,000 and 200,000 appointments), or
//! `PASSERELLE_BENCH_ROWS=1000000 cargo bench --bench xlsx_export` (a comma-separated list of
//! sizes), `PASSERELLE_BENCH_DATABASE_URL=postgres://…/empty_db` for PostgreSQL.
//! The bar: the 1-million-row appointments export within 150 MB of peak RSS.

use std::time::Instant;

use diesel::connection::SimpleConnection;
use passerelle::exports::{write_file, FileType, Kind};
use rocket::tokio::sync::mpsc;

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    let sizes: Vec<i64> = std::env::var("PASSERELLE_BENCH_ROWS")
        .unwrap_or_else(|_| "50000,100000,200000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let dir = std::env::temp_dir().join(format!("passerelle-xlsx-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = std::env::var("PASSERELLE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.join("bench.db").display()));
    let figment = passerelle::figment()
        .merge(("database_url", url.clone()))
        .merge(("data_dir", dir.display().to_string()));
    let (config, db) = passerelle::open(&figment).unwrap();
    let mut conn = db.get().unwrap();
    let org = passerelle::organisations::find_or_create(&mut conn, None, "Bench").unwrap();
    let user = passerelle::auth::service::create_user(
        &mut conn,
        None,
        passerelle::auth::service::UserInput {
            email: format!("export{}@example.org", std::process::id()),
            name: "Médiatrice Bench".into(),
            role: "manager".into(),
            organisation_id: Some(org.id),
            password: "bench-password".into(),
        },
    )
    .unwrap()
    .staff();
    let (o, u) = (org.id, user.id);
    conn.batch_execute(&format!(
        "INSERT INTO places (organisation_id, name, address, postal_code, city, created_at, updated_at)
           VALUES ({o}, 'Médiathèque', '1 rue de la Gare', '35000', 'Rennes', '2024-01-01 00:00:00', '2024-01-01 00:00:00');
         INSERT INTO services (organisation_id, name, kind, duration_minutes, capacity, min_notice_minutes, buffer_minutes, horizon_days, created_at)
           VALUES ({o}, 'Accompagnement', 'individual', 60, 1, 0, 0, 365, '2024-01-01 00:00:00');
         INSERT INTO people (organisation_id, given_name, search_key, name_key, reminder_consent, created_at, updated_at, referent_consent, sms_consent, language)
           VALUES ({o}, 'Ana', 'ana', 'ana', false, '2024-01-01 00:00:00', '2024-01-01 00:00:00', false, false, 'fr');"
    ))
    .unwrap();
    let sqlite = url.starts_with("sqlite");
    // As the export route does: read through the page cache, not the memory map.
    if sqlite {
        conn.batch_execute("PRAGMA mmap_size = 0").unwrap();
    }
    let mut have: i64 = 0;
    println!("appointments export on {}", url.split(':').next().unwrap());
    for size in sizes {
        // Appointments one hour apart, each with one attended participant.
        let (ts, series) = if sqlite {
            (
                "datetime('2020-01-01', '+' || n || ' hours')",
                format!("WITH RECURSIVE s(n) AS (SELECT {have} + 1 UNION ALL SELECT n + 1 FROM s WHERE n < {size})"),
            )
        } else {
            (
                "(timestamp '2020-01-01' + n * interval '1 hour')",
                format!("WITH s(n) AS (SELECT generate_series({have} + 1, {size}))"),
            )
        };
        if size > have {
            conn.batch_execute(&format!(
                "INSERT INTO appointments (organisation_id, service_id, mediator_id, place_id, starts_at, ends_at, blocked_until,
                    capacity, status, walk_in, sequence, created_at, updated_at)
                 {series}
                 SELECT {o}, (SELECT max(id) FROM services), {u}, (SELECT max(id) FROM places), {ts}, {ts}, {ts},
                    1, 'done', false, 0, {ts}, {ts} FROM s;
                 INSERT INTO participants (appointment_id, person_id, status, created_at, updated_at)
                 SELECT a.id, (SELECT max(id) FROM people), 'attended', a.created_at, a.created_at
                   FROM appointments a WHERE NOT EXISTS (SELECT 1 FROM participants p WHERE p.appointment_id = a.id);"
            ))
            .unwrap();
            have = size;
        }
        let mut figures = Vec::new();
        for file_type in [FileType::Csv, FileType::Xlsx] {
            let filters = passerelle::reports::Filters {
                organisation_id: Some(o),
                ..Default::default()
            };
            let format = passerelle::exports::sheet::Format::new(b',', false, &config);
            let (tx, mut rx) = mpsc::channel::<Vec<u8>>(4);
            let reader = std::thread::spawn(move || {
                let mut bytes = 0usize;
                while let Some(chunk) = rx.blocking_recv() {
                    bytes += chunk.len();
                }
                bytes
            });
            reset_peak();
            let before = status_kb("VmRSS:") as f64 / 1024.0;
            let started = Instant::now();
            write_file(
                &mut conn,
                Kind::Appointments,
                file_type,
                &filters,
                &format,
                tx,
            )
            .unwrap();
            let bytes = reader.join().unwrap();
            let elapsed = started.elapsed().as_secs_f64();
            let peak = status_kb("VmHWM:") as f64 / 1024.0;
            println!(
                "  {size:>9} rows {:<4}: {elapsed:6.2} s, {:>9.0} rows/s, {:7.1} MB, RSS {before:6.1} MB before, peak {peak:6.1} MB",
                format!("{file_type:?}"),
                size as f64 / elapsed,
                bytes as f64 / 1e6,
            );
            figures.push((elapsed, peak - before));
        }
        println!(
            "  {size:>9} rows: XLSX takes {:.2}× the CSV's time; growth during the export: CSV {:.1} MB, XLSX {:.1} MB",
            figures[1].0 / figures[0].0,
            figures[0].1,
            figures[1].1
        );
    }
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}
