//! Metrics for operators who already run Prometheus: one [`Metrics`]
//! registry per server (node or hub), served as `GET /metrics` in the
//! OpenMetrics text format on a listener of its own ([`http`], `[metrics]`
//! in `node.toml` and `hub.toml`, off unless set).
//!
//! What every server shares lives here: the gRPC server metrics under the
//! names operators know from go-grpc-prometheus (`grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_handling_seconds`), counted in
//! the adapters where the final status is known ([`rpc::Rpc`]); the same for
//! the hub's calls to its members (`grpc_client_*`); the process metrics
//! read from `/proc/self` ([`process`]); and the CRL's `nextUpdate`.
//! Node and hub add their own families ([`Metrics::register`]) and
//! collectors read at scrape time ([`Metrics::register_collector`]).
//!
//! **The label rule.** A label value comes from a small closed set known at
//! build time or from configuration (an RPC's name, a gRPC code, a
//! visibility, a member's name): never a document id, query text,
//! settlement, indicator code or principal name. Metrics hold no document
//! data, but counts and names are still operational information, which is
//! why the listener is on loopback unless `allow_remote = true`
//! ([`MetricsConfig`]). The gRPC families take `&'static str` labels, so
//! that nothing read from a request can become one.
//!
//! A registry per server, not a global one: a test (or the demo) runs
//! several nodes and hubs in one process, and each scrape must show only its
//! own server.

use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Metric, Registry};
use serde::{Deserialize, Serialize};

pub mod http;
pub mod process;
pub mod rpc;

pub use rpc::{Observed, Rpc, RpcKind, RpcMetrics, code_name, code_names};

/// The `grpc_service` label of every federation RPC.
pub const FEDERATION_SERVICE: &str = "tudashalo.v1.Federation";

/// The Content-Type of what [`Metrics::encode`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The default address of the metrics listener (Prometheus's registered
/// default port for exporters of this kind), as the templates suggest it.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// Latency buckets, in seconds, of every duration histogram: from a cached
/// answer (1 ms) to the longest deadline a request may have (a minute).
pub const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// One server's metrics: the registry that `/metrics` encodes, and the gRPC
/// families the adapters and the hub's member calls count in.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    server: RpcMetrics,
    client: RpcMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with the gRPC server and client families and the process
    /// metrics.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let server = RpcMetrics::register(&mut registry, "grpc_server", "handled by this server");
        let client = RpcMetrics::register(
            &mut registry,
            "grpc_client",
            "this server made to its members",
        );
        registry.register_collector(Box::new(process::ProcessCollector));
        Metrics {
            registry: Mutex::new(registry),
            server,
            client,
        }
    }

    /// The RPCs this server handles (`grpc_server_*`).
    pub fn server(&self) -> &RpcMetrics {
        &self.server
    }

    /// The RPCs this server makes to its members (`grpc_client_*`).
    pub fn client(&self) -> &RpcMetrics {
        &self.client
    }

    /// Adds a family (a counter, gauge or histogram, or a family of them)
    /// under `name`; the caller keeps a clone to update it.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.lock().register(name, help, metric);
    }

    /// Adds a collector, asked for its values at every scrape: for what is
    /// cheap to read when asked (counts, sizes) rather than to keep updated.
    pub fn register_collector(&self, collector: impl Collector) {
        self.lock().register_collector(Box::new(collector));
    }

    /// `tudashalo_crl_next_update_seconds`: the `nextUpdate` of the CRL in
    /// force in `tls`, when a CRL is configured (absent otherwise).
    pub fn watch_crl(&self, tls: crate::tls::ReloadingTls) {
        self.register_collector(CrlCollector(tls));
    }

    /// Everything, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.lock())?;
        Ok(text)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reports the CRL's `nextUpdate` at scrape time (a reload may bring a new one).
#[derive(Debug)]
struct CrlCollector(crate::tls::ReloadingTls);

impl Collector for CrlCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some(next) = self.0.crl_next_update() {
            gauge(
                &mut encoder,
                "tudashalo_crl_next_update_seconds",
                "The nextUpdate of the revocation list in force, as a Unix time",
                next,
            )?;
        }
        Ok(())
    }
}

/// Encodes one gauge without labels: what collectors mostly report.
pub fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: impl prometheus_client::encoding::EncodeGaugeValue,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(value);
    let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
    gauge.encode(metric)
}

/// Encodes a gauge family with one label, one sample per `(value, number)`.
pub fn labelled_gauges<'a, V: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &'static str,
    samples: impl IntoIterator<Item = (&'a str, V)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(
        name,
        help,
        None,
        prometheus_client::metrics::MetricType::Gauge,
    )?;
    for (value, number) in samples {
        let labels = [(label, value)];
        let sample = family.encode_family(&labels)?;
        ConstGauge::new(number).encode(sample)?;
    }
    Ok(())
}

/// `[metrics]` in `node.toml` and `hub.toml`: where `/metrics` is served.
/// The section absent: no metrics listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// `host:port` of the plain-HTTP listener, e.g. `127.0.0.1:9464`.
    pub listen: String,
    /// A non-loopback `listen` is refused unless this is set: the listener
    /// speaks plain HTTP without authentication, and although no document
    /// data is in the metrics, counts, member names and timings are still
    /// operational information. Set it only behind the operator's network
    /// controls (a firewall, a private scrape network).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_remote: bool,
}

impl MetricsConfig {
    /// The address to bind, or what is wrong with the section (naming the
    /// field; the caller adds the file).
    pub fn address(&self) -> Result<SocketAddr, String> {
        let addr: SocketAddr = self.listen.parse().map_err(|e| {
            format!(
                "metrics.listen: {:?} is not an address such as {DEFAULT_LISTEN} ({e})",
                self.listen
            )
        })?;
        if !addr.ip().is_loopback() && !self.allow_remote {
            return Err(format!(
                "metrics.listen: {addr} is not a loopback address; the metrics listener is plain \
                 HTTP, so set metrics.allow_remote = true only if your network controls who \
                 can reach it"
            ));
        }
        Ok(addr)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_config_wants_an_address_and_loopback_unless_allowed() {
        let config = |listen: &str, allow_remote| MetricsConfig {
            listen: listen.into(),
            allow_remote,
        };
        assert_eq!(
            config("127.0.0.1:9464", false).address().unwrap(),
            "127.0.0.1:9464".parse().unwrap()
        );
        assert!(config("[::1]:9464", false).address().is_ok());
        let e = config("0.0.0.0:9464", false).address().unwrap_err();
        assert!(e.contains("metrics.allow_remote"), "{e}");
        assert!(config("0.0.0.0:9464", true).address().is_ok());
        let e = config("localhost", false).address().unwrap_err();
        assert!(e.starts_with("metrics.listen"), "{e}");
        let parsed: MetricsConfig = toml::from_str("listen = \"127.0.0.1:1\"\n").unwrap();
        assert!(!parsed.allow_remote);
        assert!(toml::from_str::<MetricsConfig>("listen = \"x\"\nport = 1\n").is_err());
    }

    #[test]
    fn a_fresh_registry_encodes_the_grpc_families_and_ends_with_eof() {
        let metrics = Metrics::new();
        let rpc = metrics.server().start(RpcKind::Unary, "Info");
        rpc.finish(tonic::Code::Ok);
        let text = metrics.encode().unwrap();
        assert!(text.contains(
            "grpc_server_started_total{grpc_type=\"unary\",grpc_service=\"tudashalo.v1.Federation\",grpc_method=\"Info\"} 1"
        ), "{text}");
        assert!(
            text.contains("grpc_code=\"OK\"} 1"),
            "handled with its code: {text}"
        );
        assert!(
            text.contains("grpc_server_handling_seconds_bucket{"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
