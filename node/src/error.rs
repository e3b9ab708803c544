//! The node's one error type, and its mapping to gRPC status codes.
//!
//! Every failure a caller can see is a variant here; the gRPC adapter maps
//! them to `tonic::Code` in [`Error::code`], and nowhere else.

use std::path::PathBuf;

use crate::import::FileError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process (usually `tudashalo-node serve`) holds the data folder.
    #[error(
        "the node at {dir} is in use by another process (is `tudashalo-node serve` running?); stop it first, or ask the running server"
    )]
    Locked { dir: PathBuf },
    #[error(
        "{dir}: not a node data folder (no node.toml); create one with `tudashalo-node init --data {dir} --name NAME`"
    )]
    NotInitialised { dir: PathBuf },
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error(
        "{}: the store was written by a newer tudashalo-node (store schema {found}; this binary reads up to {supported}); run the newer version, or restore a backup made for this one",
        dir.display()
    )]
    StoreTooNew {
        dir: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{0}")]
    File(#[from] FileError),
    /// A backup file that cannot be restored (or written): why, and where in it.
    #[error("{}: {message}", file.display())]
    Backup { file: PathBuf, message: String },
    /// A `--strict` import found rejected lines; nothing of the file was stored.
    #[error("{file}: {count} line(s) rejected; --strict: nothing of this file was imported")]
    Strict { file: String, count: usize },
    #[error("{} not found", not_found(.0))]
    NotFound(String),
    /// A node has no members; a request naming one is for a hub.
    #[error("this is a node; it has no member {0:?}")]
    NoMember(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The connection names no principal (no usable client certificate).
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Store(#[from] sled::Error),
    #[error("store transaction: {0}")]
    Transaction(String),
    #[error("index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("corrupt record in the store: {0}")]
    Corrupt(String),
    #[error("internal: {0}")]
    Internal(String),
}

/// The domain's refusals are the node's.
impl From<tudashalo_core::Error> for Error {
    fn from(e: tudashalo_core::Error) -> Self {
        match e {
            tudashalo_core::Error::InvalidRequest(m) => Error::InvalidRequest(m),
        }
    }
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The one place where domain errors become gRPC codes.
    pub fn code(&self) -> tonic::Code {
        use tonic::Code;
        match self {
            Error::NotFound(_) | Error::NoMember(_) => Code::NotFound,
            Error::InvalidRequest(_) | Error::File(_) | Error::Strict { .. } => {
                Code::InvalidArgument
            }
            Error::PermissionDenied(_) => Code::PermissionDenied,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::Locked { .. } => Code::Unavailable,
            Error::NotInitialised { .. }
            | Error::Config { .. }
            | Error::StoreTooNew { .. }
            | Error::Backup { .. } => Code::FailedPrecondition,
            Error::Io { .. }
            | Error::Store(_)
            | Error::Transaction(_)
            | Error::Index(_)
            | Error::Corrupt(_)
            | Error::Internal(_) => Code::Internal,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        let code = e.code();
        // Internal details (paths, storage errors) stay in the node's log;
        // the caller learns that something failed, not how the disk is laid out.
        if code == tonic::Code::Internal {
            tracing::error!(error = %e, "request failed");
            tonic::Status::internal("internal error at the node; see its log")
        } else {
            tonic::Status::new(code, e.to_string())
        }
    }
}

/// What a not-found key names: `document "x"`, or a register record
/// (`development "EFOP-…"`) when the key has a register prefix.
fn not_found(key: &str) -> String {
    match tudashalo_core::register::Entity::of_key(key) {
        (tudashalo_core::register::Entity::Document, id) => format!("document {id:?}"),
        (entity, id) => format!("{entity} {id:?}"),
    }
}
