//! The commands of `tudashalo-node`, one module each (`main.rs` defines
//! their arguments and dispatches): every one opens the data folder itself
//! and prints text, or one JSON document with `--json`.

pub(crate) mod aggregate;
pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod documents;
pub(crate) mod folder;
pub(crate) mod import;
pub(crate) mod register;
pub(crate) mod serve;
