//! One member of a hub: a node or another hub, reached over one persistent
//! mTLS channel, with its health watched in the background.
//!
//! A member that is down is known to be down without waiting on it in every
//! request: a prober checks it with the standard gRPC health service, backs
//! off while it stays down (up to [`MAX_BACKOFF`]) and marks it up again as
//! soon as it answers. A request that fails with `Unavailable` marks it down
//! at once and wakes the prober; one that times out wakes the prober, which
//! marks the member down if its health check hangs too.
//!
//! The channel checks whom it reaches: every connection's TLS handshake
//! verifies the member's server certificate against the CA and the CRL in
//! force and requires it to name this member (`node:NAME` or `hub:NAME`, or
//! exactly the `role` the member's configuration gives), so an endpoint that
//! serves another federation certificate — another node's, an operator's —
//! gets no request and the member shows as unavailable with a message that
//! says whom it expected and whom it found. When the hub's TLS files are
//! reloaded (a renewed hub certificate, a new CRL) the channel is rebuilt on
//! next use, so that new connections present the new certificate and check
//! the new CRL; an open connection to a member the new CRL revokes is closed
//! by the reload itself (`tudashalo_proto::tls::LiveConnections`).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tonic::transport::Channel;
use tudashalo_proto::identity::PeerExpectation;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::tls::{ClientTls, TlsError};

use crate::config::MemberConfig;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const PROBE_INTERVAL_UP: Duration = Duration::from_secs(10);
const MIN_BACKOFF: Duration = Duration::from_millis(200);
/// The longest a member that came back stays marked down.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the hub believes about a member right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Not probed yet: requests go to it.
    Unknown,
    Up,
    Down {
        since: Instant,
        error: String,
    },
}

#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub display_name: String,
    pub endpoint: String,
    /// A tighter deadline for this member than the request's.
    pub deadline: Option<Duration>,
    /// Whom the member's server certificate must name.
    pub expect: PeerExpectation,
    tls: ClientTls,
    /// The channel and the [`ClientTls::generation`] it was built for.
    /// A std lock: held for a clone or an assignment, never across an await.
    channel: RwLock<(u64, Channel)>,
    /// A std lock: held for a clone or an assignment, never across an await.
    health: RwLock<Health>,
    wake: Notify,
    /// The member's data version as its `WatchVersion` stream last said,
    /// 0 while no watch is live ([`crate::watch`]).
    data_version: std::sync::atomic::AtomicU64,
}

impl Member {
    /// Creates the member's channel. The connection is made lazily and
    /// re-made by tonic whenever it breaks; nothing blocks here.
    pub fn new(config: &MemberConfig, tls: &ClientTls) -> Result<Member, TlsError> {
        let expect = PeerExpectation::member(&config.name, config.role.map(Into::into));
        let generation = tls.generation();
        let channel = tls.channel(&config.endpoint, Some(expect.clone()))?;
        Ok(Member {
            name: config.name.clone(),
            display_name: config
                .display_name
                .clone()
                .unwrap_or_else(|| config.name.clone()),
            endpoint: config.endpoint.clone(),
            deadline: config.deadline_ms.map(Duration::from_millis),
            expect,
            tls: tls.clone(),
            channel: RwLock::new((generation, channel)),
            health: RwLock::new(Health::Unknown),
            wake: Notify::new(),
            data_version: Default::default(),
        })
    }

    pub fn client(&self) -> FederationClient<Channel> {
        tudashalo_proto::tls::client(self.channel())
    }

    /// The channel for the TLS configuration in force: rebuilt after a
    /// reload, so that the next connection presents the hub's current
    /// certificate (requests still running on the old channel finish on
    /// it; its connection closes when they are done).
    pub fn channel(&self) -> Channel {
        let generation = self.tls.generation();
        {
            let current = self
                .channel
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if current.0 == generation {
                return current.1.clone();
            }
        }
        let mut current = self
            .channel
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.0 != generation {
            match self.tls.channel(&self.endpoint, Some(self.expect.clone())) {
                Ok(channel) => {
                    tracing::info!(member = %self.name, generation, "TLS configuration reloaded: new connections to this member use it");
                    *current = (generation, channel);
                }
                // The endpoint was checked when the member was made; a
                // failure here would be a bug, and the old channel still
                // checks the member's certificate.
                Err(e) => {
                    tracing::error!(member = %self.name, error = %e, "cannot rebuild the member's channel; keeping the old one");
                    current.0 = generation;
                }
            }
        }
        current.1.clone()
    }

    /// The member's data version, while a live watch reports it: what the
    /// hub may trust about a member it does not ask ([`crate::watch`]).
    pub fn data_version(&self) -> Option<u64> {
        match self.data_version.load(std::sync::atomic::Ordering::Acquire) {
            0 => None,
            v => Some(v),
        }
    }

    /// Records what the watch said (0: no live watch); whether it changed.
    pub(crate) fn set_data_version(&self, version: u64) -> bool {
        self.data_version
            .swap(version, std::sync::atomic::Ordering::AcqRel)
            != version
    }

    pub fn health(&self) -> Health {
        self.health
            .read()
            .map(|h| h.clone())
            .unwrap_or(Health::Unknown)
    }

    fn set_health(&self, new: Health) {
        if let Ok(mut h) = self.health.write() {
            let was_down = matches!(*h, Health::Down { .. });
            match (&new, was_down) {
                (Health::Up, true) => tracing::info!(member = %self.name, "member is back up"),
                (Health::Down { error, .. }, false) => {
                    tracing::warn!(member = %self.name, %error, "member is down")
                }
                _ => {}
            }
            // Keep the first time it went down, so "down since" stays true.
            if let (Health::Down { since, .. }, Health::Down { error, .. }) = (&*h, &new) {
                *h = Health::Down {
                    since: *since,
                    error: error.clone(),
                };
            } else {
                *h = new;
            }
        }
    }

    /// A request found the member unreachable: mark it down and re-probe.
    pub fn report_unreachable(&self, error: String) {
        self.set_health(Health::Down {
            since: Instant::now(),
            error,
        });
        self.wake.notify_one();
    }

    /// A request got no answer within its deadline: probe the member now
    /// rather than at the next interval. A member that is merely slow for
    /// one heavy request still answers its health check and stays up; one
    /// that hangs (stopped, swapping, deadlocked) fails the probe within
    /// [`PROBE_TIMEOUT`] and is then marked down, so that the requests
    /// after it stop waiting out their deadlines on it (the soak measured
    /// up to ten seconds of such requests before this).
    pub fn report_timeout(&self) {
        self.wake.notify_one();
    }

    pub fn report_ok(&self) {
        if self.health() != Health::Up {
            self.set_health(Health::Up);
        }
    }

    /// Probes the member until the task is aborted.
    pub async fn probe_forever(self: Arc<Self>) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let mut health = tonic_health::pb::health_client::HealthClient::new(self.channel());
            let request = tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            };
            let outcome = tokio::time::timeout(PROBE_TIMEOUT, health.check(request)).await;
            let wait = match outcome {
                Ok(Ok(_)) => {
                    self.set_health(Health::Up);
                    backoff = MIN_BACKOFF;
                    PROBE_INTERVAL_UP
                }
                Ok(Err(status)) => {
                    self.set_health(Health::Down {
                        since: Instant::now(),
                        error: status.message().to_string(),
                    });
                    backoff
                }
                Err(_) => {
                    self.set_health(Health::Down {
                        since: Instant::now(),
                        error: format!("no health answer within {} ms", PROBE_TIMEOUT.as_millis()),
                    });
                    backoff
                }
            };
            if matches!(self.health(), Health::Down { .. }) {
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
            }
        }
    }
}
