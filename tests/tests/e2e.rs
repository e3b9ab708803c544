//! End-to-end tests: real nodes (sled, tantivy) and real hubs served over
//! real mTLS gRPC on loopback, with certificates minted by `tudashalo-pki`
//! in temporary folders.
//!
//! One test binary, so that the harness in `support` (nodes, hubs, servers,
//! processes, certificates) is compiled once and shared; one module per
//! concern (`hub`, `aggregate`, `adversarial_*`, …).

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
    mod backup;
    mod cli;
    mod demo;
    mod deploy;
    mod file_import;
    mod hub;
    mod hub_process;
    mod member_deadline;
    mod metrics;
    mod node_grpc;
    mod node_import;
    pub mod portal;
    mod portal_browser;
    mod reflection;
    mod register;
    mod relevance;
    mod skipping;
    mod soak;
    mod suggest;
    mod tls;
}
