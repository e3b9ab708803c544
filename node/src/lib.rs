//! # The kistérség node
//!
//! A node owns one kistérség's data: documents in a Hungarian full-text index
//! and indicator observations per settlement, in its own sled store. It
//! serves them to the federation over mTLS gRPC, deciding itself what leaves.
//!
//! ## Layout
//! The domain types (documents, observations, the search vocabulary, the
//! aggregate algebra, disclosure, request limits) are `tudashalo_core`'s;
//! the contract, TLS and relay headers `tudashalo_proto`'s. Here:
//! - [`import`]: files → validated records, with `file:line: reason`
//!   rejections (JSON Lines, text, CSV and workbook tables, and documents
//!   extracted from PDF, DOCX, ODT, HTML and RTF by isolated extractors;
//!   shared helpers in `common`).
//! - [`store`]: sled, the source of truth; [`originals`]: the imported
//!   files, content-addressed, for download.
//! - [`analysis`]: Hungarian tokenizers (stemming, accent folding).
//! - [`index`]: tantivy, derived from the store: schema, query building,
//!   federated BM25 statistics, search, snippets, facets.
//! - [`observations`]: indicator observations aggregated into cells.
//! - [`node`]: the domain service that ties store and index together.
//! - [`service`]: requests from outside as a plain API: policy, partials,
//!   auditing every request once.
//! - [`grpc`]: the thin tonic adapter; [`server`]: serving with mTLS.
//! - [`config`]: `node.toml`; [`policy`]: who may ask what (`[policy]`).
//! - [`audit`]: the hash-chained log of every request from outside.
//! - [`error`]: the node's one error type and its gRPC codes.
//! - [`metrics`]: what `/metrics` reports of the node (`[metrics]`).
//! - `fuzzing`: the fuzzing entry points (query parser, extractors).

pub mod analysis;
pub mod audit;
pub mod backup;
pub mod config;
pub mod control;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod grpc;
pub mod import;
pub mod index;
pub mod metrics;
pub mod node;
pub mod observations;
pub mod originals;
pub mod policy;
pub mod portal;
pub mod server;
pub mod service;
pub mod store;
pub mod watch;

pub use error::{Error, Result};
pub use node::Node;
