//! Fuzzes the JSON Lines importers (documents, read whole and streamed, and
//! the register's tables): any bytes as a `.jsonl` file; a panic, a rejection
//! that does not name the file and one of its lines, or a streamed read that
//! differs from the whole one is a finding (`tudashalo_node::fuzzing::jsonl`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tudashalo_node::fuzzing::jsonl::jsonl(data);
});
