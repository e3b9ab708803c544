//! What the CA puts into every certificate it makes: the subject, the
//! validity, a random serial and the subject alternative names.
//!
//! These are the CA's decisions, never the requester's: [`issue`](crate::issue())
//! and [`sign_csr`](crate::sign_csr) both build leaves from [`leaf_params`],
//! so that a signed request gets exactly the key usages, CA flag and
//! validity an issued certificate gets. The principal URI is always the
//! first SAN; host names are checked before they reach a certificate.

use std::net::IpAddr;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::{Duration, OffsetDateTime};

use crate::{MAX_DAYS, ORGANIZATION, PkiError, Principal, Role};

pub(crate) fn refuse_reserved(name: &str) -> Result<(), PkiError> {
    if name == "ca" {
        return Err(PkiError::InvalidName {
            name: name.to_owned(),
            reason: "\"ca\" is reserved for the CA's own files",
        });
    }
    Ok(())
}

/// The CA-controlled parameters of every leaf certificate.
pub(crate) fn leaf_params(
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

pub(crate) fn subject(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn
}

/// `(now - 1 minute, now + days)`, rejecting out-of-range `days`.
pub(crate) fn validity(days: u32) -> Result<(OffsetDateTime, OffsetDateTime), PkiError> {
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
pub(crate) fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Rng)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

pub(crate) fn subject_alt_names(
    role: Role,
    name: &str,
    hosts: &[String],
) -> Result<Vec<SanType>, PkiError> {
    if role == Role::Public {
        // `public` names anonymous portal visitors; a certificate holder
        // is, by definition, not anonymous. Every way to a certificate
        // (issue, sign a CSR) passes here.
        return Err(PkiError::InvalidName {
            name: format!("public:{name}"),
            reason: "the public role is for anonymous portal visitors and is never issued",
        });
    }
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
pub(crate) fn host_san(host: &str) -> Result<SanType, PkiError> {
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
