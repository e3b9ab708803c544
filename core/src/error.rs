//! The domain's one error: a request that cannot be answered as asked.
//!
//! Each server crate maps it into its own error enum (the node's
//! `Error::InvalidRequest`, the hub's), and from there to a gRPC code, so
//! there is still one place per server where codes are chosen.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request names something unknown, contradicts itself or exceeds a
    /// limit; the message says which field, and for a limit its key.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}
