//! Operations: backups and restores of the whole database, the Prometheus metrics, the logs.

pub mod backup;
pub mod logs;
pub mod metrics;
