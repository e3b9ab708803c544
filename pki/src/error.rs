//! The one error type of the PKI tooling.
//!
//! Every variant that concerns a file carries its path, so that a message
//! alone tells the operator which file to look at; none of them carries key
//! material.

use std::path::PathBuf;

use crate::{IdentityError, MAX_DAYS};

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
