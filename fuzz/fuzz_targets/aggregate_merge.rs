//! Fuzzes the merging of aggregate partials: the bytes decode into a few
//! members' partials of one cell, merged in several orders and groupings;
//! any disagreement beyond what `tudashalo_core::aggregate` promises is a
//! finding (`tudashalo_node::fuzzing::merge`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tudashalo_node::fuzzing::merge::merge(data);
});
