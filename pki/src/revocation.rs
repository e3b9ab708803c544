//! Revocation: the CA's database `revoked.json` and the CRL made from it.
//!
//! The database is the record; the CRL is always re-issued from all of it
//! (never edited), and written after it, so that a CRL never lists less
//! than the database says. Both files are replaced atomically because
//! servers reload the CRL while running. A certificate can be revoked by its
//! name only if this CA issued it; by serial, anything can be listed.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rcgen::{
    CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;

use crate::ca::load_issuer;
use crate::files::{read_to_string, write_atomically};
use crate::{
    CA_CERT_FILE, CA_KEY_FILE, CRL_FILE, CRL_VALIDITY_DAYS, PkiError, Principal, REVOKED_FILE,
    principal_of, validate_name,
};

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use x509_parser::certificate::X509Certificate;
    use x509_parser::prelude::FromDer;

    use super::*;
    use crate::test_support::{pem_der, req};
    use crate::{Role, init_ca, issue};

    fn crl_serials(dir: &Path) -> (Vec<String>, u64) {
        let pem = fs::read(dir.join(CRL_FILE)).unwrap();
        let block = Pem::iter_from_buffer(&pem).next().unwrap().unwrap();
        assert_eq!(block.label, "X509 CRL");
        let (_, crl) = x509_parser::parse_x509_crl(&block.contents).unwrap();
        let ca_der = pem_der(&dir.join("ca.pem"));
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
            let der = pem_der(p);
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

        let db = read_revocation_db(&dir.join(REVOKED_FILE)).unwrap();
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
}
