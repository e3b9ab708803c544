//! The end-to-end test crate: see tests/.
