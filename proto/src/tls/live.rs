//! The live connections of a [`ReloadingTls`]: registered with their
//! peer's certificate chain, checked again after every reload, and closed
//! when the new configuration refuses their peer.
//!
//! A connection leaves the registry when its stream is dropped; a killed
//! stream fails every read and write from then on (so the HTTP/2 connection
//! on top closes) and wakes the task waiting on it. A connection registered
//! while a reload was running is checked once more, so none slips between
//! a reload and its sweep.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::config::Loaded;
use super::reload::ReloadingTls;
use super::verify::{FederationServerVerifier, describe_cert, describe_rustls};
use crate::identity::PeerExpectation;

/// The connections made or accepted through one [`ReloadingTls`], each with
/// its peer's certificate chain, so that a reload can close those whose
/// peer the new configuration no longer accepts (a new CRL revoked it, the
/// CA changed, its certificate expired meanwhile).
#[derive(Debug, Default)]
pub struct LiveConnections {
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, LiveEntry>>,
}

#[derive(Debug)]
struct LiveEntry {
    side: Side,
    chain: Vec<CertificateDer<'static>>,
    peer: String,
    kill: Arc<KillSwitch>,
}

/// Which end we are of a live connection.
#[derive(Debug, Clone)]
pub(super) enum Side {
    /// A server's accepted connection: the peer is a client.
    Accepted,
    /// A client's connection to `endpoint`: the peer is a server.
    Dialed {
        endpoint: String,
        server_name: ServerName<'static>,
        expect: Option<PeerExpectation>,
    },
}

impl LiveConnections {
    /// How many connections are open now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, LiveEntry>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn register<S>(
        self: &Arc<Self>,
        stream: S,
        side: Side,
        chain: Vec<CertificateDer<'static>>,
    ) -> Guarded<S> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let kill = Arc::new(KillSwitch::default());
        let peer = chain
            .first()
            .map(|c| describe_cert(c))
            .unwrap_or_else(|| "a peer without a certificate".into());
        self.lock().insert(
            id,
            LiveEntry {
                side,
                chain,
                peer,
                kill: kill.clone(),
            },
        );
        Guarded {
            inner: stream,
            kill,
            registration: Some((Arc::downgrade(self), id)),
        }
    }

    /// Checks every live connection's peer against `loaded` and closes
    /// those it refuses. Returns how many were closed.
    pub(super) fn sweep(&self, loaded: &Loaded) -> usize {
        let now = UnixTime::now();
        let entries: Vec<(Side, Vec<CertificateDer<'static>>, String, Arc<KillSwitch>)> = self
            .lock()
            .values()
            .map(|e| {
                (
                    e.side.clone(),
                    e.chain.clone(),
                    e.peer.clone(),
                    e.kill.clone(),
                )
            })
            .collect();
        let mut verifiers: HashMap<
            (String, Option<PeerExpectation>),
            Arc<FederationServerVerifier>,
        > = HashMap::new();
        let mut closed = 0;
        for (side, chain, peer, kill) in entries {
            let Some((end_entity, intermediates)) = chain.split_first() else {
                continue;
            };
            let verdict: Result<(), String> = match &side {
                Side::Accepted => loaded
                    .client_verifier
                    .verify_client_cert(end_entity, intermediates, now)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Side::Dialed {
                    endpoint,
                    server_name,
                    expect,
                } => {
                    let key = (endpoint.clone(), expect.clone());
                    let verifier = match verifiers.get(&key) {
                        Some(v) => Ok(v.clone()),
                        None => loaded
                            .server_verifier(endpoint, expect.clone())
                            .inspect(|v| {
                                verifiers.insert(key, v.clone());
                            }),
                    };
                    match verifier {
                        Ok(v) => v
                            .verify_peer(end_entity, intermediates, server_name, now)
                            .map_err(|e| describe_rustls(&e)),
                        Err(e) => Err(e.to_string()),
                    }
                }
            };
            if let Err(reason) = verdict {
                let direction = match &side {
                    Side::Accepted => "accepted from",
                    Side::Dialed { .. } => "made to",
                };
                tracing::warn!(
                    peer = %peer,
                    %reason,
                    "closing a connection {direction} a peer the new TLS configuration refuses"
                );
                kill.kill(format!(
                    "connection closed: {peer} is no longer accepted: {reason}"
                ));
                closed += 1;
            }
        }
        closed
    }
}

/// Set once to close a connection; wakes the task that drives it.
#[derive(Debug, Default)]
struct KillSwitch {
    killed: AtomicBool,
    reason: Mutex<Option<String>>,
    waker: Mutex<Option<Waker>>,
}

impl KillSwitch {
    fn kill(&self, reason: String) {
        *self.reason.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason);
        self.killed.store(true, Ordering::SeqCst);
        if let Some(waker) = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            waker.wake();
        }
    }

    /// `Some(error)` once killed; else remembers `cx`'s waker.
    fn poll(&self, cx: &Context<'_>) -> Option<io::Error> {
        if !self.killed.load(Ordering::SeqCst) {
            let mut slot = self.waker.lock().unwrap_or_else(PoisonError::into_inner);
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
            // Killed between the check and storing the waker: report now.
            if !self.killed.load(Ordering::SeqCst) {
                return None;
            }
        }
        let reason = self
            .reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| "connection closed".into());
        Some(io::Error::new(io::ErrorKind::ConnectionAborted, reason))
    }
}

/// A connection registered in [`LiveConnections`]: reads and writes fail
/// once it is killed (the HTTP/2 connection on top then closes), and it
/// leaves the registry when dropped.
#[derive(Debug)]
pub struct Guarded<S> {
    inner: S,
    kill: Arc<KillSwitch>,
    registration: Option<(std::sync::Weak<LiveConnections>, u64)>,
}

impl<S> Guarded<S> {
    /// A stream that is registered nowhere (a fixed configuration is never
    /// reloaded, so nothing ever closes it).
    pub fn unregistered(inner: S) -> Guarded<S> {
        Guarded {
            inner,
            kill: Arc::new(KillSwitch::default()),
            registration: None,
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S> Drop for Guarded<S> {
    fn drop(&mut self) {
        if let Some((registry, id)) = self.registration.take()
            && let Some(registry) = registry.upgrade()
        {
            registry.lock().remove(&id);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.kill.poll(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.kill.poll(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.kill.poll(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.kill.poll(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl<S: tonic::transport::server::Connected> tonic::transport::server::Connected for Guarded<S> {
    type ConnectInfo = S::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

impl ReloadingTls {
    /// Registers a connection a server accepted with the configuration of
    /// `generation`. If a reload came in between (its sweep could not see
    /// this connection yet), the connection is checked now.
    pub(crate) fn track_accepted(
        &self,
        stream: tokio_rustls::server::TlsStream<TcpStream>,
        generation: u64,
    ) -> Guarded<tokio_rustls::server::TlsStream<TcpStream>> {
        let chain = peer_chain(stream.get_ref().1.peer_certificates());
        let guarded = self
            .inner
            .connections
            .register(stream, Side::Accepted, chain);
        if self.generation() != generation {
            self.inner.connections.sweep(&self.loaded());
        }
        guarded
    }
}

pub(super) fn peer_chain(certs: Option<&[CertificateDer<'_>]>) -> Vec<CertificateDer<'static>> {
    certs
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_stream_fails_its_reads_and_writes() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let registry = Arc::new(LiveConnections::default());
            let (a, mut b) = tokio::io::duplex(64);
            let mut guarded = registry.register(a, Side::Accepted, Vec::new());
            assert_eq!(registry.len(), 1);
            b.write_all(b"x").await.unwrap();
            let mut buf = [0u8; 1];
            guarded.read_exact(&mut buf).await.unwrap();
            // A read waiting for bytes is woken by the kill.
            let kill = registry.lock().values().next().unwrap().kill.clone();
            let reader = tokio::spawn(async move {
                let mut buf = [0u8; 1];
                let result = guarded.read(&mut buf).await;
                (result.map_err(|e| e.to_string()), guarded)
            });
            tokio::task::yield_now().await;
            kill.kill("revoked".into());
            let (result, mut guarded) = reader.await.unwrap();
            assert_eq!(result.unwrap_err(), "revoked");
            assert!(guarded.write_all(b"y").await.is_err());
            drop(guarded);
            assert!(registry.is_empty(), "a dropped stream leaves the registry");
        });
    }
}
