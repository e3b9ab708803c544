//! mTLS for every server and client of the federation.
//!
//! There is no plaintext mode: a server always requires a client certificate
//! signed by the configured CA, and a client always presents one. Files are
//! read and checked here, so that a bad path or a file of the wrong kind is
//! reported with its name at start-up, not as an opaque handshake failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::transport::{
    Certificate, Channel, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig,
};

use crate::pb::federation_client::FederationClient;

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
    #[error("endpoint {endpoint:?}: {problem}")]
    Endpoint { endpoint: String, problem: String },
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: tonic::transport::Error,
    },
}

/// The three files of an identity: our certificate, its key, and the CA that
/// signs every peer we accept.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// Loaded and checked PEM material.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub ca_pem: Vec<u8>,
}

impl TlsFiles {
    /// Reads the three files and checks that each holds what it should.
    pub fn load(&self) -> Result<TlsMaterial, TlsError> {
        let cert_pem = read(&self.cert)?;
        check_certificates(&self.cert, &cert_pem)?;
        let key_pem = read(&self.key)?;
        if !String::from_utf8_lossy(&key_pem).contains("PRIVATE KEY-----") {
            return Err(TlsError::Invalid {
                path: self.key.clone(),
                problem: "not a PEM private key (no \"PRIVATE KEY\" block)".into(),
            });
        }
        let ca_pem = read(&self.ca)?;
        check_certificates(&self.ca, &ca_pem)?;
        Ok(TlsMaterial {
            cert_pem,
            key_pem,
            ca_pem,
        })
    }
}

impl TlsMaterial {
    /// Server side: our identity, and client certificates required and
    /// verified against the CA.
    pub fn server_config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .client_ca_root(Certificate::from_pem(&self.ca_pem))
            .client_auth_optional(false)
            .timeout(Duration::from_secs(10))
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

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn check_certificates(path: &Path, pem: &[u8]) -> Result<(), TlsError> {
    let mut found = 0;
    for block in x509_parser::pem::Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| TlsError::Invalid {
            path: path.to_path_buf(),
            problem: format!("malformed PEM: {e}"),
        })?;
        if block.label != "CERTIFICATE" {
            continue;
        }
        block.parse_x509().map_err(|e| TlsError::Invalid {
            path: path.to_path_buf(),
            problem: format!("malformed certificate: {e}"),
        })?;
        found += 1;
    }
    if found == 0 {
        return Err(TlsError::Invalid {
            path: path.to_path_buf(),
            problem: "no PEM certificate in the file".into(),
        });
    }
    Ok(())
}
