//! TEMPORARY (removed before hand-off): the e2e modules without hub.rs.
#![allow(clippy::unwrap_used)]
mod e2e {
    #[path = "cli.rs"]
    mod cli;
    #[path = "node_grpc.rs"]
    mod node_grpc;
    #[path = "node_import.rs"]
    mod node_import;
    #[path = "support.rs"]
    pub mod support;
}
