//! The `passerelle` command line: serve, migrate, user add.

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "passerelle", version, about = "Serveur de médiation numérique")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP server (the default).
    Serve,
    /// Applies pending migrations and exits.
    Migrate,
    /// Runs only the reminder worker and the privacy job (for deployments with several app
    /// instances).
    Worker,
    /// Fills the database with realistic fake data, with a progress bar.
    Demo {
        #[arg(long, value_enum, default_value = "small")]
        scale: passerelle::demo::Scale,
    },
    /// Writes a consistent backup of the database to FILE while the server runs (SQLite: a
    /// database file; PostgreSQL: a pg_dump custom-format file).
    Backup {
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
    },
    /// Restores a backup into the configured database, which must hold no data.
    Restore {
        #[arg(long, value_name = "FILE")]
        from: std::path::PathBuf,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Creates a staff account; the password is read from standard input or PASSERELLE_PASSWORD.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "manager", "mediator"])]
        role: String,
        /// The organisation's name; created when missing.
        #[arg(long)]
        organisation: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Migrate => migrate(),
        Command::Worker => worker(),
        Command::Demo { scale } => demo(scale),
        Command::Backup { to } => backup(&to),
        Command::Restore { from } => restore(&from),
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    name,
                    role,
                    organisation,
                },
        } => add_user(email, name, role, organisation),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("passerelle: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Installs the logs of a long-running command, as configured.
fn init_logs(figment: &rocket::figment::Figment) -> Result<(), String> {
    let config = passerelle::config::Config::from_figment(figment)?;
    let rocket_config = rocket::Config::try_from(figment).map_err(|e| e.to_string())?;
    passerelle::ops::logs::init(config.log_format, rocket_config.log_level)
}

fn serve() -> Result<(), String> {
    let figment = passerelle::figment();
    init_logs(&figment)?;
    let rocket = passerelle::build(figment)?;
    rocket::execute(rocket.launch())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn migrate() -> Result<(), String> {
    let config = passerelle::config::Config::from_figment(&passerelle::figment())?;
    let db = passerelle::db::Db::connect(&config.database_url, 1)?;
    let applied = db.migrate().map_err(|e| format!("{e:?}"))?;
    println!("{applied} migration(s) appliquée(s).");
    Ok(())
}

/// Sends due messages until SIGINT or SIGTERM, then finishes the message in hand and releases
/// the rest.
fn worker() -> Result<(), String> {
    let figment = passerelle::figment();
    init_logs(&figment)?;
    let (config, db) = passerelle::open(&figment)?;
    let workers = passerelle::worker::Workers::new(db, config)?;
    println!("Passerelle : envoi des rappels ({}).", workers.reminders.id);
    rocket::execute(async move {
        let running = workers.start();
        let mut terminate = rocket::tokio::signal::unix::signal(
            rocket::tokio::signal::unix::SignalKind::terminate(),
        )
        .map_err(|e| e.to_string())?;
        rocket::tokio::select! {
            _ = rocket::tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        workers.stop();
        running.await.map_err(|e| e.to_string())
    })
}

fn backup(to: &std::path::Path) -> Result<(), String> {
    let config = passerelle::config::Config::from_figment(&passerelle::figment())?;
    let size =
        passerelle::ops::backup::backup(&config.database_url, config.pg_bin_dir.as_deref(), to)?;
    println!("Sauvegarde écrite dans {} ({size} octets).", to.display());
    Ok(())
}

fn restore(from: &std::path::Path) -> Result<(), String> {
    let config = passerelle::config::Config::from_figment(&passerelle::figment())?;
    passerelle::ops::backup::restore(&config.database_url, config.pg_bin_dir.as_deref(), from)?;
    println!("Base restaurée depuis {}.", from.display());
    Ok(())
}

fn demo(scale: passerelle::demo::Scale) -> Result<(), String> {
    use std::io::Write;
    let (config, db) = passerelle::open(&passerelle::figment())?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let mut last_step = String::new();
    let summary = passerelle::demo::run(&mut conn, &config, scale, |step, done, total| {
        // A progress bar on standard error: 30 cells, the step and the elapsed time.
        let total = total.max(1);
        let filled = (done * 30 / total) as usize;
        let mut err = std::io::stderr().lock();
        if step != last_step && !last_step.is_empty() {
            let _ = writeln!(err);
        }
        last_step = step.to_string();
        let _ = write!(
            err,
            "\r[{}{}] {:>3} % {step} ({} s)   ",
            "#".repeat(filled),
            " ".repeat(30 - filled.min(30)),
            done * 100 / total,
            started.elapsed().as_secs()
        );
        let _ = err.flush();
    })
    .map_err(|e| e.detail())?;
    eprintln!();
    println!(
        "Démonstration prête en {} s : {} structures, {} lieux, {} comptes, {} personnes, {} rendez-vous, \
         {} participations, {} comptes rendus, {} évaluations, {} appareils.",
        started.elapsed().as_secs(),
        summary.organisations,
        summary.places,
        summary.staff,
        summary.people,
        summary.appointments,
        summary.participants,
        summary.logs,
        summary.assessments,
        summary.devices
    );
    println!(
        "Comptes de démonstration, mot de passe « {} » : admin@demo.passerelle.fr (s'il n'y avait pas \
         d'administrateur), {} (coordination), {} (médiation) ; les autres sont dans /users.",
        summary.password, summary.manager_email, summary.mediator_email
    );
    Ok(())
}

fn read_password() -> Result<String, String> {
    if let Ok(password) = std::env::var("PASSERELLE_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn add_user(email: String, name: String, role: String, organisation: String) -> Result<(), String> {
    let password = read_password()?;
    let (_, db) = passerelle::open(&passerelle::figment())?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let describe = |e: passerelle::error::AppError| match e {
        passerelle::error::AppError::Validation(errors) => errors
            .iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.detail(),
    };
    let org = passerelle::organisations::find_or_create(&mut conn, None, &organisation)
        .map_err(describe)?;
    let user = passerelle::auth::service::create_user(
        &mut conn,
        None,
        passerelle::auth::service::UserInput {
            email,
            name,
            role,
            organisation_id: Some(org.id),
            password,
        },
    )
    .map_err(describe)?;
    println!("{}", user.id);
    Ok(())
}
