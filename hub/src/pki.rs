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
//!   chain) and private key.
//!
//! Keys are ECDSA P-256 in PKCS#8 PEM and are written with mode `0600` on unix.

use std::fmt;
use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;

/// Organisation (`O=`) written into every subject name.
pub const ORGANIZATION: &str = "Tudásháló";
/// Prefix of the URI SAN that identifies a participant: `urn:tudashalo:ROLE:NAME`.
pub const URN_PREFIX: &str = "urn:tudashalo:";
/// File name of the CA certificate inside a PKI directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key inside a PKI directory.
pub const CA_KEY_FILE: &str = "ca.key";
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
    /// Certificate bytes (from a peer or a buffer) could not be parsed.
    #[error("cannot parse certificate: {0}")]
    CertParse(String),
    /// The certificate carries no `urn:tudashalo:ROLE:NAME` URI SAN.
    #[error("certificate has no {URN_PREFIX}ROLE:NAME URI subject alternative name")]
    NoPrincipal,
    /// The certificate carries more than one Tudásháló URI SAN.
    #[error("certificate has more than one {URN_PREFIX}ROLE:NAME URI subject alternative name")]
    AmbiguousPrincipal,
    /// A Tudásháló URI SAN is malformed.
    #[error("malformed principal URI {uri:?}: {reason}")]
    BadPrincipal {
        /// The offending URI.
        uri: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An unknown role string.
    #[error("unknown role {0:?} (expected node, hub, national or operator)")]
    UnknownRole(String),
}

/// The kind of federation participant a certificate was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A kistérség (sub-region) data node.
    Node,
    /// A regional hub.
    Hub,
    /// The national hub.
    National,
    /// A human operator or script (client-only in practice).
    Operator,
}

impl Role {
    /// All roles, in declaration order.
    pub const ALL: [Role; 4] = [Role::Node, Role::Hub, Role::National, Role::Operator];

    /// The lowercase name used in URIs, CLI flags and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Hub => "hub",
            Role::National => "national",
            Role::Operator => "operator",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| PkiError::UnknownRole(s.to_owned()))
    }
}

/// The identity a certificate was issued to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The participant's role.
    pub role: Role,
    /// The participant's slug name.
    pub name: String,
}

impl Principal {
    /// The URI SAN form, `urn:tudashalo:ROLE:NAME`.
    pub fn uri(&self) -> String {
        format!("{URN_PREFIX}{}:{}", self.role, self.name)
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.role, self.name)
    }
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
    validate_name(&req.name)?;
    let (not_before, not_after) = validity(req.days)?;
    let sans = subject_alt_names(req)?;

    let paths = IssuedPaths {
        cert: dir.join(format!("{}.pem", req.name)),
        key: dir.join(format!("{}.key", req.name)),
    };
    let ca_cert_path = dir.join(CA_CERT_FILE);
    let ca_key_path = dir.join(CA_KEY_FILE);
    if paths.key == ca_key_path {
        return Err(PkiError::InvalidName {
            name: req.name.clone(),
            reason: "\"ca\" is reserved for the CA's own files",
        });
    }
    refuse_existing(&paths.key, req.force)?;

    let issuer = load_issuer(&ca_cert_path, &ca_key_path, not_after)?;

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(&req.name);
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
    let cert = params.signed_by(&key, &issuer)?;

    write_private(&paths.key, key.serialize_pem().as_bytes(), req.force)?;
    write_public(&paths.cert, cert.pem().as_bytes())?;
    Ok(paths)
}

/// Extracts the [`Principal`] from a DER-encoded certificate's
/// `urn:tudashalo:ROLE:NAME` URI SAN.
///
/// This does **not** verify the certificate; call it on a peer certificate that
/// the TLS layer has already validated against the federation CA.
pub fn principal_of(cert_der: &[u8]) -> Result<Principal, PkiError> {
    let (rest, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| PkiError::CertParse(format!("invalid DER X.509: {e}")))?;
    if !rest.is_empty() {
        return Err(PkiError::CertParse(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        )));
    }
    let san = cert
        .subject_alternative_name()
        .map_err(|e| PkiError::CertParse(format!("bad subjectAltName extension: {e}")))?
        .ok_or(PkiError::NoPrincipal)?;

    let mut found: Option<Principal> = None;
    for gn in &san.value.general_names {
        let GeneralName::URI(uri) = gn else { continue };
        let Some(rest) = uri.strip_prefix(URN_PREFIX) else {
            continue;
        };
        let principal = parse_principal(uri, rest)?;
        if found.is_some() {
            return Err(PkiError::AmbiguousPrincipal);
        }
        found = Some(principal);
    }
    found.ok_or(PkiError::NoPrincipal)
}

/// Like [`principal_of`], for the first `CERTIFICATE` block of a PEM buffer.
pub fn principal_of_pem(pem: &[u8]) -> Result<Principal, PkiError> {
    for block in Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| PkiError::CertParse(format!("invalid PEM: {e}")))?;
        if block.label == "CERTIFICATE" {
            return principal_of(&block.contents);
        }
    }
    Err(PkiError::CertParse(
        "no CERTIFICATE block in PEM".to_owned(),
    ))
}

/// Checks that `name` is a slug: `[a-z0-9][a-z0-9_-]{0,62}`.
pub fn validate_name(name: &str) -> Result<(), PkiError> {
    let err = |reason| {
        Err(PkiError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return err("must not be empty");
    };
    if name.len() > 63 {
        return err("must be at most 63 characters");
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return err("must start with a lowercase ASCII letter or digit");
    }
    if !bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-') {
        return err("may contain only lowercase ASCII letters, digits, '_' and '-'");
    }
    Ok(())
}

fn parse_principal(uri: &str, rest: &str) -> Result<Principal, PkiError> {
    let bad = |reason: String| PkiError::BadPrincipal {
        uri: uri.to_owned(),
        reason,
    };
    let (role, name) = rest
        .split_once(':')
        .ok_or_else(|| bad("expected ROLE:NAME after the prefix".to_owned()))?;
    let role = role.parse::<Role>().map_err(|e| bad(e.to_string()))?;
    validate_name(name).map_err(|e| bad(e.to_string()))?;
    Ok(Principal {
        role,
        name: name.to_owned(),
    })
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

fn subject_alt_names(req: &IssueRequest) -> Result<Vec<SanType>, PkiError> {
    let uri = Principal {
        role: req.role,
        name: req.name.clone(),
    }
    .uri();
    let mut sans = vec![SanType::URI(uri.try_into()?)];
    if req.hosts.is_empty() {
        sans.push(SanType::DnsName("localhost".try_into()?));
        sans.push(SanType::IpAddress(IpAddr::from([127, 0, 0, 1])));
        sans.push(SanType::IpAddress(IpAddr::from([
            0u16, 0, 0, 0, 0, 0, 0, 1,
        ])));
        return Ok(sans);
    }
    for host in &req.hosts {
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
/// the certificate is a usable CA, and that it is valid until `leaf_not_after`.
fn load_issuer(
    cert_path: &Path,
    key_path: &Path,
    leaf_not_after: OffsetDateTime,
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
    if x509.validity().not_after.timestamp() < leaf_not_after.unix_timestamp() {
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
    use x509_parser::extensions::ParsedExtension;
    use x509_parser::oid_registry::OID_X509_EXT_EXTENDED_KEY_USAGE;

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
            Err(PkiError::UnknownRole(_))
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
            Err(PkiError::NoPrincipal)
        ));
        assert!(matches!(
            principal_of(b"garbage"),
            Err(PkiError::CertParse(_))
        ));
        assert!(matches!(
            principal_of_pem(b"garbage"),
            Err(PkiError::CertParse(_))
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
            assert!(matches!(err, PkiError::BadPrincipal { .. }), "{uri}: {err}");
        }
        let mut params = CertificateParams::default();
        params.subject_alt_names = vec![
            SanType::URI("urn:tudashalo:node:a".try_into().unwrap()),
            SanType::URI("urn:tudashalo:hub:b".try_into().unwrap()),
        ];
        let cert = params.self_signed(&key).unwrap();
        assert!(matches!(
            principal_of(cert.der()),
            Err(PkiError::AmbiguousPrincipal)
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
                matches!(err, PkiError::InvalidName { .. }),
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
}
