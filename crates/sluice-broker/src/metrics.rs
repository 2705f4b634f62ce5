//! Prometheus metrics served on the admin listener's `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

fn topic(t: &str) -> Labels {
    vec![("topic".to_string(), t.to_string())]
}

/// Broker metrics; cheap to clone (all handles share their values).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    bytes_in: Family<Labels, Counter>,
    records_in: Family<Labels, Counter>,
    bytes_out: Family<Labels, Counter>,
    records_out: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    connections: Gauge,
    connections_refused: Family<Labels, Counter>,
    tls_reloads: Family<Labels, Counter>,
    authorization_denied: Family<Labels, Counter>,
    log_size: Family<Labels, Gauge>,
    admin_unauthenticated: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers all metrics.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sluice_broker");
        let bytes_in = Family::<Labels, Counter>::default();
        let records_in = Family::<Labels, Counter>::default();
        let bytes_out = Family::<Labels, Counter>::default();
        let records_out = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0001, 4.0, 10))) as fn() -> Histogram,
        );
        let connections = Gauge::default();
        let connections_refused = Family::<Labels, Counter>::default();
        let tls_reloads = Family::<Labels, Counter>::default();
        let authorization_denied = Family::<Labels, Counter>::default();
        let log_size = Family::<Labels, Gauge>::default();
        registry.register(
            "bytes_in",
            "Record batch bytes appended, per topic",
            bytes_in.clone(),
        );
        registry.register(
            "records_in",
            "Records appended, per topic",
            records_in.clone(),
        );
        registry.register(
            "bytes_out",
            "Record batch bytes fetched, per topic",
            bytes_out.clone(),
        );
        registry.register(
            "records_out",
            "Records fetched, per topic",
            records_out.clone(),
        );
        registry.register(
            "request_latency_seconds",
            "Request handling time, per API",
            latency.clone(),
        );
        registry.register(
            "open_connections",
            "Open client connections",
            connections.clone(),
        );
        registry.register(
            "connections_refused",
            "Client connections closed by a limit or a failed TLS handshake, per reason",
            connections_refused.clone(),
        );
        registry.register(
            "tls_certificate_reloads",
            "Reloads of a TLS listener's changed key, certificate or trust store files, per outcome",
            tls_reloads.clone(),
        );
        registry.register(
            "authorization_denied",
            "Operations the authorizer refused (or replica ids refused), per operation and resource type",
            authorization_denied.clone(),
        );
        registry.register("log_size_bytes", "Log size per partition", log_size.clone());
        let admin_unauthenticated = Counter::default();
        registry.register(
            "admin_unauthenticated_requests",
            "Admin-port requests refused for a missing, stale or bad signature",
            admin_unauthenticated.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            bytes_in,
            records_in,
            bytes_out,
            records_out,
            latency,
            connections,
            connections_refused,
            tls_reloads,
            authorization_denied,
            log_size,
            admin_unauthenticated,
        }
    }

    /// Counts an admin-port request refused as unauthenticated.
    pub fn admin_request_refused(&self) {
        self.admin_unauthenticated.inc();
    }

    /// Counts an append.
    pub fn record_in(&self, t: &str, bytes: u64, records: u64) {
        self.bytes_in.get_or_create(&topic(t)).inc_by(bytes);
        self.records_in.get_or_create(&topic(t)).inc_by(records);
    }

    /// Counts fetched bytes and the records in them.
    pub fn bytes_out(&self, t: &str, records: &[u8]) {
        if records.is_empty() {
            return;
        }
        self.bytes_out
            .get_or_create(&topic(t))
            .inc_by(records.len() as u64);
        self.records_out
            .get_or_create(&topic(t))
            .inc_by(crate::batch::count_records(records));
    }

    /// Records how long a request took.
    pub fn observe_request(&self, api: &str, took: Duration) {
        self.latency
            .get_or_create(&vec![("api".to_string(), api.to_string())])
            .observe(took.as_secs_f64());
    }

    /// Tracks open connections.
    pub fn connection_opened(&self) {
        self.connections.inc();
    }

    /// Tracks open connections.
    pub fn connection_closed(&self) {
        self.connections.dec();
    }

    /// Counts a connection refused or closed for `reason` (`max_connections`,
    /// `max_connections_per_ip`, `tls_handshake`, `idle`, `write_timeout`).
    pub fn connection_refused(&self, reason: &str) {
        self.connections_refused
            .get_or_create(&vec![("reason".to_string(), reason.to_string())])
            .inc();
    }

    /// Counts an operation refused by the authorizer.
    pub fn authorization_denied(&self, operation: &str, resource_type: &str) {
        self.authorization_denied
            .get_or_create(&vec![
                ("operation".to_string(), operation.to_string()),
                ("resource_type".to_string(), resource_type.to_string()),
            ])
            .inc();
    }

    /// Counts a reload of `listener`'s TLS files: `ok` if the new material is in use.
    pub fn tls_reload(&self, listener: &str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.tls_reloads
            .get_or_create(&vec![
                ("listener".to_string(), listener.to_string()),
                ("result".to_string(), result.to_string()),
            ])
            .inc();
    }

    /// Drops a deleted topic's series.
    pub fn forget_topic(&self, t: &str) {
        for f in [
            &self.bytes_in,
            &self.records_in,
            &self.bytes_out,
            &self.records_out,
        ] {
            f.remove(&topic(t));
        }
    }

    /// Renders the Prometheus text format, refreshing log sizes first.
    pub fn render(&self, log_sizes: impl IntoIterator<Item = ((String, i32), u64)>) -> String {
        self.log_size.clear();
        for ((t, p), size) in log_sizes {
            let labels = vec![
                ("topic".to_string(), t),
                ("partition".to_string(), p.to_string()),
            ];
            self.log_size.get_or_create(&labels).set(size as i64);
        }
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}
