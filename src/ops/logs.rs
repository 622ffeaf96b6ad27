//! Structured logs: `tracing` events (and the `log` records of the code that uses it), as text
//! or as one JSON object a line (`log_format = "json"`) on standard output.
//!
//! Only Passerelle's own events are written. Other crates' are not: Rocket's request lines name
//! paths, and paths hold link tokens (`/r/…`) and searched names (`?q=…`). Passerelle's events
//! name a request by its route's pattern (`/r/<token>`) and records by their ids, never by a
//! person's name, contact or link.

use rocket::config::LogLevel;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::LogFormat;

/// Installs the process's subscriber (the commands that run for long: `serve`, `worker`).
/// Rocket's `log_level` sets the level: `critical` → warnings and errors, `normal` → and
/// each request, `debug` → more.
pub fn init(format: LogFormat, level: LogLevel) -> Result<(), String> {
    let level = match level {
        LogLevel::Off => LevelFilter::OFF,
        LogLevel::Critical => LevelFilter::WARN,
        LogLevel::Normal => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
    };
    let filter = Targets::new().with_target("passerelle", level);
    let layer = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stdout)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_writer(std::io::stdout)
            .with_filter(filter)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|e| format!("logs: {e}"))
}
