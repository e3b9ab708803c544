//! Serving the node: the federation service, the standard gRPC health
//! service and server reflection, over mTLS only.
//!
//! [`serve`] takes a bound listener and a shutdown future, so that tests run
//! real servers on `127.0.0.1:0` in-process and stop them deterministically.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tudashalo_proto::pb::federation_server::FederationServer;
use tudashalo_proto::tls::TlsMaterial;

use crate::grpc::FederationService;
use crate::node::Node;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("TLS configuration: {0}")]
    Tls(tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(String),
    #[error("server: {0}")]
    Transport(tonic::transport::Error),
}

/// Serves `node` on `listener` until `shutdown` resolves.
pub async fn serve(
    node: Arc<Node>,
    listener: TcpListener,
    tls: &TlsMaterial,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<FederationServer<FederationService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tudashalo_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let federation = FederationServer::new(FederationService::new(node))
        .max_decoding_message_size(tudashalo_proto::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(tudashalo_proto::MAX_MESSAGE_BYTES);
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
