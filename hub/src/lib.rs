//! Tudásháló regional hub: federated search and aggregates over kistérség
//! nodes, and the federation's PKI tooling.

pub mod pki;
