//! Seed derivation and a fast hasher for node ids.

use std::hash::{BuildHasherDefault, Hasher};

/// SplitMix64's finaliser over `seed` and `stream`: stable, well-mixed sub-seeds, so that each
/// random decision can be seeded from what it is about instead of from a shared sequence.
pub(crate) fn mix(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hasher for `u64` node-id keys: one multiply instead of SipHash. Ids are not attacker-chosen
/// in a way that matters here (a bad pattern only slows a batch down).
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        let x = (self.0 ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }
}

/// `HashMap` builder for node-id keys.
pub(crate) type IdBuildHasher = BuildHasherDefault<IdHasher>;
