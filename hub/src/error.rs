//! The hub's one error type, and its mapping to gRPC status codes.
//!
//! Every failure a caller of the hub can see is a variant here; it becomes
//! a `tonic::Status` in one place, [`Error::code`].

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or exceeds a limit (the message names it).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

/// The domain's refusals are the hub's.
impl From<tudashalo_core::Error> for Error {
    fn from(e: tudashalo_core::Error) -> Self {
        match e {
            tudashalo_core::Error::InvalidRequest(m) => Error::InvalidRequest(m),
        }
    }
}

impl Error {
    /// The one place where the hub's errors become gRPC codes.
    pub fn code(&self) -> tonic::Code {
        match self {
            Error::InvalidRequest(_) => tonic::Code::InvalidArgument,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        tonic::Status::new(e.code(), e.to_string())
    }
}
