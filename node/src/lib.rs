//! # The kistérség node
//!
//! A node owns one kistérség's data: documents in a Hungarian full-text index
//! and indicator observations per settlement, in its own sled store. It
//! serves them to the federation over mTLS gRPC, deciding itself what leaves.
//!
//! ## Layout
//! - [`model`]: documents, observations, the indicator catalogue.
//! - [`import`]: files → validated records, with `file:line: reason` rejections.
//! - [`store`]: sled, the source of truth.
//! - [`analysis`]: Hungarian tokenizers (stemming, accent folding).
//! - [`index`]: tantivy, derived from the store; federated BM25 statistics.
//! - [`search`]: the search vocabulary (requests, hits, facets, statistics).
//! - [`aggregate`]: indicator cells of mergeable partials, and totals;
//!   [`disclosure`]: what of them may be published.
//! - [`node`]: the domain service that ties store and index together.
//! - [`grpc`]: the thin tonic adapter; [`server`]: serving with mTLS.
//! - [`config`]: `node.toml`; [`policy`]: who may ask what (`[policy]`).
//! - [`limits`]: bounds on what one request may ask for (`[limits]`).
//! - [`audit`]: the hash-chained log of every request from outside.

pub mod analysis;
pub mod audit;
pub mod config;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod grpc;
pub mod import;
pub mod index;
pub mod node;
pub mod observations;
pub mod policy;
pub mod server;
pub mod service;
pub mod store;

pub use error::{Error, Result};
pub use node::Node;
