//! Serving the federation contract: the one server set-up that node and hub
//! share. The federation service, the standard gRPC health service and
//! server reflection, over mTLS only (client certificates required).
//!
//! [`serve`] takes a bound listener and a shutdown future, so that tests run
//! real servers on `127.0.0.1:0` in-process and stop them deterministically.

use std::future::Future;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::pb::federation_server::{Federation, FederationServer};
use crate::tls::TlsMaterial;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("TLS configuration: {0}")]
    Tls(tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(String),
    #[error("server: {0}")]
    Transport(tonic::transport::Error),
}

/// Serves `service` on `listener` until `shutdown` resolves.
pub async fn serve<S: Federation>(
    service: S,
    listener: TcpListener,
    tls: &TlsMaterial,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<FederationServer<S>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let federation = FederationServer::new(service)
        .max_decoding_message_size(crate::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(crate::MAX_MESSAGE_BYTES);
    Server::builder()
        .tls_config(tls.server_config())
        .map_err(ServeError::Tls)?
        .add_service(health_service)
        .add_service(reflection)
        .add_service(federation)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
        .map_err(ServeError::Transport)
}
