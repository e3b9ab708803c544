//! mTLS for every server and client of the federation, in both directions.
//!
//! There is no plaintext mode: a server always requires a client certificate
//! signed by the configured CA (valid now, and not on the CA's revocation list
//! if one is configured), and a client always presents one and checks the
//! server the same way — chain, validity, the same CRL — and, when it knows
//! whom it is calling (a hub calling its member `edelenyi`), that the server
//! certificate names that principal ([`PeerExpectation`]). Files are read and
//! checked here, so that a bad path or a file of the wrong kind is reported
//! with its name at start-up, not as an opaque handshake failure.
//!
//! Revocation data goes stale: a CRL past its `nextUpdate` is still used for
//! a grace period ([`TlsOptions::crl_grace`], `[revocation] crl_grace_hours`,
//! 72 h by default) with a warning at every load and every hour; after it,
//! every handshake — server and client side — is refused with an error that
//! names the CRL file, its `nextUpdate` and the grace. Stale revocation data
//! stopping all traffic at once hurt X-Road's users; the grace period is
//! there so that an operator has days, not minutes, to re-issue the CRL.
//!
//! Servers build their rustls [`ServerConfig`] here ([`TlsMaterial::server_config`]);
//! [`ReloadingTls`] keeps one current while the files change underneath a
//! running process (new certificate, new CRL), on SIGHUP or when it notices
//! the files' modification times change. The same [`ReloadingTls`] is also
//! the client identity of a hub ([`ClientTls`]): a renewed hub certificate is
//! used for the next member connection without a restart. Every connection
//! made or accepted through a [`ReloadingTls`] is registered with its peer's
//! certificate chain; after a reload each is checked again against the new
//! configuration, and those whose peer is no longer accepted (revoked by the
//! new CRL, say) are closed at once ([`LiveConnections`]).
//!
//! Clients connect through [`ClientTls`] (or [`TlsMaterial::connect`]): our
//! own TLS connector over tokio-rustls, since tonic's TLS settings take no
//! custom certificate verifier.
//!
//! The parts: `files` (reading and checking the files), `config` (one load
//! turned into rustls configurations), `verify` (the verifiers of both
//! sides), `crl` (stale revocation lists), `live` (connections re-checked
//! after a reload), `client` (the client identity and connector) and
//! `reload` ([`ReloadingTls`]). They are private; everything public is
//! re-exported here, as `tudashalo_proto::tls::…`.

use std::path::PathBuf;
use std::time::Duration;

mod client;
mod config;
mod crl;
mod files;
mod live;
mod reload;
mod verify;

pub use client::{ClientTls, ConnectFailed, IntoClientTls, client};
pub use files::{TlsFiles, TlsMaterial};
pub use live::{Guarded, LiveConnections};
pub use reload::ReloadingTls;

/// File name of the CRL that is picked up next to the CA certificate when
/// [`TlsFiles::crl`] is not set (the PKI tooling writes `DIR/crl.pem`).
pub const CRL_FILE_NAME: &str = "crl.pem";

/// How often a [`ReloadingTls`] watcher looks at the files' modification times.
pub const RELOAD_POLL: Duration = Duration::from_secs(2);

/// How long a CRL past its `nextUpdate` is still used (with warnings) before
/// every handshake is refused: `[revocation] crl_grace_hours` defaults to 72.
pub const DEFAULT_CRL_GRACE: Duration = Duration::from_secs(72 * 3600);

/// How often a stale CRL within its grace period is warned about (besides
/// at every load).
pub const STALE_CRL_WARN_EVERY: Duration = Duration::from_secs(3600);

/// How long establishing a TCP connection and its TLS handshake may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings that are not files: how stale revocation data is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsOptions {
    /// How long after its `nextUpdate` a CRL is still used; after that
    /// every handshake is refused. Zero: refuse as soon as it is stale.
    pub crl_grace: Duration,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            crl_grace: DEFAULT_CRL_GRACE,
        }
    }
}

/// `[revocation]` in `node.toml` and `hub.toml`: how revocation data that
/// has gone stale is handled, for a server's own side and for its
/// connections alike.
///
/// The CRL is `crl.pem` next to the CA certificate (what `tudashalo-hub pki`
/// writes). Past its `nextUpdate` it is still used for `crl_grace_hours`,
/// with a warning at every reload and every hour; after that every TLS
/// handshake is refused, with an error naming the file, its `nextUpdate` and
/// the grace, until a fresh CRL is installed (`tudashalo-hub pki crl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationConfig {
    #[serde(default = "default_crl_grace_hours")]
    pub crl_grace_hours: u64,
}

impl Default for RevocationConfig {
    fn default() -> Self {
        RevocationConfig {
            crl_grace_hours: default_crl_grace_hours(),
        }
    }
}

impl RevocationConfig {
    pub fn tls_options(&self) -> TlsOptions {
        TlsOptions {
            crl_grace: Duration::from_secs(self.crl_grace_hours.saturating_mul(3600)),
        }
    }
}

fn default_crl_grace_hours() -> u64 {
    DEFAULT_CRL_GRACE.as_secs() / 3600
}

/// Everything that can go wrong while loading TLS material or connecting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("TLS configuration: {0}")]
    Config(String),
    #[error("endpoint {endpoint:?}: {problem}")]
    Endpoint { endpoint: String, problem: String },
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: tonic::transport::Error,
    },
}
