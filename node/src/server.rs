//! Serving the node over mTLS: the node's federation service through the
//! shared server set-up in `tudashalo_proto::serve` (health and reflection
//! included).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tudashalo_proto::tls::{ReloadingTls, TlsMaterial};

pub use tudashalo_proto::serve::ServeError;

use crate::grpc::FederationService;
use crate::node::Node;

/// Serves `node` on `listener` until `shutdown` resolves.
pub async fn serve(
    node: Arc<Node>,
    listener: TcpListener,
    tls: &TlsMaterial,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let service = FederationService::new(node);
    let shutdown = service.watches().closing_with(shutdown);
    tudashalo_proto::serve::serve(service, listener, tls, shutdown).await
}

/// Like [`serve`], with a TLS configuration that is reloaded (SIGHUP, file
/// changes) while serving: a renewed certificate or a new CRL takes effect
/// for new connections without a restart.
pub async fn serve_reloading(
    node: Arc<Node>,
    listener: TcpListener,
    tls: ReloadingTls,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let service = FederationService::new(node);
    let shutdown = service.watches().closing_with(shutdown);
    tudashalo_proto::serve::serve_reloading(service, listener, tls, shutdown).await
}
