//! The client side: a federation client identity ([`ClientTls`]) and the
//! TCP + TLS connector tonic's channels use.
//!
//! tonic's TLS settings take no custom verifier, so this connector does TLS
//! itself, each connection with the configuration in force at the time
//! (a renewed certificate is presented on the next connection, without a
//! restart) and every connection registered for re-checking. URLs must be
//! `https://host:port`: there is no plaintext mode.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tonic::transport::{Channel, Endpoint};

use super::config::Loaded;
use super::files::TlsMaterial;
use super::live::{Guarded, LiveConnections, Side, peer_chain};
use super::reload::ReloadingTls;
use super::verify::describe_io;
use super::{CONNECT_TIMEOUT, TlsError};
use crate::identity::PeerExpectation;
use crate::pb::federation_client::FederationClient;

/// A federation client over `channel` with our message limits.
pub fn client(channel: Channel) -> FederationClient<Channel> {
    FederationClient::new(channel)
        .max_decoding_message_size(crate::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(crate::MAX_MESSAGE_BYTES)
}

pub(super) fn require_https(url: &str) -> Result<&str, TlsError> {
    url.strip_prefix("https://")
        .ok_or_else(|| TlsError::Endpoint {
            endpoint: url.to_string(),
            problem: "must start with https:// (the federation has no plaintext mode)".into(),
        })
}

/// A client identity for federation connections: fixed ([`ClientTls::fixed`])
/// or following a [`ReloadingTls`] (`From<ReloadingTls>`), in which case
/// every new connection uses the configuration loaded last and live
/// connections are checked again after each reload.
#[derive(Debug, Clone)]
pub struct ClientTls {
    source: ClientSource,
}

#[derive(Debug, Clone)]
enum ClientSource {
    Fixed {
        loaded: Arc<Loaded>,
        connections: Arc<LiveConnections>,
    },
    Reloading(ReloadingTls),
}

/// What a hub (or a tool) can take as its client identity.
pub trait IntoClientTls {
    fn into_client_tls(self) -> Result<ClientTls, TlsError>;
}

impl IntoClientTls for ClientTls {
    fn into_client_tls(self) -> Result<ClientTls, TlsError> {
        Ok(self)
    }
}

impl IntoClientTls for &ClientTls {
    fn into_client_tls(self) -> Result<ClientTls, TlsError> {
        Ok(self.clone())
    }
}

impl IntoClientTls for &TlsMaterial {
    fn into_client_tls(self) -> Result<ClientTls, TlsError> {
        ClientTls::fixed(self)
    }
}

impl IntoClientTls for ReloadingTls {
    fn into_client_tls(self) -> Result<ClientTls, TlsError> {
        Ok(ClientTls::from(self))
    }
}

impl IntoClientTls for &ReloadingTls {
    fn into_client_tls(self) -> Result<ClientTls, TlsError> {
        Ok(ClientTls::from(self.clone()))
    }
}

impl From<ReloadingTls> for ClientTls {
    fn from(tls: ReloadingTls) -> ClientTls {
        ClientTls {
            source: ClientSource::Reloading(tls),
        }
    }
}

impl ClientTls {
    /// A client identity that never changes.
    pub fn fixed(material: &TlsMaterial) -> Result<ClientTls, TlsError> {
        Ok(ClientTls {
            source: ClientSource::Fixed {
                loaded: Arc::new(Loaded::new(material.clone())?),
                connections: Arc::default(),
            },
        })
    }

    /// Changes whenever the configuration is reloaded (always 1 if fixed):
    /// a holder of long-lived channels rebuilds them when it changes, so
    /// that a renewed certificate is presented on the next connection.
    pub fn generation(&self) -> u64 {
        match &self.source {
            ClientSource::Fixed { .. } => 1,
            ClientSource::Reloading(tls) => tls.generation(),
        }
    }

    fn loaded(&self) -> Arc<Loaded> {
        match &self.source {
            ClientSource::Fixed { loaded, .. } => loaded.clone(),
            ClientSource::Reloading(tls) => tls.loaded(),
        }
    }

    fn connections(&self) -> Arc<LiveConnections> {
        match &self.source {
            ClientSource::Fixed { connections, .. } => connections.clone(),
            ClientSource::Reloading(tls) => tls.inner.connections.clone(),
        }
    }

    /// A channel to `url` (`https://host:port`) that connects lazily (and
    /// again whenever the connection breaks), each time with the current
    /// configuration: the server's chain, validity, host name and CRL are
    /// checked, and, with `expect`, the principal its certificate names.
    pub fn channel(&self, url: &str, expect: Option<PeerExpectation>) -> Result<Channel, TlsError> {
        let (endpoint, connector) = self.prepare(url, expect)?;
        Ok(endpoint.connect_with_connector_lazy(connector))
    }

    /// Connects to `url` now (see [`ClientTls::channel`]) and returns a
    /// client with our message limits.
    pub async fn connect(
        &self,
        url: &str,
        expect: Option<PeerExpectation>,
    ) -> Result<FederationClient<Channel>, TlsError> {
        let (endpoint, connector) = self.prepare(url, expect)?;
        let channel = endpoint
            .connect_with_connector(connector)
            .await
            .map_err(|source| TlsError::Connect {
                endpoint: url.to_string(),
                source,
            })?;
        Ok(client(channel))
    }

    fn prepare(
        &self,
        url: &str,
        expect: Option<PeerExpectation>,
    ) -> Result<(Endpoint, Connector), TlsError> {
        let bad = |problem: String| TlsError::Endpoint {
            endpoint: url.to_string(),
            problem,
        };
        let rest = require_https(url)?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains('/') {
            return Err(bad("must be https://host:port".into()));
        }
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if port.parse::<u16>().is_ok() => host,
            _ => return Err(bad("has no port (https://host:port)".into())),
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let server_name = ServerName::try_from(host.to_string())
            .map_err(|e| bad(format!("{host:?} is not a host name or address: {e}")))?;
        // Our connector does TLS itself; tonic must not try to (an https
        // URI without tonic's TLS settings is an error), so tonic sees
        // http:// and the bytes on the wire are TLS all the same.
        let endpoint = Endpoint::from_shared(format!("http://{authority}"))
            .map_err(|e| bad(e.to_string()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true);
        Ok((
            endpoint,
            Connector {
                tls: self.clone(),
                endpoint: url.to_string(),
                authority: authority.to_string(),
                server_name,
                expect,
            },
        ))
    }
}

/// Why a connection to a federation server failed, in words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectFailed(String);

/// The tower connector behind [`ClientTls::channel`]: TCP, then TLS with a
/// [`FederationServerVerifier`] built from the configuration in force.
#[derive(Debug, Clone)]
struct Connector {
    tls: ClientTls,
    endpoint: String,
    authority: String,
    server_name: ServerName<'static>,
    expect: Option<PeerExpectation>,
}

type ClientStream = Guarded<tokio_rustls::client::TlsStream<TcpStream>>;

impl tower_service::Service<http::Uri> for Connector {
    type Response = hyper_util::rt::TokioIo<ClientStream>;
    type Error = ConnectFailed;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ConnectFailed>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ConnectFailed>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.connect().await.map(hyper_util::rt::TokioIo::new) })
    }
}

impl Connector {
    async fn connect(self) -> Result<ClientStream, ConnectFailed> {
        let failed = |what: String| ConnectFailed(format!("{}: {what}", self.endpoint));
        let generation = self.tls.generation();
        let loaded = self.tls.loaded();
        let verifier = loaded
            .server_verifier(&self.endpoint, self.expect.clone())
            .map_err(|e| failed(e.to_string()))?;
        let config = loaded
            .client_config(verifier)
            .map_err(|e| failed(e.to_string()))?;
        let tcp = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| failed(format!("cannot connect: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| {
                let reason = describe_io(&e);
                let expected = self
                    .expect
                    .as_ref()
                    .map_or_else(|| "any federation server".to_string(), |e| e.to_string());
                tracing::warn!(endpoint = %self.endpoint, %expected, %reason, "TLS handshake with a server failed");
                failed(format!("TLS handshake failed: {reason}"))
            })?;
        let chain = peer_chain(stream.get_ref().1.peer_certificates());
        let side = Side::Dialed {
            endpoint: self.endpoint.clone(),
            server_name: self.server_name.clone(),
            expect: self.expect.clone(),
        };
        let connections = self.tls.connections();
        let guarded = connections.register(stream, side, chain);
        // A reload while we were handshaking: its sweep missed us.
        if self.tls.generation() != generation {
            connections.sweep(&self.tls.loaded());
        }
        Ok(guarded)
    }
}
