//! Who is on the other end of a connection.
//!
//! Every participant of the federation (kistérség node, regional hub,
//! national hub, human operator) holds a certificate signed by the federation
//! CA that names its holder with a URI subject alternative name
//! `urn:tudashalo:ROLE:NAME`. [`principal_of`] turns a (verified) certificate
//! into a [`Principal`]; servers use [`peer_principal`] inside a gRPC handler
//! to learn who called.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;

/// Prefix of the URI SAN that identifies a participant: `urn:tudashalo:ROLE:NAME`.
pub const URN_PREFIX: &str = "urn:tudashalo:";

/// Errors about identities: names, roles and principal URIs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Certificate bytes (from a peer or a buffer) could not be parsed.
    #[error("cannot parse certificate: {0}")]
    CertParse(String),
    /// The certificate carries no `urn:tudashalo:ROLE:NAME` URI SAN.
    #[error("certificate has no {URN_PREFIX}ROLE:NAME URI subject alternative name")]
    NoPrincipal,
    /// The certificate carries more than one Tudásháló URI SAN.
    #[error("certificate has more than one {URN_PREFIX}ROLE:NAME URI subject alternative name")]
    AmbiguousPrincipal,
    /// A Tudásháló URI SAN (or a `role:name` string) is malformed.
    #[error("malformed principal {uri:?}: {reason}")]
    BadPrincipal {
        /// The offending URI or string.
        uri: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An unknown role string.
    #[error("unknown role {0:?} (expected node, hub, national, operator or public)")]
    UnknownRole(String),
    /// A peer's certificate names another principal than the one expected
    /// of it (e.g. a member endpoint serving another node's certificate).
    #[error("certificate names {found} (serial {serial}), expected {expected}")]
    UnexpectedPrincipal {
        /// Who was expected, e.g. `node:edelenyi or hub:edelenyi`.
        expected: String,
        /// Who the certificate names, or why it names nobody.
        found: String,
        /// The certificate's serial number, lowercase hex.
        serial: String,
    },
    /// A participant name is not a valid slug.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
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
    /// Anonymous visitors of a portal (`public:portal`): a principal that
    /// no certificate carries (the CA refuses to issue one), named by a
    /// portal in the relay headers so that a node's policy can decide what
    /// the public may see, and its audit log shows that the public asked.
    Public,
}

impl Role {
    /// All roles, in declaration order.
    pub const ALL: [Role; 5] = [
        Role::Node,
        Role::Hub,
        Role::National,
        Role::Operator,
        Role::Public,
    ];

    /// The lowercase name used in URIs, CLI flags and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Hub => "hub",
            Role::National => "national",
            Role::Operator => "operator",
            Role::Public => "public",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| IdentityError::UnknownRole(s.to_owned()))
    }
}

/// The identity a certificate was issued to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal {
    /// The participant's role.
    pub role: Role,
    /// The participant's slug name.
    pub name: String,
}

impl Principal {
    /// A principal, checking that `name` is a valid slug.
    pub fn new(role: Role, name: impl Into<String>) -> Result<Principal, IdentityError> {
        let name = name.into();
        validate_name(&name)?;
        Ok(Principal { role, name })
    }

    /// The URI SAN form, `urn:tudashalo:ROLE:NAME`.
    pub fn uri(&self) -> String {
        format!("{URN_PREFIX}{}:{}", self.role, self.name)
    }

    /// Parses the URI SAN form `urn:tudashalo:ROLE:NAME`.
    pub fn from_uri(uri: &str) -> Result<Principal, IdentityError> {
        let rest = uri
            .strip_prefix(URN_PREFIX)
            .ok_or_else(|| IdentityError::BadPrincipal {
                uri: uri.to_owned(),
                reason: format!("does not start with {URN_PREFIX}"),
            })?;
        parse_role_name(uri, rest)
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.role, self.name)
    }
}

impl FromStr for Principal {
    type Err = IdentityError;

    /// Parses the display form `role:name` (e.g. `node:edelenyi`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_role_name(s, s)
    }
}

/// Whom a client expects at the other end of a connection: a name, and the
/// roles that name may hold there.
///
/// A hub expects each member's *server* certificate to name that member:
/// `node:NAME`, `hub:NAME`, or either when the configuration does not say
/// (a member may be a node or a hub; both serve the same contract). The
/// check runs in the TLS handshake, after the chain and the CRL, so that an
/// endpoint holding another valid federation certificate (another node's, an
/// operator's) is refused before a single request is sent to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerExpectation {
    /// The participant's name.
    pub name: String,
    /// The roles accepted for it; never empty.
    pub roles: Vec<Role>,
}

impl PeerExpectation {
    /// Exactly this principal.
    pub fn exactly(principal: Principal) -> PeerExpectation {
        PeerExpectation {
            name: principal.name,
            roles: vec![principal.role],
        }
    }

    /// A hub's member `name`: with `role` if the configuration names one,
    /// else a node or a hub (the only roles that serve the federation).
    pub fn member(name: &str, role: Option<Role>) -> PeerExpectation {
        PeerExpectation {
            name: name.to_owned(),
            roles: match role {
                Some(role) => vec![role],
                None => vec![Role::Node, Role::Hub],
            },
        }
    }

    /// Whether `principal` is one of the expected ones.
    pub fn accepts(&self, principal: &Principal) -> bool {
        principal.name == self.name && self.roles.contains(&principal.role)
    }

    /// Checks the (already chain-verified) DER certificate `cert_der`:
    /// its principal, or [`IdentityError::UnexpectedPrincipal`] naming who
    /// was expected, who was found and the certificate's serial.
    pub fn check(&self, cert_der: &[u8]) -> Result<Principal, IdentityError> {
        let serial = serial_of(cert_der).unwrap_or_else(|| "unknown".to_owned());
        match principal_of(cert_der) {
            Ok(principal) if self.accepts(&principal) => Ok(principal),
            Ok(principal) => Err(IdentityError::UnexpectedPrincipal {
                expected: self.to_string(),
                found: principal.to_string(),
                serial,
            }),
            Err(e) => Err(IdentityError::UnexpectedPrincipal {
                expected: self.to_string(),
                found: format!("no principal ({e})"),
                serial,
            }),
        }
    }
}

impl fmt::Display for PeerExpectation {
    /// `node:edelenyi or hub:edelenyi`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, role) in self.roles.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{role}:{}", self.name)?;
        }
        Ok(())
    }
}

impl FromStr for PeerExpectation {
    type Err = IdentityError;

    /// `role:name`, exactly that principal.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<Principal>().map(PeerExpectation::exactly)
    }
}

/// The serial number of a DER certificate, lowercase hex without leading
/// zero bytes (as `tudashalo-hub pki` prints it); `None` if it does not parse.
pub fn serial_of(cert_der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    let bytes = cert.raw_serial();
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let trimmed = &bytes[start..];
    if trimmed.is_empty() {
        return Some("00".to_owned());
    }
    Some(trimmed.iter().map(|b| format!("{b:02x}")).collect())
}

/// Extracts the [`Principal`] from a DER-encoded certificate's
/// `urn:tudashalo:ROLE:NAME` URI SAN.
///
/// This does **not** verify the certificate; call it on a peer certificate that
/// the TLS layer has already validated against the federation CA.
pub fn principal_of(cert_der: &[u8]) -> Result<Principal, IdentityError> {
    let (rest, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| IdentityError::CertParse(format!("invalid DER X.509: {e}")))?;
    if !rest.is_empty() {
        return Err(IdentityError::CertParse(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        )));
    }
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::CertParse(format!("bad subjectAltName extension: {e}")))?
        .ok_or(IdentityError::NoPrincipal)?;
    principal_of_names(&san.value.general_names)
}

/// The principal among a certificate's (or a CSR's) subject alternative
/// names: exactly one `urn:tudashalo:` URI must be present.
pub fn principal_of_names(names: &[GeneralName<'_>]) -> Result<Principal, IdentityError> {
    let mut found: Option<Principal> = None;
    for gn in names {
        let GeneralName::URI(uri) = gn else { continue };
        let Some(rest) = uri.strip_prefix(URN_PREFIX) else {
            continue;
        };
        let principal = parse_role_name(uri, rest)?;
        if found.is_some() {
            return Err(IdentityError::AmbiguousPrincipal);
        }
        found = Some(principal);
    }
    found.ok_or(IdentityError::NoPrincipal)
}

/// The principal of the client that sent `request`, from the certificate it
/// presented in the TLS handshake.
///
/// Works inside any handler served by [`crate::serve::serve`] or
/// [`crate::serve::serve_reloading`]: those servers only accept clients whose
/// certificate the CA signed (and did not revoke), so the certificate is
/// already verified here. `None` if the request did not come over such a
/// connection (e.g. a handler called directly in a unit test) or the
/// certificate carries no valid `urn:tudashalo:ROLE:NAME` URI SAN.
pub fn peer_principal<T>(request: &tonic::Request<T>) -> Option<Principal> {
    let certs = request.peer_certs()?;
    principal_of(certs.first()?.as_ref()).ok()
}

/// Like [`principal_of`], for the first `CERTIFICATE` block of a PEM buffer.
pub fn principal_of_pem(pem: &[u8]) -> Result<Principal, IdentityError> {
    for block in Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| IdentityError::CertParse(format!("invalid PEM: {e}")))?;
        if block.label == "CERTIFICATE" {
            return principal_of(&block.contents);
        }
    }
    Err(IdentityError::CertParse(
        "no CERTIFICATE block in PEM".to_owned(),
    ))
}

/// Checks that `name` is a slug: `[a-z0-9][a-z0-9_-]{0,62}`.
pub fn validate_name(name: &str) -> Result<(), IdentityError> {
    let err = |reason| {
        Err(IdentityError::InvalidName {
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

/// Parses `ROLE:NAME` (`rest`), reporting errors against `whole`.
fn parse_role_name(whole: &str, rest: &str) -> Result<Principal, IdentityError> {
    let bad = |reason: String| IdentityError::BadPrincipal {
        uri: whole.to_owned(),
        reason,
    };
    let (role, name) = rest
        .split_once(':')
        .ok_or_else(|| bad("expected ROLE:NAME".to_owned()))?;
    let role = role.parse::<Role>().map_err(|e| bad(e.to_string()))?;
    validate_name(name).map_err(|e| bad(e.to_string()))?;
    Ok(Principal {
        role,
        name: name.to_owned(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trips() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(role.to_string(), role.as_str());
        }
        assert!(matches!(
            "admin".parse::<Role>(),
            Err(IdentityError::UnknownRole(_))
        ));
        assert!("Node".parse::<Role>().is_err());
    }

    #[test]
    fn principal_display_and_parse() {
        let p = Principal::new(Role::Node, "edelenyi").unwrap();
        assert_eq!(p.to_string(), "node:edelenyi");
        assert_eq!(p.uri(), "urn:tudashalo:node:edelenyi");
        assert_eq!("node:edelenyi".parse::<Principal>().unwrap(), p);
        assert_eq!(Principal::from_uri(&p.uri()).unwrap(), p);
        for bad in ["node", "admin:x", "node:Bad", "node:", ":x", ""] {
            assert!(
                matches!(
                    bad.parse::<Principal>(),
                    Err(IdentityError::BadPrincipal { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(Principal::from_uri("urn:other:node:x").is_err());
        assert!(matches!(
            Principal::new(Role::Hub, "A"),
            Err(IdentityError::InvalidName { .. })
        ));
    }

    #[test]
    fn names() {
        for ok in ["a", "0-a_b", &"a".repeat(63)] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "A", "-x", "_x", "a.b", "a b", "ö", &"a".repeat(64)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn no_principal_outside_a_tls_connection() {
        let request = tonic::Request::new(());
        assert_eq!(peer_principal(&request), None);
    }

    #[test]
    fn peer_expectations() {
        let either = PeerExpectation::member("edelenyi", None);
        assert_eq!(either.to_string(), "node:edelenyi or hub:edelenyi");
        assert!(either.accepts(&Principal::new(Role::Node, "edelenyi").unwrap()));
        assert!(either.accepts(&Principal::new(Role::Hub, "edelenyi").unwrap()));
        assert!(!either.accepts(&Principal::new(Role::Operator, "edelenyi").unwrap()));
        assert!(!either.accepts(&Principal::new(Role::National, "edelenyi").unwrap()));
        assert!(!either.accepts(&Principal::new(Role::Node, "other").unwrap()));
        let node = PeerExpectation::member("edelenyi", Some(Role::Node));
        assert!(!node.accepts(&Principal::new(Role::Hub, "edelenyi").unwrap()));
        let exact: PeerExpectation = "hub:eszak".parse().unwrap();
        assert_eq!(exact.to_string(), "hub:eszak");
        assert!("hub".parse::<PeerExpectation>().is_err());
        let err = either.check(b"garbage").unwrap_err();
        assert!(
            matches!(&err, IdentityError::UnexpectedPrincipal { serial, .. } if serial == "unknown"),
            "{err}"
        );
        assert_eq!(serial_of(b"garbage"), None);
    }

    #[test]
    fn garbage_certificates() {
        assert!(matches!(
            principal_of(b"garbage"),
            Err(IdentityError::CertParse(_))
        ));
        assert!(matches!(
            principal_of_pem(b"garbage"),
            Err(IdentityError::CertParse(_))
        ));
    }
}
