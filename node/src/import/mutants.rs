//! Test support: mangled copies of a file, for the extractors' own
//! deterministic fuzzing passes (`mangled_*` tests), which run in every
//! `cargo test` beside the cargo-fuzz targets of `fuzz/`.

/// `n` variants of `seed`, each with a few bytes flipped, inserted
/// (`specials` among them), deleted or repeated: a deterministic
/// fuzzing pass for the test suite.
pub(crate) fn mutants(seed: &[u8], specials: &[u8], n: usize) -> Vec<Vec<u8>> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound.max(1) as u64) as usize
    };
    (0..n)
        .map(|_| {
            let mut bytes = seed.to_vec();
            for _ in 0..1 + next(8) {
                let at = next(bytes.len() + 1);
                match next(4) {
                    0 if at < bytes.len() => bytes[at] = next(256) as u8,
                    1 => bytes.insert(at, specials[next(specials.len())]),
                    2 => {
                        let end = (at + next(64)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    _ => {
                        let end = (at + next(64)).min(bytes.len());
                        let piece = bytes[at..end].to_vec();
                        for _ in 0..next(50) {
                            bytes.splice(at..at, piece.iter().copied());
                        }
                    }
                }
            }
            bytes
        })
        .collect()
}
