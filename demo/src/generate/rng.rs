//! The generator's only source of randomness: splitmix64 streams.
//!
//! A stream is named by the spec's seed and a path of numbers (a purpose,
//! then e.g. the kistérség and the document), so that any document or
//! settlement can be made on its own and adding a draw in one place never
//! shifts the numbers of another. Every method must give the same results
//! on every platform and in every build: no floating-point shortcuts that
//! depend on the target, no global state. Changing a method changes the
//! corpus, and with it [`GENERATOR_VERSION`](super::GENERATOR_VERSION).

/// splitmix64: tiny, fast, and the same on every platform.
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    /// A stream for one purpose: the seed mixed with the parts that name it.
    pub(super) fn stream(seed: u64, parts: &[u64]) -> Rng {
        let mut state = Rng(seed ^ 0x5444_4853_484c_4f21).next_u64();
        for part in parts {
            state = Rng(state ^ part.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64();
        }
        Rng(state)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    /// Uniform in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub(super) fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One of `items`, which must not be empty.
    pub(super) fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }

    /// An index into `weights`, with probability proportional to its weight.
    pub(super) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut at = self.below(total as usize) as u32;
        for (i, w) in weights.iter().enumerate() {
            if at < *w {
                return i;
            }
            at -= w;
        }
        weights.len().saturating_sub(1)
    }
}

/// Stream names, so that documents, observations and names never share
/// random numbers.
pub(super) const STREAM_DOCUMENT: u64 = 1;
pub(super) const STREAM_OBSERVATION: u64 = 2;
pub(super) const STREAM_KISTERSEG: u64 = 3;
pub(super) const STREAM_NAMES: u64 = 4;
pub(super) const STREAM_REGISTER: u64 = 5;
