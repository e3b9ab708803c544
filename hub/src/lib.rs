//! # The Tudásháló hub
//!
//! A hub federates search (and, later, aggregates) across its members —
//! kistérség nodes or other hubs — over mTLS gRPC, serving the very contract
//! its members serve. It keeps certificates and configuration, never a
//! document or an observation: restarting it loses nothing.
//!
//! ## Layout
//! - [`config`]: `hub.toml`, validated at start.
//! - [`member`]: one persistent channel per member, health probed in the background.
//! - [`federation`]: fan-out under one deadline, two-round global ranking, merging.
//! - [`aggregates`]: federated aggregates: partials combined exactly, disclosure control on publication.
//! - [`grpc`]: the thin tonic adapter; [`server`]: serving with mTLS.

pub mod aggregates;
pub mod client;
pub mod config;
pub mod error;
pub mod federation;
pub mod grpc;
pub mod limits;
pub mod member;
pub mod pull;
pub mod relay;
pub mod server;
pub mod stats_cache;
