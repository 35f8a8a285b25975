//! Prometheus metrics, served at `/metrics` only when `LIFEOS_METRICS_TOKEN`
//! is set, to requests that carry it as a bearer token (docs/operating.md,
//! Metrics). One [`Metrics`] per relay: counters and histograms are updated
//! where things happen (the sync actor, the HTTP layer); gauges are read
//! from the sync actor and the database pool when scraped.

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::storage::Store;
use crate::sync::SyncHandle;

/// What a refused authentication was for.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum AuthKind {
    /// `POST /api/v1/auth/login`: wrong email or password, or a disabled account.
    Login,
    /// `POST /api/v1/auth/refresh`: an unknown, expired or reused refresh token.
    Refresh,
    /// The sync WebSocket's upgrade: a missing or invalid access token.
    Sync,
    /// `/metrics` itself.
    Metrics,
    /// Any other request with a missing or invalid access token.
    Token,
}

impl AuthKind {
    fn as_str(self) -> &'static str {
        match self {
            AuthKind::Login => "login",
            AuthKind::Refresh => "refresh",
            AuthKind::Sync => "sync",
            AuthKind::Metrics => "metrics",
            AuthKind::Token => "token",
        }
    }
}

impl EncodeLabelValue for AuthKind {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder,
    ) -> std::fmt::Result {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The labels of `lifeos_auth_failures_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthLabels {
    /// What was refused.
    pub kind: AuthKind,
}

/// The state of a database connection.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ConnectionState {
    /// Waiting in the pool.
    Idle,
    /// Running a query.
    Busy,
}

impl EncodeLabelValue for ConnectionState {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder,
    ) -> std::fmt::Result {
        let name = match self {
            ConnectionState::Idle => "idle",
            ConnectionState::Busy => "busy",
        };
        EncodeLabelValue::encode(&name, encoder)
    }
}

/// The labels of `lifeos_db_connections`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionLabels {
    /// Idle or busy.
    pub state: ConnectionState,
}

/// Every metric of one relay.
pub struct Metrics {
    registry: Registry,
    /// Sync messages received from devices.
    pub messages_received: Counter,
    /// Sync messages sent to devices.
    pub messages_sent: Counter,
    /// Time to store one batch of a document's changes.
    pub persist_seconds: Histogram,
    /// From a device's change reaching the relay to the relay sending it on
    /// to the document's other peers (storing it in between).
    pub fanout_seconds: Histogram,
    /// Refused authentications, by kind.
    pub auth_failures: Family<AuthLabels, Counter>,
    /// Notifications of changes stored by other relays on the same database.
    pub peer_changes: Counter,
    /// Reads of the change log to catch up with other relays.
    pub catch_up_reads: Counter,
    connections: Gauge,
    documents: Gauge,
    pending_writes: Gauge,
    db_connections: Family<ConnectionLabels, Gauge>,
    db_max_connections: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under `lifeos_`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lifeos");
        // 0.25 ms to about 16 s.
        let latency = || Histogram::new(exponential_buckets(0.000_25, 2.0, 17));
        let metrics = Metrics {
            messages_received: Counter::default(),
            messages_sent: Counter::default(),
            persist_seconds: latency(),
            fanout_seconds: latency(),
            auth_failures: Family::default(),
            peer_changes: Counter::default(),
            catch_up_reads: Counter::default(),
            connections: Gauge::default(),
            documents: Gauge::default(),
            pending_writes: Gauge::default(),
            db_connections: Family::default(),
            db_max_connections: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "sync_connections",
            "Open sync WebSocket connections",
            metrics.connections.clone(),
        );
        registry.register(
            "sync_documents",
            "Documents in memory (active documents)",
            metrics.documents.clone(),
        );
        registry.register(
            "sync_pending_writes",
            "Documents with changes waiting to be stored",
            metrics.pending_writes.clone(),
        );
        registry.register(
            "sync_messages_received",
            "Sync messages received from devices",
            metrics.messages_received.clone(),
        );
        registry.register(
            "sync_messages_sent",
            "Sync messages sent to devices",
            metrics.messages_sent.clone(),
        );
        registry.register(
            "persist_seconds",
            "Time to store one batch of a document's changes",
            metrics.persist_seconds.clone(),
        );
        registry.register(
            "fanout_seconds",
            "From a change reaching the relay to its sending to the document's other devices, storing included",
            metrics.fanout_seconds.clone(),
        );
        registry.register(
            "auth_failures",
            "Refused authentications",
            metrics.auth_failures.clone(),
        );
        registry.register(
            "peer_changes",
            "Notifications of changes stored by other relays on the same database",
            metrics.peer_changes.clone(),
        );
        registry.register(
            "catch_up_reads",
            "Change-log reads to catch up with other relays",
            metrics.catch_up_reads.clone(),
        );
        registry.register(
            "db_connections",
            "Database connections open, by state",
            metrics.db_connections.clone(),
        );
        registry.register(
            "db_max_connections",
            "The most database connections the relay opens",
            metrics.db_max_connections.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Counts a refused authentication.
    pub fn auth_failed(&self, kind: AuthKind) {
        self.auth_failures.get_or_create(&AuthLabels { kind }).inc();
    }

    /// Observes a duration in seconds.
    pub fn observe(histogram: &Histogram, took: Duration) {
        histogram.observe(took.as_secs_f64());
    }

    /// The OpenMetrics text of every metric, with the gauges read now.
    pub async fn render(&self, sync: &SyncHandle, store: &Store) -> String {
        let stats = sync.stats().await;
        self.connections.set(gauge_value(stats.connections));
        self.documents.set(gauge_value(stats.documents));
        self.pending_writes.set(gauge_value(stats.pending_writes));
        let pool = store.pool_state();
        self.db_connections
            .get_or_create(&ConnectionLabels {
                state: ConnectionState::Idle,
            })
            .set(i64::from(pool.idle));
        self.db_connections
            .get_or_create(&ConnectionLabels {
                state: ConnectionState::Busy,
            })
            .set(i64::from(pool.open.saturating_sub(pool.idle)));
        self.db_max_connections.set(i64::from(pool.max));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_are_rendered_with_the_prefix() {
        let metrics = Metrics::new();
        metrics.messages_received.inc();
        metrics.auth_failed(AuthKind::Login);
        metrics.auth_failed(AuthKind::Login);
        Metrics::observe(&metrics.persist_seconds, Duration::from_millis(3));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &metrics.registry).unwrap();
        assert!(
            out.contains("lifeos_sync_messages_received_total 1"),
            "{out}"
        );
        assert!(
            out.contains("lifeos_auth_failures_total{kind=\"login\"} 2"),
            "{out}"
        );
        assert!(out.contains("lifeos_persist_seconds_count 1"), "{out}");
        assert!(
            out.contains("lifeos_persist_seconds_bucket{le=\"0.004\"} 1"),
            "{out}"
        );
        assert!(out.ends_with("# EOF\n"));
    }
}
