//! The files of an identity: finding them, reading them and checking that
//! each holds what it should.
//!
//! Everything read from disk is checked here, before any rustls
//! configuration is built from it: the key must fit the certificate, the CA
//! file must hold usable trust anchors, and a CRL must parse and be signed
//! by that CA. Every failure names the file at fault, so that a wrong path
//! is reported at start-up and not as an opaque handshake failure. Whether a
//! CRL is stale is not decided here (see `crl`): a stale CRL loads.

use std::path::{Path, PathBuf};

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::{CRL_FILE_NAME, TlsError, TlsOptions};

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

pub(super) fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

pub(super) fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

pub(super) fn parse_certificates(
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
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

pub(super) fn parse_key(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
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

pub(super) fn roots(path: &Path, pem: &[u8]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in parse_certificates(path, pem)? {
        roots.add(cert).map_err(|e| TlsError::Invalid {
            path: path.to_path_buf(),
            problem: format!("not usable as a trust anchor: {e}"),
        })?;
    }
    Ok(roots)
}

pub(super) fn parse_crls(
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
pub(super) fn earliest_next_update(path: &Path, pem: &[u8]) -> Result<Option<i64>, TlsError> {
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
pub(super) mod tests {
    use super::*;
    use crate::tls::ReloadingTls;

    pub(in crate::tls) fn files(dir: &Path) -> TlsFiles {
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
    fn missing_files_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let err = files(tmp.path()).load().unwrap_err();
        assert!(err.to_string().contains("me.pem"), "{err}");
        let err = ReloadingTls::new(files(tmp.path())).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err}");
    }
}
