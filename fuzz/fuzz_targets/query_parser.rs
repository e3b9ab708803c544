//! Fuzzes the query parser with the Hungarian analysers: every input goes
//! through the request limits, tantivy's lenient parser, term statistics and
//! searches over a small Hungarian index (`tudashalo_node::fuzzing`).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tudashalo_node::fuzzing::QueryHarness;

static HARNESS: OnceLock<QueryHarness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    HARNESS.get_or_init(QueryHarness::new).run(data);
});
