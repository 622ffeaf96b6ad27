//! Import of 10,000 people from a CSV file (analysis, then the all-or-nothing import):
//! `cargo bench --bench people_import` (SQLite), or
//! `PASSERELLE_BENCH_DATABASE_URL=postgres://…/empty_db cargo bench --bench people_import`.
//! The bar: 10,000 rows in at most 5 s on SQLite.

use std::time::Instant;

fn main() {
    let rows: usize = std::env::var("PASSERELLE_BENCH_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("passerelle-people-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = std::env::var("PASSERELLE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.join("bench.db").display()));
    let figment = passerelle::figment()
        .merge(("database_url", url.clone()))
        .merge(("data_dir", dir.display().to_string()));
    let (_, db) = passerelle::open(&figment).unwrap();
    let mut conn = db.get().unwrap();
    let org = passerelle::organisations::find_or_create(&mut conn, None, "Bench").unwrap();
    let user = passerelle::auth::service::create_user(
        &mut conn,
        None,
        passerelle::auth::service::UserInput {
            email: format!("people{}@example.org", std::process::id()),
            name: "Bench".into(),
            role: "manager".into(),
            organisation_id: Some(org.id),
            password: "bench-password".into(),
        },
    )
    .unwrap()
    .staff();
    let mut csv = String::from(
        "\u{feff}Prénom;Nom;Année de naissance;Code postal;Commune;Téléphone;Email;Genre;Statut\n",
    );
    let genders = ["Femme", "Homme", "Non communiqué"];
    let statuses = ["Sans emploi", "En emploi", "Retraité·e", "Scolarisé·e"];
    for i in 0..rows {
        csv.push_str(&format!(
            "Prénom{i};Nom{i};{};35000;Rennes;06{:08};personne{i}@example.org;{};{}\n",
            1940 + i % 70,
            i,
            genders[i % 3],
            statuses[i % 4],
        ));
    }
    let started = Instant::now();
    let analysis = passerelle::people::import::analyse(&mut conn, &user, csv.as_bytes()).unwrap();
    let analysed = started.elapsed();
    assert!(
        analysis.errors.is_empty(),
        "{:?}",
        &analysis.errors[..3.min(analysis.errors.len())]
    );
    let started = Instant::now();
    let imported = passerelle::people::import::import(
        &mut conn,
        &user,
        csv.as_bytes(),
        passerelle::people::import::Duplicates::Skip,
    )
    .unwrap()
    .expect("no error");
    let elapsed = started.elapsed();
    println!(
        "{} people: analysis {:.2?}, import {:.2?} ({:.0} rows/s) on {}",
        imported.imported,
        analysed,
        elapsed,
        imported.imported as f64 / elapsed.as_secs_f64(),
        url.split(':').next().unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
