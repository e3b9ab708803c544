//! One load of the files turned into rustls configurations: the server
//! config with its client verifier, and client configs for each endpoint.
//!
//! A [`Loaded`] is immutable: a reload builds a new one and swaps it in, so
//! a handshake always sees one consistent set of certificate, key, CA and
//! CRL. Both sides share its stale-CRL policy; ALPN is `h2`, the provider
//! `ring`. [`TlsMaterial`]'s own methods build from it too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, ServerConfig};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::client::{ClientTls, require_https};
use super::crl::{CrlPolicy, now_secs};
use super::files::{TlsMaterial, parse_certificates, parse_crls, parse_key, provider, roots};
use super::verify::{FederationClientVerifier, FederationServerVerifier};
use super::{CONNECT_TIMEOUT, TlsError};
use crate::identity::PeerExpectation;
use crate::pb::federation_client::FederationClient;

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

/// Everything one load of the files gives: the material, the server config
/// and its client verifier, and the stale-CRL policy shared by both sides.
#[derive(Debug)]
pub(super) struct Loaded {
    pub(super) material: TlsMaterial,
    pub(super) server: Arc<ServerConfig>,
    /// The WebPKI client verifier inside [`Loaded::server`], without the
    /// stale-CRL policy: live connections are checked again with it.
    pub(super) client_verifier: Arc<dyn ClientCertVerifier>,
    pub(super) crl: Option<Arc<CrlPolicy>>,
}

impl Loaded {
    pub(super) fn new(material: TlsMaterial) -> Result<Loaded, TlsError> {
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

    pub(super) fn server_verifier(
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

    pub(super) fn client_config(
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
