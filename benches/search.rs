//! People search on 100,000 people: `cargo bench --bench search`.
//! SQLite by default; `PASSERELLE_BENCH_DATABASE_URL=postgres://…/empty_db` for PostgreSQL.
//! Prints the time to fill the database, then median and p95 latency per query.

use std::time::Instant;

use passerelle::auth::{Role, StaffUser};
use passerelle::db::{DatabaseUrl, Db};
use passerelle::people::PersonInput;

const PEOPLE: usize = 100_000;
const GIVEN: [&str; 16] = [
    "Hélène", "Karim", "Nadia", "Jean", "Marie", "Yanis", "Inès", "Lucas", "Fatou", "Éloïse",
    "Mohamed", "Chloé", "Louis", "Aïcha", "Théo", "Zoé",
];
const FAMILY: [&str; 16] = [
    "Dupont", "Benali", "Martin", "Lefèvre", "Moreau", "Diallo", "Petit", "Durand", "Leroy",
    "Nguyen", "Roux", "Fontaine", "Mercier", "Bonnet", "Faure", "Girard",
];

fn main() {
    let url = std::env::var("PASSERELLE_BENCH_DATABASE_URL").unwrap_or_else(|_| {
        let dir = std::env::temp_dir().join(format!("passerelle-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        format!("sqlite://{}", dir.join("bench.db").display())
    });
    let db = Db::connect(&DatabaseUrl::parse(&url).unwrap(), 4).unwrap();
    db.migrate().unwrap();
    let mut conn = db.get().unwrap();
    let org = passerelle::organisations::find_or_create(&mut conn, None, "Bench").unwrap();
    let user = StaffUser {
        id: 0,
        organisation_id: org.id,
        email: String::new(),
        name: String::new(),
        role: Role::Mediator,
    };
    // The actor id must exist for the audit row's foreign key.
    let actor = passerelle::auth::service::create_user(
        &mut conn,
        None,
        passerelle::auth::service::UserInput {
            email: format!("bench{}@example.org", std::process::id()),
            name: "Bench".into(),
            role: "mediator".into(),
            organisation_id: Some(org.id),
            password: "bench-password".into(),
        },
    )
    .unwrap();
    let user = StaffUser {
        id: actor.id,
        ..user
    };

    let started = Instant::now();
    let mut seed: u64 = 42;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Batches of 1,000 per transaction, with fresh planner statistics now and then, as a
    // database that grew over months would have.
    for batch in 0..PEOPLE / 1000 {
        passerelle::db::transaction(&mut conn, |conn| {
            for i in batch * 1000..(batch + 1) * 1000 {
                let r = next();
                let input = PersonInput {
                    given_name: GIVEN[(r % 16) as usize].into(),
                    family_name: Some(format!(
                        "{}{}",
                        FAMILY[((r >> 8) % 16) as usize],
                        if i % 3 == 0 { "" } else { "-X" }
                    )),
                    birth_year: Some(1940 + ((r >> 16) % 70) as i32),
                    phone: Some(format!("06{:08}", (r >> 24) % 100_000_000)),
                    email: (i % 2 == 0).then(|| format!("p{i}@example.org")),
                    ..Default::default()
                };
                passerelle::people::create(conn, &user, input)?;
            }
            Ok(())
        })
        .unwrap();
        if batch % 10 == 0 {
            use diesel::connection::SimpleConnection;
            if let passerelle::db::DbConn::Pg(pg) = &mut *conn {
                pg.batch_execute("ANALYZE people").unwrap();
            }
            eprint!("\r{}/{PEOPLE}", batch * 1000);
        }
    }
    eprintln!(
        "\rfilled {PEOPLE} people in {:.1?} ({})",
        started.elapsed(),
        url.split(':').next().unwrap()
    );

    for query in [
        "helene",
        "HELENE dupont",
        "eloise lefevre",
        "0612",
        "p99999@example",
        "introuvable",
    ] {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..30 {
            let t = Instant::now();
            found = passerelle::people::search(&mut conn, &user, Some(query), 100, 0)
                .unwrap()
                .len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "search {:<18} {:>4} results  median {:>8.2?}  p95 {:>8.2?}",
            format!("{query:?}"),
            found,
            times[times.len() / 2],
            times[times.len() * 95 / 100]
        );
    }
}
