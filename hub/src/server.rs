//! Serving the hub over mTLS: the hub's federation service through the
//! shared server set-up in `tudashalo_proto::serve` (health and reflection
//! included), exactly as a node serves, so that hubs can be members.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tudashalo_proto::tls::TlsMaterial;

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
    tudashalo_proto::serve::serve(HubService::new(hub), listener, tls, shutdown).await
}
