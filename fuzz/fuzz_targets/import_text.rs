//! Fuzzes the text importer (`.txt` and `.md`; UTF-8 with or without BOM,
//! else Windows-1250): any bytes as a text file; a panic, or a document whose
//! title, body or decoding breaks its rules, is a finding
//! (`tudashalo_node::fuzzing::text`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tudashalo_node::fuzzing::text::text(data);
});
