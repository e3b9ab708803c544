//! mTLS for every server and client of the federation.
//!
//! There is no plaintext mode: a server always requires a client certificate
//! signed by the configured CA (valid now, and not on the CA's revocation list
//! if one is configured), and a client always presents one. Files are read and
//! checked here, so that a bad path or a file of the wrong kind is reported
//! with its name at start-up, not as an opaque handshake failure.
//!
//! Servers build their rustls [`ServerConfig`] here ([`TlsMaterial::server_config`]);
//! [`ReloadingTls`] keeps one current while the files change underneath a
//! running server (new certificate, new CRL), on SIGHUP or when it notices
//! the files' modification times change. Clients use tonic's own TLS
//! ([`TlsMaterial::client_config`], [`TlsMaterial::connect`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use rustls::RootCertStore;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::pb::federation_client::FederationClient;

/// File name of the CRL that is picked up next to the CA certificate when
/// [`TlsFiles::crl`] is not set (the PKI tooling writes `DIR/crl.pem`).
pub const CRL_FILE_NAME: &str = "crl.pem";

/// How often a [`ReloadingTls`] watcher looks at the files' modification times.
pub const RELOAD_POLL: Duration = Duration::from_secs(2);

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
    /// The CA's revocation list, PEM, if one is configured (servers only use it).
    pub crl_pem: Option<Vec<u8>>,
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

    /// Reads the files and checks that each holds what it should: the key
    /// belongs to the certificate, and a CRL is well-formed and signed by the
    /// CA.
    pub fn load(&self) -> Result<TlsMaterial, TlsError> {
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
        let crl_pem = match self.crl_path() {
            Some(path) => {
                let pem = read(&path)?;
                check_crl(&path, &pem, &self.ca, &ca_pem)?;
                Some(pem)
            }
            None => None,
        };
        Ok(TlsMaterial {
            cert_pem,
            key_pem,
            ca_pem,
            crl_pem,
        })
    }
}

impl TlsMaterial {
    /// Server side: our identity; client certificates required, verified
    /// against the CA (validity period included) and, if a CRL is
    /// configured, checked against it; ALPN `h2`. Uses the `ring` provider.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(provider());
        let config_err =
            |what: &str, e: &dyn std::fmt::Display| TlsError::Config(format!("{what}: {e}"));
        let roots = roots(Path::new("CA certificate"), &self.ca_pem)?;
        let mut verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        if let Some(crl_pem) = &self.crl_pem {
            verifier = verifier.with_crls(parse_crls(Path::new("CRL"), crl_pem)?);
        }
        let verifier = verifier
            .build()
            .map_err(|e| config_err("client certificate verifier", &e))?;
        let certs = parse_certificates(Path::new("certificate"), &self.cert_pem)?;
        let key = parse_key(Path::new("private key"), &self.key_pem)?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| config_err("protocol versions", &e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(|e| config_err("certificate and key", &e))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }

    /// Client side: present our identity, trust only the federation CA.
    pub fn client_config(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
    }

    /// An endpoint for `url` (`https://host:port`) with our TLS settings and
    /// sensible connection timeouts. The connection is made lazily or by
    /// [`Endpoint::connect`].
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, TlsError> {
        let bad = |problem: String| TlsError::Endpoint {
            endpoint: url.to_string(),
            problem,
        };
        if !url.starts_with("https://") {
            return Err(bad(
                "must start with https:// (the federation has no plaintext mode)".into(),
            ));
        }
        Endpoint::from_shared(url.to_string())
            .map_err(|e| bad(e.to_string()))?
            .tls_config(self.client_config())
            .map_err(|e| bad(e.to_string()))
            .map(|e| {
                e.connect_timeout(Duration::from_secs(5))
                    .tcp_nodelay(true)
                    .http2_keep_alive_interval(Duration::from_secs(30))
                    .keep_alive_while_idle(true)
            })
    }

    /// Connects now and returns a client with the message limits raised to
    /// [`crate::MAX_MESSAGE_BYTES`].
    pub async fn connect(&self, url: &str) -> Result<FederationClient<Channel>, TlsError> {
        let channel = self
            .endpoint(url)?
            .connect()
            .await
            .map_err(|source| TlsError::Connect {
                endpoint: url.to_string(),
                source,
            })?;
        Ok(client(channel))
    }
}

/// A federation client over `channel` with our message limits.
pub fn client(channel: Channel) -> FederationClient<Channel> {
    FederationClient::new(channel)
        .max_decoding_message_size(crate::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(crate::MAX_MESSAGE_BYTES)
}

/// A server TLS configuration that follows its files.
///
/// Cheap to clone (all clones share the configuration). [`ReloadingTls::current`]
/// is what a new connection uses; [`ReloadingTls::reload_now`] re-reads the
/// files and swaps the configuration in if they are good, and keeps the old
/// one (logging why) if they are not. [`ReloadingTls::watch`] does that on
/// SIGHUP and whenever a file's modification time, size or inode changes;
/// [`crate::serve::serve_reloading`] runs the watcher for the server's lifetime.
#[derive(Debug, Clone)]
pub struct ReloadingTls {
    inner: Arc<ReloadInner>,
}

#[derive(Debug)]
struct ReloadInner {
    files: TlsFiles,
    poll: Option<Duration>,
    current: RwLock<Arc<ServerConfig>>,
    state: Mutex<ReloadState>,
    generations: tokio::sync::watch::Sender<u64>,
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
        ReloadingTls::with_watch(files, Some(RELOAD_POLL))
    }

    /// Like [`ReloadingTls::new`], but only [`ReloadingTls::reload_now`] (and
    /// [`ReloadingTls::reload_if_changed`]) reload it: no SIGHUP handling or
    /// polling while serving. For tests that must control every reload.
    pub fn manual(files: TlsFiles) -> Result<ReloadingTls, TlsError> {
        ReloadingTls::with_watch(files, None)
    }

    fn with_watch(files: TlsFiles, poll: Option<Duration>) -> Result<ReloadingTls, TlsError> {
        let stamps = stamps(&files);
        let material = files.load()?;
        let config = material.server_config()?;
        let crl_in_force = material.crl_pem.as_ref().and_then(|_| files.crl_path());
        Ok(ReloadingTls {
            inner: Arc::new(ReloadInner {
                files,
                poll,
                current: RwLock::new(config),
                state: Mutex::new(ReloadState {
                    stamps,
                    generation: 1,
                    crl_in_force,
                }),
                generations: tokio::sync::watch::Sender::new(1),
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

    /// The configuration new connections use now.
    pub fn current(&self) -> Arc<ServerConfig> {
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
    /// every connection accepted from now on (established connections keep
    /// theirs). On failure the previous configuration stays in force; the
    /// error names the file at fault and is also logged.
    pub fn reload_now(&self) -> Result<(), TlsError> {
        let mut state = self.lock_state();
        // Stamps first: a change while we read is noticed by the next poll.
        state.stamps = stamps(&self.inner.files);
        match self.load(&state) {
            Ok((config, crl)) => {
                *self
                    .inner
                    .current
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = config;
                state.generation += 1;
                state.crl_in_force = crl;
                self.inner.generations.send_replace(state.generation);
                tracing::info!(
                    cert = %self.inner.files.cert.display(),
                    crl = ?state.crl_in_force,
                    generation = state.generation,
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
    /// (looked at every `poll`). It runs until the handle is aborted.
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

    fn load(&self, state: &ReloadState) -> Result<(Arc<ServerConfig>, Option<PathBuf>), TlsError> {
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
        let material = files.load()?;
        let config = material.server_config()?;
        let crl = material.crl_pem.as_ref().and_then(|_| files.crl_path());
        Ok((config, crl))
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
/// `ca_pem`; warns if one is past its next-update time.
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
        if let Some(next) = crl.next_update()
            && next.timestamp() < x509_parser::time::ASN1Time::now().timestamp()
        {
            tracing::warn!(
                path = %path.display(),
                next_update = %next,
                "revocation list is past its next-update time; re-issue it (`tudashalo-hub pki crl`)"
            );
        }
    }
    Ok(())
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
    fn missing_files_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let err = files(tmp.path()).load().unwrap_err();
        assert!(err.to_string().contains("me.pem"), "{err}");
        let err = ReloadingTls::new(files(tmp.path())).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err}");
    }
}
