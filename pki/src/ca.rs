//! The federation CA: creating it, and loading it to sign with.
//!
//! The CA certificate may sign leaves only (path length 0) and CRLs. Before
//! anything is signed, [`load_issuer`] checks that key and certificate
//! belong together, that the certificate is a CA valid now, and that it
//! outlives the leaf about to be made: a bad CA directory is an error naming
//! its files, never a certificate that nobody will accept.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use time::OffsetDateTime;
use x509_parser::pem::Pem;

use crate::files::{ensure_dir, read_to_string, refuse_existing, write_private, write_public};
use crate::leaf::{random_serial, subject, validity};
use crate::{CA_CERT_FILE, CA_KEY_FILE, PkiError};

/// Files written by [`init_ca`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPaths {
    /// `DIR/ca.pem`.
    pub cert: PathBuf,
    /// `DIR/ca.key`.
    pub key: PathBuf,
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

/// Loads the CA certificate and key, checks that they belong together, that
/// the certificate is a usable CA, and that it is valid until `leaf_not_after`
/// (if given).
pub(crate) fn load_issuer(
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::fs;

    use super::*;
    use crate::test_support::req;
    use crate::{Role, issue};

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
