//! Serving the federation contract: the one server set-up that node and hub
//! share. The federation service, the standard gRPC health service and
//! server reflection (`grpc.reflection.v1` and `v1alpha`), over mTLS only
//! (client certificates required).
//!
//! [`serve`] takes a bound listener and a shutdown future, so that tests run
//! real servers on `127.0.0.1:0` in-process and stop them deterministically;
//! [`ServerHandle`] is that harness (bind, spawn, signal, await or abort).
//! [`serve_reloading`] is the same with a [`ReloadingTls`] that follows its
//! files (new certificate, new CRL) without a restart.
//!
//! TLS is terminated here, not by tonic: every accepted TCP connection gets
//! its handshake in its own task, under a timeout, so that a slow or broken
//! client never holds up the others; failed handshakes are logged with the
//! peer's address and the reason. The handshaken streams carry the peer's
//! certificates to the handlers ([`crate::identity::peer_principal`]).
//!
//! With [`serve_reloading`] every accepted connection is registered, with
//! its client's certificate chain, in the [`ReloadingTls`]'s
//! [`crate::tls::LiveConnections`]: when a reload brings a CRL that revokes
//! a client (or a CA that no longer signs it), its open connections are
//! closed then and there, not left to last until the client reconnects.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Server;

use crate::pb::federation_server::{Federation, FederationServer};
use crate::tls::{Guarded, ReloadingTls, TlsError, TlsMaterial};

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; connections beyond that are dropped.
pub const MAX_PENDING_HANDSHAKES: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("TLS configuration: {0}")]
    Tls(#[from] TlsError),
    #[error("reflection: {0}")]
    Reflection(String),
    #[error("server: {0}")]
    Transport(tonic::transport::Error),
}

/// Serves `service` on `listener` until `shutdown` resolves, with a fixed
/// TLS configuration built from `tls`.
pub async fn serve<S: Federation>(
    service: S,
    listener: TcpListener,
    tls: &TlsMaterial,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let config = tls.server_config()?;
    serve_with(service, listener, ConfigSource::Fixed(config), shutdown).await
}

/// Serves `service` on `listener` until `shutdown` resolves, with the TLS
/// configuration `tls` holds at the moment each connection is accepted.
///
/// While serving, `tls` is reloaded on SIGHUP and when its files change
/// (looked at every [`ReloadingTls::poll_interval`], by default
/// [`crate::tls::RELOAD_POLL`]), unless it was made with
/// [`ReloadingTls::manual`]; the caller may keep a clone of `tls` to call
/// [`ReloadingTls::reload_now`] itself.
pub async fn serve_reloading<S: Federation>(
    service: S,
    listener: TcpListener,
    tls: ReloadingTls,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let watcher = tls.poll_interval().map(|poll| AbortOnDrop(tls.watch(poll)));
    let result = serve_with(service, listener, ConfigSource::Reloading(tls), shutdown).await;
    drop(watcher);
    result
}

/// Where a new connection's TLS configuration comes from.
enum ConfigSource {
    Fixed(Arc<ServerConfig>),
    Reloading(ReloadingTls),
}

impl ConfigSource {
    fn current(&self) -> Arc<ServerConfig> {
        match self {
            ConfigSource::Fixed(config) => config.clone(),
            ConfigSource::Reloading(tls) => tls.current(),
        }
    }

    /// Registers a handshaken connection so that a reload can close it (a
    /// fixed configuration never reloads: nothing to register with).
    fn track(
        &self,
        stream: TlsStream<TcpStream>,
        generation: u64,
    ) -> Guarded<TlsStream<TcpStream>> {
        match self {
            ConfigSource::Fixed(_) => Guarded::unregistered(stream),
            ConfigSource::Reloading(tls) => tls.track_accepted(stream, generation),
        }
    }

    fn generation(&self) -> u64 {
        match self {
            ConfigSource::Fixed(_) => 1,
            ConfigSource::Reloading(tls) => tls.generation(),
        }
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve_with<S: Federation>(
    service: S,
    listener: TcpListener,
    tls: ConfigSource,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<FederationServer<S>>().await;
    // Both versions of reflection: grpcurl and Postman ask v1, while
    // Python's grpcio-reflection, Evans and older grpcurl ask v1alpha only.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let federation = FederationServer::new(service)
        .max_decoding_message_size(crate::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(crate::MAX_MESSAGE_BYTES);
    Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(federation)
        .serve_with_incoming_shutdown(tls_incoming(listener, tls), shutdown)
        .await
        .map_err(ServeError::Transport)
}

type Accepted = Guarded<TlsStream<TcpStream>>;
type Incoming = ReceiverStream<Result<Accepted, std::io::Error>>;

/// Accepts on `listener` and yields the connections whose TLS handshake
/// succeeded. Stops accepting (and drops the listener) once the stream is
/// dropped.
fn tls_incoming(listener: TcpListener, tls: ConfigSource) -> Incoming {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(accept_loop(listener, tls, tx));
    ReceiverStream::new(rx)
}

async fn accept_loop(
    listener: TcpListener,
    tls: ConfigSource,
    tx: mpsc::Sender<Result<Accepted, std::io::Error>>,
) {
    let tls = Arc::new(tls);
    let pending = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let accepted = tokio::select! {
            _ = tx.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Typically out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "too many TLS handshakes in progress; connection dropped");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let generation = tls.generation();
        let acceptor = TlsAcceptor::from(tls.current());
        let tx = tx.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
            drop(permit);
            match handshake {
                Ok(Ok(stream)) => {
                    let _ = tx.send(Ok(tls.track(stream, generation))).await;
                }
                Ok(Err(e)) => log_failed_handshake(peer, &e),
                Err(_) => tracing::debug!(
                    %peer,
                    timeout = ?HANDSHAKE_TIMEOUT,
                    "TLS handshake timed out; connection dropped"
                ),
            }
        });
    }
}

/// Refused certificates and protocol errors are worth a warning; a peer that
/// just hangs up (port scanners, load balancer probes) is not.
fn log_failed_handshake(peer: SocketAddr, e: &std::io::Error) {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => tracing::warn!(%peer, reason = %tls, "TLS handshake refused"),
        None => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
    }
}

/// One shutdown signal ([`shutdown_signal`]) for several listeners of one
/// process (the federation's and the portal's): call the returned function
/// once per listener for a future that resolves when the signal came.
pub fn shared_shutdown() -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    move || {
        let mut rx = stopped.clone();
        Box::pin(async move {
            let _ = rx.wait_for(|s| *s).await;
        })
    }
}

/// Resolves on Ctrl-C or, on unix, SIGTERM: the shutdown future of every
/// command that serves until it is told to stop.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// How long [`ServerHandle::stop`] (and a dropped handle) waits for a server
/// to finish once told to stop, before aborting its task.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The shutdown future a [`ServerHandle`] gives its server: resolves when
/// the handle is stopped or dropped.
#[derive(Debug)]
pub struct Shutdown(oneshot::Receiver<()>);

impl Future for Shutdown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A dropped sender also means "stop".
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// Why a server did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum StopError<E> {
    /// The serve future returned an error.
    #[error("{0}")]
    Server(E),
    /// The server's task panicked (or was aborted elsewhere).
    #[error("server task failed: {0}")]
    Task(tokio::task::JoinError),
    /// The server did not finish within the timeout, and was aborted.
    #[error("server did not stop within {0:?}; aborted")]
    Hung(Duration),
}

/// A server running in a task of its own on a bound listener, with a
/// shutdown signal: the one in-process harness that tests, the demo and the
/// benchmarks use to run nodes, hubs and test servers on `127.0.0.1:0`.
///
/// [`ServerHandle::stop`] signals the shutdown and awaits the server (within
/// [`STOP_TIMEOUT`], aborting it if it hangs). Dropping the handle signals
/// the shutdown too and, inside a runtime, leaves a watchdog task that
/// aborts the server if it has not finished within [`STOP_TIMEOUT`].
#[derive(Debug)]
pub struct ServerHandle<E: Send + 'static = ServeError> {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), E>>>,
}

impl<E: Send + 'static> ServerHandle<E> {
    /// Binds `127.0.0.1:0` and spawns `serve(listener, shutdown)`.
    pub async fn loopback<F, Fut>(serve: F) -> std::io::Result<Self>
    where
        F: FnOnce(TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        Self::start(listener, serve)
    }

    /// Spawns `serve(listener, shutdown)` on an already bound `listener`.
    pub fn start<F, Fut>(listener: TcpListener, serve: F) -> std::io::Result<Self>
    where
        F: FnOnce(TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        let addr = listener.local_addr()?;
        let (shutdown, signal) = oneshot::channel();
        let task = tokio::spawn(serve(listener, Shutdown(signal)));
        Ok(ServerHandle {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://ADDR`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Fires the shutdown signal without waiting (e.g. to tell several
    /// servers at once, then [`ServerHandle::stop`] each).
    pub fn signal_stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Fires the shutdown signal and awaits the server within
    /// [`STOP_TIMEOUT`], aborting it if it hangs.
    pub async fn stop(self) -> Result<(), StopError<E>> {
        self.stop_within(STOP_TIMEOUT).await
    }

    /// Like [`ServerHandle::stop`], waiting at most `timeout`.
    pub async fn stop_within(mut self, timeout: Duration) -> Result<(), StopError<E>> {
        self.signal_stop();
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(timeout, &mut task).await {
            Ok(Ok(served)) => served.map_err(StopError::Server),
            Ok(Err(e)) => Err(StopError::Task(e)),
            Err(_) => {
                task.abort();
                Err(StopError::Hung(timeout))
            }
        }
    }
}

impl<E: Send + 'static> Drop for ServerHandle<E> {
    fn drop(&mut self) {
        self.signal_stop();
        if let Some(mut task) = self.task.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if tokio::time::timeout(STOP_TIMEOUT, &mut task).await.is_err() {
                    tracing::warn!(
                        "a dropped server did not stop within {STOP_TIMEOUT:?}; aborting it"
                    );
                    task.abort();
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_handle_serves_on_loopback_and_stops_its_server() {
        let server = ServerHandle::<std::io::Error>::loopback(|listener, shutdown| async move {
            tokio::select! {
                accepted = listener.accept() => accepted.map(drop),
                () = shutdown => Ok(()),
            }
        })
        .await
        .expect("bind");
        assert!(server.addr().ip().is_loopback());
        assert_ne!(server.addr().port(), 0);
        assert_eq!(server.url(), format!("https://{}", server.addr()));
        server.stop().await.expect("stops cleanly");
    }

    #[tokio::test]
    async fn a_server_error_is_returned_by_stop() {
        let server = ServerHandle::loopback(|_, shutdown| async move {
            shutdown.await;
            Err::<(), _>("broken")
        })
        .await
        .expect("bind");
        assert!(matches!(
            server.stop().await,
            Err(StopError::Server("broken"))
        ));
    }

    #[tokio::test]
    async fn a_server_that_ignores_the_signal_is_aborted() {
        let (dropped, told) = oneshot::channel::<()>();
        let server = ServerHandle::<()>::loopback(|_, _shutdown| async move {
            // Notices being aborted only by being dropped.
            let _dropped = dropped;
            std::future::pending::<Result<(), ()>>().await
        })
        .await
        .expect("bind");
        let result = server.stop_within(Duration::from_millis(10)).await;
        assert!(matches!(result, Err(StopError::Hung(_))), "{result:?}");
        assert!(told.await.is_err(), "the aborted task dropped its state");
    }

    #[tokio::test]
    async fn dropping_a_handle_signals_the_shutdown() {
        let (done, finished) = oneshot::channel::<()>();
        let server = ServerHandle::<()>::loopback(|_, shutdown| async move {
            shutdown.await;
            let _ = done.send(());
            Ok(())
        })
        .await
        .expect("bind");
        drop(server);
        finished.await.expect("the server saw the shutdown");
    }
}
