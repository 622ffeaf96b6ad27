//! SMS delivery throughput through a real Kannel: 10,000 due text messages sent by the worker
//! to smsbox's `sendsms`, handed by bearerbox to the `fakesmsc` fake SMS centre (Debian's
//! `kannel` and `kannel-extras`, started here on free loopback ports).
//! `cargo bench --bench sms`; `PASSERELLE_BENCH_DATABASE_URL=postgres://…/empty_db` for
//! PostgreSQL. Prints SMS per second accepted by Kannel and received by the SMS centre, and the
//! size of the text (characters, segments). Compare with `cargo bench --bench mail`.

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use passerelle::db::schema::messages;

const MESSAGES: usize = 10_000;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Stop(Vec<Child>);
impl Drop for Stop {
    fn drop(&mut self) {
        for child in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn main() {
    let dir = std::env::temp_dir().join(format!("passerelle-sms-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (admin, smsbox, fake, sendsms) = (free_port(), free_port(), free_port(), free_port());
    let d = dir.display();
    let config = format!(
        "group = core\nadmin-port = {admin}\nadmin-password = \"bench\"\nsmsbox-port = {smsbox}\n\
         box-allow-ip = \"127.0.0.1\"\nlog-file = \"{d}/bearerbox.log\"\nlog-level = 2\n\
         dlr-storage = internal\n\n\
         group = smsc\nsmsc = fake\nsmsc-id = fake\nport = {fake}\nconnect-allow-ip = \"127.0.0.1\"\n\n\
         group = smsbox\nbearerbox-host = 127.0.0.1\nbearerbox-port = {smsbox}\nsendsms-port = {sendsms}\n\
         log-file = \"{d}/smsbox.log\"\nlog-level = 2\n\n\
         group = sendsms-user\nusername = bench\npassword = \"bench-pass\"\nmax-messages = 3\nconcatenation = true\n"
    );
    let conf = dir.join("kannel.conf");
    std::fs::write(&conf, config).unwrap();
    let mut children = Stop(Vec::new());
    let quiet = || Stdio::null();
    children.0.push(
        Command::new("/usr/sbin/bearerbox")
            .arg(&conf)
            .stdout(quiet())
            .stderr(quiet())
            .spawn()
            .expect("bearerbox (apt-get install kannel)"),
    );
    wait_for(fake);
    children.0.push(
        Command::new("/usr/sbin/smsbox")
            .arg(&conf)
            .stdout(quiet())
            .stderr(quiet())
            .spawn()
            .expect("smsbox"),
    );
    wait_for(sendsms);
    let received = dir.join("fakesmsc.log");
    let log = std::fs::File::create(&received).unwrap();
    children.0.push(
        Command::new("/usr/lib/kannel/test/fakesmsc")
            .args(["-H", "127.0.0.1", "-r", &fake.to_string(), "-m", "0"])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("fakesmsc (apt-get install kannel-extras)"),
    );
    std::thread::sleep(Duration::from_millis(500));

    let url = std::env::var("PASSERELLE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.join("bench.db").display()));
    let figment = passerelle::figment()
        .merge(("database_url", url.clone()))
        .merge(("data_dir", dir.display().to_string()))
        .merge(("sms_transport", "kannel"))
        .merge((
            "sms_url",
            format!("http://bench:bench-pass@127.0.0.1:{sendsms}/cgi-bin/sendsms"),
        ))
        // Delivery reports go to a closed port: the worker's throughput is measured alone.
        .merge(("public_url", format!("http://127.0.0.1:{}", free_port())))
        .merge(("worker_concurrency", 32));
    let (config, db, template) = support::booked_message(
        &figment,
        passerelle::people::PersonInput {
            given_name: "Hélène".into(),
            phone: Some("06 12 34 56 78".into()),
            sms_consent: true,
            ..Default::default()
        },
        "Médiathèque Jean Macé",
        "sms",
    );
    support::fill_due(&db, &template, MESSAGES);

    let started = Instant::now();
    let (sent, failed) = support::drain(&db, &config);
    let accepted = started.elapsed();
    let count = || {
        std::fs::read_to_string(&received)
            .unwrap_or_default()
            .matches("Got message ")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while count() < sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let delivered = started.elapsed();
    let mut conn = db.get().unwrap();
    let body: String = messages::table
        .filter(messages::status.eq("sent"))
        .select(messages::body.assume_not_null())
        .first(&mut *conn)
        .unwrap();
    println!(
        "{sent} SMS accepted by Kannel's smsbox in {accepted:.2?}: {:.0} SMS/s ({failed} failed; {})",
        sent as f64 / accepted.as_secs_f64(),
        url.split(':').next().unwrap()
    );
    println!(
        "{} received by the SMS centre (fakesmsc) in {delivered:.2?}: {:.0} SMS/s",
        count(),
        count() as f64 / delivered.as_secs_f64()
    );
    println!(
        "a typical reminder: {} characters, {} GSM-7 septets, {} segment(s): {body}",
        body.chars().count(),
        passerelle::channels::gsm::septets(&body),
        passerelle::channels::gsm::segments(&body)
    );
    drop(children);
    let _ = std::fs::remove_dir_all(&dir);
}
