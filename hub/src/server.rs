//! Serving the hub over mTLS: the hub's federation service through the
//! shared server set-up in `tudashalo_proto::serve` (health and reflection
//! included), exactly as a node serves, so that hubs can be members.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tudashalo_proto::tls::{ReloadingTls, TlsMaterial};

pub use tudashalo_proto::serve::ServeError;

use crate::federation::Hub;
use crate::grpc::HubService;

/// Serves `hub` on `listener` until `shutdown` resolves.
pub async fn serve(
    hub: Arc<Hub>,
    listener: TcpListener,
    tls: &TlsMaterial,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let shutdown = hub.watches.closing_with(shutdown);
    tudashalo_proto::serve::serve(HubService::new(hub), listener, tls, shutdown).await
}

/// Like [`serve`], with a TLS configuration that is reloaded (SIGHUP, file
/// changes) while serving: a renewed certificate or a new CRL takes effect
/// for new connections without a restart.
pub async fn serve_reloading(
    hub: Arc<Hub>,
    listener: TcpListener,
    tls: ReloadingTls,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let shutdown = hub.watches.closing_with(shutdown);
    tudashalo_proto::serve::serve_reloading(HubService::new(hub), listener, tls, shutdown).await
}
