//! `GET /metrics`: Prometheus text, for the addresses in `metrics_allow` only (others get 404).
//!
//! Requests are counted by method, route (the route's path pattern, `/api/v1/people/<id>`, never
//! the path itself: paths can hold link tokens) and status, with a latency histogram. The
//! outbox, the oldest due message's age and the connection pool are read at each scrape.

use std::net::IpAddr;
use std::time::Instant;

use diesel::prelude::*;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Data, Response, State};

use crate::config::Config;
use crate::db::schema::messages;
use crate::db::Db;
use crate::error::AppError;
use crate::status::MessageStatus;

/// This instance's metrics (managed state; one registry per application, no globals).
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    outbox: IntGaugeVec,
    oldest_due: Gauge,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Metrics, String> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("passerelle_http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )
        .map_err(|e| e.to_string())?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "passerelle_http_request_duration_seconds",
                "Time to answer an HTTP request, up to its headers",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route", "status"],
        )
        .map_err(|e| e.to_string())?;
        let outbox = IntGaugeVec::new(
            Opts::new(
                "passerelle_outbox_messages",
                "Messages in the outbox, by channel and status",
            ),
            &["channel", "status"],
        )
        .map_err(|e| e.to_string())?;
        let oldest_due = Gauge::new(
            "passerelle_outbox_oldest_due_age_seconds",
            "Age of the oldest message due and not sent yet (0 when none)",
        )
        .map_err(|e| e.to_string())?;
        let pool_connections = IntGauge::new(
            "passerelle_db_pool_connections",
            "Database connections open in the pool",
        )
        .map_err(|e| e.to_string())?;
        let pool_idle = IntGauge::new(
            "passerelle_db_pool_idle_connections",
            "Database connections open and idle in the pool",
        )
        .map_err(|e| e.to_string())?;
        let pool_max = IntGauge::new(
            "passerelle_db_pool_max_connections",
            "The pool's size (database_pool_size)",
        )
        .map_err(|e| e.to_string())?;
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(outbox.clone()),
            Box::new(oldest_due.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_max.clone()),
        ] {
            registry.register(collector).map_err(|e| e.to_string())?;
        }
        Ok(Metrics {
            registry,
            requests,
            latency,
            outbox,
            oldest_due,
            pool_connections,
            pool_idle,
            pool_max,
        })
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition, after reading the outbox and the pool.
    fn render(&self, snapshot: Snapshot) -> Result<String, AppError> {
        self.outbox.reset();
        for (channel, status, count) in snapshot.outbox {
            self.outbox
                .with_label_values(&[channel.as_str(), status.as_str()])
                .set(count);
        }
        self.oldest_due.set(snapshot.oldest_due_age);
        self.pool_connections.set(i64::from(snapshot.pool.0));
        self.pool_idle.set(i64::from(snapshot.pool.1));
        self.pool_max.set(i64::from(snapshot.pool.2));
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        String::from_utf8(out).map_err(|e| AppError::Internal(e.to_string()))
    }
}

/// What a scrape reads from the database.
struct Snapshot {
    /// Messages by channel and status.
    outbox: OutboxCounts,
    oldest_due_age: f64,
    pool: (u32, u32, u32),
}

type OutboxCounts = Vec<(String, MessageStatus, i64)>;

fn read_snapshot(conn: &mut crate::db::DbConn) -> Result<(OutboxCounts, f64), AppError> {
    let now = crate::db::now();
    let outbox: OutboxCounts = messages::table
        .group_by((messages::channel, messages::status))
        .select((
            messages::channel,
            messages::status,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let oldest: Option<chrono::NaiveDateTime> = messages::table
        .filter(messages::status.eq(MessageStatus::Pending))
        .filter(messages::due_at.le(now))
        .select(diesel::dsl::min(messages::due_at))
        .first(conn)?;
    let age = oldest
        .map(|due| (now - due).num_seconds().max(0) as f64)
        .unwrap_or(0.0);
    Ok((outbox, age))
}

/// When the request started, kept in its local cache.
struct Started(Instant);

/// Counts, times and logs every answer (by route pattern: never the path, which can hold a
/// link token or a searched name), and says where the server listens.
pub struct RequestMetrics;

#[rocket::async_trait]
impl Fairing for RequestMetrics {
    fn info(&self) -> Info {
        Info {
            name: "request metrics and log",
            kind: Kind::Request | Kind::Response | Kind::Liftoff,
        }
    }

    async fn on_liftoff(&self, rocket: &rocket::Rocket<rocket::Orbit>) {
        let config = rocket.config();
        tracing::info!(
            address = %config.address,
            port = config.port,
            "Passerelle écoute sur {}:{}",
            config.address,
            config.port
        );
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Started(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(metrics) = req.rocket().state::<Metrics>() else {
            return;
        };
        let started = req.local_cache(|| Started(Instant::now()));
        let route = req
            .route()
            .map(|r| r.uri.path().to_string())
            .unwrap_or_else(|| "unmatched".into());
        let seconds = started.0.elapsed().as_secs_f64();
        metrics.observe(req.method().as_str(), &route, res.status().code, seconds);
        tracing::info!(
            target: "passerelle::http",
            method = req.method().as_str(),
            route = route.as_str(),
            status = res.status().code,
            duration_ms = (seconds * 1000.0).round() as u64,
            "requête"
        );
    }
}

/// A client whose address is in `metrics_allow`; anyone else is answered 404.
pub struct MetricsClient;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MetricsClient {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(config) = req.rocket().state::<Config>() else {
            return Outcome::Error((Status::NotFound, ()));
        };
        match req.client_ip() {
            Some(ip) if allowed(&config.metrics_allow, ip) => Outcome::Success(MetricsClient),
            _ => Outcome::Error((Status::NotFound, ())),
        }
    }
}

fn allowed(blocks: &[ipnet::IpNet], ip: IpAddr) -> bool {
    // An IPv4 client seen through an IPv6 socket (`::ffff:127.0.0.1`) is its IPv4 address.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    blocks.iter().any(|block| block.contains(&ip))
}

/// `GET /metrics`.
#[rocket::get("/metrics")]
pub async fn metrics(
    _client: MetricsClient,
    metrics: &State<Metrics>,
    db: &State<Db>,
) -> Result<(ContentType, String), AppError> {
    let (outbox, oldest_due_age) = db.run(read_snapshot).await?;
    let text = metrics.render(Snapshot {
        outbox,
        oldest_due_age,
        pool: db.pool_state(),
    })?;
    Ok((
        ContentType::new("text", "plain").with_params([("version", "0.0.4"), ("charset", "utf-8")]),
        text,
    ))
}
