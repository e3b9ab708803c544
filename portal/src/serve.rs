//! Serving the portal: a listener and a shutdown future, as every server
//! of the project takes them. HTTPS with rustls from the configured files,
//! or plain HTTP where [`crate::config`] allows it (loopback, or behind a
//! declared proxy). Each connection is bounded: a TLS handshake and the
//! request headers must arrive within [`HANDSHAKE_TIMEOUT`], and at most
//! [`MAX_CONNECTIONS`] are served at once (more wait in the kernel's
//! backlog). On shutdown, open requests are given [`DRAIN_TIMEOUT`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Time for a TLS handshake, and for a request's headers.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 1_024;
/// Time open requests get to finish after shutdown began.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The rustls configuration of an HTTPS portal: the certificate chain and
/// key from PEM files (errors name the file).
pub fn tls_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in the file", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A portal ready to serve: bound, its configuration loaded.
pub struct Bound {
    pub listener: TcpListener,
    pub app: Router,
    pub tls: Option<rustls::ServerConfig>,
    /// `http://127.0.0.1:8080` or `https://…`, as bound.
    pub url: String,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Loads what `portal` names (accounts, cookie key, TLS files) and binds
/// its listener; errors name the file or the address.
pub async fn bind(
    backend: Arc<dyn crate::Backend>,
    portal: crate::config::Portal,
) -> Result<Bound, String> {
    let tls = match &portal.tls {
        Some((cert, key)) => Some(tls_config(cert, key)?),
        None => None,
    };
    let listen = portal.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("portal.listen: cannot listen on {listen}: {e}"))?;
    bind_listener(backend, portal, listener, tls)
}

/// [`bind`] on a listener bound already (the demo picks a free port when
/// the configured one is taken); `portal.listen` is then not used.
pub fn bind_listener(
    backend: Arc<dyn crate::Backend>,
    portal: crate::config::Portal,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
) -> Result<Bound, String> {
    let state = crate::PortalState::new(backend, portal)?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    Ok(Bound {
        listener,
        app: crate::router(state),
        tls,
        url: format!("{scheme}://{addr}"),
    })
}

impl Bound {
    /// Serves until `shutdown` resolves.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        serve(self.app, self.listener, self.tls, shutdown).await
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, over TLS when
/// `tls` is given.
pub async fn serve(
    app: Router,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = tls.map(|c| TlsAcceptor::from(Arc::new(c)));
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .max_buf_size(64 * 1024);
    builder.http2().max_concurrent_streams(64);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait a little rather than spin.
                    tracing::warn!(error = %e, "portal accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                app.clone().oneshot(request)
            },
        );
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match acceptor {
                Some(acceptor) => {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                    let _ = watcher.watch(connection.into_owned()).await;
                }
                None => {
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection.into_owned()).await;
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "portal: requests still open after {} s of shutdown; closing them",
            DRAIN_TIMEOUT.as_secs()
        );
    }
    Ok(())
}
