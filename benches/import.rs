//! CSV import of 20,000 devices: `cargo bench --bench import` (SQLite), or
//! `PASSERELLE_BENCH_DATABASE_URL=postgres://…/empty_db cargo bench --bench import`;
//! `PASSERELLE_BENCH_ROWS=5000` for another count. Meanwhile another connection runs an empty
//! write transaction every 5 ms: its longest wait is how long the import holds the writer.

use std::time::Instant;

use passerelle::equipment::ids::luhn_check_digit as luhn_digit;

fn main() {
    let rows: u64 = std::env::var("PASSERELLE_BENCH_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let dir = std::env::temp_dir().join(format!("passerelle-import-bench-{}", std::process::id()));
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
            email: format!("import{}@example.org", std::process::id()),
            name: "Bench".into(),
            role: "manager".into(),
            organisation_id: Some(org.id),
            password: "bench-password".into(),
        },
    )
    .unwrap()
    .staff();
    let mut csv = String::from("Type;Modèle;Numéro de série;IMEI;ICCID;Fin de validité\n");
    for i in 0..rows {
        if i % 2 == 0 {
            let payload = format!("35209900{:06}", i);
            csv.push_str(&format!(
                "tablette;Lenovo M10;SN-{i};{payload}{};;\n",
                luhn_digit(&payload)
            ));
        } else {
            let payload = format!("893315031900{:06}", i);
            csv.push_str(&format!(
                "carte SIM;;;;{payload}{};31/12/2027\n",
                luhn_digit(&payload)
            ));
        }
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let (db, done) = (db.clone(), done.clone());
        std::thread::spawn(move || {
            let mut conn = db.get().unwrap();
            let mut longest = std::time::Duration::ZERO;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let started = Instant::now();
                passerelle::db::transaction(&mut conn, |_| Ok(())).unwrap();
                longest = longest.max(started.elapsed());
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            longest
        })
    };
    let started = Instant::now();
    let imported = match passerelle::equipment::import::import(&mut conn, &user, &csv) {
        Ok(n) => n,
        Err(passerelle::equipment::import::ImportError::Lines(errors)) => {
            panic!("{:?}", &errors[..3.min(errors.len())])
        }
        Err(passerelle::equipment::import::ImportError::Other(e)) => panic!("{e:?}"),
    };
    let took = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let longest_wait = probe.join().unwrap();
    println!(
        "{imported} devices imported in {took:.2?} ({:.0} rows/s, {}); longest wait of another \
         write meanwhile {longest_wait:.2?}",
        imported as f64 / took.as_secs_f64(),
        url.split(':').next().unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
