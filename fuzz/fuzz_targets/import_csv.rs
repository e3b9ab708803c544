//! Fuzzes the CSV importers (observations, the catalogue and the register's
//! tables, in each encoding): any bytes as a `.csv` file; a panic, or a
//! rejection that does not name the file and one of its lines, is a finding
//! (`tudashalo_node::fuzzing::tables`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tudashalo_node::fuzzing::tables::csv(data);
});
