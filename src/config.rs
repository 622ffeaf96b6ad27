//! Typed configuration, read from Rocket's figment (Rocket.toml, then `ROCKET_*` variables).
//! Built once at start and handed around as managed state: no globals.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use chrono_tz::Tz;
use rand::RngCore;
use rocket::figment::Figment;
use serde::Deserialize;

use crate::db::DatabaseUrl;

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default = "default_database_url")]
    database_url: String,
    #[serde(default = "default_data_dir")]
    data_dir: PathBuf,
    #[serde(default = "default_public_url")]
    public_url: String,
    #[serde(default = "default_timezone")]
    timezone: String,
    #[serde(default = "default_mail_transport")]
    mail_transport: String,
    #[serde(default)]
    smtp_url: Option<String>,
    #[serde(default)]
    smtp_ca_file: Option<PathBuf>,
    #[serde(default = "default_mail_from")]
    mail_from: String,
    #[serde(default = "default_lead_times")]
    reminder_lead_times: Vec<String>,
    #[serde(default = "default_true")]
    worker: bool,
    #[serde(default = "default_poll")]
    worker_poll_interval: String,
    #[serde(default)]
    secret_key: Option<String>,
    #[serde(default)]
    database_pool_size: Option<u32>,
    #[serde(default = "default_session_ttl")]
    session_ttl: String,
    #[serde(default = "default_token_ttl")]
    token_ttl: String,
    #[serde(default = "default_setup_log")]
    log_setup_link: bool,
    #[serde(default = "default_max_attempts", deserialize_with = "number_or_text")]
    mail_max_attempts: i32,
    #[serde(default = "default_retry_base")]
    mail_retry_base: String,
    #[serde(default = "default_lease")]
    worker_lease: String,
    #[serde(default = "default_concurrency")]
    worker_concurrency: usize,
    #[serde(default = "default_retention", deserialize_with = "number_or_text")]
    retention_months: i32,
    #[serde(default = "default_mail_transport")]
    sms_transport: String,
    #[serde(default)]
    sms_url: Option<String>,
    #[serde(default = "default_sms_from")]
    sms_from: String,
    #[serde(default)]
    sms_inbound_secret: Option<String>,
    #[serde(default)]
    pg_bin_dir: Option<PathBuf>,
    #[serde(default = "default_log_format")]
    log_format: String,
    #[serde(default, deserialize_with = "bool_or_text")]
    webhook_allow_private: bool,
    /// Public bookings and referrals one client address may send per hour.
    #[serde(
        default = "default_public_per_address",
        deserialize_with = "number_or_text"
    )]
    public_limit_per_address: i32,
    /// Public bookings and referrals for one phone number per day.
    #[serde(
        default = "default_public_per_phone",
        deserialize_with = "number_or_text"
    )]
    public_limit_per_phone: i32,
    #[serde(default = "default_metrics_allow", deserialize_with = "list_or_text")]
    metrics_allow: Vec<String>,
}

/// A whole number given as a number or as text (`ROCKET_X=3` and `("x", "3")` alike).
fn number_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }
    match Either::deserialize(deserializer)? {
        Either::Number(n) => i32::try_from(n).map_err(serde::de::Error::custom),
        Either::Text(t) => t.trim().parse().map_err(serde::de::Error::custom),
    }
}

/// A boolean given as a boolean or as text (`ROCKET_X=true` and `("x", "true")` alike).
fn bool_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Bool(bool),
        Text(String),
    }
    match Either::deserialize(deserializer)? {
        Either::Bool(b) => Ok(b),
        Either::Text(t) => match t.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "`{other}` is not true or false"
            ))),
        },
    }
}

/// A list given as a list or as text separated by commas (`ROCKET_X=a,b` and `["a", "b"]`).
fn list_or_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Either::deserialize(deserializer)? {
        Either::List(list) => list,
        Either::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    })
}

fn default_max_attempts() -> i32 {
    8
}
fn default_retry_base() -> String {
    "30s".into()
}
fn default_lease() -> String {
    "2m".into()
}
fn default_concurrency() -> usize {
    16
}
fn default_retention() -> i32 {
    24
}
fn default_log_format() -> String {
    "text".into()
}
fn default_metrics_allow() -> Vec<String> {
    vec!["127.0.0.0/8".into(), "::1/128".into()]
}

fn default_database_url() -> String {
    "sqlite://data/passerelle.db".into()
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn default_public_url() -> String {
    "http://127.0.0.1:8000".into()
}
fn default_timezone() -> String {
    "Europe/Paris".into()
}
fn default_mail_transport() -> String {
    "file".into()
}
fn default_public_per_address() -> i32 {
    30
}
fn default_public_per_phone() -> i32 {
    5
}
fn default_sms_from() -> String {
    "Passerelle".into()
}
fn default_mail_from() -> String {
    "Passerelle <no-reply@localhost>".into()
}
fn default_lead_times() -> Vec<String> {
    vec!["48h".into(), "2h".into()]
}
fn default_true() -> bool {
    true
}
fn default_poll() -> String {
    "5s".into()
}
fn default_session_ttl() -> String {
    "12h".into()
}
fn default_token_ttl() -> String {
    "24h".into()
}
fn default_setup_log() -> bool {
    true
}

/// How the logs are written: `text` for people, `json` (one object a line) for collectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailTransport {
    File,
    Smtp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsTransport {
    /// One `.txt` file per message under `data_dir/sms`.
    File,
    /// Kannel's smsbox `sendsms` HTTP interface at `sms_url`.
    Kannel,
}

/// The application's configuration, checked. Its `Debug` leaves out what is secret.
#[derive(Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub database_pool_size: u32,
    pub data_dir: PathBuf,
    pub public_url: String,
    pub timezone: Tz,
    pub mail_transport: MailTransport,
    /// May hold a user name and password: never log it.
    pub smtp_url: Option<String>,
    /// Extra root certificates (PEM) to trust for the SMTP server's TLS, e.g. a private CA.
    pub smtp_ca_file: Option<PathBuf>,
    pub mail_from: String,
    pub reminder_lead_times: Vec<Duration>,
    pub worker: bool,
    pub worker_poll_interval: Duration,
    /// 64 bytes used to sign links; generated and kept in `data_dir` when not configured.
    pub secret_key: Vec<u8>,
    pub session_ttl: Duration,
    pub token_ttl: Duration,
    pub log_setup_link: bool,
    /// Attempts before a message is `dead`.
    pub mail_max_attempts: i32,
    /// First retry delay; doubled at each failure, at most an hour.
    pub mail_retry_base: Duration,
    /// How long a worker holds the messages it claimed.
    pub worker_lease: Duration,
    /// Messages a worker sends at the same time.
    pub worker_concurrency: usize,
    /// People with no activity for this many months are anonymised.
    pub retention_months: u32,
    pub sms_transport: SmsTransport,
    /// Kannel's `sendsms` URL; holds the smsbox user name and password: never log it.
    pub sms_url: Option<String>,
    /// The sender name of text messages (at most 11 letters or digits).
    pub sms_from: String,
    /// The secret Kannel puts in the inbound URL; without it replies are ignored.
    pub sms_inbound_secret: Option<String>,
    /// Where `pg_dump` and `pg_restore` are (backups on PostgreSQL); by default the newest
    /// Debian `/usr/lib/postgresql/*/bin`, else the `PATH`.
    pub pg_bin_dir: Option<PathBuf>,
    /// Client addresses that may read `/metrics`.
    pub metrics_allow: Vec<ipnet::IpNet>,
    pub log_format: LogFormat,
    /// Webhooks may target private and loopback addresses (tests, an internal network).
    pub webhook_allow_private: bool,
    /// Public bookings and referrals one client address may send per hour.
    pub public_limit_per_address: u32,
    /// Public bookings and referrals for one phone number per day.
    pub public_limit_per_phone: u32,
}

impl Config {
    /// Reads and checks the configuration; creates `data_dir` and the secret key when missing.
    pub fn from_figment(figment: &Figment) -> Result<Config, String> {
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        let database_url = DatabaseUrl::parse(&raw.database_url)?;
        let timezone: Tz = raw
            .timezone
            .parse()
            .map_err(|_| format!("timezone: unknown time zone `{}`", raw.timezone))?;
        let mail_transport = match raw.mail_transport.as_str() {
            "file" => MailTransport::File,
            "smtp" => MailTransport::Smtp,
            other => {
                return Err(format!(
                    "mail_transport must be `file` or `smtp` (got `{other}`)"
                ))
            }
        };
        if mail_transport == MailTransport::Smtp && raw.smtp_url.is_none() {
            return Err("mail_transport = \"smtp\" needs smtp_url".into());
        }
        let sms_transport = match raw.sms_transport.as_str() {
            "file" => SmsTransport::File,
            "kannel" => SmsTransport::Kannel,
            other => {
                return Err(format!(
                    "sms_transport must be `file` or `kannel` (got `{other}`)"
                ))
            }
        };
        if sms_transport == SmsTransport::Kannel {
            let url = raw
                .sms_url
                .as_deref()
                .ok_or("sms_transport = \"kannel\" needs sms_url")?;
            url::Url::parse(url).map_err(|e| format!("sms_url: {e}"))?;
        }
        if raw.sms_from.is_empty()
            || raw.sms_from.len() > 11
            || !raw.sms_from.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err("sms_from must be 1 to 11 letters or digits".into());
        }
        let sms_inbound_secret = raw.sms_inbound_secret.filter(|s| !s.trim().is_empty());
        let reminder_lead_times = raw
            .reminder_lead_times
            .iter()
            .map(|s| parse_duration(s).map_err(|e| format!("reminder_lead_times: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let worker_poll_interval = parse_duration(&raw.worker_poll_interval)
            .map_err(|e| format!("worker_poll_interval: {e}"))?;
        let session_ttl =
            parse_duration(&raw.session_ttl).map_err(|e| format!("session_ttl: {e}"))?;
        let token_ttl = parse_duration(&raw.token_ttl).map_err(|e| format!("token_ttl: {e}"))?;
        let mail_retry_base =
            parse_duration(&raw.mail_retry_base).map_err(|e| format!("mail_retry_base: {e}"))?;
        let worker_lease =
            parse_duration(&raw.worker_lease).map_err(|e| format!("worker_lease: {e}"))?;
        if !(1..=1200).contains(&raw.retention_months) {
            return Err("retention_months must be between 1 and 1200".into());
        }
        if raw.mail_max_attempts < 1 {
            return Err("mail_max_attempts must be at least 1".into());
        }
        let log_format = match raw.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(format!(
                    "log_format must be `text` or `json` (got `{other}`)"
                ))
            }
        };
        let metrics_allow = raw
            .metrics_allow
            .iter()
            .map(|block| {
                let block = block.trim();
                block
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| block.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!("metrics_allow: `{block}` is not a CIDR block like 10.0.0.0/8")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        std::fs::create_dir_all(&raw.data_dir)
            .map_err(|e| format!("cannot create data_dir {}: {e}", raw.data_dir.display()))?;
        let secret_key = match raw.secret_key {
            Some(key) => decode_key(&key)?,
            None => load_or_create_key(&raw.data_dir)?,
        };
        let default_pool = match database_url {
            DatabaseUrl::Sqlite(_) => 8,
            DatabaseUrl::Postgres(_) => 10,
        };
        Ok(Config {
            database_url,
            database_pool_size: raw.database_pool_size.unwrap_or(default_pool).max(1),
            data_dir: raw.data_dir,
            public_url: raw.public_url.trim_end_matches('/').to_string(),
            timezone,
            mail_transport,
            smtp_url: raw.smtp_url,
            smtp_ca_file: raw.smtp_ca_file,
            mail_from: raw.mail_from,
            reminder_lead_times,
            worker: raw.worker,
            worker_poll_interval,
            secret_key,
            session_ttl,
            token_ttl,
            log_setup_link: raw.log_setup_link,
            mail_max_attempts: raw.mail_max_attempts,
            mail_retry_base,
            worker_lease,
            worker_concurrency: raw.worker_concurrency.clamp(1, 64),
            retention_months: raw.retention_months as u32,
            sms_transport,
            sms_url: raw.sms_url,
            sms_from: raw.sms_from,
            sms_inbound_secret,
            pg_bin_dir: raw.pg_bin_dir,
            metrics_allow,
            log_format,
            webhook_allow_private: raw.webhook_allow_private,
            public_limit_per_address: raw.public_limit_per_address.max(1) as u32,
            public_limit_per_phone: raw.public_limit_per_phone.max(1) as u32,
        })
    }

    /// Whether cookies must carry the `Secure` flag (the public URL is HTTPS).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Parses `90m`, `48h`, `2d`, `30s` (and combinations such as `1h30m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration like 90m, 2h or 1d"))?;
        number.clear();
        total += value
            * match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return Err(format!("`{text}` is not a duration like 90m, 2h or 1d")),
            };
    }
    if !number.is_empty() {
        return Err(format!("`{text}` needs a unit (s, m, h or d)"));
    }
    Ok(Duration::from_secs(total))
}

fn decode_key(key: &str) -> Result<Vec<u8>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .map_err(|_| "secret_key must be base64 (e.g. `openssl rand -base64 64`)".to_string())?;
    if bytes.len() < 32 {
        return Err("secret_key must hold at least 32 bytes".into());
    }
    Ok(bytes)
}

/// Reads `data_dir/secret_key`, or creates it (mode 0600) with 64 random bytes.
fn load_or_create_key(data_dir: &Path) -> Result<Vec<u8>, String> {
    let path = data_dir.join("secret_key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return decode_key(&text);
    }
    let mut bytes = vec![0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    // Written aside then linked into place, so that an instance starting at the same moment
    // never reads a half-written key.
    let tmp = data_dir.join(format!(".secret_key.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(encoded.as_bytes())
                .and_then(|_| file.sync_all())
        })
        .and_then(|_| std::fs::hard_link(&tmp, &path));
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(bytes),
        // Another instance created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            decode_key(&text)
        }
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_in_the_configuration_format() {
        assert_eq!(parse_duration("48h"), Ok(Duration::from_secs(48 * 3600)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("2w").is_err());
    }
}

impl std::fmt::Debug for Config {
    /// Everything but the secrets: the key, and the passwords an SMTP or PostgreSQL URL holds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.database_url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(_) => "postgres://…".to_string(),
        };
        f.debug_struct("Config")
            .field("database_url", &backend)
            .field("database_pool_size", &self.database_pool_size)
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("timezone", &self.timezone)
            .field("mail_transport", &self.mail_transport)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "…"))
            .field("smtp_ca_file", &self.smtp_ca_file)
            .field("mail_from", &self.mail_from)
            .field("sms_transport", &self.sms_transport)
            .field("sms_url", &self.sms_url.as_ref().map(|_| "…"))
            .field("sms_from", &self.sms_from)
            .field(
                "sms_inbound_secret",
                &self.sms_inbound_secret.as_ref().map(|_| "…"),
            )
            .field("worker", &self.worker)
            .field("secret_key", &"…")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod debug_tests {
    #[test]
    fn debug_output_keeps_secrets_out() {
        let figment = rocket::figment::Figment::new()
            .merge((
                "database_url",
                "postgres://app:hunter2@db.example/passerelle",
            ))
            .merge(("smtp_url", "smtps://mail:s3cret@smtp.example:465"))
            .merge(("mail_transport", "smtp"))
            .merge(("secret_key", "a".repeat(64)))
            .merge((
                "data_dir",
                std::env::temp_dir().join("passerelle-debug-test"),
            ));
        let config = super::Config::from_figment(&figment).expect("valid configuration");
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret") && !shown.contains("aaaa"),
            "{shown}"
        );
        assert!(shown.contains("smtp_ca_file"));
    }
}
