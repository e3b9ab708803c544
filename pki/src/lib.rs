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
//!   chain) and private key ([`issue`]);
//! - `NAME.csr`: a certificate signing request made where the key lives
//!   ([`create_csr`]), which the CA turns into `NAME.pem` with [`sign_csr`];
//! - `revoked.json` / `crl.pem`: the revocation database and the CA-signed
//!   certificate revocation list that servers load ([`revoke`], [`write_crl`]).
//!
//! Keys are ECDSA P-256 in PKCS#8 PEM and are written with mode `0600` on unix.

use std::fmt;
use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertificateSigningRequestParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams, SanType,
    SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;

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

/// Errors of the PKI tooling. Messages name the file or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A filesystem operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being attempted ("read", "write", "create directory", ...).
        action: &'static str,
        /// The path at fault.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A private key already exists and `force` was not given.
    #[error("refusing to overwrite existing key {} (use --force to replace it)", path.display())]
    AlreadyExists {
        /// The existing key file.
        path: PathBuf,
    },
    /// A participant name is not a valid slug.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A `hosts` entry is neither an IP literal nor a valid DNS name.
    #[error("invalid host {host:?}: {reason}")]
    InvalidHost {
        /// The rejected host.
        host: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A validity period is out of range.
    #[error("invalid validity of {days} days: must be between 1 and {MAX_DAYS}")]
    InvalidDays {
        /// The rejected number of days.
        days: u32,
    },
    /// A private key file could not be parsed.
    #[error("cannot parse private key {}: {source}", path.display())]
    KeyParse {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: rcgen::Error,
    },
    /// A certificate file could not be parsed or is unusable.
    #[error("bad certificate {}: {reason}", path.display())]
    CertFile {
        /// The certificate file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA key does not belong to the CA certificate.
    #[error("CA key {} does not match CA certificate {}", key.display(), cert.display())]
    KeyMismatch {
        /// The CA certificate file.
        cert: PathBuf,
        /// The CA key file.
        key: PathBuf,
    },
    /// The requested leaf validity extends past the CA's own expiry.
    #[error(
        "certificate would outlive the CA {} (CA expires {ca_not_after}); use fewer --days or renew the CA",
        path.display()
    )]
    OutlivesCa {
        /// The CA certificate file.
        path: PathBuf,
        /// The CA's notAfter, human readable.
        ca_not_after: String,
    },
    /// rcgen failed to build or sign a certificate.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// The system random number generator failed.
    #[error("system random number generator failed")]
    Rng,
    /// `sign` was not told whom the certificate is for.
    #[error(
        "refusing to sign {}: state whom the certificate is for with --role ROLE and --name NAME (missing: {missing}); the CA does not take them from the request unless told to with --trust-csr",
        path.display()
    )]
    SubjectNotStated {
        /// The CSR file.
        path: PathBuf,
        /// The flags that were not given, e.g. `--role, --name`.
        missing: String,
    },
    /// The CSR asks for another principal than the CA operator stated.
    #[error(
        "refusing to sign {}: the request asks for {requested}, but the CA operator stated {stated}",
        path.display()
    )]
    SubjectMismatch {
        /// The CSR file.
        path: PathBuf,
        /// The principal in the request, `urn:tudashalo:ROLE:NAME`.
        requested: String,
        /// What was stated, e.g. `--role node --name edelenyi`.
        stated: String,
    },
    /// A certificate signing request is unusable.
    #[error("bad certificate signing request {}: {reason}", path.display())]
    Csr {
        /// The CSR file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An output file already exists and `force` was not given.
    #[error("refusing to overwrite existing {} (use --force to replace it)", path.display())]
    FileExists {
        /// The existing file.
        path: PathBuf,
    },
    /// `revoke` was given neither an issued name nor a hex serial.
    #[error("cannot revoke {target:?}: no certificate {} and not a hex serial number", path.display())]
    UnknownRevokeTarget {
        /// What was given.
        target: String,
        /// Where the certificate of that name would be.
        path: PathBuf,
    },
    /// The revocation database cannot be read or written.
    #[error("bad revocation database {}: {reason}", path.display())]
    RevocationDb {
        /// `DIR/revoked.json`.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A name, role, principal URI or certificate identity is invalid.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// Files written by [`init_ca`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPaths {
    /// `DIR/ca.pem`.
    pub cert: PathBuf,
    /// `DIR/ca.key`.
    pub key: PathBuf,
}

/// Files written by [`issue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedPaths {
    /// `DIR/NAME.pem` (the leaf certificate only).
    pub cert: PathBuf,
    /// `DIR/NAME.key`.
    pub key: PathBuf,
}

/// What to issue with [`issue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    /// Slug name: `[a-z0-9][a-z0-9_-]{0,62}`; also the file stem and the CN.
    pub name: String,
    /// The participant's role.
    pub role: Role,
    /// DNS names and IP literals for the SAN; empty means
    /// `localhost`, `127.0.0.1` and `::1`.
    pub hosts: Vec<String>,
    /// Validity in days, counted from now.
    pub days: u32,
    /// Replace an existing `NAME.key` / `NAME.pem`.
    pub force: bool,
}

/// Creates a new self-signed CA in `dir` (created if missing), writing
/// `dir/ca.pem` and `dir/ca.key`.
///
/// `name` becomes the CA's common name (e.g. `"Tudásháló CA"`). Refuses to
/// replace an existing `ca.key` unless `force` is set.
pub fn init_ca(dir: &Path, name: &str, days: u32, force: bool) -> Result<CaPaths, PkiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(PkiError::InvalidName {
            name: name.to_owned(),
            reason: "CA name must not be empty",
        });
    }
    if name.chars().any(char::is_control) {
        return Err(PkiError::InvalidName {
            name: name.to_owned(),
            reason: "CA name must not contain control characters",
        });
    }
    let (not_before, not_after) = validity(days)?;

    let paths = CaPaths {
        cert: dir.join(CA_CERT_FILE),
        key: dir.join(CA_KEY_FILE),
    };
    refuse_existing(&paths.key, force)?;

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    let cert = params.self_signed(&key)?;

    ensure_dir(dir)?;
    write_private(&paths.key, key.serialize_pem().as_bytes(), force)?;
    write_public(&paths.cert, cert.pem().as_bytes())?;
    Ok(paths)
}

/// Issues a leaf certificate for `req.name`, signed by the CA in `dir`,
/// writing `dir/NAME.pem` and `dir/NAME.key`.
///
/// The certificate has CN=NAME, O=Tudásháló, a `urn:tudashalo:ROLE:NAME` URI
/// SAN plus DNS/IP SANs from `req.hosts`, and both serverAuth and clientAuth
/// extended key usages. Refuses to replace an existing `NAME.key` unless
/// `req.force` is set, and refuses a validity that outlives the CA.
pub fn issue(dir: &Path, req: &IssueRequest) -> Result<IssuedPaths, PkiError> {
    let (not_before, not_after) = validity(req.days)?;
    issue_between(dir, req, not_before, not_after)
}

/// Like [`issue`], with an explicit validity period instead of `req.days`
/// (which is ignored). Meant for tests of expiry handling: it happily issues
/// certificates that are already expired or not yet valid.
pub fn issue_valid_between(
    dir: &Path,
    req: &IssueRequest,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<IssuedPaths, PkiError> {
    issue_between(dir, req, not_before.into(), not_after.into())
}

fn issue_between(
    dir: &Path,
    req: &IssueRequest,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<IssuedPaths, PkiError> {
    validate_name(&req.name)?;
    refuse_reserved(&req.name)?;
    let sans = subject_alt_names(req.role, &req.name, &req.hosts)?;

    let paths = IssuedPaths {
        cert: dir.join(format!("{}.pem", req.name)),
        key: dir.join(format!("{}.key", req.name)),
    };
    refuse_existing(&paths.key, req.force)?;

    let issuer = load_issuer(
        &dir.join(CA_CERT_FILE),
        &dir.join(CA_KEY_FILE),
        Some(not_after),
    )?;

    let key = KeyPair::generate()?;
    let params = leaf_params(&req.name, sans, not_before, not_after)?;
    let cert = params.signed_by(&key, &issuer)?;

    write_private(&paths.key, key.serialize_pem().as_bytes(), req.force)?;
    write_public(&paths.cert, cert.pem().as_bytes())?;
    Ok(paths)
}

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

/// Why a certificate is revoked (RFC 5280 reason codes that make sense here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevokeReason {
    /// No particular reason given.
    Unspecified,
    /// The private key was (or may have been) disclosed.
    KeyCompromise,
    /// The holder's name or role changed.
    AffiliationChanged,
    /// Replaced by a new certificate.
    Superseded,
    /// The participant left the federation.
    CessationOfOperation,
    /// The participant may no longer take part.
    PrivilegeWithdrawn,
}

impl RevokeReason {
    /// All reasons, in declaration order.
    pub const ALL: [RevokeReason; 6] = [
        RevokeReason::Unspecified,
        RevokeReason::KeyCompromise,
        RevokeReason::AffiliationChanged,
        RevokeReason::Superseded,
        RevokeReason::CessationOfOperation,
        RevokeReason::PrivilegeWithdrawn,
    ];

    /// The kebab-case name used on the command line and in `revoked.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Unspecified => "unspecified",
            RevokeReason::KeyCompromise => "key-compromise",
            RevokeReason::AffiliationChanged => "affiliation-changed",
            RevokeReason::Superseded => "superseded",
            RevokeReason::CessationOfOperation => "cessation-of-operation",
            RevokeReason::PrivilegeWithdrawn => "privilege-withdrawn",
        }
    }

    fn rcgen(self) -> RevocationReason {
        match self {
            RevokeReason::Unspecified => RevocationReason::Unspecified,
            RevokeReason::KeyCompromise => RevocationReason::KeyCompromise,
            RevokeReason::AffiliationChanged => RevocationReason::AffiliationChanged,
            RevokeReason::Superseded => RevocationReason::Superseded,
            RevokeReason::CessationOfOperation => RevocationReason::CessationOfOperation,
            RevokeReason::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
        }
    }
}

impl fmt::Display for RevokeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RevokeReason {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RevokeReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown revocation reason {s:?}"))
    }
}

/// One revoked certificate, as recorded in `revoked.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Serial number, lowercase hex without separators or leading zero bytes.
    pub serial: String,
    /// The principal, when known (revoked by name, or read from the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// When the CA processed the revocation.
    #[serde(with = "time::serde::rfc3339")]
    pub revoked_at: OffsetDateTime,
    /// Why.
    pub reason: RevokeReason,
}

impl Revocation {
    /// [`Revocation::revoked_at`] in RFC 3339 form, as in `revoked.json`.
    pub fn revoked_at_rfc3339(&self) -> String {
        self.revoked_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| self.revoked_at.to_string())
    }
}

/// The CA's revocation database, `DIR/revoked.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationDb {
    /// Number of the last CRL written (each CRL gets the next number).
    pub crl_number: u64,
    /// Every revoked certificate, oldest first.
    pub revoked: Vec<Revocation>,
}

/// What [`revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The revocation record (the earlier one if it was already revoked).
    pub revocation: Revocation,
    /// `false` if the serial was already on the list (the CRL is re-issued anyway).
    pub newly_revoked: bool,
    /// The CRL written.
    pub crl: PathBuf,
    /// Its CRL number.
    pub crl_number: u64,
}

/// Revokes a certificate issued by the CA in `dir`, recording it in
/// `dir/revoked.json` and re-issuing `dir/crl.pem`.
///
/// `target` is either a participant NAME (its serial is read from
/// `dir/NAME.pem`, which must have been issued by this CA) or a serial number
/// in hex (colons allowed). Revoking a serial twice keeps the first record.
pub fn revoke(dir: &Path, target: &str, reason: RevokeReason) -> Result<Revoked, PkiError> {
    let target = target.trim();
    let by_name = dir.join(format!("{target}.pem"));
    let (serial, principal) = if validate_name(target).is_ok() && by_name.is_file() {
        if target == "ca" {
            return Err(PkiError::InvalidName {
                name: target.to_owned(),
                reason: "the CA cannot revoke itself; create a new CA with `pki init --force`",
            });
        }
        let (serial, principal) = serial_of_issued(dir, &by_name)?;
        (serial, principal.map(|p| p.to_string()))
    } else if let Some(serial) = parse_serial(target) {
        (serial, None)
    } else {
        return Err(PkiError::UnknownRevokeTarget {
            target: target.to_owned(),
            path: by_name,
        });
    };

    let db_path = dir.join(REVOKED_FILE);
    let mut db = read_revocation_db(&db_path)?;
    let existing = db.revoked.iter().find(|r| r.serial == serial).cloned();
    let newly_revoked = existing.is_none();
    let revocation = match existing {
        Some(r) => r,
        None => {
            let r = Revocation {
                serial,
                principal,
                revoked_at: OffsetDateTime::now_utc(),
                reason,
            };
            db.revoked.push(r.clone());
            r
        }
    };
    let (crl, crl_number) = write_crl_from(dir, &db_path, &mut db)?;
    Ok(Revoked {
        revocation,
        newly_revoked,
        crl,
        crl_number,
    })
}

/// Re-issues `dir/crl.pem` from `dir/revoked.json` (an empty CRL if nothing
/// was revoked), with a fresh next-update time of [`CRL_VALIDITY_DAYS`] days.
/// Returns the CRL file and its number.
pub fn write_crl(dir: &Path) -> Result<(PathBuf, u64), PkiError> {
    let db_path = dir.join(REVOKED_FILE);
    let mut db = read_revocation_db(&db_path)?;
    write_crl_from(dir, &db_path, &mut db)
}

/// Reads `dir/revoked.json`; a missing file is an empty database.
pub fn read_revocations(dir: &Path) -> Result<RevocationDb, PkiError> {
    read_revocation_db(&dir.join(REVOKED_FILE))
}

fn read_revocation_db(path: &Path) -> Result<RevocationDb, PkiError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RevocationDb::default()),
        Err(source) => {
            return Err(PkiError::Io {
                action: "read",
                path: path.to_owned(),
                source,
            });
        }
    };
    serde_json::from_str(&text).map_err(|e| PkiError::RevocationDb {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn write_crl_from(
    dir: &Path,
    db_path: &Path,
    db: &mut RevocationDb,
) -> Result<(PathBuf, u64), PkiError> {
    let issuer = load_issuer(&dir.join(CA_CERT_FILE), &dir.join(CA_KEY_FILE), None)?;
    let crl_number = db.crl_number + 1;
    let now = OffsetDateTime::now_utc();
    let mut revoked_certs = Vec::with_capacity(db.revoked.len());
    for r in &db.revoked {
        let bytes = parse_serial(&r.serial)
            .and_then(|s| hex_bytes(&s))
            .ok_or_else(|| PkiError::RevocationDb {
                path: db_path.to_owned(),
                reason: format!("bad serial {:?}", r.serial),
            })?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&bytes),
            revocation_time: r.revoked_at,
            reason_code: Some(r.reason.rcgen()),
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: now - Duration::minutes(1),
        next_update: now + Duration::days(CRL_VALIDITY_DAYS),
        crl_number: SerialNumber::from(crl_number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer)?;

    db.crl_number = crl_number;
    let json = serde_json::to_string_pretty(db).map_err(|e| PkiError::RevocationDb {
        path: db_path.to_owned(),
        reason: e.to_string(),
    })?;
    // The database first: a CRL never lists less than the database says.
    write_atomically(db_path, format!("{json}\n").as_bytes())?;
    let crl_path = dir.join(CRL_FILE);
    write_atomically(&crl_path, crl.pem()?.as_bytes())?;
    Ok((crl_path, crl_number))
}

/// The serial (hex) and principal of `cert_path`, checking that the CA in
/// `dir` issued it.
fn serial_of_issued(dir: &Path, cert_path: &Path) -> Result<(String, Option<Principal>), PkiError> {
    let ca_path = dir.join(CA_CERT_FILE);
    let ca_pem = read_to_string(&ca_path)?;
    let ca_der = first_certificate(&ca_path, ca_pem.as_bytes())?;
    let (_, ca) = X509Certificate::from_der(&ca_der).map_err(|e| PkiError::CertFile {
        path: ca_path.clone(),
        reason: format!("invalid X.509: {e}"),
    })?;
    let pem = read_to_string(cert_path)?;
    let der = first_certificate(cert_path, pem.as_bytes())?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|e| PkiError::CertFile {
        path: cert_path.to_owned(),
        reason: format!("invalid X.509: {e}"),
    })?;
    if cert.verify_signature(Some(ca.public_key())).is_err() {
        return Err(PkiError::CertFile {
            path: cert_path.to_owned(),
            reason: format!("not issued by the CA {}", ca_path.display()),
        });
    }
    Ok((serial_hex(cert.raw_serial()), principal_of(&der).ok()))
}

fn first_certificate(path: &Path, pem: &[u8]) -> Result<Vec<u8>, PkiError> {
    let bad = |reason: String| PkiError::CertFile {
        path: path.to_owned(),
        reason,
    };
    for block in Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| bad(format!("invalid PEM: {e}")))?;
        if block.label == "CERTIFICATE" {
            return Ok(block.contents);
        }
    }
    Err(bad("no CERTIFICATE block".to_owned()))
}

/// Lowercase hex of a serial's bytes, without leading zero bytes.
pub fn serial_hex(bytes: &[u8]) -> String {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let trimmed = &bytes[start..];
    if trimmed.is_empty() {
        return "00".to_owned();
    }
    trimmed.iter().map(|b| format!("{b:02x}")).collect()
}

/// Normalises a hex serial (`0x` prefix and `:` separators allowed) to the
/// [`serial_hex`] form; `None` if it is not hex.
fn parse_serial(s: &str) -> Option<String> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let digits: String = s.chars().filter(|&c| c != ':').collect();
    if digits.is_empty() || digits.len() > 40 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let padded = if !digits.len().is_multiple_of(2) {
        format!("0{digits}")
    } else {
        digits
    };
    Some(serial_hex(&hex_bytes(&padded)?))
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

fn refuse_reserved(name: &str) -> Result<(), PkiError> {
    if name == "ca" {
        return Err(PkiError::InvalidName {
            name: name.to_owned(),
            reason: "\"ca\" is reserved for the CA's own files",
        });
    }
    Ok(())
}

/// The CA-controlled parameters of every leaf certificate.
fn leaf_params(
    name: &str,
    sans: Vec<SanType>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(name);
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

/// Writes `path` through a temporary file in the same directory and a
/// rename, so that a reader (e.g. a server reloading its CRL) never sees a
/// half-written file.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let io_err = |action, path: &Path| {
        let path = path.to_owned();
        move |source| PkiError::Io {
            action,
            path,
            source,
        }
    };
    let mut file = fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
    file.write_all(contents).map_err(io_err("write", &tmp))?;
    file.sync_all().map_err(io_err("sync", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err("rename into place", path))
}

fn subject(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn
}

/// `(now - 1 minute, now + days)`, rejecting out-of-range `days`.
fn validity(days: u32) -> Result<(OffsetDateTime, OffsetDateTime), PkiError> {
    if days == 0 || days > MAX_DAYS {
        return Err(PkiError::InvalidDays { days });
    }
    let now = OffsetDateTime::now_utc();
    Ok((
        now - Duration::minutes(1),
        now + Duration::days(i64::from(days)),
    ))
}

/// 16 random bytes, positive and with the top byte non-zero.
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Rng)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn subject_alt_names(role: Role, name: &str, hosts: &[String]) -> Result<Vec<SanType>, PkiError> {
    let uri = Principal {
        role,
        name: name.to_owned(),
    }
    .uri();
    let mut sans = vec![SanType::URI(uri.try_into()?)];
    if hosts.is_empty() {
        sans.push(SanType::DnsName("localhost".try_into()?));
        sans.push(SanType::IpAddress(IpAddr::from([127, 0, 0, 1])));
        sans.push(SanType::IpAddress(IpAddr::from([
            0u16, 0, 0, 0, 0, 0, 0, 1,
        ])));
        return Ok(sans);
    }
    for host in hosts {
        let san = host_san(host)?;
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    Ok(sans)
}

/// An IP literal (optionally `[bracketed]` IPv6) becomes an IP SAN, anything
/// else must be a DNS name (optionally with a leading `*.` wildcard label).
fn host_san(host: &str) -> Result<SanType, PkiError> {
    let err = |reason| PkiError::InvalidHost {
        host: host.to_owned(),
        reason,
    };
    let h = host.trim();
    let unbracketed = h
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(h);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    if h.is_empty() {
        return Err(err("empty host"));
    }
    let dns = h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase();
    if dns.len() > 253 {
        return Err(err("DNS name longer than 253 characters"));
    }
    let labels = dns.strip_prefix("*.").unwrap_or(&dns);
    for label in labels.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(err("DNS labels must be 1 to 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(err(
                "not an IP address, and DNS names may contain only ASCII letters, digits, '-' and '.' (use punycode for accented names)",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(err("DNS labels must not start or end with '-'"));
        }
    }
    Ok(SanType::DnsName(dns.try_into()?))
}

/// Loads the CA certificate and key, checks that they belong together, that
/// the certificate is a usable CA, and that it is valid until `leaf_not_after`
/// (if given).
fn load_issuer(
    cert_path: &Path,
    key_path: &Path,
    leaf_not_after: Option<OffsetDateTime>,
) -> Result<Issuer<'static, KeyPair>, PkiError> {
    let cert_pem = read_to_string(cert_path)?;
    let key_pem = read_to_string(key_path)?;
    let key = KeyPair::from_pem(&key_pem).map_err(|source| PkiError::KeyParse {
        path: key_path.to_owned(),
        source,
    })?;

    let bad_cert = |reason: String| PkiError::CertFile {
        path: cert_path.to_owned(),
        reason,
    };
    let block = Pem::iter_from_buffer(cert_pem.as_bytes())
        .find_map(|b| match b {
            Ok(b) if b.label == "CERTIFICATE" => Some(Ok(b)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .ok_or_else(|| bad_cert("no CERTIFICATE block".to_owned()))?
        .map_err(|e| bad_cert(format!("invalid PEM: {e}")))?;
    let x509 = block
        .parse_x509()
        .map_err(|e| bad_cert(format!("invalid X.509: {e}")))?;

    match x509.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {}
        Ok(_) => return Err(bad_cert("not a CA certificate".to_owned())),
        Err(e) => return Err(bad_cert(format!("bad basicConstraints: {e}"))),
    }
    if x509.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err(PkiError::KeyMismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
        });
    }
    if !x509.validity().is_valid() {
        return Err(bad_cert(format!(
            "not currently valid (valid {} to {})",
            x509.validity().not_before,
            x509.validity().not_after
        )));
    }
    if let Some(leaf_not_after) = leaf_not_after
        && x509.validity().not_after.timestamp() < leaf_not_after.unix_timestamp()
    {
        return Err(PkiError::OutlivesCa {
            path: cert_path.to_owned(),
            ca_not_after: x509.validity().not_after.to_string(),
        });
    }
    // rcgen rebuilds the issuer name from the certificate and panics on an
    // empty RDN; reject anything it cannot represent up front.
    if x509.subject().iter().any(|rdn| rdn.iter().count() != 1) {
        return Err(bad_cert(
            "subject has a multi-valued or empty RDN".to_owned(),
        ));
    }

    Issuer::from_ca_cert_der(&block.contents.as_slice().into(), key)
        .map_err(|e| bad_cert(format!("cannot use as issuer: {e}")))
}

fn read_to_string(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })
}

fn refuse_existing(key_path: &Path, force: bool) -> Result<(), PkiError> {
    match fs::symlink_metadata(key_path) {
        Ok(_) if !force => Err(PkiError::AlreadyExists {
            path: key_path.to_owned(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(PkiError::Io {
            action: "inspect",
            path: key_path.to_owned(),
            source,
        }),
    }
}

fn ensure_dir(dir: &Path) -> Result<(), PkiError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| PkiError::Io {
        action: "create directory",
        path: dir.to_owned(),
        source,
    })
}

/// Writes a private key with mode 0600; without `force` the file must not exist.
fn write_private(path: &Path, contents: &[u8], force: bool) -> Result<(), PkiError> {
    let io_err = |action| {
        move |source| PkiError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let mut opts = fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            PkiError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            io_err("create")(e)
        }
    })?;
    // `mode` only applies to newly created files; tighten a replaced one too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_err("set permissions on"))?;
    }
    file.write_all(contents).map_err(io_err("write"))?;
    file.sync_all().map_err(io_err("sync"))
}

fn write_public(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    fs::write(path, contents).map_err(|source| PkiError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use x509_parser::certificate::X509Certificate;
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    use x509_parser::oid_registry::OID_X509_EXT_EXTENDED_KEY_USAGE;
    use x509_parser::prelude::FromDer;

    fn req(name: &str, role: Role) -> IssueRequest {
        IssueRequest {
            name: name.to_owned(),
            role,
            hosts: Vec::new(),
            days: 30,
            force: false,
        }
    }

    fn pem_der(path: &Path) -> Vec<u8> {
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
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn role_round_trips() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!(matches!(
            "admin".parse::<Role>(),
            Err(IdentityError::UnknownRole(_))
        ));
        assert!("Node".parse::<Role>().is_err());
    }

    #[test]
    fn init_and_issue_write_verifiable_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pki");
        let ca = init_ca(&dir, "Tudásháló CA", 3650, false).unwrap();
        assert_eq!(ca.cert, dir.join("ca.pem"));
        assert_eq!(ca.key, dir.join("ca.key"));

        let mut request = req("edelenyi", Role::Node);
        request.hosts = vec![
            "edeleny.example.hu".into(),
            "10.1.2.3".into(),
            "[::1]".into(),
        ];
        let leaf = issue(&dir, &request).unwrap();
        assert_eq!(leaf.cert, dir.join("edelenyi.pem"));
        assert_eq!(leaf.key, dir.join("edelenyi.key"));
        assert!(
            fs::read_to_string(&leaf.key)
                .unwrap()
                .contains("PRIVATE KEY")
        );

        #[cfg(unix)]
        {
            assert_eq!(mode(&ca.key), 0o600);
            assert_eq!(mode(&leaf.key), 0o600);
        }

        let ca_der = pem_der(&ca.cert);
        let (_, ca_x509) = X509Certificate::from_der(&ca_der).unwrap();
        let bc = ca_x509.basic_constraints().unwrap().unwrap().value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let ku = ca_x509.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && ku.digital_signature());
        ca_x509.verify_signature(None).unwrap();

        let leaf_der = pem_der(&leaf.cert);
        let (_, leaf_x509) = X509Certificate::from_der(&leaf_der).unwrap();
        assert_eq!(leaf_x509.issuer().as_raw(), ca_x509.subject().as_raw());
        leaf_x509
            .verify_signature(Some(ca_x509.public_key()))
            .unwrap();
        // And not by some other key.
        assert!(leaf_x509.verify_signature(None).is_err());

        let cn: Vec<_> = leaf_x509
            .subject()
            .iter_common_name()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(cn, ["edelenyi"]);
        let o: Vec<_> = leaf_x509
            .subject()
            .iter_organization()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(o, [ORGANIZATION]);
        assert!(!leaf_x509.basic_constraints().unwrap().unwrap().value.ca);
        assert_ne!(leaf_x509.raw_serial(), ca_x509.raw_serial());
        assert_eq!(leaf_x509.raw_serial().len(), 16);

        let eku = leaf_x509
            .get_extension_unique(&OID_X509_EXT_EXTENDED_KEY_USAGE)
            .unwrap()
            .unwrap();
        let ParsedExtension::ExtendedKeyUsage(eku) = eku.parsed_extension() else {
            panic!("EKU not parsed");
        };
        assert!(eku.server_auth && eku.client_auth);

        let sans = &leaf_x509
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names;
        assert!(sans.contains(&GeneralName::URI("urn:tudashalo:node:edelenyi")));
        assert!(sans.contains(&GeneralName::DNSName("edeleny.example.hu")));
        assert!(sans.contains(&GeneralName::IPAddress(&[10, 1, 2, 3])));
        let mut v6_loopback = [0u8; 16];
        v6_loopback[15] = 1;
        assert!(sans.contains(&GeneralName::IPAddress(&v6_loopback)));
        assert!(!sans.contains(&GeneralName::DNSName("localhost")));

        let validity = leaf_x509.validity();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        assert!(validity.not_before.timestamp() <= now - 50);
        let days = (validity.not_after.timestamp() - now) as f64 / 86_400.0;
        assert!((days - 30.0).abs() < 0.01, "{days}");
    }

    #[test]
    fn default_hosts_are_loopback() {
        let tmp = tempfile::tempdir().unwrap();
        init_ca(tmp.path(), "Test CA", 365, false).unwrap();
        let leaf = issue(tmp.path(), &req("hub1", Role::Hub)).unwrap();
        let der = pem_der(&leaf.cert);
        let (_, x509) = X509Certificate::from_der(&der).unwrap();
        let sans = &x509
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names;
        assert!(sans.contains(&GeneralName::DNSName("localhost")));
        assert!(sans.contains(&GeneralName::IPAddress(&[127, 0, 0, 1])));
        assert_eq!(sans.len(), 4);
    }

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

    #[test]
    fn bad_names_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        init_ca(tmp.path(), "Test CA", 365, false).unwrap();
        let long = "a".repeat(64);
        for name in [
            "",
            "Edelenyi",
            "-x",
            "_x",
            "a.b",
            "../etc",
            "a b",
            "ede/lenyi",
            "ö",
            long.as_str(),
            "ca",
        ] {
            let err = issue(tmp.path(), &req(name, Role::Node)).unwrap_err();
            assert!(
                matches!(
                    err,
                    PkiError::InvalidName { .. }
                        | PkiError::Identity(IdentityError::InvalidName { .. })
                ),
                "{name:?}: {err}"
            );
        }
        assert!(issue(tmp.path(), &req(&"a".repeat(63), Role::Node)).is_ok());
        assert!(issue(tmp.path(), &req("0-a_b", Role::Node)).is_ok());
    }

    #[test]
    fn bad_hosts_and_days_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        init_ca(tmp.path(), "Test CA", 365, false).unwrap();
        for host in ["", "a..b", "-a.hu", "edelény.hu", "a b"] {
            let mut r = req("x", Role::Node);
            r.hosts = vec![host.to_owned()];
            let err = issue(tmp.path(), &r).unwrap_err();
            assert!(
                matches!(err, PkiError::InvalidHost { .. }),
                "{host:?}: {err}"
            );
        }
        let mut r = req("x", Role::Node);
        r.days = 0;
        assert!(matches!(
            issue(tmp.path(), &r),
            Err(PkiError::InvalidDays { days: 0 })
        ));
        r.days = 400;
        assert!(matches!(
            issue(tmp.path(), &r),
            Err(PkiError::OutlivesCa { .. })
        ));
        assert!(!tmp.path().join("x.key").exists());
    }

    #[test]
    fn overwrite_refused_without_force() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        init_ca(dir, "Test CA", 365, false).unwrap();
        let ca_key = fs::read(dir.join("ca.key")).unwrap();
        let err = init_ca(dir, "Test CA", 365, false).unwrap_err();
        assert!(matches!(err, PkiError::AlreadyExists { .. }));
        assert!(err.to_string().contains("ca.key"), "{err}");
        assert_eq!(fs::read(dir.join("ca.key")).unwrap(), ca_key);

        let first = issue(dir, &req("edelenyi", Role::Node)).unwrap();
        let key = fs::read(&first.key).unwrap();
        let err = issue(dir, &req("edelenyi", Role::Node)).unwrap_err();
        assert!(matches!(err, PkiError::AlreadyExists { .. }));
        assert!(err.to_string().contains("edelenyi.key"), "{err}");
        assert_eq!(fs::read(&first.key).unwrap(), key);

        let mut forced = req("edelenyi", Role::Operator);
        forced.force = true;
        issue(dir, &forced).unwrap();
        assert_ne!(fs::read(&first.key).unwrap(), key);
        let p = principal_of_pem(&fs::read(&first.cert).unwrap()).unwrap();
        assert_eq!(p.role, Role::Operator);

        // A forced CA re-init replaces the key.
        init_ca(dir, "Test CA", 365, true).unwrap();
        assert_ne!(fs::read(dir.join("ca.key")).unwrap(), ca_key);
    }

    #[test]
    fn missing_or_mismatched_ca_reported_with_path() {
        let tmp = tempfile::tempdir().unwrap();
        let err = issue(tmp.path(), &req("x", Role::Node)).unwrap_err();
        assert!(err.to_string().contains("ca.pem"), "{err}");

        let other = tempfile::tempdir().unwrap();
        init_ca(tmp.path(), "A", 365, false).unwrap();
        init_ca(other.path(), "B", 365, false).unwrap();
        fs::copy(other.path().join("ca.key"), tmp.path().join("ca.key")).unwrap();
        let err = issue(tmp.path(), &req("x", Role::Node)).unwrap_err();
        assert!(matches!(err, PkiError::KeyMismatch { .. }), "{err}");

        fs::write(tmp.path().join("ca.key"), "not a key").unwrap();
        let err = issue(tmp.path(), &req("x", Role::Node)).unwrap_err();
        assert!(matches!(err, PkiError::KeyParse { .. }), "{err}");
        assert!(err.to_string().contains("ca.key"), "{err}");

        // A leaf is not a CA.
        issue(other.path(), &req("leaf", Role::Node)).unwrap();
        fs::copy(other.path().join("leaf.pem"), other.path().join("ca.pem")).unwrap();
        fs::copy(other.path().join("leaf.key"), other.path().join("ca.key")).unwrap();
        let err = issue(other.path(), &req("y", Role::Node)).unwrap_err();
        assert!(matches!(err, PkiError::CertFile { .. }), "{err}");
    }

    fn x509_of(path: &Path) -> Vec<u8> {
        pem_der(path)
    }

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

        let ca_der = x509_of(&ca_dir.path().join("ca.pem"));
        let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
        let der = x509_of(&signed.cert);
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

    fn crl_serials(dir: &Path) -> (Vec<String>, u64) {
        let pem = fs::read(dir.join(CRL_FILE)).unwrap();
        let block = Pem::iter_from_buffer(&pem).next().unwrap().unwrap();
        assert_eq!(block.label, "X509 CRL");
        let (_, crl) = x509_parser::parse_x509_crl(&block.contents).unwrap();
        let ca_der = x509_of(&dir.join("ca.pem"));
        let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
        crl.verify_signature(ca.public_key()).unwrap();
        assert!(
            crl.next_update().unwrap().timestamp() > OffsetDateTime::now_utc().unix_timestamp()
        );
        let number: u64 = crl.crl_number().unwrap().to_string().parse().unwrap();
        let serials = crl
            .iter_revoked_certificates()
            .map(|r| serial_hex(r.raw_serial()))
            .collect();
        (serials, number)
    }

    #[test]
    fn revoke_by_name_and_serial_writes_crl() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        init_ca(dir, "Test CA", 365, false).unwrap();
        let a = issue(dir, &req("edelenyi", Role::Node)).unwrap();
        let b = issue(dir, &req("hub1", Role::Hub)).unwrap();
        let serial_of = |p: &Path| {
            let der = x509_of(p);
            serial_hex(X509Certificate::from_der(&der).unwrap().1.raw_serial())
        };
        let (sa, sb) = (serial_of(&a.cert), serial_of(&b.cert));

        let done = revoke(dir, "edelenyi", RevokeReason::KeyCompromise).unwrap();
        assert!(done.newly_revoked);
        assert_eq!(done.revocation.serial, sa);
        assert_eq!(done.revocation.principal.as_deref(), Some("node:edelenyi"));
        assert_eq!(done.crl, dir.join("crl.pem"));
        assert_eq!(crl_serials(dir), (vec![sa.clone()], 1));

        // By serial, with colons and upper case.
        let colons: String = sb
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(":");
        let done = revoke(dir, &colons, RevokeReason::Superseded).unwrap();
        assert!(done.newly_revoked);
        assert_eq!(done.revocation.principal, None);
        assert_eq!(crl_serials(dir), (vec![sa.clone(), sb.clone()], 2));

        // Twice: the first record stays, the CRL is re-issued.
        let done = revoke(dir, "edelenyi", RevokeReason::Unspecified).unwrap();
        assert!(!done.newly_revoked);
        assert_eq!(done.revocation.reason, RevokeReason::KeyCompromise);
        assert_eq!(crl_serials(dir).1, 3);

        let db = read_revocations(dir).unwrap();
        assert_eq!(db.crl_number, 3);
        assert_eq!(db.revoked.len(), 2);
        let json = fs::read_to_string(dir.join(REVOKED_FILE)).unwrap();
        assert!(json.contains("\"key-compromise\""), "{json}");

        let (_, n) = write_crl(dir).unwrap();
        assert_eq!(n, 4);

        // Unknown names, the CA itself and foreign certificates are refused.
        let err = revoke(dir, "nobody-here", RevokeReason::Unspecified).unwrap_err();
        assert!(matches!(err, PkiError::UnknownRevokeTarget { .. }), "{err}");
        assert!(err.to_string().contains("nobody-here.pem"), "{err}");
        assert!(revoke(dir, "ca", RevokeReason::Unspecified).is_err());
        let other = tempfile::tempdir().unwrap();
        init_ca(other.path(), "Other CA", 365, false).unwrap();
        let foreign = issue(other.path(), &req("stranger", Role::Node)).unwrap();
        fs::copy(&foreign.cert, dir.join("stranger.pem")).unwrap();
        let err = revoke(dir, "stranger", RevokeReason::Unspecified).unwrap_err();
        assert!(matches!(err, PkiError::CertFile { .. }), "{err}");

        // A corrupt database is reported with its path and left alone.
        fs::write(dir.join(REVOKED_FILE), "{").unwrap();
        let err = revoke(dir, "hub1", RevokeReason::Unspecified).unwrap_err();
        assert!(err.to_string().contains("revoked.json"), "{err}");
        assert_eq!(fs::read_to_string(dir.join(REVOKED_FILE)).unwrap(), "{");
    }

    #[test]
    fn issue_valid_between_allows_expired_certificates() {
        let tmp = tempfile::tempdir().unwrap();
        init_ca(tmp.path(), "Test CA", 365, false).unwrap();
        let now = SystemTime::now();
        let day = std::time::Duration::from_secs(86_400);
        let leaf = issue_valid_between(
            tmp.path(),
            &req("old", Role::Node),
            now - 3 * day,
            now - day,
        )
        .unwrap();
        let der = x509_of(&leaf.cert);
        let (_, x509) = X509Certificate::from_der(&der).unwrap();
        assert!(!x509.validity().is_valid());
    }
}
