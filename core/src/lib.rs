//! # The federation's domain
//!
//! What node and hub both speak about, with no storage and no index: the
//! hub links this crate and not the node's, so it cannot hold a record even
//! by mistake.
//!
//! ## Layout
//! - [`model`]: documents, observations, indicators and their catalogue,
//!   kinds, visibility.
//! - [`search`]: the search vocabulary (queries, hits, facets, cursors,
//!   corpus statistics, the tie-breaker hash, depth limits).
//! - [`suggest`]: spelling suggestions for a search that found almost
//!   nothing: ranking, combining answers, the suggested query.
//! - [`aggregate`]: cells, keys and mergeable partials; totals; whole units.
//! - [`disclosure`]: what of those cells may be published.
//! - [`export`]: cells written as CSV, JSON or SDMX-CSV (the hub's `pull`,
//!   the portal's downloads).
//! - [`limits`]: bounds on what one request may ask for (`[limits]`).
//! - [`register`]: organisations, developments, project indicators and
//!   working groups; what the index and the aggregates derive from them.
//! - [`register_text`]: the register's records and network answers as text
//!   and stable `--json`, for every command line.
//! - [`register_pb`]: the register as it leaves a node, for a caller's
//!   view (one way; contacts have no conversion).
//! - [`network`]: the network view (who takes part where, at how many
//!   kistérségek, who works with whom): a node's answer, a hub's merge.
//! - [`fold`]: the case- and accent-insensitive form names are compared in.
//! - [`pb`]: conversions to and from the protobuf contract, in one place.
//! - [`error`]: the domain's one error.

pub mod aggregate;
pub mod disclosure;
pub mod error;
pub mod export;
pub mod fold;
pub mod limits;
pub mod model;
pub mod network;
pub mod pb;
pub mod register;
pub mod register_pb;
pub mod register_text;
pub mod search;
pub mod suggest;

pub use error::{Error, Result};
