//! Delivery to SMTP servers that want TLS (from the first byte, or after STARTTLS) and a
//! password: the in-process sink with a certificate made here by a test authority, which the
//! application trusts through `smtp_ca_file`.

use std::path::PathBuf;

use crate::smtp_sink::{SinkOptions, SmtpSink, TlsMode};
use rocket::http::Status;
use serde_json::json;

use crate::fixtures::{messages, reachable_person, smartphone, today};
use crate::harness::{Backend, TestApp};
use crate::mail::parse;

const USER: &str = "passerelle";
const PASSWORD: &str = "Corr3ct-horse-battery";

/// A test certificate authority and a server certificate it signed for 127.0.0.1.
struct Pki {
    dir: tempfile::TempDir,
    server_certificate: Vec<u8>,
    server_key: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        use openssl::asn1::Asn1Time;
        use openssl::bn::BigNum;
        use openssl::hash::MessageDigest;
        use openssl::pkey::PKey;
        use openssl::rsa::Rsa;
        use openssl::x509::extension::{
            BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
        };
        use openssl::x509::{X509NameBuilder, X509};

        let name = |cn: &str| {
            let mut name = X509NameBuilder::new().unwrap();
            name.append_entry_by_text("CN", cn).unwrap();
            name.build()
        };
        let certificate = |serial: u32, subject: &str, key: &PKey<openssl::pkey::Private>| {
            let mut builder = X509::builder().unwrap();
            builder.set_version(2).unwrap();
            builder
                .set_serial_number(&BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap())
                .unwrap();
            builder.set_subject_name(&name(subject)).unwrap();
            builder.set_pubkey(key).unwrap();
            builder
                .set_not_before(&Asn1Time::days_from_now(0).unwrap())
                .unwrap();
            builder
                .set_not_after(&Asn1Time::days_from_now(2).unwrap())
                .unwrap();
            builder
        };
        let ca_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut ca = certificate(1, "Passerelle test CA", &ca_key);
        ca.set_issuer_name(&name("Passerelle test CA")).unwrap();
        ca.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        ca.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
        ca.sign(&ca_key, MessageDigest::sha256()).unwrap();
        let ca = ca.build();

        let server_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut server = certificate(2, "sink.localhost", &server_key);
        server.set_issuer_name(ca.subject_name()).unwrap();
        let san = SubjectAlternativeName::new()
            .ip("127.0.0.1")
            .dns("localhost")
            .build(&server.x509v3_context(Some(&ca), None))
            .unwrap();
        server.append_extension(san).unwrap();
        server
            .append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
            .unwrap();
        server.sign(&ca_key, MessageDigest::sha256()).unwrap();
        let server = server.build();

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.to_pem().unwrap()).unwrap();
        Pki {
            dir,
            server_certificate: server.to_pem().unwrap(),
            server_key: server_key.private_key_to_pem_pkcs8().unwrap(),
        }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn sink(&self, mode: TlsMode) -> SmtpSink {
        SmtpSink::start_with(
            SinkOptions::default()
                .tls(mode, &self.server_certificate, &self.server_key)
                .credentials(USER, PASSWORD),
        )
        .expect("smtp sink")
    }
}

/// An app sending to `smtp_url`, trusting the test authority when `ca_file` is given.
async fn app(backend: Backend, smtp_url: &str, ca_file: Option<&PathBuf>) -> Option<TestApp> {
    let ca = ca_file.map(|f| f.display().to_string());
    let mut overrides = vec![
        ("mail_transport", "smtp"),
        ("smtp_url", smtp_url),
        ("mail_retry_base", "1s"),
    ];
    if let Some(ca) = &ca {
        overrides.push(("smtp_ca_file", ca.as_str()));
    }
    TestApp::with(backend, &overrides).await
}

/// One email waiting in the outbox (a handover to accept by email); the manager's token.
async fn one_message(app: &TestApp) -> String {
    let mediator = app.staff("mediator", "Emmaüs Connect").await;
    let manager = app.staff("manager", "Emmaüs Connect").await;
    let person = reachable_person(app, &mediator.token, "Hélène", "helene@example.org").await;
    let item = smartphone(app, &mediator.token).await;
    let handed = app
        .post_json(
            &format!("/api/v1/equipment/{item}/assign"),
            &mediator.token,
            json!({"person_id": person, "mode": "donation", "handed_over_on": today().to_string(),
                   "acceptance": "email_confirmation"}),
        )
        .await;
    assert_eq!(handed.status, Status::Created, "{}", handed.body);
    manager.token
}

/// A worker of `app` with another `smtp_url` (the same database and outbox).
async fn run_worker_with(app: &TestApp, smtp_url: &str) -> passerelle::worker::Round {
    let mut config = app.config();
    config.smtp_url = Some(smtp_url.to_string());
    let worker = passerelle::worker::Worker::new(app.db().clone(), config).expect("worker");
    rocket::tokio::task::spawn_blocking(move || worker.run_once().expect("worker round"))
        .await
        .unwrap()
}

/// A test on both backends that makes its own app (each with its own SMTP server).
macro_rules! tls_test {
    ($name:ident, |$backend:ident| $body:block) => {
        $crate::both_backends! {
            async fn $name($backend: Backend = |backend: Backend| async move {
                (backend == Backend::Sqlite || crate::harness::pg_server().is_some())
                    .then_some(backend)
            }) $body
        }
    };
}

tls_test!(implicit_tls_with_a_password_delivers, |backend| {
    let pki = Pki::new();
    let sink = pki.sink(TlsMode::Implicit);
    let url = format!("smtps://{USER}:{PASSWORD}@{}", sink.addr);
    let app = app(backend, &url, Some(&pki.ca_file())).await.unwrap();
    let manager = one_message(&app).await;
    let round = app.run_worker().await;
    assert_eq!((round.sent, round.failed), (1, 0));
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].encrypted);
    assert_eq!(received[0].authenticated_as.as_deref(), Some(USER));
    assert_eq!(parse(&received[0].data).to, "helene@example.org");
    assert_eq!(messages(&app, &manager, "?status=sent").await.len(), 1);
});

tls_test!(the_servers_certificate_must_be_trusted, |backend| {
    let pki = Pki::new();
    let sink = pki.sink(TlsMode::Implicit);
    let url = format!("smtps://{USER}:{PASSWORD}@{}", sink.addr);
    // Without smtp_ca_file the test authority is unknown: nothing is sent, the reason is kept.
    let app = app(backend, &url, None).await.unwrap();
    let manager = one_message(&app).await;
    let round = app.run_worker().await;
    assert_eq!((round.sent, round.failed), (0, 1));
    assert_eq!(sink.count(), 0);
    let pending = messages(&app, &manager, "?status=pending").await;
    assert_eq!(pending.len(), 1);
    let error = pending[0]["last_error"].as_str().unwrap();
    assert!(error.contains("certificate"), "{error}");
    assert!(!error.contains(PASSWORD));
});

tls_test!(starttls_required_with_a_password_delivers, |backend| {
    let pki = Pki::new();
    // This server only takes AUTH LOGIN (the other test's client picks PLAIN).
    let sink = SmtpSink::start_with(
        SinkOptions::default()
            .tls(TlsMode::StartTls, &pki.server_certificate, &pki.server_key)
            .credentials(USER, PASSWORD)
            .auth_mechanisms("LOGIN"),
    )
    .unwrap();
    let url = format!("smtp://{USER}:{PASSWORD}@{}?tls=required", sink.addr);
    let app = app(backend, &url, Some(&pki.ca_file())).await.unwrap();
    let manager = one_message(&app).await;
    let round = app.run_worker().await;
    assert_eq!((round.sent, round.failed), (1, 0));
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0].encrypted,
        "upgraded with STARTTLS before the message"
    );
    assert_eq!(received[0].authenticated_as.as_deref(), Some(USER));
    assert_eq!(messages(&app, &manager, "?status=sent").await.len(), 1);
});

tls_test!(
    a_wrong_smtp_password_loses_nothing_and_is_never_written_down,
    |backend| {
        let pki = Pki::new();
        let sink = pki.sink(TlsMode::Implicit);
        let wrong = "Wr0ng-Secret-horse";
        let url = format!("smtps://{USER}:{wrong}@{}", sink.addr);
        let app = app(backend, &url, Some(&pki.ca_file())).await.unwrap();
        let manager = one_message(&app).await;
        let round = app.run_worker().await;
        assert_eq!((round.sent, round.failed), (0, 1));
        assert_eq!(sink.count(), 0);
        let pending = messages(&app, &manager, "?status=pending").await;
        assert_eq!(pending.len(), 1, "kept for a retry");
        assert_eq!(pending[0]["attempts"], 1);
        let error = pending[0]["last_error"].as_str().unwrap();
        assert!(error.contains("535"), "{error}");
        assert!(!error.contains(wrong) && !error.contains(&url), "{error}");
        let manager_session = app.staff("manager", "Emmaüs Connect").await.session;
        let page = app.page("/messages", &manager_session).await;
        assert!(!page.body.contains(wrong));
        // Once the password is put right, the message goes out.
        rocket::tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let right = format!("smtps://{USER}:{PASSWORD}@{}", sink.addr);
        let round = run_worker_with(&app, &right).await;
        assert_eq!((round.sent, round.failed), (1, 0));
        assert_eq!(sink.count(), 1);
    }
);

tls_test!(
    a_server_without_tls_is_refused_when_tls_is_asked_for,
    |backend| {
        let plain = SmtpSink::start().unwrap();
        let url = format!("smtp://{USER}:{PASSWORD}@{}?tls=required", plain.addr);
        let app = app(backend, &url, None).await.unwrap();
        let manager = one_message(&app).await;
        let round = app.run_worker().await;
        assert_eq!((round.sent, round.failed), (0, 1));
        let pending = messages(&app, &manager, "?status=pending").await;
        let error = pending[0]["last_error"].as_str().unwrap().to_string();
        assert!(
            error.contains("STARTTLS") && !error.contains(PASSWORD),
            "{error}"
        );
        // Nor does `smtps://` fall back to plain text.
        rocket::tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let implicit = format!("smtps://{USER}:{PASSWORD}@{}", plain.addr);
        let round = run_worker_with(&app, &implicit).await;
        assert_eq!((round.sent, round.failed), (0, 1));
        assert_eq!(plain.count(), 0, "nothing sent in clear");
        let pending = messages(&app, &manager, "?status=pending").await;
        assert_eq!(pending[0]["attempts"], 2);
    }
);

#[rocket::async_test]
async fn a_bad_smtp_ca_file_is_reported_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let base = || {
        passerelle::figment()
            .merge((
                "database_url",
                format!("sqlite://{}", dir.path().join("p.db").display()),
            ))
            .merge(("data_dir", dir.path().join("data").display().to_string()))
            .merge(("log_setup_link", false))
            .merge(("worker", false))
            .merge(("mail_transport", "smtp"))
    };
    let missing = base()
        .merge(("smtp_url", "smtps://127.0.0.1:465"))
        .merge(("smtp_ca_file", "/nonexistent/ca.pem"));
    let Err(error) = passerelle::build(missing) else {
        panic!("refused")
    };
    assert!(error.contains("smtp_ca_file"), "{error}");
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let garbage = base()
        .merge(("smtp_url", "smtps://127.0.0.1:465"))
        .merge(("smtp_ca_file", not_pem.display().to_string()));
    let Err(error) = passerelle::build(garbage) else {
        panic!("refused")
    };
    assert!(error.contains("no PEM certificate"), "{error}");
    let pki = Pki::new();
    let no_tls = base()
        .merge(("smtp_url", format!("smtp://{USER}:{PASSWORD}@127.0.0.1:25")))
        .merge(("smtp_ca_file", pki.ca_file().display().to_string()));
    let Err(error) = passerelle::build(no_tls) else {
        panic!("refused")
    };
    assert!(
        error.contains("uses no TLS") && !error.contains(PASSWORD),
        "{error}"
    );
}
