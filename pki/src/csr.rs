//! Certificate signing requests: made where the key lives, signed by the CA.
//!
//! Whom a certificate is for is the CA operator's statement, not the
//! requester's: [`sign_csr`] takes only the public key and the host names
//! from a request, requires the role and name to be stated (or the request
//! explicitly trusted) and refuses a request that names anyone else. The
//! federation's access control rests on those names.

use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, CertificateSigningRequestParams, KeyPair, SanType};

use crate::ca::load_issuer;
use crate::files::{ensure_dir, read_to_string, refuse_existing, write_private, write_public};
use crate::leaf::{host_san, leaf_params, refuse_reserved, subject, subject_alt_names, validity};
use crate::{
    CA_CERT_FILE, CA_KEY_FILE, IdentityError, PkiError, Principal, Role, URN_PREFIX, serial_hex,
    validate_name,
};

/// What to request with [`create_csr`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrRequest {
    /// Slug name: `[a-z0-9][a-z0-9_-]{0,62}`; also the file stem.
    pub name: String,
    /// The participant's role.
    pub role: Role,
    /// DNS names and IP literals for the SAN; empty means
    /// `localhost`, `127.0.0.1` and `::1`.
    pub hosts: Vec<String>,
    /// Replace an existing `NAME.key` / `NAME.csr`.
    pub force: bool,
}

/// Files written by [`create_csr`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrPaths {
    /// `DIR/NAME.csr`: the PEM certificate signing request, for the CA.
    pub csr: PathBuf,
    /// `DIR/NAME.key`: the private key, which stays here.
    pub key: PathBuf,
}

/// Generates a key pair and a certificate signing request for `req.name`,
/// writing `dir/NAME.key` (mode 0600) and `dir/NAME.csr`.
///
/// The request carries CN=NAME, O=Tudásháló and the same subject alternative
/// names [`issue`] would put in the certificate; it is signed with the new
/// key, so the CA can check it without ever seeing the key. `dir` is created
/// if missing. Refuses to replace an existing `NAME.key` unless `req.force`.
pub fn create_csr(dir: &Path, req: &CsrRequest) -> Result<CsrPaths, PkiError> {
    validate_name(&req.name)?;
    refuse_reserved(&req.name)?;
    let sans = subject_alt_names(req.role, &req.name, &req.hosts)?;
    let paths = CsrPaths {
        csr: dir.join(format!("{}.csr", req.name)),
        key: dir.join(format!("{}.key", req.name)),
    };
    refuse_existing(&paths.key, req.force)?;

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(&req.name);
    params.subject_alt_names = sans;
    let csr = params.serialize_request(&key)?;

    ensure_dir(dir)?;
    write_private(&paths.key, key.serialize_pem().as_bytes(), req.force)?;
    write_public(&paths.csr, csr.pem()?.as_bytes())?;
    Ok(paths)
}

/// What to sign with [`sign_csr`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequest {
    /// The PEM certificate signing request (from [`create_csr`] or any tool
    /// that puts a `urn:tudashalo:ROLE:NAME` URI SAN in the request).
    pub csr: PathBuf,
    /// The role the certificate is for, as the CA operator states it.
    /// Required unless `trust_csr`; a CSR for another role is refused.
    pub role: Option<Role>,
    /// The name the certificate is for, as the CA operator states it.
    /// Required unless `trust_csr`; a CSR for another name is refused.
    pub name: Option<String>,
    /// Take the role and name from the request (still checked against
    /// `role` and `name` where given). Only for a request whose origin the
    /// CA operator has verified some other way.
    pub trust_csr: bool,
    /// Validity in days, counted from now.
    pub days: u32,
    /// Where to write the certificate; default `CA_DIR/NAME.pem`.
    pub out: Option<PathBuf>,
    /// Replace an existing certificate file.
    pub force: bool,
}

/// What [`sign_csr`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The principal the certificate was issued to (from the CSR).
    pub principal: Principal,
    /// The certificate file written.
    pub cert: PathBuf,
    /// The certificate's serial number, lowercase hex.
    pub serial: String,
}

/// Signs the certificate signing request `req.csr` with the CA in `ca_dir`.
///
/// Whom a certificate is for is the CA operator's statement, not the
/// requester's: `req.role` and `req.name` are required
/// ([`PkiError::SubjectNotStated`]) unless `req.trust_csr`, and a request
/// that names another principal is refused ([`PkiError::SubjectMismatch`]).
/// Otherwise anyone who can get a CSR in front of the CA could ask for a
/// `hub` certificate under a node's name, and the federation's access
/// control rests on those names.
///
/// The CSR's signature is verified, and it must carry exactly one
/// `urn:tudashalo:ROLE:NAME` URI SAN (naming the principal) and otherwise only
/// DNS names and IP addresses. Only the public key and those names are taken
/// from the request: the subject (CN=NAME, O=Tudásháló), key usages, CA flag
/// and validity are the CA's, exactly as for [`issue`].
pub fn sign_csr(ca_dir: &Path, req: &SignRequest) -> Result<Signed, PkiError> {
    if !req.trust_csr {
        let missing: Vec<&str> = [
            req.role.is_none().then_some("--role"),
            req.name.is_none().then_some("--name"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !missing.is_empty() {
            return Err(PkiError::SubjectNotStated {
                path: req.csr.clone(),
                missing: missing.join(", "),
            });
        }
    }
    if let Some(name) = &req.name {
        validate_name(name)?;
        refuse_reserved(name)?;
    }
    let (not_before, not_after) = validity(req.days)?;
    let bad = |reason: String| PkiError::Csr {
        path: req.csr.clone(),
        reason,
    };
    let pem = read_to_string(&req.csr)?;
    let csr = CertificateSigningRequestParams::from_pem(&pem).map_err(|e| {
        bad(match e {
            rcgen::Error::CouldNotParseCertificationRequest => {
                "not a PEM certificate signing request".to_owned()
            }
            rcgen::Error::InvalidCertificationRequestSignature => {
                "the request's signature does not verify".to_owned()
            }
            rcgen::Error::UnsupportedExtension => {
                "the request asks for an unsupported extension (only subjectAltName, key usage, extended key usage and basic constraints are understood)".to_owned()
            }
            other => other.to_string(),
        })
    })?;

    let mut principal: Option<Principal> = None;
    let mut sans = Vec::with_capacity(csr.params.subject_alt_names.len());
    for san in &csr.params.subject_alt_names {
        match san {
            SanType::URI(uri) if uri.as_str().starts_with(URN_PREFIX) => {
                let p = Principal::from_uri(uri.as_str()).map_err(|e| bad(e.to_string()))?;
                if principal.is_some() {
                    return Err(bad(IdentityError::AmbiguousPrincipal.to_string()));
                }
                principal = Some(p);
            }
            SanType::DnsName(dns) => {
                let san = host_san(dns.as_str()).map_err(|e| bad(e.to_string()))?;
                if !sans.contains(&san) {
                    sans.push(san);
                }
            }
            SanType::IpAddress(ip) => {
                let san = SanType::IpAddress(*ip);
                if !sans.contains(&san) {
                    sans.push(san);
                }
            }
            other => {
                return Err(bad(format!(
                    "unsupported subject alternative name {other:?} (only one {URN_PREFIX}ROLE:NAME URI, DNS names and IP addresses)"
                )));
            }
        }
    }
    let principal = principal.ok_or_else(|| {
        bad(format!(
            "no {URN_PREFIX}ROLE:NAME URI subject alternative name; create the request with `tudashalo-hub pki csr`"
        ))
    })?;
    let role_differs = req.role.is_some_and(|r| r != principal.role);
    let name_differs = req.name.as_ref().is_some_and(|n| *n != principal.name);
    if role_differs || name_differs {
        let stated: Vec<String> = [
            req.role.map(|r| format!("--role {r}")),
            req.name.as_ref().map(|n| format!("--name {n}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        return Err(PkiError::SubjectMismatch {
            path: req.csr.clone(),
            requested: principal.uri(),
            stated: stated.join(" "),
        });
    }
    refuse_reserved(&principal.name)?;
    sans.insert(0, SanType::URI(principal.uri().try_into()?));

    let out = req
        .out
        .clone()
        .unwrap_or_else(|| ca_dir.join(format!("{}.pem", principal.name)));
    if out == ca_dir.join(CA_CERT_FILE) {
        return Err(PkiError::FileExists { path: out });
    }
    if !req.force && out.exists() {
        return Err(PkiError::FileExists { path: out });
    }

    let issuer = load_issuer(
        &ca_dir.join(CA_CERT_FILE),
        &ca_dir.join(CA_KEY_FILE),
        Some(not_after),
    )?;
    let mut params = leaf_params(&principal.name, sans, not_before, not_after)?;
    let serial = params
        .serial_number
        .as_ref()
        .map(|s| serial_hex(s.as_ref()))
        .unwrap_or_default();
    let leaf = CertificateSigningRequestParams {
        params: std::mem::take(&mut params),
        public_key: csr.public_key,
    };
    let cert = leaf.signed_by(&issuer)?;
    write_public(&out, cert.pem().as_bytes())?;
    Ok(Signed {
        principal,
        cert: out,
        serial,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::fs;

    use x509_parser::certificate::X509Certificate;
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::FromDer;

    use super::*;
    #[cfg(unix)]
    use crate::test_support::mode;
    use crate::test_support::pem_der;
    use crate::{init_ca, principal_of};

    #[test]
    fn csr_then_sign_verifies_and_keeps_principal() {
        let ca_dir = tempfile::tempdir().unwrap();
        init_ca(ca_dir.path(), "Test CA", 365, false).unwrap();
        let node_dir = tempfile::tempdir().unwrap();
        let node_dir = node_dir.path().join("edeleny");
        let csr = create_csr(
            &node_dir,
            &CsrRequest {
                name: "edelenyi".into(),
                role: Role::Node,
                hosts: vec!["edeleny.example.hu".into(), "10.1.2.3".into()],
                force: false,
            },
        )
        .unwrap();
        assert_eq!(csr.key, node_dir.join("edelenyi.key"));
        assert_eq!(csr.csr, node_dir.join("edelenyi.csr"));
        #[cfg(unix)]
        assert_eq!(mode(&csr.key), 0o600);
        let csr_text = fs::read_to_string(&csr.csr).unwrap();
        assert!(csr_text.contains("BEGIN CERTIFICATE REQUEST"), "{csr_text}");
        assert!(!csr_text.contains("PRIVATE KEY"));
        // A second request would replace the key: refused.
        let again = create_csr(
            &node_dir,
            &CsrRequest {
                name: "edelenyi".into(),
                role: Role::Node,
                hosts: Vec::new(),
                force: false,
            },
        )
        .unwrap_err();
        assert!(matches!(again, PkiError::AlreadyExists { .. }), "{again}");

        let sign = |role: Option<Role>, name: Option<&str>, trust_csr: bool| {
            sign_csr(
                ca_dir.path(),
                &SignRequest {
                    csr: csr.csr.clone(),
                    role,
                    name: name.map(str::to_string),
                    trust_csr,
                    days: 30,
                    out: None,
                    force: false,
                },
            )
        };
        // Whom the certificate is for must be stated.
        for (role, name, missing) in [
            (None, None, "--role, --name"),
            (Some(Role::Node), None, "--name"),
            (None, Some("edelenyi"), "--role"),
        ] {
            let err = sign(role, name, false).unwrap_err();
            assert!(matches!(err, PkiError::SubjectNotStated { .. }), "{err}");
            let m = err.to_string();
            assert!(m.contains(&format!("(missing: {missing})")), "{m}");
            assert!(
                m.contains("edelenyi.csr") && m.contains("--trust-csr"),
                "{m}"
            );
        }
        // Another role or name than stated is refused, naming both.
        let err = sign(Some(Role::Hub), Some("edelenyi"), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "refusing to sign {}: the request asks for urn:tudashalo:node:edelenyi, but the CA operator stated --role hub --name edelenyi",
                csr.csr.display()
            )
        );
        let err = sign(Some(Role::Node), Some("miskolci"), false).unwrap_err();
        assert!(matches!(err, PkiError::SubjectMismatch { .. }), "{err}");
        // --trust-csr still checks what is stated.
        let err = sign(None, Some("miskolci"), true).unwrap_err();
        assert!(matches!(err, PkiError::SubjectMismatch { .. }), "{err}");
        // A stated name is checked like an issued one.
        let err = sign(Some(Role::Node), Some("ca"), false).unwrap_err();
        assert!(matches!(err, PkiError::InvalidName { .. }), "{err}");
        assert!(!ca_dir.path().join("edelenyi.pem").exists());

        let signed = sign(Some(Role::Node), Some("edelenyi"), false).unwrap();
        assert_eq!(signed.cert, ca_dir.path().join("edelenyi.pem"));
        assert_eq!(
            signed.principal,
            Principal {
                role: Role::Node,
                name: "edelenyi".into()
            }
        );
        // Not twice without --force (with --trust-csr, from the request).
        let err = sign(None, None, true).unwrap_err();
        assert!(matches!(err, PkiError::FileExists { .. }), "{err}");

        let ca_der = pem_der(&ca_dir.path().join("ca.pem"));
        let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
        let der = pem_der(&signed.cert);
        let (_, leaf) = X509Certificate::from_der(&der).unwrap();
        leaf.verify_signature(Some(ca.public_key())).unwrap();
        assert_eq!(serial_hex(leaf.raw_serial()), signed.serial);
        assert_eq!(principal_of(&der).unwrap(), signed.principal);
        assert!(!leaf.basic_constraints().unwrap().unwrap().value.ca);
        let sans = &leaf
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names;
        assert!(sans.contains(&GeneralName::DNSName("edeleny.example.hu")));
        assert!(sans.contains(&GeneralName::IPAddress(&[10, 1, 2, 3])));

        // The certificate belongs to the key that stayed with the node.
        let key = KeyPair::from_pem(&fs::read_to_string(&csr.key).unwrap()).unwrap();
        assert_eq!(
            leaf.public_key().subject_public_key.data.as_ref(),
            key.public_key_raw()
        );
    }

    #[test]
    fn sign_refuses_requests_without_principal() {
        let ca_dir = tempfile::tempdir().unwrap();
        init_ca(ca_dir.path(), "Test CA", 365, false).unwrap();
        let key = KeyPair::generate().unwrap();
        let cases: [(&str, Vec<SanType>); 3] = [
            ("none", vec![SanType::DnsName("x.hu".try_into().unwrap())]),
            (
                "bad-role",
                vec![SanType::URI("urn:tudashalo:admin:x".try_into().unwrap())],
            ),
            (
                "email",
                vec![
                    SanType::URI("urn:tudashalo:node:x".try_into().unwrap()),
                    SanType::Rfc822Name("a@b.hu".try_into().unwrap()),
                ],
            ),
        ];
        for (label, sans) in cases {
            let mut params = CertificateParams::default();
            params.subject_alt_names = sans;
            let path = ca_dir.path().join(format!("{label}.csr"));
            fs::write(
                &path,
                params.serialize_request(&key).unwrap().pem().unwrap(),
            )
            .unwrap();
            let err = sign_csr(
                ca_dir.path(),
                &SignRequest {
                    csr: path,
                    role: None,
                    name: None,
                    trust_csr: true,
                    days: 30,
                    out: None,
                    force: false,
                },
            )
            .unwrap_err();
            assert!(matches!(err, PkiError::Csr { .. }), "{label}: {err}");
            assert!(err.to_string().contains(&format!("{label}.csr")), "{err}");
        }
        let garbage = ca_dir.path().join("garbage.csr");
        fs::write(&garbage, "not a csr").unwrap();
        let err = sign_csr(
            ca_dir.path(),
            &SignRequest {
                csr: garbage,
                role: None,
                name: None,
                trust_csr: true,
                days: 30,
                out: None,
                force: false,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("garbage.csr"), "{err}");
        // Nothing was written.
        assert!(!ca_dir.path().join("x.pem").exists());
    }
}
