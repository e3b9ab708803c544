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

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, OtherError,
    RootCertStore, ServerConfig, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::identity::{PeerExpectation, principal_of, serial_of};
use crate::pb::federation_client::FederationClient;

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

/// How often a CRL beyond its grace is logged as an error (every refused
/// handshake also names it in its own log line).
const EXPIRED_CRL_LOG_EVERY: Duration = Duration::from_secs(60);

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

/// The files of an identity: our certificate, its key, the CA that signs
/// every peer we accept, and optionally the CA's revocation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    /// The CA's certificate revocation list (PEM). `None` means `crl.pem`
    /// next to [`TlsFiles::ca`], if that file exists; an explicit path must
    /// exist.
    pub crl: Option<PathBuf>,
}

/// Loaded and checked PEM material.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub ca_pem: Vec<u8>,
    /// The CA's revocation list, PEM, if one is configured; servers check
    /// client certificates against it and clients server certificates.
    pub crl_pem: Option<Vec<u8>>,
    /// Where [`TlsMaterial::crl_pem`] was read from (named in log lines).
    pub crl_path: Option<PathBuf>,
    /// How stale revocation data is handled.
    pub options: TlsOptions,
}

impl TlsFiles {
    /// `crl.pem` next to the CA certificate: used when [`TlsFiles::crl`] is `None`.
    pub fn implicit_crl(&self) -> PathBuf {
        self.ca.with_file_name(CRL_FILE_NAME)
    }

    /// The CRL file in force: the explicit one, or `crl.pem` next to the CA
    /// if it exists.
    pub fn crl_path(&self) -> Option<PathBuf> {
        match &self.crl {
            Some(path) => Some(path.clone()),
            None => Some(self.implicit_crl()).filter(|p| p.exists()),
        }
    }

    /// Every file whose change should trigger a reload (including an
    /// implicit CRL that does not exist yet).
    pub fn watched(&self) -> Vec<PathBuf> {
        vec![
            self.cert.clone(),
            self.key.clone(),
            self.ca.clone(),
            self.crl.clone().unwrap_or_else(|| self.implicit_crl()),
        ]
    }

    /// [`TlsFiles::load_with`] the default [`TlsOptions`].
    pub fn load(&self) -> Result<TlsMaterial, TlsError> {
        self.load_with(TlsOptions::default())
    }

    /// Reads the files and checks that each holds what it should: the key
    /// belongs to the certificate, and a CRL is well-formed and signed by the
    /// CA. A CRL past its `nextUpdate` loads (it is logged, and refused at
    /// handshakes only once past `options.crl_grace`).
    pub fn load_with(&self, options: TlsOptions) -> Result<TlsMaterial, TlsError> {
        let provider = provider();
        let cert_pem = read(&self.cert)?;
        let certs = parse_certificates(&self.cert, &cert_pem)?;
        let key_pem = read(&self.key)?;
        let key = parse_key(&self.key, &key_pem)?;
        CertifiedKey::from_der(certs, key, &provider).map_err(|e| TlsError::Invalid {
            path: self.key.clone(),
            problem: format!("does not fit certificate {}: {e}", self.cert.display()),
        })?;
        let ca_pem = read(&self.ca)?;
        roots(&self.ca, &ca_pem)?;
        let crl_path = self.crl_path();
        let crl_pem = match &crl_path {
            Some(path) => {
                let pem = read(path)?;
                check_crl(path, &pem, &self.ca, &ca_pem)?;
                Some(pem)
            }
            None => None,
        };
        Ok(TlsMaterial {
            cert_pem,
            key_pem,
            ca_pem,
            crl_pem,
            crl_path,
            options,
        })
    }
}

impl TlsMaterial {
    /// Server side: our identity; client certificates required, verified
    /// against the CA (validity period included) and, if a CRL is
    /// configured, checked against it (and refused outright once the CRL is
    /// stale beyond its grace); ALPN `h2`. Uses the `ring` provider.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        Ok(Loaded::new(self.clone())?.server)
    }

    /// tonic's own client TLS settings: our identity, trust only the
    /// federation CA. This checks the chain but neither the CRL nor whom
    /// the certificate names; federation clients use [`TlsMaterial::connect`]
    /// or [`ClientTls`], which check both.
    pub fn client_config(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
    }

    /// An endpoint for `url` (`https://host:port`) with tonic's TLS
    /// ([`TlsMaterial::client_config`]: chain only) and sensible connection
    /// timeouts, for tools such as health checks. Federation clients use
    /// [`TlsMaterial::connect`] or [`ClientTls::channel`].
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, TlsError> {
        let bad = |problem: String| TlsError::Endpoint {
            endpoint: url.to_string(),
            problem,
        };
        require_https(url)?;
        Endpoint::from_shared(url.to_string())
            .map_err(|e| bad(e.to_string()))?
            .tls_config(self.client_config())
            .map_err(|e| bad(e.to_string()))
            .map(|e| {
                e.connect_timeout(CONNECT_TIMEOUT)
                    .tcp_nodelay(true)
                    .http2_keep_alive_interval(Duration::from_secs(30))
                    .keep_alive_while_idle(true)
            })
    }

    /// Connects now, checking the server's chain and the CRL (not whom it
    /// names: see [`TlsMaterial::connect_expecting`]), and returns a client
    /// with the message limits raised to [`crate::MAX_MESSAGE_BYTES`].
    pub async fn connect(&self, url: &str) -> Result<FederationClient<Channel>, TlsError> {
        self.connect_expecting(url, None).await
    }

    /// Like [`TlsMaterial::connect`], refusing a server whose certificate
    /// does not name one of `expect`'s principals.
    pub async fn connect_expecting(
        &self,
        url: &str,
        expect: Option<PeerExpectation>,
    ) -> Result<FederationClient<Channel>, TlsError> {
        ClientTls::fixed(self)?.connect(url, expect).await
    }
}

/// A federation client over `channel` with our message limits.
pub fn client(channel: Channel) -> FederationClient<Channel> {
    FederationClient::new(channel)
        .max_decoding_message_size(crate::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(crate::MAX_MESSAGE_BYTES)
}

fn require_https(url: &str) -> Result<&str, TlsError> {
    url.strip_prefix("https://")
        .ok_or_else(|| TlsError::Endpoint {
            endpoint: url.to_string(),
            problem: "must start with https:// (the federation has no plaintext mode)".into(),
        })
}

// ---------------------------------------------------------------------------
// Stale revocation lists

/// How fresh the CRL in force is, judged at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlFreshness {
    /// No CRL configured.
    None,
    /// Before its `nextUpdate` (or it has none).
    Fresh,
    /// Past its `nextUpdate`, within the grace period: used, with warnings.
    Stale { overdue: Duration },
    /// Past its `nextUpdate` by more than the grace: every handshake refused.
    Expired { overdue: Duration },
}

/// The stale-CRL policy of one loaded configuration: the CRL file, its
/// earliest `nextUpdate`, the grace, and when it was last logged.
#[derive(Debug)]
struct CrlPolicy {
    path: PathBuf,
    /// Unix seconds; `None` if no CRL in the file carries a `nextUpdate`.
    next_update: Option<i64>,
    grace: Duration,
    last_warned: Mutex<Option<Instant>>,
    last_refusal_logged: Mutex<Option<Instant>>,
}

/// Why a stale CRL refuses a handshake (shown in errors and logs).
#[derive(Debug)]
struct StaleCrl {
    path: PathBuf,
    next_update: i64,
    grace: Duration,
    overdue: Duration,
}

impl std::fmt::Display for StaleCrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "revocation list {} is past its nextUpdate ({}) by {}, beyond the grace period of {} \
             ([revocation] crl_grace_hours): every TLS handshake is refused until a fresh CRL \
             is installed (`tudashalo-hub pki crl`)",
            self.path.display(),
            rfc3339(self.next_update),
            hours(self.overdue),
            hours(self.grace),
        )
    }
}

impl std::error::Error for StaleCrl {}

impl CrlPolicy {
    fn new(path: PathBuf, pem: &[u8], grace: Duration) -> Result<CrlPolicy, TlsError> {
        Ok(CrlPolicy {
            next_update: earliest_next_update(&path, pem)?,
            path,
            grace,
            last_warned: Mutex::new(None),
            last_refusal_logged: Mutex::new(None),
        })
    }

    fn freshness(&self, now_secs: u64) -> CrlFreshness {
        let Some(next) = self.next_update else {
            return CrlFreshness::Fresh;
        };
        let now = i64::try_from(now_secs).unwrap_or(i64::MAX);
        if now <= next {
            return CrlFreshness::Fresh;
        }
        let overdue = Duration::from_secs(now.abs_diff(next));
        if overdue > self.grace {
            CrlFreshness::Expired { overdue }
        } else {
            CrlFreshness::Stale { overdue }
        }
    }

    /// Logs the CRL's state now: `always` at a load, else rate-limited (a
    /// stale CRL hourly, an expired one every minute).
    fn log(&self, freshness: &CrlFreshness, always: bool) {
        let due = |slot: &Mutex<Option<Instant>>, every: Duration| {
            let mut last = slot.lock().unwrap_or_else(PoisonError::into_inner);
            let due = always || last.is_none_or(|at| at.elapsed() >= every);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        let next_update = self.next_update.map(rfc3339).unwrap_or_default();
        match freshness {
            CrlFreshness::Stale { overdue } if due(&self.last_warned, STALE_CRL_WARN_EVERY) => {
                tracing::warn!(
                    crl = %self.path.display(),
                    next_update = %next_update,
                    overdue = %hours(*overdue),
                    grace = %hours(self.grace),
                    refused_from = %rfc3339(self.next_update.unwrap_or(0).saturating_add(i64::try_from(self.grace.as_secs()).unwrap_or(i64::MAX))),
                    "revocation list is past its nextUpdate; still used within the grace period, \
                     re-issue it now (`tudashalo-hub pki crl`)"
                );
            }
            CrlFreshness::Expired { overdue }
                if due(&self.last_refusal_logged, EXPIRED_CRL_LOG_EVERY) =>
            {
                tracing::error!(
                    crl = %self.path.display(),
                    next_update = %next_update,
                    overdue = %hours(*overdue),
                    grace = %hours(self.grace),
                    "revocation list is past its nextUpdate beyond the grace period: \
                     refusing every TLS handshake until a fresh CRL is installed \
                     (`tudashalo-hub pki crl`)"
                );
            }
            _ => {}
        }
    }

    /// The handshake-time check: `Err` once beyond the grace.
    fn check(&self, now: UnixTime) -> Result<(), rustls::Error> {
        let freshness = self.freshness(now.as_secs());
        self.log(&freshness, false);
        match freshness {
            CrlFreshness::Expired { overdue } => {
                Err(rustls::Error::Other(OtherError(Arc::new(StaleCrl {
                    path: self.path.clone(),
                    next_update: self.next_update.unwrap_or(0),
                    grace: self.grace,
                    overdue,
                }))))
            }
            _ => Ok(()),
        }
    }
}

fn now_secs() -> u64 {
    UnixTime::now().as_secs()
}

/// `72 h`, or minutes for short durations.
fn hours(d: Duration) -> String {
    let secs = d.as_secs();
    if (secs >= 3600 && secs.is_multiple_of(3600)) || secs >= 36_000 {
        format!("{} h", secs / 3600)
    } else if secs >= 3600 {
        format!("{:.1} h", secs as f64 / 3600.0)
    } else {
        format!("{} min", secs / 60)
    }
}

/// Unix seconds as `2026-12-01T09:37:49Z`.
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------
// Verifiers

/// A refusal with its reason in words (rustls prints `Other` errors of a
/// certificate with `Debug`; we want the sentence).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refused(reason: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refused(
        reason,
    )))))
}

/// `node:edelenyi (serial 1a2b…)`, for log lines about a peer certificate.
fn describe_cert(der: &[u8]) -> String {
    let who = principal_of(der)
        .map(|p| p.to_string())
        .unwrap_or_else(|e| format!("an unnamed peer ({e})"));
    let serial = serial_of(der).unwrap_or_else(|| "unknown".into());
    format!("{who} (serial {serial})")
}

/// The server's check of client certificates: rustls' WebPKI verifier
/// (chain, validity, CRL) behind the stale-CRL policy.
#[derive(Debug)]
struct FederationClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    crl: Option<Arc<CrlPolicy>>,
}

impl ClientCertVerifier for FederationClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if let Some(crl) = &self.crl {
            crl.check(now)?;
        }
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
            .inspect_err(|e| {
                tracing::warn!(
                    client = %describe_cert(end_entity),
                    reason = %e,
                    "client certificate refused"
                );
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The client's check of a server certificate: rustls' WebPKI verifier
/// (chain, validity, host name, CRL) behind the stale-CRL policy, then, if
/// we know whom we call, the principal the certificate names.
#[derive(Debug)]
struct FederationServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    crl: Option<Arc<CrlPolicy>>,
    /// The `https://host:port` we call, for messages.
    endpoint: String,
    expect: Option<PeerExpectation>,
}

impl FederationServerVerifier {
    /// The chain and principal checks without the stale-CRL policy: what a
    /// live connection is checked against again after a reload.
    fn verify_peer(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, &[], now)
            .map_err(|e| {
                let crl = self
                    .crl
                    .as_ref()
                    .map(|c| format!(" (CRL {})", c.path.display()))
                    .unwrap_or_default();
                refused(format!(
                    "server certificate of {} refused: {} presented a certificate that does not \
                     verify: {e}{crl}",
                    self.endpoint,
                    describe_cert(end_entity)
                ))
            })?;
        if let Some(expect) = &self.expect {
            expect.check(end_entity).map_err(|e| {
                refused(format!(
                    "server certificate of {} refused: {e}",
                    self.endpoint
                ))
            })?;
        }
        Ok(())
    }
}

impl ServerCertVerifier for FederationServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(crl) = &self.crl {
            crl.check(now)?;
        }
        self.verify_peer(end_entity, intermediates, server_name, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

// ---------------------------------------------------------------------------
// One loaded configuration

/// Everything one load of the files gives: the material, the server config
/// and its client verifier, and the stale-CRL policy shared by both sides.
#[derive(Debug)]
struct Loaded {
    material: TlsMaterial,
    server: Arc<ServerConfig>,
    /// The WebPKI client verifier inside [`Loaded::server`], without the
    /// stale-CRL policy: live connections are checked again with it.
    client_verifier: Arc<dyn ClientCertVerifier>,
    crl: Option<Arc<CrlPolicy>>,
}

impl Loaded {
    fn new(material: TlsMaterial) -> Result<Loaded, TlsError> {
        let provider = Arc::new(provider());
        let config_err =
            |what: &str, e: &dyn std::fmt::Display| TlsError::Config(format!("{what}: {e}"));
        let crl_path = material
            .crl_path
            .clone()
            .unwrap_or_else(|| PathBuf::from("CRL"));
        let crls = match &material.crl_pem {
            Some(pem) => parse_crls(&crl_path, pem)?,
            None => Vec::new(),
        };
        let crl = match &material.crl_pem {
            Some(pem) => {
                let policy = CrlPolicy::new(crl_path.clone(), pem, material.options.crl_grace)?;
                policy.log(&policy.freshness(now_secs()), true);
                Some(Arc::new(policy))
            }
            None => None,
        };
        let roots = Arc::new(roots(Path::new("CA certificate"), &material.ca_pem)?);
        let client_verifier =
            WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                .with_crls(crls)
                .build()
                .map_err(|e| config_err("client certificate verifier", &e))?;
        let verifier = Arc::new(FederationClientVerifier {
            inner: client_verifier.clone(),
            crl: crl.clone(),
        });
        let certs = parse_certificates(Path::new("certificate"), &material.cert_pem)?;
        let key = parse_key(Path::new("private key"), &material.key_pem)?;
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| config_err("protocol versions", &e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(|e| config_err("certificate and key", &e))?;
        server.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Loaded {
            material,
            server: Arc::new(server),
            client_verifier,
            crl,
        })
    }

    fn freshness(&self) -> CrlFreshness {
        match &self.crl {
            None => CrlFreshness::None,
            Some(crl) => crl.freshness(now_secs()),
        }
    }

    fn server_verifier(
        &self,
        endpoint: &str,
        expect: Option<PeerExpectation>,
    ) -> Result<Arc<FederationServerVerifier>, TlsError> {
        let provider = Arc::new(provider());
        let roots = Arc::new(roots(Path::new("CA certificate"), &self.material.ca_pem)?);
        let crls = match (&self.material.crl_pem, &self.crl) {
            (Some(pem), Some(crl)) => parse_crls(&crl.path, pem)?,
            _ => Vec::new(),
        };
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .with_crls(crls)
            .build()
            .map_err(|e| TlsError::Config(format!("server certificate verifier: {e}")))?;
        Ok(Arc::new(FederationServerVerifier {
            inner,
            crl: self.crl.clone(),
            endpoint: endpoint.to_string(),
            expect,
        }))
    }

    fn client_config(
        &self,
        verifier: Arc<FederationServerVerifier>,
    ) -> Result<Arc<ClientConfig>, TlsError> {
        let certs = parse_certificates(Path::new("certificate"), &self.material.cert_pem)?;
        let key = parse_key(Path::new("private key"), &self.material.key_pem)?;
        let mut config = ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(format!("protocol versions: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(certs, key)
            .map_err(|e| TlsError::Config(format!("certificate and key: {e}")))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

// ---------------------------------------------------------------------------
// Live connections

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
enum Side {
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

    fn register<S>(
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
    fn sweep(&self, loaded: &Loaded) -> usize {
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

fn peer_chain(certs: Option<&[CertificateDer<'_>]>) -> Vec<CertificateDer<'static>> {
    certs
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Clients

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

    /// How fresh the CRL in force is now.
    pub fn crl_freshness(&self) -> CrlFreshness {
        self.loaded().freshness()
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

/// The words of a TLS error: our own refusals as written, rustls' as it
/// prints them.
fn describe_rustls(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => other.to_string(),
        rustls::Error::Other(other) => other.to_string(),
        other => other.to_string(),
    }
}

fn describe_io(e: &io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => describe_rustls(tls),
        None => e.to_string(),
    }
}

/// A TLS configuration (server and client side) that follows its files.
///
/// Cheap to clone (all clones share the configuration). [`ReloadingTls::current`]
/// is what a newly accepted connection uses, and a [`ClientTls`] made from it
/// uses the same files for new outgoing connections; [`ReloadingTls::reload_now`]
/// re-reads the files and swaps the configuration in if they are good, and
/// keeps the old one (logging why) if they are not. [`ReloadingTls::watch`]
/// does that on SIGHUP and whenever a file's modification time, size or
/// inode changes; [`crate::serve::serve_reloading`] runs the watcher for the
/// server's lifetime.
///
/// After each successful reload every live connection registered with it
/// ([`ReloadingTls::connections`]) is checked again, and those whose peer is
/// no longer accepted are closed.
#[derive(Debug, Clone)]
pub struct ReloadingTls {
    inner: Arc<ReloadInner>,
}

#[derive(Debug)]
struct ReloadInner {
    files: TlsFiles,
    options: TlsOptions,
    poll: Option<Duration>,
    current: RwLock<Arc<Loaded>>,
    state: Mutex<ReloadState>,
    generations: tokio::sync::watch::Sender<u64>,
    connections: Arc<LiveConnections>,
}

#[derive(Debug)]
struct ReloadState {
    stamps: Vec<Option<FileStamp>>,
    generation: u64,
    crl_in_force: Option<PathBuf>,
}

/// What we compare to notice that a file changed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl ReloadingTls {
    /// Loads `files` now; fails (naming the file at fault) if they are not
    /// usable, so that a server does not start with a broken configuration.
    ///
    /// [`crate::serve::serve_reloading`] watches it (SIGHUP, and the files
    /// every [`RELOAD_POLL`]) while serving.
    pub fn new(files: TlsFiles) -> Result<ReloadingTls, TlsError> {
        ReloadingTls::with_watch(files, TlsOptions::default(), Some(RELOAD_POLL))
    }

    /// Like [`ReloadingTls::new`], with `options` (the CRL grace period).
    pub fn with_options(files: TlsFiles, options: TlsOptions) -> Result<ReloadingTls, TlsError> {
        ReloadingTls::with_watch(files, options, Some(RELOAD_POLL))
    }

    /// Like [`ReloadingTls::new`], but only [`ReloadingTls::reload_now`] (and
    /// [`ReloadingTls::reload_if_changed`]) reload it: no SIGHUP handling or
    /// polling while serving. For tests that must control every reload.
    pub fn manual(files: TlsFiles) -> Result<ReloadingTls, TlsError> {
        ReloadingTls::with_watch(files, TlsOptions::default(), None)
    }

    /// [`ReloadingTls::manual`] with `options`.
    pub fn manual_with_options(
        files: TlsFiles,
        options: TlsOptions,
    ) -> Result<ReloadingTls, TlsError> {
        ReloadingTls::with_watch(files, options, None)
    }

    fn with_watch(
        files: TlsFiles,
        options: TlsOptions,
        poll: Option<Duration>,
    ) -> Result<ReloadingTls, TlsError> {
        let stamps = stamps(&files);
        let material = files.load_with(options)?;
        let crl_in_force = material.crl_path.clone();
        let loaded = Loaded::new(material)?;
        Ok(ReloadingTls {
            inner: Arc::new(ReloadInner {
                files,
                options,
                poll,
                current: RwLock::new(Arc::new(loaded)),
                state: Mutex::new(ReloadState {
                    stamps,
                    generation: 1,
                    crl_in_force,
                }),
                generations: tokio::sync::watch::Sender::new(1),
                connections: Arc::default(),
            }),
        })
    }

    /// How often a server watches the files (`None`: made with
    /// [`ReloadingTls::manual`], not watched).
    pub fn poll_interval(&self) -> Option<Duration> {
        self.inner.poll
    }

    /// The files this configuration is loaded from.
    pub fn files(&self) -> &TlsFiles {
        &self.inner.files
    }

    /// The options it was made with.
    pub fn options(&self) -> TlsOptions {
        self.inner.options
    }

    /// The server configuration new connections use now.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.loaded().server.clone()
    }

    /// The material (certificate, key, CA, CRL) loaded last.
    pub fn material(&self) -> TlsMaterial {
        self.loaded().material.clone()
    }

    /// How fresh the CRL in force is now.
    pub fn crl_freshness(&self) -> CrlFreshness {
        self.loaded().freshness()
    }

    /// The connections made and accepted with this configuration that are
    /// open now.
    pub fn connections(&self) -> &Arc<LiveConnections> {
        &self.inner.connections
    }

    fn loaded(&self) -> Arc<Loaded> {
        self.inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many configurations have been loaded successfully (1 after
    /// [`ReloadingTls::new`]; each successful reload adds one).
    pub fn generation(&self) -> u64 {
        self.lock_state().generation
    }

    /// Notified with the new [`ReloadingTls::generation`] after every
    /// successful reload (e.g. to wait for a SIGHUP to take effect).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.generations.subscribe()
    }

    /// Re-reads the files now. On success the new configuration is used for
    /// every connection made or accepted from now on, and every live
    /// connection whose peer it refuses is closed before this returns (the
    /// close itself completes on the connection's own task). On failure the
    /// previous configuration stays in force; the error names the file at
    /// fault and is also logged.
    pub fn reload_now(&self) -> Result<(), TlsError> {
        let mut state = self.lock_state();
        // Stamps first: a change while we read is noticed by the next poll.
        state.stamps = stamps(&self.inner.files);
        match self.load(&state) {
            Ok(loaded) => {
                let loaded = Arc::new(loaded);
                *self
                    .inner
                    .current
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = loaded.clone();
                state.generation += 1;
                state.crl_in_force = loaded.material.crl_path.clone();
                let closed = self.inner.connections.sweep(&loaded);
                self.inner.generations.send_replace(state.generation);
                tracing::info!(
                    cert = %self.inner.files.cert.display(),
                    crl = ?state.crl_in_force,
                    generation = state.generation,
                    closed,
                    "TLS configuration reloaded"
                );
                Ok(())
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "TLS configuration not reloaded; the previous one stays in force"
                );
                Err(e)
            }
        }
    }

    /// Reloads if any watched file changed since the last load attempt.
    /// `None` if nothing changed.
    pub fn reload_if_changed(&self) -> Option<Result<(), TlsError>> {
        let changed = self.lock_state().stamps != stamps(&self.inner.files);
        changed.then(|| self.reload_now())
    }

    /// Spawns the watcher: reloads on SIGHUP (unix) and when a file changes
    /// (looked at every `poll`), and logs a stale CRL (hourly within its
    /// grace). It runs until the handle is aborted.
    pub fn watch(&self, poll: Duration) -> tokio::task::JoinHandle<()> {
        let tls = self.clone();
        tokio::spawn(async move {
            let mut hangup = hangup_signal();
            let mut ticks = tokio::time::interval(poll);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = ticks.tick() => {
                        let _ = tls.reload_if_changed();
                        if let Some(crl) = &tls.loaded().crl {
                            crl.log(&crl.freshness(now_secs()), false);
                        }
                    }
                    got = next_hangup(&mut hangup) => {
                        if got {
                            tracing::info!("SIGHUP: reloading TLS configuration");
                            let _ = tls.reload_now();
                        } else {
                            hangup = None;
                        }
                    }
                }
            }
        })
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, ReloadState> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn load(&self, state: &ReloadState) -> Result<Loaded, TlsError> {
        let files = &self.inner.files;
        // A CRL in force that disappears is more likely an accident than a
        // decision to trust every revoked certificate again.
        if let Some(crl) = &state.crl_in_force
            && files.crl.is_none()
            && !crl.exists()
        {
            return Err(TlsError::Invalid {
                path: crl.clone(),
                problem: "the revocation list in force has disappeared; keeping it (restart the server to run without one)".into(),
            });
        }
        Loaded::new(files.load_with(self.inner.options)?)
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; TLS files are still watched");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

/// `true` on a SIGHUP; `false` if signals can no longer arrive; pending if
/// there is no signal stream.
async fn next_hangup(hangup: &mut Hangup) -> bool {
    match hangup {
        #[cfg(unix)]
        Some(s) => s.recv().await.is_some(),
        #[cfg(not(unix))]
        Some(()) => std::future::pending().await,
        None => std::future::pending().await,
    }
}

fn stamps(files: &TlsFiles) -> Vec<Option<FileStamp>> {
    files
        .watched()
        .iter()
        .map(|path| {
            let meta = std::fs::metadata(path).ok()?;
            #[cfg(unix)]
            let inode = std::os::unix::fs::MetadataExt::ino(&meta);
            #[cfg(not(unix))]
            let inode = 0;
            Some(FileStamp {
                modified: meta.modified().ok(),
                len: meta.len(),
                inode,
            })
        })
        .collect()
}

fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let invalid = |problem: String| TlsError::Invalid {
        path: path.to_path_buf(),
        problem,
    };
    let mut certs = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| invalid(format!("malformed PEM: {e}")))?;
        if block.label != "CERTIFICATE" {
            continue;
        }
        block
            .parse_x509()
            .map_err(|e| invalid(format!("malformed certificate: {e}")))?;
        certs.push(CertificateDer::from(block.contents));
    }
    if certs.is_empty() {
        return Err(invalid("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

fn parse_key(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    if !String::from_utf8_lossy(pem).contains("PRIVATE KEY-----") {
        return Err(TlsError::Invalid {
            path: path.to_path_buf(),
            problem: "not a PEM private key (no \"PRIVATE KEY\" block)".into(),
        });
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| TlsError::Invalid {
        path: path.to_path_buf(),
        problem: format!("unusable private key: {e}"),
    })
}

fn roots(path: &Path, pem: &[u8]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in parse_certificates(path, pem)? {
        roots.add(cert).map_err(|e| TlsError::Invalid {
            path: path.to_path_buf(),
            problem: format!("not usable as a trust anchor: {e}"),
        })?;
    }
    Ok(roots)
}

fn parse_crls(
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let crls = CertificateRevocationListDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Invalid {
            path: path.to_path_buf(),
            problem: format!("malformed PEM: {e}"),
        })?;
    if crls.is_empty() {
        return Err(TlsError::Invalid {
            path: path.to_path_buf(),
            problem: "no \"X509 CRL\" PEM block in the file".into(),
        });
    }
    Ok(crls)
}

/// Checks that every CRL in `pem` parses and is signed by a certificate in
/// `ca_pem` (whether it is stale is the [`CrlPolicy`]'s business).
fn check_crl(path: &Path, pem: &[u8], ca_path: &Path, ca_pem: &[u8]) -> Result<(), TlsError> {
    let invalid = |problem: String| TlsError::Invalid {
        path: path.to_path_buf(),
        problem,
    };
    let cas = parse_certificates(ca_path, ca_pem)?;
    let cas = cas
        .iter()
        .map(|der| {
            x509_parser::parse_x509_certificate(der)
                .map(|(_, c)| c)
                .map_err(|e| TlsError::Invalid {
                    path: ca_path.to_path_buf(),
                    problem: format!("malformed certificate: {e}"),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for der in parse_crls(path, pem)? {
        let (_, crl) = x509_parser::parse_x509_crl(&der)
            .map_err(|e| invalid(format!("malformed revocation list: {e}")))?;
        let Some(ca) = cas
            .iter()
            .find(|ca| ca.subject().as_raw() == crl.issuer().as_raw())
        else {
            return Err(invalid(format!(
                "revocation list issued by \"{}\", not by the CA in {}",
                crl.issuer(),
                ca_path.display()
            )));
        };
        crl.verify_signature(ca.public_key()).map_err(|e| {
            invalid(format!(
                "revocation list signature does not verify against the CA in {}: {e}",
                ca_path.display()
            ))
        })?;
    }
    Ok(())
}

/// The earliest `nextUpdate` (unix seconds) of the CRLs in `pem`.
fn earliest_next_update(path: &Path, pem: &[u8]) -> Result<Option<i64>, TlsError> {
    let mut earliest: Option<i64> = None;
    for der in parse_crls(path, pem)? {
        let (_, crl) = x509_parser::parse_x509_crl(&der).map_err(|e| TlsError::Invalid {
            path: path.to_path_buf(),
            problem: format!("malformed revocation list: {e}"),
        })?;
        if let Some(next) = crl.next_update() {
            let next = next.timestamp();
            earliest = Some(earliest.map_or(next, |e| e.min(next)));
        }
    }
    Ok(earliest)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> TlsFiles {
        TlsFiles {
            cert: dir.join("me.pem"),
            key: dir.join("me.key"),
            ca: dir.join("ca.pem"),
            crl: None,
        }
    }

    #[test]
    fn implicit_crl_is_next_to_the_ca_and_only_if_present() {
        let tmp = tempfile::tempdir().unwrap();
        let files = files(tmp.path());
        assert_eq!(files.implicit_crl(), tmp.path().join("crl.pem"));
        assert_eq!(files.crl_path(), None);
        assert_eq!(files.watched()[3], tmp.path().join("crl.pem"));
        std::fs::write(tmp.path().join("crl.pem"), "x").unwrap();
        assert_eq!(files.crl_path(), Some(tmp.path().join("crl.pem")));

        let explicit = TlsFiles {
            crl: Some(tmp.path().join("elsewhere.pem")),
            ..files
        };
        assert_eq!(explicit.crl_path(), Some(tmp.path().join("elsewhere.pem")));
        assert_eq!(explicit.watched()[3], tmp.path().join("elsewhere.pem"));
    }

    #[test]
    fn stamps_notice_new_replaced_and_removed_files() {
        let tmp = tempfile::tempdir().unwrap();
        let files = files(tmp.path());
        let none = stamps(&files);
        assert!(none.iter().all(Option::is_none));
        std::fs::write(&files.ca, "one").unwrap();
        let one = stamps(&files);
        assert_ne!(one, none);
        // Replaced by a rename, as the PKI tooling does: same size, new inode.
        let tmp_file = tmp.path().join(".ca.pem.tmp");
        std::fs::write(&tmp_file, "two").unwrap();
        std::fs::rename(&tmp_file, &files.ca).unwrap();
        assert_ne!(stamps(&files), one);
        std::fs::remove_file(&files.ca).unwrap();
        assert_eq!(stamps(&files), none);
    }

    #[test]
    fn dates_and_durations_read_well() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_118_669), "2026-12-01T09:51:09Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(hours(DEFAULT_CRL_GRACE), "72 h");
        assert_eq!(hours(Duration::from_secs(5400)), "1.5 h");
        assert_eq!(hours(Duration::from_secs(600)), "10 min");
    }

    fn policy(next_update: Option<i64>, grace: Duration) -> CrlPolicy {
        CrlPolicy {
            path: PathBuf::from("/etc/tudashalo/crl.pem"),
            next_update,
            grace,
            last_warned: Mutex::new(None),
            last_refusal_logged: Mutex::new(None),
        }
    }

    #[test]
    fn a_stale_crl_is_used_within_its_grace_and_refused_after() {
        let now = 1_796_118_669_u64;
        let next = now as i64 - 3600;
        let grace = Duration::from_secs(2 * 3600);
        let p = policy(Some(next), grace);
        assert_eq!(p.freshness(now - 7200), CrlFreshness::Fresh);
        assert_eq!(p.freshness(next as u64), CrlFreshness::Fresh);
        assert_eq!(
            p.freshness(now),
            CrlFreshness::Stale {
                overdue: Duration::from_secs(3600)
            }
        );
        assert!(
            p.check(UnixTime::since_unix_epoch(Duration::from_secs(now)))
                .is_ok()
        );
        let later = now + 2 * 3600;
        assert_eq!(
            p.freshness(later),
            CrlFreshness::Expired {
                overdue: Duration::from_secs(3 * 3600)
            }
        );
        let err = p
            .check(UnixTime::since_unix_epoch(Duration::from_secs(later)))
            .unwrap_err();
        let text = describe_rustls(&err);
        for part in [
            "/etc/tudashalo/crl.pem",
            "2026-12-01T08:51:09Z",
            "3 h",
            "grace period of 2 h",
        ] {
            assert!(text.contains(part), "{part:?} in {text}");
        }
        // No nextUpdate: never stale. Zero grace: refused at once.
        assert_eq!(policy(None, grace).freshness(u64::MAX), CrlFreshness::Fresh);
        assert!(matches!(
            policy(Some(next), Duration::ZERO).freshness(now),
            CrlFreshness::Expired { .. }
        ));
    }

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

    #[test]
    fn missing_files_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let err = files(tmp.path()).load().unwrap_err();
        assert!(err.to_string().contains("me.pem"), "{err}");
        let err = ReloadingTls::new(files(tmp.path())).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err}");
    }
}
