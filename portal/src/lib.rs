//! # The knowledge portal
//!
//! The federation in a browser, in Hungarian: search, documents,
//! indicators as charts and tables, members' profiles, and for a node's
//! operators uploads and the audit log. Served by the same binaries as the
//! federation, on a listener of its own (browsers carry no client
//! certificates), over the same [`Backend`]: the hub relays on the
//! viewer's behalf, a node answers as it answers any caller, and every node
//! decides what leaves it and audits it.
//!
//! ## Layout
//!
//! - [`config`]: `[portal]`; [`backend`]: what the portal asks of its server.
//! - [`app`]: the router, shared state, security headers; [`serve`]: the
//!   listener (HTTPS or loopback HTTP) and shutdown.
//! - [`accounts`], [`session`], [`ratelimit`]: local accounts with Argon2id
//!   hashes, signed expiring cookies, login throttling; [`cli`]: the
//!   `portal` command that manages them.
//! - [`pages`]: the HTML pages; [`api`]: the same as JSON, and the OpenAPI
//!   document; [`chart`]: SVG charts; [`format`]: Hungarian numbers, dates
//!   and collation.
//!
//! ## Invariants
//!
//! - The portal stores nothing but what its configuration names (accounts,
//!   the cookie key): no document, snippet or value on disk or in a log.
//! - Sessions live in signed cookies, not in memory: a restart or another
//!   replica with the same key keeps them.
//! - No inline script or style: the Content-Security-Policy forbids them.

pub mod accounts;
pub mod api;
pub mod app;
pub mod backend;
pub mod chart;
pub mod cli;
pub mod config;
pub mod error;
pub mod format;
pub mod pages;
pub mod ratelimit;
pub mod serve;
pub mod session;

pub use app::{PortalState, router};
pub use backend::{Backend, BackendError};
pub use config::PortalConfig;
