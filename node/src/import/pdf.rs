//! PDF documents: not read yet (a stub while its extractor is written).

use super::Limits;
use super::extract::{Extracted, Failure, FailureKind};

pub(crate) fn extract(_bytes: &[u8], _limits: &Limits) -> Result<Extracted, Failure> {
    Err(Failure::new(
        FailureKind::Unsupported,
        "this build does not read PDF yet",
    ))
}
