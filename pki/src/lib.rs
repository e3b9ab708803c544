//! Certificate tooling for the federation's mutual TLS.
//!
//! Every participant (kistérség node, regional hub, national hub, human operator)
//! holds a certificate signed by the federation CA. A certificate names its holder
//! with a URI subject alternative name `urn:tudashalo:ROLE:NAME`; servers use
//! [`principal_of`] to turn a verified peer certificate into a [`Principal`] for
//! access control.
//!
//! On-disk layout of a PKI directory:
//!
//! - `ca.pem` / `ca.key`: the self-signed CA certificate and its private key;
//! - `NAME.pem` / `NAME.key`: a participant's leaf certificate (just the leaf, no
//!   chain) and private key ([`issue()`]);
//! - `NAME.csr`: a certificate signing request made where the key lives
//!   ([`create_csr`]), which the CA turns into `NAME.pem` with [`sign_csr`];
//! - `revoked.json` / `crl.pem`: the revocation database and the CA-signed
//!   certificate revocation list that servers load ([`revoke`], [`write_crl`]).
//!
//! Keys are ECDSA P-256 in PKCS#8 PEM and are written with mode `0600` on unix.
//!
//! The modules, one concern each: `ca` (the CA itself, and loading it to
//! sign), `issue` (certificates made here, key and all), `csr` (requests
//! made where the key lives, and signing them), `leaf` (what the CA writes
//! into every leaf certificate), `revocation` (`revoked.json` and the CRL),
//! `files` (how keys and public files are written) and `error`. They are
//! private: every public item is re-exported here, and callers use
//! `tudashalo_pki::…`.

mod ca;
mod csr;
mod error;
mod files;
mod issue;
mod leaf;
mod revocation;

pub use ca::{CaPaths, init_ca};
pub use csr::{CsrPaths, CsrRequest, SignRequest, Signed, create_csr, sign_csr};
pub use error::PkiError;
pub use issue::{IssueRequest, IssuedPaths, issue, issue_valid_between};
pub use revocation::{
    Revocation, RevocationDb, RevokeReason, Revoked, revoke, serial_hex, write_crl,
};
pub use tudashalo_proto::identity::{
    IdentityError, Principal, Role, URN_PREFIX, principal_of, principal_of_pem, validate_name,
};

/// Organisation (`O=`) written into every subject name.
pub const ORGANIZATION: &str = "Tudásháló";
/// File name of the CA certificate inside a PKI directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key inside a PKI directory.
pub const CA_KEY_FILE: &str = "ca.key";
/// File name of the certificate revocation list inside a PKI directory.
pub const CRL_FILE: &str = "crl.pem";
/// File name of the revocation database inside a PKI directory.
pub const REVOKED_FILE: &str = "revoked.json";
/// How long a CRL is valid (its next-update time), in days.
pub const CRL_VALIDITY_DAYS: i64 = 7;
/// Longest accepted validity, in days (100 years).
pub const MAX_DAYS: u32 = 36_525;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod test_support {
    //! Helpers shared by the modules' tests.

    use std::fs;
    use std::path::Path;

    use x509_parser::pem::Pem;

    use crate::{IssueRequest, Role};

    pub(crate) fn req(name: &str, role: Role) -> IssueRequest {
        IssueRequest {
            name: name.to_owned(),
            role,
            hosts: Vec::new(),
            days: 30,
            force: false,
        }
    }

    pub(crate) fn pem_der(path: &Path) -> Vec<u8> {
        let text = fs::read(path).unwrap();
        let blocks: Vec<Pem> = Pem::iter_from_buffer(&text)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            blocks.len(),
            1,
            "{} should hold exactly one PEM block",
            path.display()
        );
        assert_eq!(blocks[0].label, "CERTIFICATE");
        blocks[0].contents.clone()
    }

    #[cfg(unix)]
    pub(crate) fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::fs;

    use rcgen::{CertificateParams, KeyPair, SanType};

    use super::*;
    use crate::test_support::{pem_der, req};

    #[test]
    fn principal_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        init_ca(tmp.path(), "Test CA", 365, false).unwrap();
        for (name, role) in [
            ("edelenyi", Role::Node),
            ("eszak-magyarorszag", Role::Hub),
            ("orszagos", Role::National),
            ("kiss_anna", Role::Operator),
        ] {
            let leaf = issue(tmp.path(), &req(name, role)).unwrap();
            let pem = fs::read(&leaf.cert).unwrap();
            let p = principal_of_pem(&pem).unwrap();
            assert_eq!(
                p,
                Principal {
                    role,
                    name: name.to_owned()
                }
            );
            assert_eq!(principal_of(&pem_der(&leaf.cert)).unwrap(), p);
            assert_eq!(p.uri(), format!("urn:tudashalo:{role}:{name}"));
        }
        // The CA itself carries no principal.
        let ca_pem = fs::read(tmp.path().join("ca.pem")).unwrap();
        assert!(matches!(
            principal_of_pem(&ca_pem),
            Err(IdentityError::NoPrincipal)
        ));
        assert!(matches!(
            principal_of(b"garbage"),
            Err(IdentityError::CertParse(_))
        ));
        assert!(matches!(
            principal_of_pem(b"garbage"),
            Err(IdentityError::CertParse(_))
        ));
    }

    #[test]
    fn bad_principal_uri_rejected() {
        let key = KeyPair::generate().unwrap();
        for uri in [
            "urn:tudashalo:admin:x",
            "urn:tudashalo:node",
            "urn:tudashalo:node:Bad",
        ] {
            let mut params = CertificateParams::default();
            params.subject_alt_names = vec![SanType::URI(uri.try_into().unwrap())];
            let cert = params.self_signed(&key).unwrap();
            let err = principal_of(cert.der()).unwrap_err();
            assert!(
                matches!(err, IdentityError::BadPrincipal { .. }),
                "{uri}: {err}"
            );
        }
        let mut params = CertificateParams::default();
        params.subject_alt_names = vec![
            SanType::URI("urn:tudashalo:node:a".try_into().unwrap()),
            SanType::URI("urn:tudashalo:hub:b".try_into().unwrap()),
        ];
        let cert = params.self_signed(&key).unwrap();
        assert!(matches!(
            principal_of(cert.der()),
            Err(IdentityError::AmbiguousPrincipal)
        ));
    }
}
