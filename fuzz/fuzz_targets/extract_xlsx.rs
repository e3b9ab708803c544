//! Fuzzes the .xlsx extractor: any bytes as a .xlsx file, extracted without
//! `catch_unwind` (a panic is a finding) and checked as an import checks
//! it (`tudashalo_node::fuzzing::extract`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tudashalo_node::fuzzing::extract("xlsx", data);
});
