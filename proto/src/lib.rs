//! # The federation contract
//!
//! This crate owns the wire: the generated `tudashalo.v1` types and service
//! stubs ([`pb`]), the encoded descriptor set that server reflection serves,
//! the mTLS plumbing shared by every server and client ([`tls`]), and the
//! relay headers with which hubs say on whose behalf they ask ([`relay`]).
//!
//! It must not know about documents, indexes or hubs: node and hub translate
//! between these protobuf types and their own domain types at their edges.

pub mod chunks;
pub mod identity;
pub mod logging;
pub mod metrics;
pub mod relay;
pub mod tls;
pub mod watch;

/// Generated protobuf types and gRPC stubs for package `tudashalo.v1`.
#[allow(clippy::all, missing_docs, unreachable_pub)]
pub mod pb {
    tonic::include_proto!("tudashalo.v1");
}

/// The encoded `FileDescriptorSet` of the contract, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/federation_descriptor.bin"));

/// Bumped when the meaning of an existing field changes (fields are only added).
pub const SCHEMA_VERSION: u32 = 1;

/// The largest gRPC message either side accepts. Large enough for the biggest
/// document body a node stores (see `max_body_bytes`), with room for metadata.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

pub mod serve;
