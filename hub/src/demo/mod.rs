//! `tudashalo-hub demo` (work in progress).

pub mod generate;
