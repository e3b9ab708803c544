//! End-to-end tests: real nodes (sled, tantivy) served over real mTLS gRPC on
//! loopback, with certificates minted by the hub's PKI in temporary folders.
//!
//! One test binary, so that the fixtures in `support` are compiled once and
//! shared; later hub tests go in `e2e/hub.rs`.

#![allow(clippy::unwrap_used)]

mod e2e {
    pub mod support;

    mod access;
    mod adversarial_audit;
    mod adversarial_disclosure;
    mod adversarial_limits;
    mod adversarial_relay;
    mod adversarial_tls;
    mod aggregate;
    mod cli;
    mod demo;
    mod deploy;
    mod hub;
    mod hub_process;
    mod member_deadline;
    mod node_grpc;
    mod node_import;
    mod tls;
}
