//! Passerelle: a server for digital-mediation programmes.
//!
//! [`build`] assembles the Rocket application from a figment; `main.rs` is only the command
//! line around it. Data flows one way: routes → services → models → database.

pub mod api_clients;
pub mod audit;
pub mod auth;
pub mod beneficiary;
pub mod booking;
pub mod channels;
pub mod config;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod equipment;
pub mod error;
pub mod exports;
pub mod french;
pub mod home;
pub mod i18n;
pub mod idempotency;
pub mod json;
pub mod mail;
pub mod merge;
pub mod openapi;
pub mod ops;
pub mod organisations;
pub mod outbox;
pub mod patch;
pub mod people;
pub mod person_page;
pub mod phone;
pub mod places;
pub mod privacy;
pub mod programmes;
pub mod public;
pub mod referrals;
pub mod reports;
pub mod reschedule;
pub mod rollups;
pub mod skills;
pub mod sms;
pub mod status;
pub mod text;
pub mod time;
pub mod web;
pub mod webhooks;
pub mod worker;

use std::path::Path;

use rocket::figment::Figment;
use rocket::{Build, Rocket, Route};
use rocket_dyn_templates::Template;

use crate::config::Config;
use crate::db::Db;

/// The figment every command reads: Rocket.toml, then `ROCKET_*` variables.
pub fn figment() -> Figment {
    let figment = rocket::Config::figment();
    // Page templates ship with the source; find them when started from elsewhere too.
    // (Email templates are compiled into the binary.)
    if figment.find_value("template_dir").is_err() {
        let dir = if Path::new("templates/pages").is_dir() {
            "templates/pages".to_string()
        } else {
            concat!(env!("CARGO_MANIFEST_DIR"), "/templates/pages").to_string()
        };
        return figment.merge(("template_dir", dir));
    }
    figment
}

/// Reads the configuration, opens the database and applies pending migrations.
pub fn open(figment: &Figment) -> Result<(Config, Db), String> {
    let config = Config::from_figment(figment)?;
    let db = Db::connect(&config.database_url, config.database_pool_size)?;
    db.migrate().map_err(|e| format!("{e:?}"))?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    skills::sync_defaults(&mut conn).map_err(|e| format!("skills referential: {e:?}"))?;
    people::phones_to_e164(&mut conn).map_err(|e| format!("phone numbers: {e:?}"))?;
    organisations::fill_slugs(&mut conn).map_err(|e| format!("organisation slugs: {e:?}"))?;
    rollups::rebuild_if_missing(&mut conn, &config.timezone)
        .map_err(|e| format!("report aggregates: {e:?}"))?;
    drop(conn);
    Ok((config, db))
}

/// The JSON API, mounted under `/api/v1`.
pub fn api_routes() -> Vec<Route> {
    rocket::routes![
        openapi::serve,
        auth::api::create_token,
        auth::api::revoke_current_token,
        auth::api::list_users,
        auth::api::create_user,
        organisations::api::list,
        organisations::api::create,
        organisations::api::update,
        places::api::list,
        places::api::create,
        places::api::show,
        places::api::update,
        programmes::api::list,
        programmes::api::create,
        people::api::list,
        people::api::create,
        people::api::show,
        people::api::update,
        privacy::api::erase,
        privacy::api::export,
        people::import::api::import,
        merge::api::merge,
        audit::api::list,
        booking::api::list_services,
        booking::api::create_service,
        booking::sharing::api_update,
        booking::api::add_opening_hours,
        booking::api::list_opening_hours,
        booking::api::remove_opening_hours,
        booking::api::add_absence,
        booking::api::remove_absence,
        booking::api::slots,
        booking::api::book,
        booking::api::list,
        booking::api::show,
        booking::api::ics,
        booking::api::enrol,
        booking::api::withdraw,
        booking::api::reschedule,
        booking::api::cancel,
        mail::api::list,
        mail::api::retry,
        skills::api::referential,
        skills::api::add_skill,
        skills::api::edit_skill,
        skills::api::log,
        skills::api::current_log,
        skills::api::person_skills,
        skills::api::assess,
        skills::api::to_fill,
        equipment::api::list,
        equipment::api::create,
        equipment::api::show,
        equipment::api::import_csv,
        equipment::api::assign,
        equipment::api::give_back,
        equipment::api::set_status,
        equipment::api::of_person,
        reports::api::skills_progress,
        reports::api::activity,
        reports::api::equipment,
        api_clients::api::create,
        api_clients::api::list,
        api_clients::api::revoke,
        webhooks::api::create,
        webhooks::api::list,
        webhooks::api::delete,
        webhooks::api::deliveries,
        webhooks::api::retry,
        referrals::api::list,
        referrals::api::update,
        referrals::api::book,
        public::api::services,
        public::api::slots,
        public::api::book,
        public::api::refer,
    ]
}

/// The HTML pages and the unauthenticated routes, mounted at `/`.
pub fn web_routes() -> Vec<Route> {
    rocket::routes![
        web::health,
        ops::metrics::metrics,
        web::stylesheet,
        web::favicon,
        web::favicon_ico,
        home::home,
        auth::web::login_page,
        auth::web::login,
        auth::web::logout,
        auth::web::setup_page,
        auth::web::setup,
        auth::web::users,
        auth::web::create_user,
        auth::web::organisations,
        auth::web::create_organisation,
        auth::web::update_organisation,
        people::web::list,
        people::import::web::form,
        people::import::web::analyse,
        people::import::web::confirm,
        people::duplicates::list,
        merge::web::merge,
        people::web::new,
        people::web::create,
        person_page::show,
        people::web::edit,
        people::web::update,
        privacy::web::erase_confirm,
        privacy::web::erase,
        privacy::web::export,
        audit::web::list,
        places::web::list,
        places::web::new,
        places::web::create,
        places::web::show,
        places::web::edit,
        places::web::update,
        programmes::web::list,
        programmes::web::create,
        booking::agenda::agenda,
        booking::new::new,
        booking::new::create,
        booking::web::show,
        booking::enrol::enrol,
        booking::web::withdraw,
        booking::withdraw::confirm,
        booking::web::reschedule,
        booking::cancel::confirm,
        booking::cancel::cancel,
        booking::card::card,
        booking::web::ics,
        booking::web::feed,
        booking::web::calendar_page,
        booking::web::calendar_renew,
        booking::web::calendar_revoke,
        booking::services_web::services,
        booking::services_web::create_service,
        booking::sharing::web_update,
        booking::web::availability_show,
        booking::web::add_opening_hours,
        booking::web::remove_opening_hours,
        booking::web::add_absence,
        booking::web::remove_absence,
        web::card_stylesheet,
        beneficiary::show,
        beneficiary::confirm,
        beneficiary::cancel,
        beneficiary::reschedule,
        beneficiary::handover,
        beneficiary::accept_handover,
        mail::web::list,
        mail::web::retry,
        mail::web::to_call,
        webhooks::web::list,
        webhooks::web::create,
        webhooks::web::disable,
        webhooks::web::enable,
        webhooks::web::delete,
        webhooks::web::deliveries,
        webhooks::web::retry,
        sms::web::delivery_report,
        sms::web::inbound,
        skills::web::form,
        skills::web::save,
        skills::web::to_fill,
        skills::web::referential,
        skills::web::add,
        skills::web::edit,
        equipment::web::list,
        equipment::web::create,
        equipment::web::due,
        equipment::web::show,
        equipment::web::assign,
        equipment::web::give_back,
        equipment::status::confirm,
        equipment::status::set_status,
        equipment::web::handover_form,
        web::handover_stylesheet,
        reports::web::dashboard,
        reports::web::skills_progress,
        reports::web::activity,
        reports::web::equipment,
        exports::download,
        exports::places::export_csv,
        exports::places::export_json,
        referrals::web::list,
        referrals::web::set_status,
        referrals::web::book,
        public::web::home,
        public::web::day,
        public::web::form,
        public::web::book,
        public::web::refer_form,
        public::web::refer,
    ]
}

/// Builds the application: configuration, database (migrated), routes, templates, catchers.
pub fn build(figment: Figment) -> Result<Rocket<Build>, String> {
    let (config, db) = open(&figment)?;
    let setup_token = if config.log_setup_link {
        let mut conn = db.get().map_err(|e| e.to_string())?;
        auth::service::setup_token_if_no_user(&mut conn).map_err(|e| e.to_string())?
    } else {
        None
    };
    let worker = if config.worker {
        Some(worker::Workers::new(db.clone(), config.clone())?)
    } else {
        // Still checks the mail configuration at start.
        channels::Channels::from_config(&config)?;
        None
    };
    Ok(rocket::custom(figment)
        .attach(worker_fairing(worker))
        .attach(SetupLink(setup_token, config.public_url.clone()))
        .manage(config)
        .manage(db)
        .manage(reschedule::throttle::Throttle::default())
        .manage(ops::metrics::Metrics::new()?)
        .attach(Template::custom(|engines| {
            french::register(&mut engines.tera)
        }))
        .attach(web::SecurityHeaders)
        .attach(ops::metrics::RequestMetrics)
        .attach(web::compression::Gzip)
        .mount("/api/v1", auth::guard::one_hop(api_routes()))
        .mount("/", web_routes())
        .register("/", rocket::catchers![web::default_catcher]))
}

/// Runs the reminder worker and the webhook worker in-process from liftoff; on shutdown each
/// finishes what it is delivering and gives back the rest (waiting at most 20 seconds).
struct WorkerFairing {
    workers: Option<worker::Workers>,
    running: std::sync::Mutex<Option<rocket::tokio::task::JoinHandle<()>>>,
}

#[rocket::async_trait]
impl rocket::fairing::Fairing for WorkerFairing {
    fn info(&self) -> rocket::fairing::Info {
        rocket::fairing::Info {
            name: "reminder worker",
            kind: rocket::fairing::Kind::Liftoff | rocket::fairing::Kind::Shutdown,
        }
    }

    async fn on_liftoff(&self, _: &Rocket<rocket::Orbit>) {
        if let (Some(workers), Ok(mut slot)) = (&self.workers, self.running.lock()) {
            *slot = Some(workers.start());
        }
    }

    async fn on_shutdown(&self, _: &Rocket<rocket::Orbit>) {
        if let Some(workers) = &self.workers {
            workers.stop();
            let running = self.running.lock().ok().and_then(|mut slot| slot.take());
            if let Some(running) = running {
                let _ =
                    rocket::tokio::time::timeout(std::time::Duration::from_secs(20), running).await;
            }
        }
    }
}

fn worker_fairing(workers: Option<worker::Workers>) -> WorkerFairing {
    WorkerFairing {
        workers,
        running: std::sync::Mutex::new(None),
    }
}

/// With no account yet, prints a one-time link to create the first admin in the browser, once
/// the server listens, on the port it really listens on.
struct SetupLink(Option<String>, String);

#[rocket::async_trait]
impl rocket::fairing::Fairing for SetupLink {
    fn info(&self) -> rocket::fairing::Info {
        rocket::fairing::Info {
            name: "setup link",
            kind: rocket::fairing::Kind::Liftoff,
        }
    }

    async fn on_liftoff(&self, rocket: &Rocket<rocket::Orbit>) {
        if let Some(token) = &self.0 {
            println!(
                "Aucun compte n'existe encore. Créez le premier administrateur (lien valable 24 h, une seule fois) :\n  {}/setup/{}\nou en ligne de commande : passerelle user add --email … --name … --role admin --organisation …",
                setup_link_base(&self.1, rocket.config().port),
                token
            );
        }
    }
}

/// The base of the setup link: the public URL, with the port the server listens on when that
/// URL names this machine (`cargo run` with `ROCKET_PORT=8080` and no `public_url`); a public URL
/// behind a proxy is kept as it is.
fn setup_link_base(public_url: &str, port: u16) -> String {
    let Ok(mut url) = url::Url::parse(public_url) else {
        return public_url.to_string();
    };
    let local = matches!(
        url.host_str(),
        Some("127.0.0.1") | Some("localhost") | Some("[::1]")
    );
    if local && url.port_or_known_default() != Some(port) && url.set_port(Some(port)).is_ok() {
        url.as_str().trim_end_matches('/').to_string()
    } else {
        public_url.to_string()
    }
}

#[cfg(test)]
mod setup_link_tests {
    use super::setup_link_base;

    #[test]
    fn the_setup_link_names_the_port_the_server_listens_on() {
        assert_eq!(
            setup_link_base("http://127.0.0.1:8000", 8080),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            setup_link_base("http://localhost:8000", 9001),
            "http://localhost:9001"
        );
        assert_eq!(
            setup_link_base("http://127.0.0.1:8000", 8000),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            setup_link_base("https://passerelle.example.fr", 8000),
            "https://passerelle.example.fr"
        );
        assert_eq!(
            setup_link_base("https://passerelle.example.fr/mediation", 8000),
            "https://passerelle.example.fr/mediation"
        );
    }
}
