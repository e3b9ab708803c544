//! # The Tudásháló hub
//!
//! A hub federates search and aggregates across its members — kistérség
//! nodes or other hubs — over mTLS gRPC, serving the very contract its
//! members serve. It keeps certificates and configuration, never a
//! document or an observation: restarting it loses nothing.
//!
//! ## Layout
//! - [`config`]: `hub.toml`, validated at start.
//! - [`member`]: one persistent channel per member, health probed in the background.
//! - `fanout`: the one way members are called: in parallel, each under the
//!   request's deadline or its own tighter one, every member with an outcome.
//! - [`federation`]: the [`federation::Hub`]: members, deadlines, member
//!   selection, Info and GetDocument routing.
//! - [`search`]: federated search: statistics, scoring, merging, the final page.
//! - [`stats_cache`]: round-one statistics remembered while members' versions match.
//! - [`aggregates`]: federated aggregates: partials combined exactly, disclosure control on publication.
//! - [`network`]: the register's partners across members, merged by register
//!   number in memory, filtered after merging.
//! - [`limits`]: bounds on what callers ask and members answer.
//! - [`relay`]: on whose behalf the hub asks (relay headers from parents only).
//! - [`error`]: every failure the hub reports, its gRPC code and member state.
//! - [`metrics`]: what `/metrics` reports of the hub (`[metrics]`).
//! - [`grpc`]: the thin tonic adapter; [`server`]: serving with mTLS.
//! - [`portal`]: the web portal's backend: the federation asked on the viewer's behalf.
//! - [`client`], [`pull`], [`register_cli`]: the command-line client's
//!   search, aggregate pulls, register records and network.

pub mod aggregates;
pub mod asking;
pub mod client;
pub mod config;
pub mod error;
pub(crate) mod fanout;
pub mod federation;
pub mod grpc;
pub mod limits;
pub mod member;
pub mod metrics;
pub mod network;
pub mod portal;
pub mod pull;
pub mod register_cli;
pub mod relay;
pub mod search;
pub mod server;
pub mod stats_cache;
pub mod watch;
