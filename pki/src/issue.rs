//! Issuing a certificate together with its key, for participants whose key
//! may be made where the CA is (tests, the demo, a single operator).
//!
//! The key is written with mode 0600 next to the certificate and never
//! replaced without `force`; the certificate is only the leaf, no chain.
//! Where the key must not leave its host, use [`create_csr`](crate::create_csr)
//! and [`sign_csr`](crate::sign_csr) instead.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rcgen::KeyPair;
use time::OffsetDateTime;

use crate::ca::load_issuer;
use crate::files::{refuse_existing, write_private, write_public};
use crate::leaf::{leaf_params, refuse_reserved, subject_alt_names, validity};
use crate::{CA_CERT_FILE, CA_KEY_FILE, PkiError, Role, validate_name};

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::fs;

    use time::OffsetDateTime;
    use x509_parser::certificate::X509Certificate;
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    use x509_parser::oid_registry::OID_X509_EXT_EXTENDED_KEY_USAGE;
    use x509_parser::prelude::FromDer;

    use super::*;
    #[cfg(unix)]
    use crate::test_support::mode;
    use crate::test_support::{pem_der, req};
    use crate::{IdentityError, ORGANIZATION, init_ca, principal_of_pem};

    #[test]
    fn the_public_role_is_never_issued() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pki");
        init_ca(&dir, "Tudásháló CA", 3650, false).unwrap();
        let error = issue(&dir, &req("portal", Role::Public)).unwrap_err();
        assert!(error.to_string().contains("public:portal"), "{error}");
        assert!(!dir.join("portal.pem").exists());
        assert!(!dir.join("portal.key").exists());
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
        let der = pem_der(&leaf.cert);
        let (_, x509) = X509Certificate::from_der(&der).unwrap();
        assert!(!x509.validity().is_valid());
    }
}
