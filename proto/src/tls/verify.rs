//! The certificate verifiers of both sides, and the words of their refusals.
//!
//! Both wrap rustls' WebPKI verifiers (chain, validity, CRL; host name on
//! the client side) behind the stale-CRL check; the server verifier then
//! checks that the certificate names the principal the client expects.
//! A refusal carries a sentence that names the peer (principal and serial)
//! and why, because that is what an operator reads in the log.

use std::io;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};

use super::crl::CrlPolicy;
use crate::identity::{PeerExpectation, principal_of, serial_of};

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

pub(super) fn refused(reason: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refused(
        reason,
    )))))
}

/// `node:edelenyi (serial 1a2b…)`, for log lines about a peer certificate.
pub(super) fn describe_cert(der: &[u8]) -> String {
    let who = principal_of(der)
        .map(|p| p.to_string())
        .unwrap_or_else(|e| format!("an unnamed peer ({e})"));
    let serial = serial_of(der).unwrap_or_else(|| "unknown".into());
    format!("{who} (serial {serial})")
}

/// The server's check of client certificates: rustls' WebPKI verifier
/// (chain, validity, CRL) behind the stale-CRL policy.
#[derive(Debug)]
pub(super) struct FederationClientVerifier {
    pub(super) inner: Arc<dyn ClientCertVerifier>,
    pub(super) crl: Option<Arc<CrlPolicy>>,
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
pub(super) struct FederationServerVerifier {
    pub(super) inner: Arc<WebPkiServerVerifier>,
    pub(super) crl: Option<Arc<CrlPolicy>>,
    /// The `https://host:port` we call, for messages.
    pub(super) endpoint: String,
    pub(super) expect: Option<PeerExpectation>,
}

impl FederationServerVerifier {
    /// The chain and principal checks without the stale-CRL policy: what a
    /// live connection is checked against again after a reload.
    pub(super) fn verify_peer(
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

/// The words of a TLS error: our own refusals as written, rustls' as it
/// prints them.
pub(super) fn describe_rustls(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => other.to_string(),
        rustls::Error::Other(other) => other.to_string(),
        other => other.to_string(),
    }
}

pub(super) fn describe_io(e: &io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => describe_rustls(tls),
        None => e.to_string(),
    }
}
